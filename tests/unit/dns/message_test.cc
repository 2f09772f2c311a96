// The wire codec against hand-assembled packets: RFC 1035 §4.1 (header, question,
// records), §4.1.4 (compression), RFC 6891 §6.1 (OPT), RFC 2782 (SRV), RFC 3596
// (AAAA), and every way a packet can be malformed.
#include "dns/message.h"

#include <string>

#include "tests/unit/dns/fixtures.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::dns {
namespace {

using namespace testing;

// dig www.example.com (no EDNS): ID 0x1234, RD, one question, A IN.
const Bytes kWwwExampleQuery =
    Hex("1234 0100 0001 0000 0000 0000"
        "03 777777 07 6578616d706c65 03 636f6d 00"
        "0001 0001");

std::string Error(const Bytes& bytes) {
  Result<Message> message = ParseMessage(bytes);
  REQUIRE(!message.ok());
  return message.status().message();
}

TEST_CASE("RFC 1035 §4.1: a query for www.example.com parses field by field") {
  Result<Message> message = ParseMessage(kWwwExampleQuery);
  REQUIRE(message.ok());
  CHECK(message->header.id == 0x1234);
  CHECK(!message->header.response);
  CHECK(message->header.opcode == kOpcodeQuery);
  CHECK(message->header.recursion_desired);
  CHECK(!message->header.authoritative);
  CHECK(message->header.rcode == kRcodeNoError);
  REQUIRE(message->questions.size() == 1);
  CHECK(message->questions[0].name.ToString() == "www.example.com.");
  CHECK(message->questions[0].type == kTypeA);
  CHECK(message->questions[0].klass == kClassIn);
  CHECK(message->answers.empty());
  CHECK(!message->edns.has_value());
}

TEST_CASE("the same query encodes to the same octets") {
  CHECK(Encode(Query("www.example.com", kTypeA)) == kWwwExampleQuery);
}

TEST_CASE("every header flag and the opcode have their own bit") {
  // QR, opcode 2 (STATUS), AA, TC, RD, RA, Z, AD, CD, rcode 5.
  const Bytes bytes = Hex("0001 97f5 0000 0000 0000 0000");
  Result<Message> message = ParseMessage(bytes);
  REQUIRE(message.ok());
  const Header& h = message->header;
  CHECK(h.response);
  CHECK(h.opcode == kOpcodeStatus);
  CHECK(h.authoritative);
  CHECK(h.truncated);
  CHECK(h.recursion_desired);
  CHECK(h.recursion_available);
  CHECK(h.zero);
  CHECK(h.authentic_data);
  CHECK(h.checking_disabled);
  CHECK(h.rcode == kRcodeRefused);
  CHECK(Encode(*message) == bytes);
}

// RFC 1035 §4.1.4's example, laid out in a response: F.ISI.ARPA in the question at
// offset 12, FOO.F.ISI.ARPA as "FOO" plus a pointer to it, ARPA as a pointer alone.
const Bytes kCompressedResponse =
    Hex("abcd 8180 0001 0002 0000 0000"
        "01 46 03 495349 04 41525041 00 0001 0001"         // F.ISI.ARPA at 12; ARPA at 18
        "03 464f4f c00c 0001 0001 00000e10 0004 0a000001"  // FOO + ptr(12): A 10.0.0.1
        "c012 0002 0001 00000e10 0002 c00c");  // ptr(18) = ARPA: NS F.ISI.ARPA (a pointer)

TEST_CASE("RFC 1035 §4.1.4: compression pointers are followed on read") {
  Result<Message> message = ParseMessage(kCompressedResponse);
  REQUIRE(message.ok());
  CHECK(message->header.response);
  CHECK(message->header.recursion_available);
  REQUIRE(message->answers.size() == 2);
  CHECK(message->answers[0].name.ToString() == "FOO.F.ISI.ARPA.");
  CHECK(message->answers[0].ttl_s == 3600);
  CHECK(std::get<AddressV4>(message->answers[0].data).octets ==
        std::array<std::uint8_t, 4>{10, 0, 0, 1});
  CHECK(message->answers[1].name.ToString() == "ARPA.");
  CHECK(message->answers[1].type == kTypeNs);
  CHECK(std::get<NameData>(message->answers[1].data).name.ToString() == "F.ISI.ARPA.");
}

TEST_CASE("RFC 1035 §4.1.4: the encoder points at the longest suffix already written") {
  CHECK(Encode(MustParse(std::string(kCompressedResponse.begin(), kCompressedResponse.end()))) ==
        kCompressedResponse);
}

TEST_CASE("compression keeps case: a suffix in another case is written out") {
  Message message = Query("web.service.roster", kTypeA);
  message.answers.push_back(
      ResourceRecord{Name("WEB.service.roster"), kTypeA, kClassIn, 0, AddressV4{{1, 2, 3, 4}}});
  const Bytes bytes = Encode(message);
  // "WEB" spelled out, then a pointer to "service.roster" at offset 16.
  const Bytes owner = Hex("03 574542 c010");
  CHECK(std::search(bytes.begin(), bytes.end(), owner.begin(), owner.end()) != bytes.end());
  CHECK(MustParse(std::string(bytes.begin(), bytes.end())) == message);
}

TEST_CASE("RFC 2782: SRV parses, and its target is never compressed on write") {
  Message message = Query("_web._tcp.service.roster", kTypeSrv);
  message.header.response = true;
  message.answers.push_back(ResourceRecord{Name("_web._tcp.service.roster"), kTypeSrv, kClassIn, 30,
                                           SrvData{1, 5, 8080, Name("n1.node.dc1.roster")}});
  const Bytes bytes = Encode(message);
  const Bytes srv_rdata =
      Hex("001a"                                                // RDLENGTH 26
          "0001 0005 1f90"                                      // priority 1, weight 5, port 8080
          "02 6e31 04 6e6f6465 03 646331 06 726f73746572 00");  // n1.node.dc1.roster, uncompressed
  CHECK(std::search(bytes.begin(), bytes.end(), srv_rdata.begin(), srv_rdata.end()) != bytes.end());
  CHECK(MustParse(std::string(bytes.begin(), bytes.end())) == message);
}

TEST_CASE("AAAA, TXT, SOA, CNAME and unknown types round-trip") {
  Message message = Query("x.roster", kTypeAny);
  message.header.response = true;
  AddressV6 v6;
  v6.octets[0] = 0xfe;
  v6.octets[1] = 0x80;
  v6.octets[15] = 1;
  message.answers.push_back(ResourceRecord{Name("x.roster"), kTypeAaaa, kClassIn, 1, v6});
  message.answers.push_back(
      ResourceRecord{Name("x.roster"), kTypeTxt, kClassIn, 2, TxtData{{"a=b", "", "c"}}});
  message.answers.push_back(
      ResourceRecord{Name("x.roster"), kTypeCname, kClassIn, 3, NameData{Name("y.example")}});
  message.authority.push_back(ResourceRecord{
      Name("roster"), kTypeSoa, kClassIn, 0,
      SoaData{Name("ns.roster"), Name("hostmaster.roster"), 7, 3600, 600, 86400, 0}});
  message.additional.push_back(
      ResourceRecord{Name("x.roster"), kTypeMx, kClassIn, 4, RawData{std::string("\0\x0a\0", 3)}});
  const Bytes bytes = Encode(message);
  CHECK(MustParse(std::string(bytes.begin(), bytes.end())) == message);
}

TEST_CASE("RFC 6891 §6.1: the OPT record becomes Edns, and the extended rcode joins up") {
  // A response with rcode BADVERS (16): header 0, OPT extended rcode 1; version 0, DO,
  // UDP size 4096, one option (code 10, 8 octets).
  const Bytes bytes =
      Hex("0007 8000 0000 0000 0000 0001"
          "00 0029 1000 01008000 000c 000a 0008 0102030405060708");
  Result<Message> message = ParseMessage(bytes);
  REQUIRE(message.ok());
  REQUIRE(message->edns.has_value());
  CHECK(message->edns->udp_payload_bytes == 4096);
  CHECK(message->edns->version == 0);
  CHECK(message->edns->dnssec_ok);
  CHECK(message->header.rcode == kRcodeBadVers);
  REQUIRE(message->edns->options.size() == 1);
  CHECK(message->edns->options[0].code == 10);
  CHECK(message->edns->options[0].data == "\x01\x02\x03\x04\x05\x06\x07\x08");
  CHECK(message->additional.empty());  // the OPT record is not an additional record
  CHECK(Encode(*message) == bytes);
}

TEST_CASE("malformed packets fail with a reason, never a crash") {
  struct Case {
    const char* what;
    Bytes bytes;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"shorter than a header", Hex("1234 0100 0001 0000 0000"), "shorter than a DNS header"},
      {"a question count with no question", Hex("1234 0100 0001 0000 0000 0000"),
       "a name runs past the end of the message"},
      {"a question cut inside its type", Hex("1234 0100 0001 0000 0000 0000 00 00"),
       "message ends inside a field"},
      {"a label running past the end", Hex("1234 0100 0001 0000 0000 0000 05 6162"),
       "a label runs past the end"},
      {"a pointer to itself", Hex("1234 0100 0001 0000 0000 0000 c00c 0001 0001"),
       "does not point to an earlier name"},
      {"a pointer forwards", Hex("1234 0100 0001 0000 0000 0000 c00e 0001 0001 00"),
       "does not point to an earlier name"},
      {"a pointer cut in half", Hex("1234 0100 0001 0000 0000 0000 c0"),
       "a compression pointer runs past the end"},
      {"label type 01", Hex("1234 0100 0001 0000 0000 0000 41 00 0001 0001"), "unknown label type"},
      {"label type 10", Hex("1234 0100 0001 0000 0000 0000 81 00 0001 0001"), "unknown label type"},
      {"octets after the last record", Hex("1234 0100 0000 0000 0000 0000 00"), "octets left over"},
      {"an A record with 3 octets",
       Hex("1234 8100 0000 0001 0000 0000 00 0001 0001 00000000 0003 010203"),
       "wrong RDATA length"},
      {"RDATA longer than the message",
       Hex("1234 8100 0000 0001 0000 0000 00 0010 0001 00000000 0009 01"),
       "RDATA runs past the end"},
      {"a CNAME whose name ends before its RDATA does",
       Hex("1234 8100 0000 0001 0000 0000 00 0005 0001 00000000 0003 00 0000"),
       "RDATA does not match its length"},
      {"a TXT string longer than its record",
       Hex("1234 8100 0000 0001 0000 0000 00 0010 0001 00000000 0002 05 61"),
       "a TXT string runs past its record"},
      {"two OPT records",
       Hex("1234 0100 0000 0000 0000 0002 00 0029 0200 00000000 0000 00 0029 0200 00000000 0000"),
       "more than one OPT record"},
      {"an OPT record among the answers",
       Hex("1234 0100 0000 0001 0000 0000 00 0029 0200 00000000 0000"),
       "outside the additional section"},
      {"an OPT record not owned by the root",
       Hex("1234 0100 0000 0000 0000 0001 01 61 00 0029 0200 00000000 0000"),
       "not owned by the root"},
      {"an EDNS option longer than its record",
       Hex("1234 0100 0000 0000 0000 0001 00 0029 0200 00000000 0004 000a 0002"),
       "an EDNS option runs past"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    CHECK_THAT(Error(c.bytes), Catch::Contains(c.reason));
  }
}

TEST_CASE("a label of 64 octets and a name of 256 octets are refused") {
  Bytes long_label = Hex("1234 0100 0001 0000 0000 0000");
  // A length octet of 64 is 0x40: the reserved "01" label type, so it cannot be a label.
  long_label.push_back(64);
  long_label.insert(long_label.end(), 64, 'a');
  long_label.insert(long_label.end(), {0, 0, 1, 0, 1});
  CHECK_THAT(Error(long_label), Catch::Contains("unknown label type"));

  // Four labels of 63 octets and 1 + 63 + 1 = 257 octets in all.
  Bytes long_name = Hex("1234 0100 0001 0000 0000 0000");
  for (int i = 0; i < 4; ++i) {
    long_name.push_back(63);
    long_name.insert(long_name.end(), 63, 'a');
  }
  long_name.insert(long_name.end(), {0, 0, 1, 0, 1});
  CHECK_THAT(Error(long_name), Catch::Contains("longer than 255 octets"));

  // 3 x 63 + 61: 1 + 3 * 64 + 62 = 255 octets exactly, which is allowed.
  Bytes longest = Hex("1234 0100 0001 0000 0000 0000");
  for (int i = 0; i < 3; ++i) {
    longest.push_back(63);
    longest.insert(longest.end(), 63, 'a');
  }
  longest.push_back(61);
  longest.insert(longest.end(), 61, 'b');
  longest.insert(longest.end(), {0, 0, 1, 0, 1});
  Result<Message> message = ParseMessage(longest);
  REQUIRE(message.ok());
  CHECK(message->questions[0].name.WireBytes() == 255);
}

TEST_CASE("a pointer to a later name is refused") {
  // Question name at 12: "a" then a pointer to 16, where "b" and a pointer back to 12
  // sit: a loop, refused at its first (forward) pointer.
  const Bytes loop = Hex("1234 0100 0001 0000 0000 0000 01 61 c010 01 62 c00c 0001 0001");
  CHECK_THAT(Error(loop), Catch::Contains("does not point to an earlier name"));
}

TEST_CASE("a chain of pointers through earlier names is read whole") {
  const Bytes chain =
      Hex("1234 0100 0003 0000 0000 0000"
          "07 6578616d706c65 03 636f6d 00 0001 0001"  // 12: example.com
          "03 777777 c00c 0001 0001"                  // 29: www + ptr(12)
          "01 61 c01d 0001 0001");                    // 39: a + ptr(29)
  Result<Message> message = ParseMessage(chain);
  REQUIRE(message.ok());
  REQUIRE(message->questions.size() == 3);
  CHECK(message->questions[1].name.ToString() == "www.example.com.");
  CHECK(message->questions[2].name.ToString() == "a.www.example.com.");
}

TEST_CASE("a pointer may not come back to a label it already read") {
  // Name at 12: "a" (12-13) "b" (14-15), then at 16 a pointer to 14: it points back, but
  // into the same name, and from 14 the reader meets the pointer at 16 again.
  const Bytes self_loop = Hex("1234 0100 0001 0000 0000 0000 01 61 01 62 c00e 0001 0001");
  CHECK_THAT(Error(self_loop), Catch::Contains("does not point to an earlier name"));
}

TEST_CASE("ParseHeader reads the counts without reading the rest") {
  const std::optional<HeaderCounts> counts = ParseHeader(Hex("ffff 0100 0002 0003 0004 0005 ff"));
  REQUIRE(counts.has_value());
  CHECK(counts->header.id == 0xffff);
  CHECK(counts->question_count == 2);
  CHECK(counts->answer_count == 3);
  CHECK(counts->authority_count == 4);
  CHECK(counts->additional_count == 5);
  CHECK(!ParseHeader(Hex("ffff 0100 0002 0003 0004 00")).has_value());
}

}  // namespace
}  // namespace roster::dns
