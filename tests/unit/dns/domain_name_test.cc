// DomainName: RFC 1035 §2.3.4 limits, §5.1 text escapes, RFC 4343 case rules.
#include "dns/domain_name.h"

#include <string>

#include "tests/unit/dns/fixtures.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::dns {
namespace {

using namespace testing;

TEST_CASE("text with or without the final dot names the same labels") {
  CHECK(Name("web.service.roster").labels() ==
        std::vector<std::string>{"web", "service", "roster"});
  CHECK(Name("web.service.roster.") == Name("web.service.roster"));
  CHECK(Name(".").IsRoot());
  CHECK(Name("").IsRoot());
  CHECK(Name(".").ToString() == ".");
  CHECK(Name("a.b").WireBytes() == 1 + 2 + 2);
}

TEST_CASE("escapes put dots and any octet inside a label, and ToString writes them back") {
  const DomainName name = Name("a\\.b.c\\000d.e");
  CHECK(name.labels() == std::vector<std::string>{"a.b", std::string("c\0d", 3), "e"});
  CHECK(name.ToString() == "a\\.b.c\\000d.e.");
  CHECK(Name(name.ToString()) == name);
}

TEST_CASE("bad names are refused with the reason") {
  const auto error = [](std::string_view text) {
    Result<DomainName> name = DomainName::Parse(text);
    REQUIRE(!name.ok());
    return name.status().message();
  };
  CHECK_THAT(error("a..b"), Catch::Contains("empty label"));
  CHECK_THAT(error(".a"), Catch::Contains("empty label"));
  CHECK_THAT(error(std::string(64, 'x') + ".roster"), Catch::Contains("longer than 63"));
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(63, 'x') + ".";
  CHECK_THAT(error(long_name), Catch::Contains("longer than 255"));
  CHECK_THAT(error("a\\"), Catch::Contains("lone backslash"));
  CHECK_THAT(error("a\\25"), Catch::Contains("three decimal digits"));
  CHECK_THAT(error("a\\256"), Catch::Contains("above 255"));
  CHECK(DomainName::Parse(std::string(63, 'x') + ".roster").ok());
}

TEST_CASE("case is ignored for comparison and suffixes, but kept for ==") {
  CHECK(Name("WEB.Service.ROSTER").EqualsIgnoreCase(Name("web.service.roster")));
  CHECK(Name("WEB.Service.ROSTER") != Name("web.service.roster"));
  CHECK(Name("web.service.ROSTER").EndsWithIgnoreCase(Name("roster")));
  CHECK(Name("web.service.roster").EndsWithIgnoreCase(Name(".")));
  CHECK(!Name("web.service.roster").EndsWithIgnoreCase(Name("ster")));
  CHECK(!Name("roster").EndsWithIgnoreCase(Name("a.roster")));
  CHECK(Name("A.B").ToLowerString() == "a.b.");
  // Only ASCII letters fold: 0xC4 and 0xE4 stay different (RFC 4343 §3).
  CHECK(!AsciiEqualsIgnoreCase("\xC4", "\xE4"));
}

}  // namespace
}  // namespace roster::dns
