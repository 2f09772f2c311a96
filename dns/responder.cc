#include "dns/responder.h"

#include <algorithm>
#include <utility>

#include "dns/answer.h"
#include "dns/query.h"

namespace roster::dns {
namespace {

Domains ParseConfiguredDomains(const DnsConfig& config) {
  CHECK(ValidateDnsConfig(config).ok()) << ValidateDnsConfig(config).ToString();
  Result<Domains> domains = ParseDomains(config.domain, config.alt_domain);
  CHECK(domains.ok()) << domains.status().ToString();
  return std::move(domains).value();
}

// RFC 7871 §7.2.1: a client-subnet option comes back with the same family, source
// prefix and address, and a scope prefix; 0 says the answer is the same for every
// client, which is true of every answer Roster gives.
// An option that is not well formed (§6: family 1 or 2, a source prefix no longer than
// the address, exactly as many address octets as the prefix needs) is not echoed.
bool IsValidClientSubnet(const std::string& data) {
  if (data.size() < 4) return false;
  const unsigned family =
      (static_cast<unsigned char>(data[0]) << 8) | static_cast<unsigned char>(data[1]);
  const unsigned source_prefix = static_cast<unsigned char>(data[2]);
  const unsigned address_bits_max = family == 1 ? 32 : family == 2 ? 128 : 0;
  return source_prefix <= address_bits_max && address_bits_max != 0 &&
         data.size() - 4 == (source_prefix + 7) / 8;
}

std::optional<EdnsOption> EchoClientSubnet(const Edns& query_edns) {
  for (const EdnsOption& option : query_edns.options) {
    if (option.code != kEdnsOptionClientSubnet || !IsValidClientSubnet(option.data)) continue;
    EdnsOption echo = option;
    echo.data[3] = 0;  // SCOPE PREFIX-LENGTH
    return echo;
  }
  return std::nullopt;
}

// The response skeleton: the query's ID, opcode, RD and CD, its question (when it has
// exactly one), and an OPT record when it had one.
Message StartResponse(const ParsedQuery& query, std::uint16_t rcode) {
  Message response;
  response.header.id = query.header.id;
  response.header.response = true;
  response.header.opcode = query.header.opcode;
  response.header.recursion_desired = query.header.recursion_desired;
  response.header.checking_disabled = query.header.checking_disabled;
  response.header.rcode = rcode;
  if (!query.message.has_value()) return response;
  if (query.message->questions.size() == 1) response.questions = query.message->questions;
  if (query.message->edns.has_value()) {
    const Edns& asked = *query.message->edns;
    Edns edns;
    edns.udp_payload_bytes =
        std::max<std::uint16_t>(asked.udp_payload_bytes, kUdpPayloadBytesDefault);
    edns.dnssec_ok = asked.dnssec_ok;  // RFC 3225 §3: copied
    if (std::optional<EdnsOption> subnet = EchoClientSubnet(asked)) {
      edns.options.push_back(std::move(*subnet));
    }
    response.edns = std::move(edns);
  }
  return response;
}

std::size_t SizeLimitBytes(const ParsedQuery& query, Transport transport) {
  if (transport == Transport::kTcp) return kMessageBytesMax;
  if (!query.message.has_value() || !query.message->edns.has_value()) {
    return kUdpPayloadBytesDefault;
  }
  const std::size_t asked = query.message->edns->udp_payload_bytes;
  return std::clamp(asked, kUdpPayloadBytesDefault, kUdpPayloadBytesMax);
}

DnsReply Encode(ReplyAction action, const Message& response, const ParsedQuery& query,
                Transport transport) {
  DnsReply reply;
  reply.action = action;
  reply.reason = query.reason;
  reply.bytes = EncodeResponse(response, SizeLimitBytes(query, transport),
                               /*set_tc_when_cut=*/transport == Transport::kUdp)
                    .bytes;
  return reply;
}

std::uint16_t RcodeForVerdict(QueryVerdict verdict) {
  switch (verdict) {
    case QueryVerdict::kFormatError:
      return kRcodeFormErr;
    case QueryVerdict::kNotImplemented:
      return kRcodeNotImp;
    case QueryVerdict::kRefused:
      return kRcodeRefused;
    case QueryVerdict::kBadVersion:
      return kRcodeBadVers;
    default:
      return kRcodeNoError;
  }
}

}  // namespace

Responder::Responder(DnsConfig config, const DnsCatalog& catalog, const Clock& clock,
                     std::size_t cached_answers_max)
    : config_(std::move(config)),
      domains_(ParseConfiguredDomains(config_)),
      catalog_(catalog),
      clock_(clock),
      answer_cache_(cached_answers_max == 0 ? nullptr
                                            : std::make_unique<AnswerCache>(cached_answers_max)) {}

bool Responder::CachedReply(const std::string& key, std::span<const std::uint8_t> query,
                            Random& random, std::string* out) const {
  const std::shared_ptr<const CachedAnswer> entry = answer_cache_->Find(key);
  if (entry == nullptr) return false;
  const Result<DnsInstances> now = catalog_.ServiceInstances(entry->datacenter, entry->service);
  if (!now.ok() || *now != entry->instances) return false;  // changed: build anew
  AnswerCache::Render(*entry, query, random, out);
  return true;
}

DnsReply Responder::Respond(std::span<const std::uint8_t> query_bytes, Transport transport,
                            Random& random) const {
  DnsReply reply;
  std::string key;
  Respond(query_bytes, transport, random, &reply, &key);
  return reply;
}

void Responder::Respond(std::span<const std::uint8_t> query_bytes, Transport transport,
                        Random& random, DnsReply* reply, std::string* key) const {
  const bool keyed = answer_cache_ != nullptr && AnswerCache::KeyOf(query_bytes, transport, key);
  if (keyed && CachedReply(*key, query_bytes, random, &reply->bytes)) {
    reply->action = ReplyAction::kSend;
    reply->reason.clear();
    return;
  }
  *reply = Answer(query_bytes, transport, random, keyed ? key : nullptr);
}

DnsReply Responder::Answer(std::span<const std::uint8_t> query_bytes, Transport transport,
                           Random& random, const std::string* cache_key) const {
  const ParsedQuery query = ParseQuery(query_bytes);
  if (query.verdict == QueryVerdict::kDrop) return DnsReply{ReplyAction::kDrop, "", query.reason};
  if (query.verdict != QueryVerdict::kAnswer) {
    Message response = StartResponse(query, RcodeForVerdict(query.verdict));
    // BADVERS needs the OPT record to carry its upper bits; a query without a valid OPT
    // cannot get here with that verdict.
    response.header.recursion_available = config_.recursion_available;
    return Encode(ReplyAction::kSend, response, query, transport);
  }

  const Question& question = query.message->questions[0];
  const QueryName name = ParseQueryName(question.name, domains_, question.type);
  if (name.form == NameForm::kNotOurs) {
    Message response = StartResponse(query, kRcodeRefused);
    response.header.recursion_available = config_.recursion_available;
    DnsReply reply = Encode(ReplyAction::kNotOurs, response, query, transport);
    reply.reason = "outside the DNS domains";
    return reply;
  }
  return AnswerInDomain(query, query_bytes, name, transport, random, cache_key);
}

DnsReply Responder::AnswerInDomain(const ParsedQuery& query,
                                   std::span<const std::uint8_t> query_bytes, const QueryName& name,
                                   Transport transport, Random& random,
                                   const std::string* cache_key) const {
  const Question& question = query.message->questions[0];
  // A reply that may be cached is built from instances read before it: if they change
  // meanwhile, the entry is stale at once and the next query builds anew.
  CachedAnswer cache_entry;
  const bool may_cache =
      cache_key != nullptr && name.form == NameForm::kService &&
      (question.type == kTypeA || question.type == kTypeAaaa || question.type == kTypeSrv);
  if (may_cache) {
    cache_entry.datacenter = AnswerDatacenter(name, config_);
    cache_entry.service = name.service;
    Result<DnsInstances> instances =
        catalog_.ServiceInstances(cache_entry.datacenter, cache_entry.service);
    if (instances.ok()) cache_entry.instances = std::move(instances).value();
  }

  const AnswerContext context{config_, catalog_, random,
                              static_cast<std::uint32_t>(clock_.WallMs() / 1000)};
  AnswerSections sections = BuildAnswer(question, name, context);
  const bool order_only = sections.shuffle_changes_order_only;
  const std::size_t answer_count = sections.answers.size();
  const std::size_t additional_count = sections.additional.size();
  Message response = StartResponse(query, sections.rcode);
  response.header.authoritative = true;
  response.header.recursion_available = config_.recursion_available;
  response.answers = std::move(sections.answers);
  response.authority = std::move(sections.authority);
  response.additional = std::move(sections.additional);
  const EncodedResponse encoded = EncodeResponse(response, SizeLimitBytes(query, transport),
                                                 /*set_tc_when_cut=*/transport == Transport::kUdp);
  DnsReply reply{ReplyAction::kSend, encoded.bytes, query.reason};
  // Only whole replies: which records survive a cut depends on the order.
  const bool whole = !encoded.truncated && encoded.answers_written == answer_count &&
                     encoded.additional_written == additional_count;
  if (may_cache && order_only && whole && cache_entry.instances != nullptr) {
    std::optional<CachedAnswer> prepared =
        AnswerCache::Prepare(std::move(cache_entry), encoded.bytes, query_bytes, question.type);
    if (prepared.has_value()) {
      answer_cache_->Insert(*cache_key, std::make_shared<const CachedAnswer>(std::move(*prepared)));
    }
  }
  return reply;
}

std::string ServerFailureReply(std::span<const std::uint8_t> query_bytes, Transport transport) {
  const ParsedQuery query = ParseQuery(query_bytes);
  Message response = StartResponse(query, kRcodeServFail);
  response.header.recursion_available = true;
  return Encode(ReplyAction::kSend, response, query, transport).bytes;
}

}  // namespace roster::dns
