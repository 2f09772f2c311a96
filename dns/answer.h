// BuildAnswer: the records for one question in Roster's domain (consul-api.md §5.3,
// §5.4), from a DnsCatalog. The rules, and where Roster differs from Consul, are in
// docs/design/dns.md ("Answers").
//
// In short: service names give the instances that pass the health filter (critical
// always left out, warning too with only_passing), shuffled, as A/AAAA (a CNAME when the
// only addresses are hostnames) or SRV with the target's address in the additional
// section; node and addr names give the address (and node meta as TXT); the apex gives
// SOA and NS. No healthy instance, an unknown node or a name in no known form is
// NXDOMAIN with the SOA in the authority section; a name that exists but has no record
// of the asked type is NOERROR with the SOA (RFC 2308 NODATA). A catalog error is
// SERVFAIL, an unknown datacenter NXDOMAIN, AXFR and IXFR NOTIMP.
// Thread-safety: pure but for the catalog calls and the Random it is handed.
#pragma once

#include <cstdint>
#include <vector>

#include "base/random.h"
#include "dns/catalog.h"
#include "dns/config.h"
#include "dns/message.h"
#include "dns/names.h"

namespace roster::dns {

struct AnswerSections {
  std::uint16_t rcode = kRcodeNoError;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  std::vector<ResourceRecord> additional;
  // True when any other shuffle would have given these same records, the answers only
  // in another order: no a_record_limit cut, no CNAME picked from several hostnames, no
  // duplicate SRV dropped whose twin differs. Only then may the answer cache
  // (dns/answer_cache.h) reuse the reply with the answers reshuffled.
  bool shuffle_changes_order_only = false;
};

struct AnswerContext {
  const DnsConfig& config;
  const DnsCatalog& catalog;
  Random& random;                // the per-response shuffle
  std::uint32_t soa_serial = 0;  // Consul's: the current Unix time in seconds
};

// The datacenter a name asks about: its own, else the configured one (lowercase).
std::string AnswerDatacenter(const QueryName& name, const DnsConfig& config);

// REQUIRES: name.form != NameForm::kNotOurs (such names are forwarded or refused).
AnswerSections BuildAnswer(const Question& question, const QueryName& name,
                           const AnswerContext& context);

}  // namespace roster::dns
