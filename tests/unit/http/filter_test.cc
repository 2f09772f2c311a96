// The ?filter= language (http/filter.h): go-bexpr's grammar and precedence, its
// semantics over the JSON the catalog and health endpoints return, Consul's error
// text, and the limits that keep a hostile filter cheap.
#include "http/filter.h"

#include <pthread.h>

#include <initializer_list>
#include <string>
#include <string_view>

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

// The case tables are laid out by hand, one case per line.
// clang-format off
namespace roster::http {
namespace {

// A /v1/catalog/service/:name row (ServiceNode).
const Json kServiceNode = Json::parse(R"({
  "ID": "40e4a748-2192-161a-0510-9bf59fe950b5",
  "Node": "node-1",
  "Address": "10.1.10.12",
  "Datacenter": "dc1",
  "TaggedAddresses": {"lan": "10.1.10.12", "wan": "198.18.0.1"},
  "NodeMeta": {"rack": "r12", "os": "linux", "zone id": "eu-1"},
  "ServiceKind": "",
  "ServiceID": "web-1",
  "ServiceName": "web",
  "ServiceTags": ["primary", "v2", "Canary"],
  "ServiceAddress": "",
  "ServiceMeta": {"env": "prod", "version": "1.2.3", "owner": ""},
  "ServicePort": 8080,
  "ServiceWeights": {"Passing": 10, "Warning": 1},
  "ServiceEnableTagOverride": false,
  "CreateIndex": 42,
  "ModifyIndex": 18446744073709551615
})");

// A /v1/health/service/:name entry (CheckServiceNode): a list of checks under Checks.
const Json kCheckServiceNode = Json::parse(R"({
  "Node": {"Node": "node-2", "Address": "10.1.10.13", "Meta": {"rack": "r7"}},
  "Service": {"ID": "api-1", "Service": "api", "Tags": ["v1"], "Meta": null, "Port": 9090,
              "EnableTagOverride": true},
  "Checks": [
    {"CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing",
     "ServiceID": "", "ServiceTags": []},
    {"CheckID": "service:api-1", "Name": "api", "Status": "critical",
     "Output": "dial tcp: connection refused\nretrying", "ServiceID": "api-1",
     "ServiceTags": ["v1"]}
  ]
})");

// Odd shapes: empty lists and objects, nulls, negative and fractional numbers.
const Json kSparse = Json::parse(R"({
  "Service": "db", "Tags": [], "Meta": {}, "Checks": [], "Proxy": null,
  "Offset": -3, "Ratio": 0.25, "Mixed": ["a", 1, true, null, {"k": "v"}, [2]]
})");

struct Case {
  std::string_view filter;
  bool matches;
};

void CheckCases(const Json& item, std::initializer_list<Case> cases) {
  for (const Case& c : cases) {
    Result<FilterExpr> expr = ParseFilter(c.filter);
    INFO("filter: " << c.filter << "\nparse: " << expr.status().ToString());
    REQUIRE(expr.ok());
    CHECK(MatchesFilter(*expr, item) == c.matches);
  }
}

TEST_CASE("filter: equality on strings, numbers and booleans, as go-bexpr coerces them") {
  CheckCases(kServiceNode, {
      {R"(ServiceName == "web")", true},
      {R"(ServiceName == "Web")", false},  // case matters
      {R"(ServiceName != "web")", false},
      {R"(ServiceName != "api")", true},
      {"ServiceName == web", true},        // a bare word is its text
      {"ServiceName == `web`", true},      // raw string
      {R"(ServiceName=="web")", true},     // == needs no spaces
      {"ServicePort == 8080", true},
      {R"(ServicePort == "8080")", true},  // quoted or not, the value is text
      {"ServicePort == 8081", false},
      {"ServicePort != 8081", true},
      {R"(ServicePort == "0x1F90")", true},  // Go's base-0 integers, quoted: the grammar's
      {R"(ServicePort == "8_080")", true},   // numbers are plain decimals
      {"ServicePort == 8080.0", true},
      {"ServicePort == eighty", false},    // no number: never equal
      {"ServicePort != eighty", true},
      {"ServiceWeights.Passing == 10", true},
      {"ModifyIndex == 18446744073709551615", true},  // uint64 past int64
      {"ModifyIndex == -1", false},
      {"ServiceEnableTagOverride == false", true},
      {"ServiceEnableTagOverride == False", true},    // strconv.ParseBool's spellings
      {"ServiceEnableTagOverride == 0", true},
      {"ServiceEnableTagOverride == true", false},
      {"ServiceEnableTagOverride == no", false},
      {R"(ServiceKind == "")", true},
      {"ServiceTags == primary", false},   // == does not apply to a list
      {"ServiceTags != primary", true},
      {"ServiceMeta == prod", false},      // nor to an object
  });
  CheckCases(kSparse, {
      {"Offset == -3", true},
      {R"(Offset == "-0x3")", true},
      {"Offset == 3", false},
      {"Ratio == 0.25", true},
      {"Ratio == 0.250", true},
      {"Ratio == 1", false},
      {"Proxy == null", false},  // null equals nothing, not even "null"
      {"Proxy != null", true},
  });
}

