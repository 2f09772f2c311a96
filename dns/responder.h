// Responder: one DNS query's octets in, the octets to send back out (or a decision not
// to), with no sockets involved. The UDP and TCP listeners (dns/listener.h) read a
// query, call Respond, and write what it returns; the queries Respond marks kNotOurs
// they hand to the Forwarder (dns/forwarder.h) when recursors are configured.
//
// Steps: ParseQuery (dns/query.h) decides drop / FORMERR / NOTIMP / BADVERS / REFUSED;
// ParseQueryName (dns/names.h) finds the name form; BuildAnswer (dns/answer.h) asks the
// catalog; EncodeResponse (dns/message.h) fits the reply into 512 octets or the
// client's EDNS size over UDP (TC set when answers are cut) or 65535 over TCP (cut
// without TC, since TC asks the client to retry over TCP). Responses to our names have
// AA set, RA when recursors are configured; an EDNS query gets an OPT record back
// (version 0, its UDP size, its DO bit, a client-subnet option echoed with scope 0).
// Design notes: docs/design/dns.md.
//
// Replies to service questions are kept encoded in an AnswerCache (dns/answer_cache.h)
// and reused, reshuffled, while the service's instances stand still.
//
// Thread-safety: Respond is const and may run on several threads at once if the
// catalog allows it; each thread passes its own Random.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "base/clock.h"
#include "base/random.h"
#include "dns/answer_cache.h"
#include "dns/catalog.h"
#include "dns/config.h"
#include "dns/names.h"

namespace roster::dns {

enum class Transport : std::uint8_t { kUdp, kTcp };

enum class ReplyAction : std::uint8_t {
  kSend,  // send `bytes`
  kDrop,  // send nothing (no header to answer, or the packet was a response)
  // The name is outside both domains: forward the query to a recursor if any are
  // configured, else send `bytes` (REFUSED).
  kNotOurs,
};

struct DnsReply {
  ReplyAction action = ReplyAction::kDrop;
  std::string bytes;
  std::string reason;  // why a query was dropped or refused, for a debug log line
};

// The most a UDP reply may carry whatever the client's EDNS size: 65535 less the IPv6
// and UDP headers (Consul uses the same cap).
inline constexpr std::size_t kUdpPayloadBytesMax = 65535 - 68;

struct ParsedQuery;  // dns/query.h

class Responder {
 public:
  // REQUIRES: ValidateDnsConfig(config).ok(); `catalog` and `clock` outlive this.
  // The clock gives the SOA serial (Unix seconds, as Consul's). At most
  // `cached_answers_max` encoded replies are kept; 0 keeps none.
  Responder(DnsConfig config, const DnsCatalog& catalog, const Clock& clock,
            std::size_t cached_answers_max = AnswerCache::kEntriesMaxDefault);

  DnsReply Respond(std::span<const std::uint8_t> query, Transport transport, Random& random) const;
  // Respond written over `*reply`, reusing the capacity of its strings, with `*key` as
  // the buffer for the answer cache's key. A caller that keeps both across queries (each
  // UDP worker does) allocates nothing for a reply from the cache.
  void Respond(std::span<const std::uint8_t> query, Transport transport, Random& random,
               DnsReply* reply, std::string* key) const;

  const DnsConfig& config() const { return config_; }
  // Null when the cache is off.
  const AnswerCache* answer_cache() const { return answer_cache_.get(); }

 private:
  // The reply built anew (parse, name form, answer, encode); cached under `*cache_key`
  // when that is not null and the reply allows it.
  DnsReply Answer(std::span<const std::uint8_t> query, Transport transport, Random& random,
                  const std::string* cache_key) const;

  // Writes the cached reply for `key` over `*out` and returns true if there is one
  // built from the instances the catalog has now.
  bool CachedReply(const std::string& key, std::span<const std::uint8_t> query, Random& random,
                   std::string* out) const;

  // The reply to a question in our domains; cached under `*cache_key` unless it is null
  // or the reply does not allow it (dns/answer_cache.h).
  DnsReply AnswerInDomain(const ParsedQuery& query, std::span<const std::uint8_t> query_bytes,
                          const QueryName& name, Transport transport, Random& random,
                          const std::string* cache_key) const;

  DnsConfig config_;
  Domains domains_;
  const DnsCatalog& catalog_;
  const Clock& clock_;
  std::unique_ptr<AnswerCache> answer_cache_;  // null: off
};

// SERVFAIL for a query Respond marked kNotOurs when no recursor answered it: the
// query's ID, flags, question and EDNS echoed as in any reply, RA set.
std::string ServerFailureReply(std::span<const std::uint8_t> query, Transport transport);

}  // namespace roster::dns
