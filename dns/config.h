// DnsConfig: every setting of the DNS responder, with Consul's names and defaults
// (consul-api.md §5.7) where Roster has the setting. Loaded and checked by the caller
// (ValidateDnsConfig) before a Responder is built; durations are whole seconds because
// that is what a DNS TTL holds.
// Thread-safety: a plain value; the Responder keeps its own copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"

namespace roster::dns {

// The SOA record's timers (Consul's dns_config.soa).
struct SoaConfig {
  std::uint32_t refresh_s = 3600;
  std::uint32_t retry_s = 600;
  std::uint32_t expire_s = 86400;
  // The negative-caching TTL, and the SOA record's own TTL (RFC 2308 §5).
  std::uint32_t min_ttl_s = 0;
};

struct DnsConfig {
  std::string domain = "roster.";
  std::string alt_domain = "consul.";  // empty: only `domain`
  std::string datacenter = "dc1";      // the datacenter a name without one asks about
  std::uint32_t node_ttl_s = 0;        // node and addr answers, NS records
  // Service name -> TTL. A key is a name, "prefix*", or "*"; an exact name wins over
  // the longest matching prefix. Names compare ignoring ASCII case.
  std::map<std::string, std::uint32_t, std::less<>> service_ttl_s;
  bool only_passing = false;       // also leave out instances whose health is warning
  std::size_t a_record_limit = 0;  // caps A/AAAA/ANY answers after shuffling; 0: no cap
  // Consul's enable_additional_node_meta_txt: node meta as TXT in the additional section
  // of node and SRV answers.
  bool node_meta_txt = true;
  SoaConfig soa;
  // RA in every response: set when recursors are configured.
  bool recursion_available = false;

  // The TTL for answers about `service`, by the rules above; 0 when nothing matches.
  std::uint32_t ServiceTtl(std::string_view service) const;
};

// InvalidArgument, naming the setting, when a domain is not a valid DNS name or is the
// root, the two domains are the same, the datacenter is empty or not a single DNS
// label, or a service_ttl key has a '*' anywhere but at its end.
Status ValidateDnsConfig(const DnsConfig& config);

}  // namespace roster::dns
