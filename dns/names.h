// The name forms Roster answers for (consul-api.md §5.2), parsed from a question name.
//
//   <service>.service[.<dc>].<domain>            instances of a service
//   <tag>.<service>.service[.<dc>].<domain>      ... with a tag (the tag may hold dots)
//   _<service>._<tag>.service[.<dc>].<domain>    RFC 2782; `_tcp` means any tag; for SRV
//                                                questions the `service` label may go
//   <node>.node[.<dc>].<domain>                  a node (the name may hold dots)
//   <hex>.addr[.<dc>].<domain>                   8 hex digits: IPv4, 32: IPv6
//   <domain>                                     the apex: SOA and NS
//
// Matching ignores ASCII case, and the parts come back lowercased, as Consul's do.
// `domain` and `alt_domain` both work; the longer one wins when one ends the other, and
// the answer uses the one the question used. A name under a domain in no form above
// (service.roster., x.y.roster., a 9-digit addr, two labels after the kind) is
// kUnknown, answered NXDOMAIN; a name under neither domain is kNotOurs.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "dns/domain_name.h"

namespace roster::dns {

// The configured domains, parsed once.
struct Domains {
  DomainName domain;
  std::optional<DomainName> alt_domain;
};
// InvalidArgument if either is not a valid non-root name (an empty alt_domain is none).
Result<Domains> ParseDomains(std::string_view domain, std::string_view alt_domain);

enum class NameForm : std::uint8_t { kNotOurs, kUnknown, kApex, kService, kNode, kAddress };

struct QueryName {
  NameForm form = NameForm::kNotOurs;
  DomainName domain;                  // the configured domain the question used; all but kNotOurs
  std::string datacenter;             // empty when the name gives none
  std::string service;                // kService
  std::string tag;                    // kService; empty: any tag
  std::string node;                   // kNode
  std::vector<std::uint8_t> address;  // kAddress: 4 or 16 octets
};

// `question_type` matters only for the RFC 2782 form without the `service` label, which
// Consul accepts for SRV questions alone.
QueryName ParseQueryName(const DomainName& name, const Domains& domains,
                         std::uint16_t question_type);

}  // namespace roster::dns