TEST_CASE("filter: in and contains test membership in lists, keys in objects, substrings") {
  CheckCases(kServiceNode, {
      {R"(ServiceTags contains "primary")", true},
      {R"("primary" in ServiceTags)", true},
      {"primary in ServiceTags", true},
      {R"("canary" in ServiceTags)", false},  // exact elements, case included
      {R"(ServiceTags not contains "v3")", true},
      {R"("v2" not in ServiceTags)", false},
      {R"("env" in ServiceMeta)", true},       // an object's keys
      {R"("prod" in ServiceMeta)", false},     // not its values
      {R"(ServiceMeta contains "owner")", true},
      {R"(ServiceName contains "e")", true},   // a substring
      {R"("we" in ServiceName)", true},
      {R"("x" not in ServiceName)", true},
      {R"(ServiceName contains "")", true},
      {"ServicePort contains 80", false},      // not a string, list or object
      {"ServicePort not contains 80", true},
  });
  CheckCases(kSparse, {
      {"Mixed contains a", true},
      {"Mixed contains 1", true},    // each element read as its own type
      {"Mixed contains true", true},
      {"Mixed contains 2", false},   // nested lists are not searched
      {"Mixed contains v", false},
      {"Tags contains a", false},
      {"Tags not contains a", true},
  });
}

TEST_CASE("filter: is empty and is not empty") {
  CheckCases(kServiceNode, {
      {"ServiceAddress is empty", true},
      {"ServiceName is empty", false},
      {"ServiceName is not empty", true},
      {"ServiceTags is not empty", true},
      {"ServiceMeta.owner is empty", true},
      {"ServicePort is empty", false},  // a number is neither
      {"ServicePort is not empty", true},
  });
  CheckCases(kSparse, {
      {"Tags is empty", true},
      {"Meta is empty", true},
      {"Proxy is empty", true},  // null, like a nil map or slice in Go
      {"Proxy is not empty", false},
  });
}

TEST_CASE("filter: matches searches a regular expression in a string") {
  CheckCases(kServiceNode, {
      {R"(ServiceName matches "^w")", true},
      {R"(ServiceName matches "e")", true},      // unanchored, like Go's MatchString
      {R"(ServiceName matches "^e")", false},
      {R"(ServiceName matches "^web$")", true},
      {"ServiceID matches `^web-[0-9]+$`", true},
      {R"(ServiceID matches "^web-\\d+$")", true},  // "\\" is a backslash in a Go string
      {R"(ServiceName matches "(?i)^WEB$")", true},
      {R"(ServiceName matches "^WEB$")", false},
      {R"(ServiceName not matches "^api")", true},
      {R"(ServiceMeta.version matches "^1\\.2\\.")", true},
      {R"(ServicePort matches "80")", false},    // only strings are matched
      {R"(ServicePort not matches "80")", true},
      {R"(ServiceTags matches "v2")", false},    // nor lists
  });
  CheckCases(kCheckServiceNode, {
      {R"(Checks.Output matches "^retrying$")", false},  // ^ and $ are the text's ends
      {R"(Checks.Output matches "refused")", true},
      {R"(Checks.Output matches "refused.retrying")", false},  // . is not a newline
  });
}

