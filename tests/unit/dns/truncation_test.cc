// EncodeResponse: fitting a response into 512 octets or the client's EDNS size by
// dropping whole records, with TC set when answers are cut (RFC 1035 §4.2.1, RFC 2181
// §9, RFC 6891 §7).
#include <string>

#include "dns/message.h"
#include "tests/unit/dns/fixtures.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::dns {
namespace {

using namespace testing;

ResourceRecord A(std::string_view name, std::uint8_t last_octet) {
  return ResourceRecord{Name(name), kTypeA, kClassIn, 0, AddressV4{{10, 0, 0, last_octet}}};
}

ResourceRecord Srv(std::string_view name, std::string_view target) {
  return ResourceRecord{Name(name), kTypeSrv, kClassIn, 0, SrvData{1, 1, 80, Name(target)}};
}

Message ResponseWithAnswers(int count) {
  Message message = Query("web.service.roster", kTypeA);
  message.header.response = true;
  for (int i = 0; i < count; ++i) {
    message.answers.push_back(A("web.service.roster", static_cast<std::uint8_t>(i)));
  }
  return message;
}

TEST_CASE("a response that fits is written whole, TC clear") {
  const Message message = ResponseWithAnswers(3);
  const EncodedResponse encoded = EncodeResponse(message, 512, true);
  CHECK(!encoded.truncated);
  CHECK(encoded.answers_written == 3);
  CHECK(encoded.bytes == EncodeMessage(message));
}

TEST_CASE("answers are cut to whole records under the limit, and TC is set") {
  // Header 12 + question 24 = 36; each compressed A record 16: 29 fit in 512 (500).
  const Message message = ResponseWithAnswers(100);
  const EncodedResponse encoded = EncodeResponse(message, 512, true);
  CHECK(encoded.truncated);
  CHECK(encoded.answers_written == 29);
  CHECK(encoded.bytes.size() == 36 + 29 * 16);
  const Message parsed = MustParse(encoded.bytes);
  CHECK(parsed.header.truncated);
  REQUIRE(parsed.answers.size() == 29);
  CHECK(parsed.answers[28] == message.answers[28]);  // the first 29, in order
}

TEST_CASE("the limit is exact: one octet less drops one more record") {
  const Message message = ResponseWithAnswers(100);
  CHECK(EncodeResponse(message, 36 + 10 * 16, true).answers_written == 10);
  CHECK(EncodeResponse(message, 36 + 10 * 16 - 1, true).answers_written == 9);
}

TEST_CASE("over TCP the caller cuts without TC") {
  const EncodedResponse encoded = EncodeResponse(ResponseWithAnswers(100), 512, false);
  CHECK(encoded.truncated);
  CHECK(!MustParse(encoded.bytes).header.truncated);
}

TEST_CASE("the OPT record is kept even when answers are cut, and room is left for it") {
  Message message = ResponseWithAnswers(100);
  message.edns = Edns{};
  message.edns->udp_payload_bytes = 1232;
  const EncodedResponse encoded = EncodeResponse(message, 1232, true);
  CHECK(encoded.truncated);
  CHECK(encoded.bytes.size() <= 1232);
  CHECK(encoded.answers_written == (1232 - 36 - 11) / 16);
  const Message parsed = MustParse(encoded.bytes);
  REQUIRE(parsed.edns.has_value());
  CHECK(parsed.edns->udp_payload_bytes == 1232);
}

TEST_CASE("when SRV answers are cut, additional records for the cut targets go too") {
  Message message = Query("web.service.roster", kTypeSrv);
  message.header.response = true;
  for (int i = 0; i < 40; ++i) {
    const std::string target = "node" + std::to_string(i) + ".node.dc1.roster";
    message.answers.push_back(Srv("web.service.roster", target));
    message.additional.push_back(A(target, static_cast<std::uint8_t>(i)));
  }
  const EncodedResponse encoded = EncodeResponse(message, 512, true);
  REQUIRE(encoded.truncated);
  const Message parsed = MustParse(encoded.bytes);
  REQUIRE(!parsed.answers.empty());
  CHECK(parsed.additional.size() <= parsed.answers.size());
  for (const ResourceRecord& extra : parsed.additional) {
    bool mentioned = false;
    for (const ResourceRecord& answer : parsed.answers) {
      mentioned = mentioned || std::get<SrvData>(answer.data).target == extra.name;
    }
    CHECK(mentioned);
  }
}

TEST_CASE("additional records that do not fit are left out without TC") {
  Message message = ResponseWithAnswers(2);
  for (int i = 0; i < 60; ++i) message.additional.push_back(A("web.service.roster", 100));
  const EncodedResponse encoded = EncodeResponse(message, 512, true);
  CHECK(!encoded.truncated);
  const Message parsed = MustParse(encoded.bytes);
  CHECK(!parsed.header.truncated);
  CHECK(parsed.answers.size() == 2);
  CHECK(parsed.additional.size() == (512 - 36 - 2 * 16) / 16);
}

TEST_CASE("a negative answer's SOA always fits in 512 octets") {
  Message message = Query("nothing.service.roster", kTypeA);
  message.header.response = true;
  message.header.rcode = kRcodeNxDomain;
  message.authority.push_back(ResourceRecord{
      Name("roster"), kTypeSoa, kClassIn, 0,
      SoaData{Name("ns.roster"), Name("hostmaster.roster"), 1, 3600, 600, 86400, 0}});
  const EncodedResponse encoded = EncodeResponse(message, 512, true);
  CHECK(!encoded.truncated);
  CHECK(MustParse(encoded.bytes) == message);
}

TEST_CASE("an authority section that cannot fit without answers is a truncation") {
  Message message = Query("nothing.service.roster", kTypeA);
  message.header.response = true;
  message.authority.push_back(A("roster", 1));
  const EncodedResponse encoded = EncodeResponse(message, 40, true);
  CHECK(encoded.truncated);
  CHECK(MustParse(encoded.bytes).authority.empty());
}

}  // namespace
}  // namespace roster::dns
