// libFuzzer target for the DNS codec and responder (dns/), the first code a UDP or TCP
// packet from anyone meets. Properties, beyond "no crash, no hang, no sanitizer report":
//   - whatever ParseMessage accepts re-encodes to a message that parses back equal, and
//     EncodeResponse's cut of it parses too, with no more answers than it had;
//   - ParseQuery gives a reason for every verdict but kAnswer;
//   - the Responder sends nothing or a parseable reply with the query's ID, within 512
//     octets (or the EDNS size) over UDP, and never hands back an empty reply to send;
//   - a Responder with its answer cache says what one without says, but for the order
//     of the records within a section (the catalog keeps its instances, so the cache
//     fills and hits across inputs).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/clock.h"
#include "base/random.h"
#include "dns/message.h"
#include "dns/query.h"
#include "dns/responder.h"

namespace {

using namespace roster::dns;

// A small, fixed catalog: every answer path (A, AAAA, CNAME, SRV with node and addr
// targets, TXT meta, NS) has data to work on.
class FuzzCatalog final : public DnsCatalog {
 public:
  roster::Result<DnsInstances> ServiceInstances(std::string_view datacenter,
                                                std::string_view service) const override {
    if (datacenter != "dc1") return roster::NotFound("no such datacenter");
    if (service == "fail") return roster::Unavailable("catalog down");
    // The same vector every time, as a real catalog's while nothing changes.
    static const DnsInstances instances = MakeInstances();
    return instances;
  }

  roster::Result<std::optional<DnsNode>> Node(std::string_view datacenter,
                                              std::string_view node) const override {
    if (datacenter != "dc1") return roster::NotFound("no such datacenter");
    if (node == "none") return std::optional<DnsNode>();
    return std::optional<DnsNode>(Node(std::string(node), node.size() % 2 ? "10.0.0.9" : "::9"));
  }

 private:
  static DnsInstances MakeInstances() {
    std::vector<DnsInstance> instances;
    const char* addresses[] = {"10.0.0.1", "fe80::1", "host.example.com", "10.0.0.2"};
    for (int i = 0; i < 24; ++i) {
      DnsInstance instance;
      instance.node = Node("n" + std::to_string(i), addresses[i % 4]);
      instance.port = static_cast<std::uint16_t>(8000 + i);
      instance.service_address = i % 5 == 0 ? "10.1.0." + std::to_string(i) : "";
      instance.tags = {"v" + std::to_string(i % 3)};
      instance.health = static_cast<DnsHealth>(i % 3);
      instances.push_back(std::move(instance));
    }
    return std::make_shared<const std::vector<DnsInstance>>(std::move(instances));
  }

  static DnsNode Node(std::string name, std::string address) {
    return DnsNode{std::move(name), std::move(address), {{"rack", "r1"}, {"rfc1035-x", "y"}}};
  }
};

void CheckCodec(std::span<const std::uint8_t> bytes) {
  roster::Result<Message> message = ParseMessage(bytes);
  if (!message.ok()) {
    CHECK(!message.status().message().empty());
    return;
  }
  const std::string encoded = EncodeMessage(*message);
  const std::span<const std::uint8_t> encoded_bytes(
      reinterpret_cast<const std::uint8_t*>(encoded.data()), encoded.size());
  roster::Result<Message> reparsed = ParseMessage(encoded_bytes);
  CHECK(reparsed.ok()) << "re-encoded message does not parse: " << reparsed.status().ToString();
  CHECK(*reparsed == *message) << "a parsed message re-encodes to a different message";

  const EncodedResponse cut = EncodeResponse(*message, kUdpPayloadBytesDefault, true);
  const std::span<const std::uint8_t> cut_bytes(
      reinterpret_cast<const std::uint8_t*>(cut.bytes.data()), cut.bytes.size());
  roster::Result<Message> cut_message = ParseMessage(cut_bytes);
  CHECK(cut_message.ok()) << "a cut message does not parse: " << cut_message.status().ToString();
  CHECK_LE(cut.answers_written, message->answers.size());
  CHECK_EQ(cut_message->answers.size(), cut.answers_written);
  CHECK(cut.truncated == (cut.answers_written < message->answers.size()) ||
        cut.answers_written == 0);
}

// The same records, maybe in another order.
bool SameRecords(const std::vector<ResourceRecord>& a, const std::vector<ResourceRecord>& b) {
  return a.size() == b.size() && std::is_permutation(a.begin(), a.end(), b.begin());
}

// The cached responder's reply against the uncached one's, for the same query.
void CheckCacheAgrees(const DnsReply& cached, const DnsReply& uncached) {
  CHECK(cached.action == uncached.action);
  CHECK_EQ(cached.bytes.size(), uncached.bytes.size());
  if (cached.action == ReplyAction::kDrop) return;
  const auto as_bytes = [](const std::string& text) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()),
                                         text.size());
  };
  roster::Result<Message> a = ParseMessage(as_bytes(cached.bytes));
  roster::Result<Message> b = ParseMessage(as_bytes(uncached.bytes));
  CHECK(a.ok() && b.ok());
  CHECK(a->header == b->header);
  CHECK(a->questions == b->questions);
  CHECK(SameRecords(a->answers, b->answers));
  CHECK(a->authority == b->authority);
  CHECK(SameRecords(a->additional, b->additional));
  CHECK(a->edns == b->edns);
}

void CheckResponder(std::span<const std::uint8_t> bytes, Transport transport) {
  static const FuzzCatalog catalog;
  static const roster::FakeClock clock(1700000000000);
  static const Responder responder(DnsConfig{}, catalog, clock);
  static const Responder uncached(DnsConfig{}, catalog, clock, /*cached_answers_max=*/0);
  // Into buffers kept from input to input, as a UDP worker keeps them: whatever the last
  // reply and key left there must not show in this one.
  static DnsReply reused_reply;
  static std::string reused_key;
  roster::DeterministicRandom random(bytes.size());
  responder.Respond(bytes, transport, random, &reused_reply, &reused_key);
  const DnsReply& reply = reused_reply;
  roster::DeterministicRandom same_random(bytes.size());
  CheckCacheAgrees(reply, uncached.Respond(bytes, transport, same_random));
  if (reply.action == ReplyAction::kDrop) {
    CHECK(reply.bytes.empty());
    return;
  }
  CHECK(!reply.bytes.empty());
  const std::span<const std::uint8_t> reply_bytes(
      reinterpret_cast<const std::uint8_t*>(reply.bytes.data()), reply.bytes.size());
  roster::Result<Message> parsed = ParseMessage(reply_bytes);
  CHECK(parsed.ok()) << "a reply does not parse: " << parsed.status().ToString();
  CHECK(parsed->header.response);
  CHECK_EQ(parsed->header.id, ParseHeader(bytes)->header.id);
  CHECK_LE(parsed->questions.size(), 1u);
  std::size_t limit_bytes = kMessageBytesMax;
  if (transport == Transport::kUdp) {
    limit_bytes = kUdpPayloadBytesDefault;
    const ParsedQuery query = ParseQuery(bytes);
    if (query.message.has_value() && query.message->edns.has_value()) {
      limit_bytes = std::max<std::size_t>(limit_bytes, query.message->edns->udp_payload_bytes);
    }
  }
  CHECK_LE(reply.bytes.size(), limit_bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  CheckCodec(bytes);
  const ParsedQuery query = ParseQuery(bytes);
  CHECK(query.reason.empty() == (query.verdict == QueryVerdict::kAnswer));
  CheckResponder(bytes, Transport::kUdp);
  CheckResponder(bytes, Transport::kTcp);
  return 0;
}