TEST_CASE("filter: dotted and bracketed selectors reach into objects") {
  CheckCases(kServiceNode, {
      {R"(NodeMeta.rack == "r12")", true},
      {R"(NodeMeta["rack"] == "r12")", true},
      {R"(NodeMeta[ "rack" ] == "r12")", true},
      {"NodeMeta[`rack`] == r12", true},
      {R"(NodeMeta["zone id"] == "eu-1")", true},  // a key no bare name can spell
      {R"(TaggedAddresses.wan == "198.18.0.1")", true},
  });
  CheckCases(kCheckServiceNode, {
      {R"(Service.Service == "api")", true},
      {R"(Node.Meta.rack == r7)", true},
      {R"(Service.Tags contains "v1")", true},
      {"Service.EnableTagOverride == true", true},
      {"Checks.1.Status == critical", true},  // a number indexes a list
      {"Checks.0.Status == critical", false},
  });
}

TEST_CASE("filter: a selector that crosses a list matches if any element does") {
  CheckCases(kCheckServiceNode, {
      {"Checks.Status == passing", true},
      {"Checks.Status == critical", true},
      {"Checks.Status == warning", false},
      {"Checks.Status != passing", true},  // some check is not passing
      {"not Checks.Status == critical", false},
      {"not (Checks.Status != passing)", false},
      {R"(Checks.CheckID == "serfHealth")", true},
      {R"(Checks.ServiceTags contains "v1")", true},
      {"Checks.ServiceID is empty", true},  // serfHealth's
      {"Checks.Output is empty", true},     // serfHealth has none
      {"Checks.Output is not empty", true},
      {"Checks.Missing == x", false},
      {"Checks.Missing != x", true},
  });
  CheckCases(kSparse, {
      // An empty list has no element for which anything holds, negations included.
      {"Checks.Status == passing", false},
      {"Checks.Status != passing", false},
      {"Checks.Status is empty", false},
      {"not Checks.Status == passing", true},
  });
}

TEST_CASE("filter: a selector that does not resolve behaves as null (go-bexpr's missing key)") {
  CheckCases(kServiceNode, {
      {R"(ServiceMeta.team == "x")", false},
      {R"(ServiceMeta.team != "x")", true},
      {R"(ServiceMeta.team contains "x")", false},
      {R"(ServiceMeta.team not contains "x")", true},
      {R"("x" in ServiceMeta.team)", false},
      {R"("x" not in ServiceMeta.team)", true},
      {"ServiceMeta.team is empty", true},
      {"ServiceMeta.team is not empty", false},
      {R"(ServiceMeta.team matches ".*")", false},
      {R"(ServiceMeta.team not matches ".*")", true},
      {R"(NoSuchField == "")", false},
      {"ServiceName.Deeper is empty", true},  // a name under a string
      {"ServiceTags.7 is empty", true},       // past the end of a list
  });
  CheckCases(kCheckServiceNode, {
      {R"(Service.Meta.env != "prod")", true},  // through a null
  });
}

TEST_CASE("filter: and, or, not and parentheses with go-bexpr's precedence") {
  CheckCases(kServiceNode, {
      {R"(ServiceName == "web" and ServicePort == 8080)", true},
      {R"(ServiceName == "web" and ServicePort == 1)", false},
      {R"(ServiceName == "api" or ServicePort == 8080)", true},
      {R"(ServiceName == "api" or ServicePort == 1)", false},
      {R"(not ServiceName == "api")", true},
      {R"(not not ServiceName == "api")", false},
      {R"(not (ServiceName == "web"))", false},
      // not > and > or: (web and not api) or x.
      {R"(ServiceName == "web" and not ServiceName == "api" or ServicePort == 1)", true},
      {R"(ServicePort == 1 or ServiceName == "web" and ServicePort == 8080)", true},
      {R"((ServicePort == 1 or ServiceName == "web") and ServicePort == 1)", false},
      {R"(ServicePort == 1 or ServicePort == 2 or ServicePort == 8080)", true},
      {"( ServicePort == 8080 )", true},
      {"((((ServicePort == 8080))))", true},
      {"\n\tServicePort == 8080\r\n", true},
      {"ServiceName == web and\nServicePort == 8080", true},
  });
}

