// Responder: query octets in, reply octets out. The header rules (RFC 1035 §4.1.1),
// the error replies, EDNS (RFC 6891 §7, RFC 7871 for client subnet), and truncation to
// 512 octets / the EDNS size over UDP with the whole answer over TCP.
#include "dns/responder.h"

#include <string>

#include "base/clock.h"
#include "base/random.h"
#include "tests/unit/dns/fixtures.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::dns {
namespace {

using namespace testing;

struct Server {
  FakeCatalog catalog;
  FakeClock clock{1700000000123};
  DeterministicRandom random{1};
  DnsConfig config;

  Server() {
    DnsInstance web = Instance("n1", "10.0.0.1", 80);
    catalog.services["web"] = {web};
    for (int i = 0; i < 200; ++i) {
      catalog.services["big"].push_back(
          Instance("node" + std::to_string(i),
                   "10.9." + std::to_string(i / 250) + "." + std::to_string(i % 250), 8000));
    }
  }

  DnsReply Ask(const Bytes& query, Transport transport = Transport::kUdp) {
    const Responder responder(config, catalog, clock);
    return responder.Respond(query, transport, random);
  }
  DnsReply Ask(const Message& query, Transport transport = Transport::kUdp) {
    return Ask(Encode(query), transport);
  }
};

Message Reply(const DnsReply& reply) {
  REQUIRE(reply.action != ReplyAction::kDrop);
  return MustParse(reply.bytes);
}

// web.service.roster A IN, ID 0x4242, RD, no EDNS.
const Bytes kWebQuery =
    Hex("4242 0100 0001 0000 0000 0000"
        "03 776562 07 73657276696365 06 726f73746572 00 0001 0001");

TEST_CASE("a query for a service gets an authoritative answer with its header echoed") {
  Server server;
  const DnsReply reply = server.Ask(kWebQuery);
  CHECK(reply.action == ReplyAction::kSend);
  // ID, flags QR AA RD (0x8500), 1 question, 1 answer; the question as asked, then
  // the A record pointing back at it.
  CHECK(ToBytes(reply.bytes) == Hex("4242 8500 0001 0001 0000 0000"
                                    "03 776562 07 73657276696365 06 726f73746572 00 0001 0001"
                                    "c00c 0001 0001 00000000 0004 0a000001"));
}

TEST_CASE("RA is set when recursors are configured") {
  Server server;
  server.config.recursion_available = true;
  CHECK(Reply(server.Ask(kWebQuery)).header.recursion_available);
}

TEST_CASE("the question comes back in the case it was asked (0x20 resolvers check it)") {
  Server server;
  const Message reply = Reply(server.Ask(Query("wEb.SeRvIcE.RoStEr", kTypeA)));
  CHECK(reply.questions[0].name.ToString() == "wEb.SeRvIcE.RoStEr.");
  CHECK(reply.answers[0].name.ToString() == "wEb.SeRvIcE.RoStEr.");
}

TEST_CASE("nothing is sent for a packet without a header or for a response") {
  Server server;
  CHECK(server.Ask(Hex("4242 0100 0001")).action == ReplyAction::kDrop);
  Bytes response = kWebQuery;
  response[2] |= 0x80;  // QR
  const DnsReply reply = server.Ask(response);
  CHECK(reply.action == ReplyAction::kDrop);
  CHECK(reply.bytes.empty());
  CHECK(reply.reason == "a response, not a query");
}

TEST_CASE("error replies: FORMERR, NOTIMP, REFUSED, with what can be echoed") {
  Server server;
  SECTION("two questions: FORMERR without a question") {
    Message query = Query("web.service.roster", kTypeA);
    query.questions.push_back(query.questions[0]);
    const Message reply = Reply(server.Ask(query));
    CHECK(reply.header.id == 0x1234);
    CHECK(reply.header.response);
    CHECK(reply.header.recursion_desired);
    CHECK(!reply.header.authoritative);
    CHECK(reply.header.rcode == kRcodeFormErr);
    CHECK(reply.questions.empty());
  }
  SECTION("a compression loop: FORMERR") {
    const Message reply = Reply(server.Ask(Hex("0007 0000 0001 0000 0000 0000 c00c 0001 0001")));
    CHECK(reply.header.id == 7);
    CHECK(reply.header.rcode == kRcodeFormErr);
  }
  SECTION("opcode UPDATE: NOTIMP, with the opcode and question echoed") {
    Bytes update = kWebQuery;
    update[2] = 0x28;  // opcode 5, RD clear
    const Message reply = Reply(server.Ask(update));
    CHECK(reply.header.rcode == kRcodeNotImp);
    CHECK(reply.header.opcode == kOpcodeUpdate);
    REQUIRE(reply.questions.size() == 1);
    CHECK(reply.questions[0].name.ToString() == "web.service.roster.");
    CHECK(reply.answers.empty());
  }
  SECTION("class CHAOS: REFUSED") {
    Bytes chaos = kWebQuery;
    chaos.back() = 3;
    const Message reply = Reply(server.Ask(chaos));
    CHECK(reply.header.rcode == kRcodeRefused);
    CHECK(reply.answers.empty());
  }
}

TEST_CASE("names outside both domains are marked for forwarding, with a REFUSED ready") {
  Server server;
  const DnsReply reply = server.Ask(Query("www.example.com", kTypeA));
  CHECK(reply.action == ReplyAction::kNotOurs);
  const Message refused = MustParse(reply.bytes);
  CHECK(refused.header.rcode == kRcodeRefused);
  CHECK(!refused.header.authoritative);
  CHECK(refused.questions.size() == 1);
  CHECK(refused.answers.empty());
}

TEST_CASE("EDNS: version above 0 gets BADVERS with an OPT of version 0") {
  Server server;
  Message query = WithEdns(Query("web.service.roster", kTypeA), 1232);
  query.edns->version = 1;
  const Message reply = Reply(server.Ask(query));
  CHECK(reply.header.rcode == kRcodeBadVers);
  REQUIRE(reply.edns.has_value());
  CHECK(reply.edns->version == 0);
  CHECK(reply.answers.empty());
  // On the wire: header RCODE 0, OPT extended RCODE 1.
  const Bytes bytes = Encode(reply);
  CHECK((bytes[3] & 0x0F) == 0);
}

TEST_CASE("EDNS: the OPT comes back with the UDP size and DO bit, and client subnet scope 0") {
  Server server;
  Message query = WithEdns(Query("web.service.roster", kTypeA), 1232);
  query.edns->dnssec_ok = true;
  // Family 1 (IPv4), source /24, scope 0 asked, 192.0.2.
  query.edns->options.push_back(
      EdnsOption{kEdnsOptionClientSubnet, std::string("\x00\x01\x18\x00\xc0\x00\x02", 7)});
  query.edns->options.push_back(EdnsOption{10, "cookie!!"});  // not echoed
  const Message reply = Reply(server.Ask(query));
  REQUIRE(reply.edns.has_value());
  CHECK(reply.edns->udp_payload_bytes == 1232);
  CHECK(reply.edns->dnssec_ok);
  REQUIRE(reply.edns->options.size() == 1);
  CHECK(reply.edns->options[0].code == kEdnsOptionClientSubnet);
  CHECK(reply.edns->options[0].data == std::string("\x00\x01\x18\x00\xc0\x00\x02", 7));
  // A plain query gets no OPT.
  CHECK(!Reply(server.Ask(kWebQuery)).edns.has_value());
}

TEST_CASE("EDNS: a client-subnet option that is not well formed is not echoed") {
  Server server;
  for (const std::string& data : {
           std::string("\x00\x03\x18\x00\xc0\x00\x02", 7),          // family 3
           std::string("\x00\x01\x21\x00\xc0\x00\x02\x01\x01", 9),  // /33 for IPv4
           std::string("\x00\x01\x18\x00\xc0\x00", 6),              // /24 needs 3 octets
           std::string(600, '\x01'),
       }) {
    Message query = WithEdns(Query("web.service.roster", kTypeA), 1232);
    query.edns->options.push_back(EdnsOption{kEdnsOptionClientSubnet, data});
    const Message reply = Reply(server.Ask(query));
    CHECK(reply.header.rcode == kRcodeNoError);
    REQUIRE(reply.edns.has_value());
    CHECK(reply.edns->options.empty());
  }
}

TEST_CASE("UDP without EDNS: 512 octets, whole records, TC set") {
  Server server;
  const DnsReply reply = server.Ask(Query("big.service.roster", kTypeA));
  CHECK(reply.bytes.size() <= 512);
  const Message message = Reply(reply);
  CHECK(message.header.truncated);
  CHECK(message.answers.size() == (512 - 36) / 16);
}

TEST_CASE("UDP with EDNS: the client's size, then TC; below 512 counts as 512") {
  Server server;
  const DnsReply reply = server.Ask(WithEdns(Query("big.service.roster", kTypeA), 1232));
  CHECK(reply.bytes.size() <= 1232);
  CHECK(reply.bytes.size() > 1232 - 16);
  CHECK(Reply(reply).header.truncated);
  const DnsReply small = server.Ask(WithEdns(Query("big.service.roster", kTypeA), 100));
  CHECK(small.bytes.size() <= 512);
  CHECK(small.bytes.size() > 512 - 16);
  CHECK(Reply(small).edns->udp_payload_bytes == 512);
}

TEST_CASE("TCP: the whole answer, even 200 SRV records with their addresses") {
  Server server;
  const DnsReply udp = server.Ask(Query("big.service.roster", kTypeSrv));
  const Message cut = Reply(udp);
  CHECK(cut.header.truncated);
  CHECK(cut.answers.size() < 200);
  CHECK(cut.additional.size() <= cut.answers.size());

  const Message whole = Reply(server.Ask(Query("big.service.roster", kTypeSrv), Transport::kTcp));
  CHECK(!whole.header.truncated);
  CHECK(whole.answers.size() == 200);
  CHECK(whole.additional.size() == 200);
}

TEST_CASE("the SOA serial is the clock's Unix time in seconds") {
  Server server;
  const Message reply = Reply(server.Ask(Query("nothing.service.roster", kTypeA)));
  CHECK(reply.header.rcode == kRcodeNxDomain);
  CHECK(reply.header.authoritative);
  REQUIRE(reply.authority.size() == 1);
  CHECK(std::get<SoaData>(reply.authority[0].data).serial == 1700000000u);
}

TEST_CASE("ValidateDnsConfig names the bad setting") {
  DnsConfig config;
  CHECK(ValidateDnsConfig(config).ok());
  config.domain = "a..b";
  CHECK_THAT(ValidateDnsConfig(config).message(), Catch::StartsWith("domain"));
  config = DnsConfig{};
  config.alt_domain = "ROSTER.";
  CHECK_THAT(ValidateDnsConfig(config).message(), Catch::Contains("differ"));
  config = DnsConfig{};
  config.alt_domain = "";
  CHECK(ValidateDnsConfig(config).ok());
  config.datacenter = "dc.1";
  CHECK_THAT(ValidateDnsConfig(config).message(), Catch::StartsWith("datacenter"));
  config = DnsConfig{};
  config.service_ttl_s = {{"w*b", 1}};
  CHECK_THAT(ValidateDnsConfig(config).message(), Catch::Contains("service_ttl"));
  config = DnsConfig{};
  config.domain = ".";
  CHECK_THAT(ValidateDnsConfig(config).message(), Catch::Contains("root"));
}

}  // namespace
}  // namespace roster::dns
