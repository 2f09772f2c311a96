#include "dns/config.h"

#include "dns/domain_name.h"

namespace roster::dns {
namespace {

Status ValidateDomain(std::string_view setting, std::string_view domain) {
  Result<DomainName> name = DomainName::Parse(domain);
  if (!name.ok()) {
    return InvalidArgument(std::string(setting) + " \"" + std::string(domain) +
                           "\" is not a valid DNS name: " + name.status().message());
  }
  if (name->IsRoot()) return InvalidArgument(std::string(setting) + " must not be the root");
  return Status::Ok();
}

}  // namespace

std::uint32_t DnsConfig::ServiceTtl(std::string_view service) const {
  std::uint32_t ttl_s = 0;
  std::size_t longest_prefix = 0;
  bool prefix_found = false;
  for (const auto& [key, key_ttl_s] : service_ttl_s) {
    if (key.empty() || key.back() != '*') {
      if (AsciiEqualsIgnoreCase(key, service)) return key_ttl_s;
      continue;
    }
    const std::string_view prefix(key.data(), key.size() - 1);
    if (prefix.size() > service.size()) continue;
    if (!AsciiEqualsIgnoreCase(prefix, service.substr(0, prefix.size()))) continue;
    if (!prefix_found || prefix.size() > longest_prefix) {
      prefix_found = true;
      longest_prefix = prefix.size();
      ttl_s = key_ttl_s;
    }
  }
  return ttl_s;
}

Status ValidateDnsConfig(const DnsConfig& config) {
  RETURN_IF_ERROR(ValidateDomain("domain", config.domain));
  if (!config.alt_domain.empty()) {
    RETURN_IF_ERROR(ValidateDomain("alt_domain", config.alt_domain));
    if (DomainName::Parse(config.domain)->EqualsIgnoreCase(*DomainName::Parse(config.alt_domain))) {
      return InvalidArgument("alt_domain must differ from domain");
    }
  }
  Result<DomainName> datacenter = DomainName::Parse(config.datacenter);
  if (config.datacenter.empty() || !datacenter.ok() || datacenter->labels().size() != 1) {
    return InvalidArgument("datacenter \"" + config.datacenter + "\" must be one DNS label");
  }
  for (const auto& [key, ttl_s] : config.service_ttl_s) {
    const std::size_t star = key.find('*');
    if (star != std::string::npos && star + 1 != key.size()) {
      return InvalidArgument("service_ttl key \"" + key + "\" may have '*' only at its end");
    }
  }
  return Status::Ok();
}

}  // namespace roster::dns