TEST_CASE("filter: the tree shows precedence, contains as in, and kept raw values") {
  const std::initializer_list<std::pair<std::string_view, std::string_view>> cases = {
      {"a == 1 and b == 2 or c == 3", R"((or (and (== a "1") (== b "2")) (== c "3")))"},
      {"a == 1 or b == 2 and c == 3", R"((or (== a "1") (and (== b "2") (== c "3"))))"},
      {"a == 1 and (b == 2 or c == 3)", R"((and (== a "1") (or (== b "2") (== c "3"))))"},
      {"a == 1 and b == 2 and c == 3", R"((and (== a "1") (== b "2") (== c "3")))"},
      {"not a == 1 and b == 2", R"((and (not (== a "1")) (== b "2")))"},
      {"not not a == 1", R"((== a "1"))"},
      {"not not not a == 1", R"((not (== a "1")))"},
      {R"(Tags contains "x")", R"((in Tags "x"))"},
      {R"("x" in Tags)", R"((in Tags "x"))"},
      {R"(Tags not contains "x")", R"((not-in Tags "x"))"},
      {R"("x" not in Tags)", R"((not-in Tags "x"))"},
      {"Meta is empty", "(is-empty Meta)"},
      {"Meta is not empty", "(is-not-empty Meta)"},
      {R"(Name not matches "^a")", R"((not-matches Name "^a"))"},
      {R"(Meta["a b"].c == x)", R"((== Meta["a b"].c "x"))"},
      {"Checks.0.Status != passing", R"((!= Checks.0.Status "passing"))"},
      {"a == b.c", R"((== a "b.c"))"},        // a dotted value keeps its dots
      {R"(a == x["y"])", R"((== a "x.y"))"},  // go-bexpr's Selector.String()
      {"a == -1.50", R"((== a "-1.50"))"},
      {R"(a == "tab\there\u00e9\x41\101")", "(== a \"tab\\x09here\u00e9AA\")"},
      {"a == `raw\\n`", R"((== a "raw\\n"))"},
      {"a == `a\r\nb`", R"((== a "a\x0ab"))"},  // Go drops '\r' from raw strings
      {"notice == 1", R"((== notice "1"))"},    // a name that starts with a keyword
      {"not == 1", R"((== not "1"))"},          // "not" before an operator is a name
      {"index in order", R"((in order "index"))"},
  };
  for (const auto& [text, tree] : cases) {
    Result<FilterExpr> expr = ParseFilter(text);
    INFO("filter: " << text << "\nparse: " << expr.status().ToString());
    REQUIRE(expr.ok());
    CHECK(FilterToString(*expr) == tree);
  }
}

