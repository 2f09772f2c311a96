// The pieces BuildAnswer (dns/answer.cc) and the service answers
// (dns/answer_service.cc) share. Internal to dns/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "dns/answer.h"

namespace roster::dns::internal {

// The domain's SOA: ns.<domain>, hostmaster.<domain>, the serial and config's timers.
ResourceRecord SoaRecord(const AnswerContext& context, const DomainName& domain);
// NXDOMAIN (or NODATA: NOERROR) with the domain's SOA in the authority section.
AnswerSections NameError(const AnswerContext& context, const DomainName& domain);
AnswerSections NoData(const AnswerContext& context, const DomainName& domain);
// NXDOMAIN for an unknown datacenter (NotFound), SERVFAIL for anything else.
AnswerSections CatalogFailure(const AnswerContext& context, const DomainName& domain,
                              const Status& status);

// Whether an A/AAAA record for `address` answers a question of `type`.
bool TypeWantsAddress(std::uint16_t type, const RecordData& address);

// The instances of a service the health filter and the tag filter let through,
// shuffled: pointers into `all`, which keeps them alive.
struct FilteredInstances {
  DnsInstances all;
  std::vector<const DnsInstance*> passed;
};

// The instances of `service` that pass the filters; NotFound and other errors from
// the catalog pass through.
Result<FilteredInstances> HealthyInstances(const AnswerContext& context,
                                           std::string_view datacenter, std::string_view service,
                                           std::string_view tag);

// A service name's answer, once its healthy instances are known (non-empty).
AnswerSections ServiceAnswer(const Question& question, const QueryName& name,
                             std::string_view datacenter,
                             const std::vector<const DnsInstance*>& instances,
                             const AnswerContext& context);

}  // namespace roster::dns::internal
