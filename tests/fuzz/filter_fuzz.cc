// libFuzzer target for the ?filter= language (http/filter.h): the whole filter comes
// from the network. Besides "no crash, no UB, no stack overflow", it checks what a
// parsed filter must satisfy: an error is an InvalidArgument with Consul's prefix;
// "(f)" parses to the same tree as f; "not (f)" answers the opposite of f on every
// item; FilterArray keeps exactly the items MatchesFilter accepts.
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz-filter -G Ninja -DROSTER_FUZZ=ON
//   cmake --build build-fuzz-filter --target filter_fuzz
//   build-fuzz-filter/bin/filter_fuzz -max_total_time=60 -dict=tests/fuzz/filter.dict \
//       NEW_DIR tests/fuzz/corpus/filter
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/check.h"
#include "http/filter.h"

namespace roster::http {
namespace {

// Items shaped like the catalog and health results, with every JSON type on the paths
// the dictionary names: strings, signed, unsigned and fractional numbers, booleans,
// nulls, empty and non-empty lists and objects, and lists of objects.
const Json& Items() {
  static const Json items = Json::parse(R"([
    {"Node": "node-1", "Address": "10.0.0.1", "NodeMeta": {"rack": "r1", "zone id": ""},
     "ServiceName": "web", "ServiceTags": ["primary", "v2"], "ServicePort": 8080,
     "ServiceMeta": {"env": "prod"}, "ServiceEnableTagOverride": false,
     "ModifyIndex": 18446744073709551615, "Weight": 0.5, "Offset": -3},
    {"Node": {"Node": "node-2", "Meta": null},
     "Service": {"Service": "api", "Tags": [], "Meta": {}, "Port": 0},
     "Checks": [{"CheckID": "serfHealth", "Status": "passing", "Output": ""},
                {"CheckID": "service:api", "Status": "critical",
                 "Output": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nb"}]},
    {"Mixed": ["a", 1, true, null, {"k": "v"}, [2]], "Checks": []},
    null, "critical", 7, [], {}
  ])");
  return items;
}

constexpr std::string_view kErrorPrefix = "Failed to create boolean expression evaluator: ";

void FuzzOne(std::string_view text) {
  Result<FilterExpr> expr = ParseFilter(text);
  if (!expr.ok()) {
    CHECK(expr.status().code() == StatusCode::kInvalidArgument);
    CHECK(expr.status().message().starts_with(kErrorPrefix)) << expr.status().message();
    return;
  }
  const std::string tree = FilterToString(*expr);

  // A valid filter stays valid and keeps its meaning in parentheses, unless that
  // crosses the length or nesting limit.
  const std::string grouped = "(" + std::string(text) + ")";
  Result<FilterExpr> regrouped = ParseFilter(grouped);
  if (regrouped.ok()) {
    CHECK(FilterToString(*regrouped) == tree) << text;
  } else {
    const std::string& why = regrouped.status().message();
    CHECK(why.find("the limit is") != std::string::npos ||
          why.find("deeper than") != std::string::npos)
        << text << " -> " << why;
  }
  Result<FilterExpr> negated = ParseFilter("not " + grouped);

  for (const Json& item : Items()) {
    const bool matches = MatchesFilter(*expr, item);
    if (negated.ok()) CHECK(MatchesFilter(*negated, item) == !matches) << text;
  }

  Result<Json> kept = FilterArray(text, Items());
  CHECK(kept.ok() && kept->is_array());
  std::size_t next = 0;
  for (const Json& item : Items()) {
    if (!MatchesFilter(*expr, item)) continue;
    CHECK(next < kept->size() && (*kept)[next] == item) << text;
    ++next;
  }
  CHECK(next == kept->size()) << text;
}

}  // namespace
}  // namespace roster::http

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  roster::http::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