TEST_CASE("filter: bad filters are refused with Consul's prefix and a position") {
  const std::initializer_list<std::pair<std::string_view, std::string_view>> cases = {
      {"", R"(1:1 (0): no match found, expected: "(", "not", a selector, a string or a number)"},
      {"   ", R"(1:4 (3): no match found, expected: "(", "not", a selector, a string or a number)"},
      {"foo", R"(1:4 (3): no match found, expected: "!=", "==", "contains", "in", "is", )"
              R"("matches" or "not")"},
      {"Node==host-name", R"(1:11 (10): no match found, expected: "and", "or" or the end of )"
                          R"(the filter)"},
      {"Node == host-name", R"(1:13 (12): no match found, expected: "and", "or" or the end )"
                            R"(of the filter)"},  // the example in docs/api.md
      {"Name == ", R"(1:9 (8): no match found, expected: a string, a number or a name)"},
      {R"(Name == "abc)", "1:9 (8): Unterminated string literal"},
      {"Name == `abc", "1:9 (8): Unterminated string literal"},
      {R"(Name == "a\qb")", "1:9 (8): invalid syntax in string literal (a bad escape or a raw "
                            "newline)"},
      {"Name == \"a\nb\"", "1:9 (8): invalid syntax in string literal (a bad escape or a raw "
                           "newline)"},
      {R"(Name == "\ud800")", "1:9 (8): invalid syntax in string literal (a bad escape or a "
                              "raw newline)"},
      {"Port == 08", "1:9 (8): Invalid number literal"},
      {"Port == 0x1F", "1:9 (8): Invalid number literal"},
      {"Port == 1x", "1:9 (8): Invalid number literal"},
      {"Port == 1.", "1:9 (8): Invalid number literal"},
      {"Port == -", "1:9 (8): Invalid number literal"},
      {"(Name == a", "1:1 (0): Unmatched parentheses"},
      {"(Name == a b", R"msg(1:12 (11): no match found, expected: "and", "or" or ")")msg"},
      {"Name == a)", R"(1:10 (9): no match found, expected: "and", "or" or the end of the )"
                     R"(filter)"},
      {R"(Meta[rack] == a)", "1:5 (4): Invalid index"},
      {R"(Meta["rack" == a)", "1:5 (4): Unclosed index expression"},
      {"Meta. == a", R"(1:6 (5): no match found, expected: a name or an index after ".")"},
      {R"("x" in "y")", "1:8 (7): Invalid selector"},
      {R"("x" == Name)", R"(1:5 (4): no match found, expected: "in" or "not in")"},
      {"Name is full", R"(1:9 (8): no match found, expected: "empty" or "not empty")"},
      {"Name not equal x", R"(1:10 (9): no match found, expected: "contains", "in" or )"
                           R"("matches")"},
      {"Name == a and", R"(1:14 (13): no match found, expected: "(", "not", a selector, a )"
                        R"(string or a number)"},
      {"Name == a AND b == c", R"(1:11 (10): no match found, expected: "and", "or" or the )"
                               R"(end of the filter)"},  // keywords are lower case
      {"a == 1 and\n  b = 2", R"(2:5 (15): no match found, expected: "!=", "==", "contains", )"
                              R"("in", "is", "matches" or "not")"},
      {"Name == \"\xc3\xa9\" and \xff", "1:17 (17): invalid encoding"},
      {R"(Name matches "(")", R"(1:14 (13): Failed to compile regular expression "(": )"},
  };
  for (const auto& [text, message] : cases) {
    Result<FilterExpr> expr = ParseFilter(text);
    INFO("filter: " << text);
    REQUIRE_FALSE(expr.ok());
    CHECK(expr.status().code() == StatusCode::kInvalidArgument);
    const std::string expected = "Failed to create boolean expression evaluator: " +
                                 std::string(message);
    // Regex errors end with std::regex's own words, which are not ours to pin down.
    CHECK(expr.status().message().substr(0, expected.size()) == expected);
    if (message.find("regular expression") == std::string_view::npos) {
      CHECK(expr.status().message() == expected);
    }
  }
}

std::string Nested(int levels, std::string_view open, std::string_view inner,
                   std::string_view close) {
  std::string text;
  for (int i = 0; i < levels; ++i) text += open;
  text += inner;
  for (int i = 0; i < levels; ++i) text += close;
  return text;
}

TEST_CASE("filter: text must be UTF-8, as go-bexpr's parser requires") {
  CHECK(ParseFilter("Name == \"\xf0\x9f\x90\xb3 \xc3\xa9\"").ok());
  const std::initializer_list<std::pair<std::string_view, std::string_view>> cases = {
      {"Name == \"\xc0\xaf\"", "1:10 (9)"},      // overlong '/'
      {"Name == \"\xed\xa0\x80\"", "1:10 (9)"},  // a surrogate
      {"Name == \"\xe2\x82", "1:10 (9)"},        // cut short
      {"Name == \"\xf4\x90\x80\x80\"", "1:10 (9)"},  // past U+10FFFF
      {"\x80", "1:1 (0)"},                         // a lone continuation byte
  };
  for (const auto& [text, position] : cases) {
    INFO("filter: " << text);
    CHECK(ParseFilter(text).status().message() ==
          "Failed to create boolean expression evaluator: " + std::string(position) +
              ": invalid encoding");
  }
}

TEST_CASE("filter: the length and nesting limits") {
  std::string longest = "Name == \"" + std::string(kFilterBytesMax - 11, 'x') + "\"";
  CHECK(ParseFilter(longest).ok());
  longest.insert(0, " ");
  CHECK(longest.size() == kFilterBytesMax);
  CHECK(ParseFilter(longest).ok());
  longest.insert(0, " ");
  CHECK(ParseFilter(longest).status().message() ==
        "Failed to create boolean expression evaluator: the filter is 4097 bytes; the limit is "
        "4096");

  CHECK(ParseFilter(Nested(kFilterDepthMax, "(", "a == 1", ")")).ok());
  CHECK(ParseFilter(Nested(kFilterDepthMax, "not ", "a == 1", "")).ok());
  CHECK(ParseFilter(Nested(kFilterDepthMax / 2, "not (", "a == 1", ")")).ok());
  const std::string too_deep = "Failed to create boolean expression evaluator: 1:33 (32): the "
                               "filter nests parentheses and \"not\" deeper than 32 levels";
  CHECK(ParseFilter(Nested(kFilterDepthMax + 1, "(", "a == 1", ")")).status().message() ==
        too_deep);
  CHECK(ParseFilter(Nested(kFilterDepthMax + 1, "not ", "a == 1", "")).status().message() ==
        "Failed to create boolean expression evaluator: 1:129 (128): the filter nests "
        "parentheses and \"not\" deeper than 32 levels");
  // Long and/or chains are flat, so they are not limited but by length.
  std::string chain = "a == 1";
  while (chain.size() < kFilterBytesMax - 20) chain += " or a == 1";
  CHECK(ParseFilter(chain).ok());
}

TEST_CASE("filter: regular expressions too large, too deep or beyond Go's syntax are refused") {
  const std::string prefix = "Failed to create boolean expression evaluator: 1:14 (13): Failed to "
                             "compile regular expression ";
  const auto refusal = [](const std::string& pattern) {
    Result<FilterExpr> expr = ParseFilter("Name matches `" + pattern + "`");
    REQUIRE_FALSE(expr.ok());
    return expr.status().message();
  };
  CHECK(ParseFilter("Name matches `" + std::string(kFilterRegexBytesMax, 'a') + "`").ok());
  CHECK(refusal(std::string(kFilterRegexBytesMax + 1, 'a')) ==
        prefix + "\"" + std::string(kFilterRegexBytesMax + 1, 'a') +
            "\": it is 129 bytes; the limit is 128");
  CHECK(refusal("(a{100}){100}") ==
        prefix + R"("(a{100}){100}": it is too large (more than about 256 states once repeats )"
                 "are counted)");
  CHECK(ParseFilter("Name matches `(a{10}){10}`").ok());
  CHECK(refusal("a{1001}") == prefix + R"("a{1001}": invalid repeat count (the limit is 1000))");
  CHECK(refusal("x(?=y)") == prefix + R"msg("x(?=y)": lookahead is not supported)msg");
  CHECK(refusal("x(?!y)") == prefix + R"msg("x(?!y)": lookahead is not supported)msg");
  CHECK(refusal("(a)\\1") == prefix + R"("(a)\\1": back-references are not supported)");
  CHECK(refusal(Nested(kFilterDepthMax + 1, "(", "a", ")")).ends_with(
      ": groups are nested deeper than 32 levels"));
  CHECK(ParseFilter("Name matches `" + Nested(kFilterDepthMax, "(", "a", ")") + "`").ok());
  // A bracket expression hides nothing from the count: "]" closes it even first.
  CHECK(refusal("[](a{100}){100}]").find("too large") != std::string::npos);
  // Valid alone only if it is valid: the wrapper must not rescue a broken pattern.
  CHECK(refusal("a)|(b").find("Failed to compile regular expression \"a)|(b\": ") !=
        std::string::npos);
}

TEST_CASE("filter: a pattern that backtracks exponentially runs in one pass") {
  const Json item = {{"Output", std::string(2048, 'a')}};  // exponentially many ways to backtrack
  Result<FilterExpr> nested = ParseFilter(R"(Output matches "^(a*)*b")");
  REQUIRE(nested.ok());
  CHECK_FALSE(MatchesFilter(*nested, item));
  Result<FilterExpr> alternatives = ParseFilter(R"(Output matches "(a|aa)*c")");
  REQUIRE(alternatives.ok());
  CHECK_FALSE(MatchesFilter(*alternatives, item));
  Result<FilterExpr> found = ParseFilter(R"(Output matches "a{40}$")");
  REQUIRE(found.ok());
  CHECK(MatchesFilter(*found, item));
}

// The HTTP server runs handlers on threads with 1 MiB stacks (docs/design/http.md).
// Parsing and evaluating the worst inputs the limits allow must fit in half that.
void* ParseHostileFilters(void* failures_out) {
  int& failures = *static_cast<int*>(failures_out);
  const std::string hostile[] = {
      Nested(kFilterDepthMax, "(", "a == 1", ")"),
      Nested(kFilterDepthMax, "not ", "a == 1", ""),
      "Name matches `" + std::string(kFilterRegexBytesMax, 'a') + "`",
      "Name matches `" + Nested(kFilterDepthMax, "(", "a", ")*") + "`",
      "Name matches `" + Nested(kFilterDepthMax, "(|", "b", ")") + "`",
      "Name matches `" + Nested(60, "a?", "", "") + "b`",
  };
  // 2 KiB is enough: std::regex's default (backtracking) matcher, which recurses per
  // character of the subject, overflows this stack on each of these patterns.
  const Json item = {{"Name", std::string(2048, 'a')}, {"a", 1}};
  for (const std::string& filter : hostile) {
    Result<FilterExpr> expr = ParseFilter(filter);
    if (!expr.ok()) {
      ++failures;
      continue;
    }
    (void)MatchesFilter(*expr, item);
  }
  return nullptr;
}

TEST_CASE("filter: hostile filters parse and run within half a handler thread's stack") {
  pthread_attr_t attributes;
  REQUIRE(pthread_attr_init(&attributes) == 0);
  REQUIRE(pthread_attr_setstacksize(&attributes, 512 * 1024) == 0);
  int failures = 0;
  pthread_t thread;
  REQUIRE(pthread_create(&thread, &attributes, ParseHostileFilters, &failures) == 0);
  REQUIRE(pthread_join(thread, nullptr) == 0);
  pthread_attr_destroy(&attributes);
  CHECK(failures == 0);
}

TEST_CASE("FilterArray: keeps matching items of a list or values of a map, in order") {
  const Json services = Json::array({
      {{"Service", "web"}, {"Tags", {"a"}}},
      {{"Service", "api"}, {"Tags", {"b"}}},
      {{"Service", "web2"}, {"Tags", {"a", "b"}}},
  });
  Result<Json> kept = FilterArray(R"(Tags contains "a")", services);
  REQUIRE(kept.ok());
  CHECK(*kept == Json::array({services[0], services[2]}));

  Result<Json> none = FilterArray(R"(Service == "db")", services);
  REQUIRE(none.ok());
  CHECK(*none == Json::array());

  Json by_id = Json::object();
  by_id["web-1"] = services[0];
  by_id["api-1"] = services[1];
  by_id["web-2"] = services[2];
  Result<Json> map = FilterArray(R"(Service matches "^web")", by_id);
  REQUIRE(map.ok());
  CHECK(map->dump() == R"({"web-1":{"Service":"web","Tags":["a"]},"web-2":{"Service":"web2",)"
                       R"("Tags":["a","b"]}})");
}

TEST_CASE("FilterArray: no filter changes nothing; a bad one fails even on an empty list") {
  const Json services = Json::array({{{"Service", "web"}}});
  Result<Json> unchanged = FilterArray("", services);
  REQUIRE(unchanged.ok());
  CHECK(*unchanged == services);

  Result<Json> bad = FilterArray("Service ==", Json::array());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  CHECK(bad.status().message() ==
        "Failed to create boolean expression evaluator: 1:11 (10): no match found, expected: a "
        "string, a number or a name");

  Result<Json> null_node = FilterArray("Service == web", Json());
  REQUIRE(null_node.ok());
  CHECK(null_node->is_null());

  Result<Json> scalar = FilterArray("Service == web", Json("web"));
  REQUIRE_FALSE(scalar.ok());
  CHECK(scalar.status().code() == StatusCode::kInternal);
}

TEST_CASE("FilterItems: a filter parsed before the read filters in place after it") {
  Result<FilterExpr> expr = ParseFilter("Port == 1");
  REQUIRE(expr.ok());
  Json items = Json::parse(R"([{"Port": 1}, {"Port": 2}, {"Port": 1, "Name": "b"}])");
  REQUIRE(FilterItems(*expr, items).ok());
  CHECK(items == Json::parse(R"([{"Port": 1}, {"Port": 1, "Name": "b"}])"));

  Json scalar = 5;
  CHECK(FilterItems(*expr, scalar).code() == StatusCode::kInternal);
  CHECK(scalar == 5);
}

TEST_CASE("filter: one parsed filter serves many items") {
  Result<FilterExpr> expr = ParseFilter(R"(Checks.Status == critical or Service.Port == 8080)");
  REQUIRE(expr.ok());
  CHECK(MatchesFilter(*expr, kCheckServiceNode));
  CHECK_FALSE(MatchesFilter(*expr, kSparse));
  CHECK_FALSE(MatchesFilter(*expr, Json()));
  CHECK_FALSE(MatchesFilter(*expr, Json::array()));
  CHECK_FALSE(MatchesFilter(*expr, Json("critical")));
}

}  // namespace
}  // namespace roster::http
// clang-format on
