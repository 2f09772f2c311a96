// ParseQuery's verdicts: drop, FORMERR, NOTIMP, BADVERS, REFUSED (RFC 1035 §4.1.1,
// RFC 6891 §6.1.3 and §7), table-driven over hand-assembled queries.
#include "dns/query.h"

#include <string>

#include "tests/unit/dns/fixtures.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::dns {
namespace {

using namespace testing;

// The question "a.roster. A IN" after the header.
constexpr const char* kQuestion = "01 61 06 726f73746572 00 0001 0001";

TEST_CASE("each kind of bad query gets its verdict") {
  const struct {
    const char* what;
    Bytes bytes;
    QueryVerdict verdict;
  } cases[] = {
      {"a good query", Hex(std::string("0001 0100 0001 0000 0000 0000") + kQuestion),
       QueryVerdict::kAnswer},
      {"class ANY is served like IN",
       Hex("0001 0100 0001 0000 0000 0000 01 61 06 726f73746572 00 0001 00ff"),
       QueryVerdict::kAnswer},
      {"empty", Hex(""), QueryVerdict::kDrop},
      {"11 octets", Hex("0001 0100 0001 0000 0000 00"), QueryVerdict::kDrop},
      {"a response (QR set)", Hex(std::string("0001 8100 0001 0000 0000 0000") + kQuestion),
       QueryVerdict::kDrop},
      {"a response, even a broken one", Hex("0001 8100 0005 0000 0000 0000"), QueryVerdict::kDrop},
      {"opcode IQUERY", Hex(std::string("0001 0900 0001 0000 0000 0000") + kQuestion),
       QueryVerdict::kNotImplemented},
      {"opcode NOTIFY", Hex(std::string("0001 2100 0001 0000 0000 0000") + kQuestion),
       QueryVerdict::kNotImplemented},
      {"opcode UPDATE with garbage", Hex("0001 2800 0001 0000 0000 0000 ff"),
       QueryVerdict::kNotImplemented},
      {"no question", Hex("0001 0100 0000 0000 0000 0000"), QueryVerdict::kFormatError},
      {"two questions", Hex(std::string("0001 0100 0002 0000 0000 0000") + kQuestion + kQuestion),
       QueryVerdict::kFormatError},
      {"a count promising more than there is", Hex("0001 0100 0001 0000 0000 0000"),
       QueryVerdict::kFormatError},
      {"a compression loop", Hex("0001 0100 0001 0000 0000 0000 c00c 0001 0001"),
       QueryVerdict::kFormatError},
      {"trailing octets", Hex(std::string("0001 0100 0001 0000 0000 0000") + kQuestion + "00"),
       QueryVerdict::kFormatError},
      {"two OPT records",
       Hex(std::string("0001 0100 0001 0000 0000 0002") + kQuestion +
           "00 0029 0200 00000000 0000 00 0029 0200 00000000 0000"),
       QueryVerdict::kFormatError},
      {"EDNS version 1",
       Hex(std::string("0001 0100 0001 0000 0000 0001") + kQuestion + "00 0029 0200 00010000 0000"),
       QueryVerdict::kBadVersion},
      {"EDNS version 0 is fine",
       Hex(std::string("0001 0100 0001 0000 0000 0001") + kQuestion + "00 0029 0200 00000000 0000"),
       QueryVerdict::kAnswer},
      {"class CH", Hex("0001 0100 0001 0000 0000 0000 01 61 06 726f73746572 00 0001 0003"),
       QueryVerdict::kRefused},
      {"class HS", Hex("0001 0100 0001 0000 0000 0000 01 61 06 726f73746572 00 0001 0004"),
       QueryVerdict::kRefused},
      {"class 77", Hex("0001 0100 0001 0000 0000 0000 01 61 06 726f73746572 00 0001 004d"),
       QueryVerdict::kRefused},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const ParsedQuery parsed = ParseQuery(c.bytes);
    CHECK(parsed.verdict == c.verdict);
    CHECK(parsed.reason.empty() == (c.verdict == QueryVerdict::kAnswer));
  }
}

TEST_CASE("a parsed query keeps its header and message for the reply") {
  const ParsedQuery parsed =
      ParseQuery(Hex(std::string("beef 0110 0001 0000 0000 0000") + kQuestion));
  REQUIRE(parsed.verdict == QueryVerdict::kAnswer);
  CHECK(parsed.header.id == 0xbeef);
  CHECK(parsed.header.recursion_desired);
  CHECK(parsed.header.checking_disabled);
  REQUIRE(parsed.message.has_value());
  CHECK(parsed.message->questions[0].name.ToString() == "a.roster.");
}

}  // namespace
}  // namespace roster::dns
