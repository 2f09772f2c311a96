// BuildAnswer (dns/answer.h): the dispatch by name form, and the node, addr and apex
// answers. Service answers are in dns/answer_service.cc.
#include "dns/answer.h"

#include <set>
#include <utility>

#include "dns/answer_parts.h"
#include "dns/records.h"

namespace roster::dns {
namespace internal {

ResourceRecord SoaRecord(const AnswerContext& context, const DomainName& domain) {
  const SoaConfig& soa = context.config.soa;
  std::vector<std::string> ns_labels = {"ns"};
  std::vector<std::string> mailbox_labels = {"hostmaster"};
  for (const std::string& label : domain.labels()) {
    ns_labels.push_back(label);
    mailbox_labels.push_back(label);
  }
  // A domain of 250+ octets leaves no room for the prefix; the domain itself then.
  Result<DomainName> mname = DomainName::FromLabels(std::move(ns_labels));
  Result<DomainName> rname = DomainName::FromLabels(std::move(mailbox_labels));
  SoaData data{mname.ok() ? *mname : domain,
               rname.ok() ? *rname : domain,
               context.soa_serial,
               soa.refresh_s,
               soa.retry_s,
               soa.expire_s,
               soa.min_ttl_s};
  // The record's own TTL is its minimum, so a cached negative answer lasts that long.
  return MakeRecord(domain, kTypeSoa, soa.min_ttl_s, std::move(data));
}

AnswerSections NameError(const AnswerContext& context, const DomainName& domain) {
  AnswerSections out;
  out.rcode = kRcodeNxDomain;
  out.authority.push_back(SoaRecord(context, domain));
  return out;
}

AnswerSections NoData(const AnswerContext& context, const DomainName& domain) {
  AnswerSections out;
  out.authority.push_back(SoaRecord(context, domain));
  return out;
}

AnswerSections CatalogFailure(const AnswerContext& context, const DomainName& domain,
                              const Status& status) {
  if (status.code() == StatusCode::kNotFound) return NameError(context, domain);
  AnswerSections out;
  out.rcode = kRcodeServFail;
  return out;
}

}  // namespace internal

namespace {

using internal::CatalogFailure;
using internal::NameError;
using internal::NoData;

// NS records for the domain: up to three healthy servers, shuffled, with their
// addresses as glue. Servers whose names make no valid DNS name are skipped.
struct NameServers {
  std::vector<ResourceRecord> records;
  std::vector<ResourceRecord> glue;
};
constexpr std::size_t kNameServersMax = 3;

Result<NameServers> FindNameServers(const DomainName& owner, std::string_view datacenter,
                                    const DomainName& domain, const AnswerContext& context) {
  Result<internal::FilteredInstances> servers =
      internal::HealthyInstances(context, datacenter, kServerServiceName, "");
  if (!servers.ok()) return servers.status();
  NameServers out;
  std::set<std::string> seen_nodes;
  const std::uint32_t ttl_s = context.config.node_ttl_s;
  for (const DnsInstance* server_pointer : servers->passed) {
    const DnsInstance& server = *server_pointer;
    if (out.records.size() == kNameServersMax) break;
    std::optional<DomainName> target =
        NodeTargetName(AsciiLower(server.node.name), datacenter, domain);
    if (!target.has_value() || !seen_nodes.insert(target->ToString()).second) continue;
    out.records.push_back(MakeRecord(owner, kTypeNs, ttl_s, NameData{*target}));
    if (std::optional<RecordData> address = ParseIpAddress(server.node.address)) {
      out.glue.push_back(MakeAddressRecord(*target, ttl_s, *address));
    }
  }
  return out;
}

// The domain itself: SOA, NS, both for ANY; NODATA for anything else.
AnswerSections ApexAnswer(const Question& question, const QueryName& name,
                          std::string_view datacenter, const AnswerContext& context) {
  const std::uint16_t type = question.type;
  if (type != kTypeSoa && type != kTypeNs && type != kTypeAny) return NoData(context, name.domain);
  Result<NameServers> servers = FindNameServers(question.name, datacenter, name.domain, context);
  if (!servers.ok() && type == kTypeNs)
    return CatalogFailure(context, name.domain, servers.status());
  AnswerSections out;
  if (type != kTypeNs) {
    ResourceRecord soa = internal::SoaRecord(context, name.domain);
    soa.name = question.name;  // the apex as asked, case included
    out.answers.push_back(std::move(soa));
  }
  if (servers.ok()) {
    // For SOA the NS records are extra information (as Consul gives), so they go in
    // the authority section; for NS and ANY they are the answer.
    auto& ns_target = type == kTypeSoa ? out.authority : out.answers;
    for (ResourceRecord& record : servers->records) ns_target.push_back(std::move(record));
    out.additional = std::move(servers->glue);
  }
  if (out.answers.empty()) return NoData(context, name.domain);
  return out;
}

// A node: its address (a CNAME for a hostname) and its meta as TXT, in the answer for
// TXT and ANY, in the additional section otherwise (when node_meta_txt).
AnswerSections NodeAnswer(const Question& question, const QueryName& name,
                          std::string_view datacenter, const AnswerContext& context) {
  Result<std::optional<DnsNode>> found = context.catalog.Node(datacenter, name.node);
  if (!found.ok()) return CatalogFailure(context, name.domain, found.status());
  if (!found->has_value()) return NameError(context, name.domain);
  const DnsNode& node = **found;
  const std::uint16_t type = question.type;
  const std::uint32_t ttl_s = context.config.node_ttl_s;
  AnswerSections out;
  if (type == kTypeA || type == kTypeAaaa || type == kTypeAny || type == kTypeCname) {
    if (std::optional<RecordData> address = ParseIpAddress(node.address)) {
      if (internal::TypeWantsAddress(type, *address)) {
        out.answers.push_back(MakeAddressRecord(question.name, ttl_s, std::move(*address)));
      }
    } else if (std::optional<DomainName> host = HostName(node.address)) {
      out.answers.push_back(MakeRecord(question.name, kTypeCname, ttl_s, NameData{*host}));
    }
  }
  const bool meta_answers = type == kTypeTxt || type == kTypeAny;
  if (meta_answers || (context.config.node_meta_txt && !out.answers.empty())) {
    auto& meta_target = meta_answers ? out.answers : out.additional;
    for (const auto& [key, value] : node.meta) {
      meta_target.push_back(MakeRecord(question.name, kTypeTxt, ttl_s, NodeMetaTxt(key, value)));
    }
  }
  if (out.answers.empty()) return NoData(context, name.domain);
  return out;
}

// <hex>.addr: the address itself.
AnswerSections AddressAnswer(const Question& question, const QueryName& name,
                             const AnswerContext& context) {
  RecordData address;
  if (name.address.size() == 4) {
    AddressV4 v4;
    std::copy(name.address.begin(), name.address.end(), v4.octets.begin());
    address = v4;
  } else {
    CHECK_EQ(name.address.size(), 16u);
    AddressV6 v6;
    std::copy(name.address.begin(), name.address.end(), v6.octets.begin());
    address = v6;
  }
  if (!internal::TypeWantsAddress(question.type, address)) return NoData(context, name.domain);
  AnswerSections out;
  out.answers.push_back(
      MakeAddressRecord(question.name, context.config.node_ttl_s, std::move(address)));
  return out;
}

}  // namespace

std::string AnswerDatacenter(const QueryName& name, const DnsConfig& config) {
  return name.datacenter.empty() ? AsciiLower(config.datacenter) : name.datacenter;
}

AnswerSections BuildAnswer(const Question& question, const QueryName& name,
                           const AnswerContext& context) {
  CHECK(name.form != NameForm::kNotOurs) << "BuildAnswer on a name outside the domains";
  if (question.type == kTypeAxfr || question.type == kTypeIxfr) {
    AnswerSections out;
    out.rcode = kRcodeNotImp;  // zone transfers are not served (as in Consul)
    return out;
  }
  const std::string datacenter = AnswerDatacenter(name, context.config);
  switch (name.form) {
    case NameForm::kApex:
      return ApexAnswer(question, name, datacenter, context);
    case NameForm::kService: {
      Result<internal::FilteredInstances> instances =
          internal::HealthyInstances(context, datacenter, name.service, name.tag);
      if (!instances.ok()) return CatalogFailure(context, name.domain, instances.status());
      if (instances->passed.empty()) return NameError(context, name.domain);
      return internal::ServiceAnswer(question, name, datacenter, instances->passed, context);
    }
    case NameForm::kNode:
      return NodeAnswer(question, name, datacenter, context);
    case NameForm::kAddress:
      return AddressAnswer(question, name, context);
    default:
      return NameError(context, name.domain);
  }
}

}  // namespace roster::dns
