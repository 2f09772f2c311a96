// Service answers: the health and tag filters, the shuffle, A/AAAA/CNAME and SRV.
#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "dns/answer_parts.h"
#include "dns/records.h"

namespace roster::dns::internal {
namespace {

constexpr std::uint16_t kSrvPriority = 1;  // Consul's, for every instance
constexpr std::uint32_t kSrvWeightMax = 0xFFFF;

bool PassesHealth(const DnsInstance& instance, bool only_passing) {
  if (instance.health == DnsHealth::kCritical) return false;
  return !only_passing || instance.health == DnsHealth::kPassing;
}

bool HasTag(const DnsInstance& instance, std::string_view tag) {
  return std::any_of(instance.tags.begin(), instance.tags.end(), [&](const std::string& candidate) {
    return AsciiEqualsIgnoreCase(candidate, tag);
  });
}

void Shuffle(std::vector<const DnsInstance*>& instances, Random& random) {
  for (std::size_t i = instances.size(); i > 1; --i) {
    std::swap(instances[i - 1], instances[random.Uniform(i)]);
  }
}

// The address's octets, to find duplicates however the address was written.
std::string AddressKey(const RecordData& address) {
  if (const auto* v4 = std::get_if<AddressV4>(&address)) {
    return std::string(v4->octets.begin(), v4->octets.end());
  }
  const auto& v6 = std::get<AddressV6>(address);
  return std::string(v6.octets.begin(), v6.octets.end());
}

std::uint16_t SrvWeight(const DnsInstance& instance) {
  const std::uint32_t weight =
      instance.health == DnsHealth::kWarning ? instance.weights.warning : instance.weights.passing;
  return static_cast<std::uint16_t>(std::min(weight, kSrvWeightMax));
}

// The address an instance is reached at: its own, unless it has none or its own is a
// hostname naming the very service asked about (Consul's guard against a CNAME loop).
std::string_view InstanceAddress(const DnsInstance& instance, const Question& question) {
  if (instance.service_address.empty()) return instance.node.address;
  if (!ParseIpAddress(instance.service_address).has_value()) {
    const std::optional<DomainName> host = HostName(instance.service_address);
    if (host.has_value() && host->EqualsIgnoreCase(question.name) &&
        ParseIpAddress(instance.node.address).has_value()) {
      return instance.node.address;
    }
  }
  return instance.service_address;
}

// A, AAAA, ANY and CNAME questions. Duplicates removed; a_record_limit caps the
// address records; a CNAME only when no instance has a matching IP.
AnswerSections AddressAnswer(const Question& question,
                             const std::vector<const DnsInstance*>& instances, std::uint32_t ttl_s,
                             const AnswerContext& context) {
  AnswerSections out;
  std::set<std::string> seen_addresses;
  std::optional<ResourceRecord> cname;
  for (const DnsInstance* instance : instances) {
    const std::string_view address_text = InstanceAddress(*instance, question);
    const std::optional<RecordData> address = ParseIpAddress(address_text);
    if (!address.has_value()) {
      const std::optional<DomainName> host = HostName(address_text);
      if (host.has_value() && !cname.has_value()) {
        cname = MakeRecord(question.name, kTypeCname, ttl_s, NameData{*host});
      }
      continue;
    }
    if (!TypeWantsAddress(question.type, *address)) continue;
    if (!seen_addresses.insert(AddressKey(*address)).second) continue;
    out.answers.push_back(MakeAddressRecord(question.name, ttl_s, *address));
    if (context.config.a_record_limit != 0 && out.answers.size() >= context.config.a_record_limit) {
      break;  // which addresses make the cut depends on the shuffle
    }
  }
  const bool cut =
      context.config.a_record_limit != 0 && out.answers.size() >= context.config.a_record_limit;
  out.shuffle_changes_order_only = !cut && !out.answers.empty();
  if (out.answers.empty() && cname.has_value()) out.answers.push_back(std::move(*cname));
  return out;
}

// The SRV target for an instance and the address record that goes with it, if any.
struct SrvTarget {
  DomainName name;
  std::optional<ResourceRecord> address_record;
  bool is_node_name = false;
};

std::optional<SrvTarget> FindSrvTarget(const DnsInstance& instance, const Question& question,
                                       std::string_view datacenter, const DomainName& domain,
                                       std::uint32_t ttl_s) {
  const std::string_view address_text = InstanceAddress(instance, question);
  const std::optional<RecordData> address = ParseIpAddress(address_text);
  if (!address.has_value()) {
    std::optional<DomainName> host = HostName(address_text);
    if (!host.has_value()) return std::nullopt;
    return SrvTarget{std::move(*host), std::nullopt, false};
  }
  // The node's own address: name the node. Any other: the synthetic addr name.
  if (address_text == instance.node.address) {
    std::optional<DomainName> node_name = NodeTargetName(instance.node.name, datacenter, domain);
    if (node_name.has_value()) {
      ResourceRecord record = MakeAddressRecord(*node_name, ttl_s, *address);
      return SrvTarget{std::move(*node_name), std::move(record), true};
    }
  }
  std::optional<DomainName> addr_name = AddressTargetName(*address, datacenter, domain);
  if (!addr_name.has_value()) return std::nullopt;
  ResourceRecord record = MakeAddressRecord(*addr_name, ttl_s, *address);
  return SrvTarget{std::move(*addr_name), std::move(record), false};
}

// Whether two instances with the same SRV target (ignoring case) would put the same
// records in the additional section: the same node name, address and meta.
bool DescribedAlike(const DnsInstance& a, const DnsInstance& b, const Question& question) {
  return a.node.name == b.node.name &&
         InstanceAddress(a, question) == InstanceAddress(b, question) && a.node.meta == b.node.meta;
}

// SRV questions: one SRV per instance (duplicates by node, address and port removed),
// the target's A/AAAA in additional, and node meta TXT for node targets.
AnswerSections SrvAnswer(const Question& question, const QueryName& name,
                         std::string_view datacenter,
                         const std::vector<const DnsInstance*>& instances, std::uint32_t ttl_s,
                         const AnswerContext& context) {
  AnswerSections out;
  out.shuffle_changes_order_only = true;
  std::set<std::string> seen_instances;
  // Lowercase target -> the instance that described it, to tell whether another
  // instance with the same target would have described it alike.
  std::map<std::string, const DnsInstance*> described_targets;
  for (const DnsInstance* instance_pointer : instances) {
    const DnsInstance& instance = *instance_pointer;
    const std::string key = AsciiLower(instance.node.name) + '\0' +
                            std::string(InstanceAddress(instance, question)) + '\0' +
                            std::to_string(instance.port);
    if (!seen_instances.insert(key).second) {
      out.shuffle_changes_order_only = false;  // which twin is kept depends on the order
      continue;
    }
    std::optional<SrvTarget> target =
        FindSrvTarget(instance, question, datacenter, name.domain, ttl_s);
    if (!target.has_value()) continue;
    out.answers.push_back(
        MakeRecord(question.name, kTypeSrv, ttl_s,
                   SrvData{kSrvPriority, SrvWeight(instance), instance.port, target->name}));
    const auto [described, first] =
        described_targets.emplace(target->name.ToLowerString(), &instance);
    if (!first) {
      if (!DescribedAlike(*described->second, instance, question)) {
        out.shuffle_changes_order_only = false;
      }
      continue;
    }
    if (target->address_record.has_value()) {
      out.additional.push_back(std::move(*target->address_record));
    }
    if (target->is_node_name && context.config.node_meta_txt) {
      for (const auto& [key_text, value] : instance.node.meta) {
        out.additional.push_back(
            MakeRecord(target->name, kTypeTxt, ttl_s, NodeMetaTxt(key_text, value)));
      }
    }
  }
  return out;
}

}  // namespace

bool TypeWantsAddress(std::uint16_t type, const RecordData& address) {
  const bool v4 = std::holds_alternative<AddressV4>(address);
  return type == kTypeAny || (type == kTypeA && v4) || (type == kTypeAaaa && !v4);
}

Result<FilteredInstances> HealthyInstances(const AnswerContext& context,
                                           std::string_view datacenter, std::string_view service,
                                           std::string_view tag) {
  Result<DnsInstances> all = context.catalog.ServiceInstances(datacenter, service);
  if (!all.ok()) return all.status();
  CHECK(*all != nullptr) << "DnsCatalog::ServiceInstances returned no vector";
  FilteredInstances out{std::move(all).value(), {}};
  out.passed.reserve(out.all->size());
  for (const DnsInstance& instance : *out.all) {
    if (!PassesHealth(instance, context.config.only_passing)) continue;
    if (!tag.empty() && !HasTag(instance, tag)) continue;
    out.passed.push_back(&instance);
  }
  Shuffle(out.passed, context.random);
  return out;
}

AnswerSections ServiceAnswer(const Question& question, const QueryName& name,
                             std::string_view datacenter,
                             const std::vector<const DnsInstance*>& instances,
                             const AnswerContext& context) {
  const std::uint32_t ttl_s = context.config.ServiceTtl(name.service);
  AnswerSections out;
  if (question.type == kTypeSrv) {
    out = SrvAnswer(question, name, datacenter, instances, ttl_s, context);
  } else if (question.type == kTypeA || question.type == kTypeAaaa || question.type == kTypeAny ||
             question.type == kTypeCname) {
    out = AddressAnswer(question, instances, ttl_s, context);
  }
  if (out.answers.empty()) return NoData(context, name.domain);
  return out;
}

}  // namespace roster::dns::internal
