#include "agent/dns_catalog.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "client/http_client.h"
#include "dns/domain_name.h"
#include "http/json_decode.h"
#include "store/health.h"

namespace roster::agent {
namespace {

using http::Json;

// Replies are trusted more than requests, but a bound still keeps a broken one cheap.
constexpr std::size_t kDepthMax = 32;

using ServiceNames = std::map<std::string, std::vector<std::string>, std::less<>>;
using NodesByName = std::map<std::string, dns::DnsNode, std::less<>>;

// The cached values: what the parsers below make of a body.
struct NamesValue final : WatchedValue {
  ServiceNames names;
};
struct InstancesValue final : WatchedValue {
  std::vector<dns::DnsInstance> instances;
};
struct NodesValue final : WatchedValue {
  NodesByName nodes;
};

Status NotShaped(std::string_view what) {
  return InvalidArgument("unexpected reply from the server: " + std::string(what));
}

// Node, Address and Meta of a node object (catalog/nodes items, health's "Node").
Result<dns::DnsNode> DecodeNode(const Json& json) {
  if (!json.is_object()) return NotShaped("a node is not an object");
  dns::DnsNode node;
  store::StringMap meta;
  RETURN_IF_ERROR(http::DecodeString(http::FindField(json, "Node"), "Node.Node", &node.name));
  RETURN_IF_ERROR(
      http::DecodeString(http::FindField(json, "Address"), "Node.Address", &node.address));
  RETURN_IF_ERROR(http::DecodeStringMap(http::FindField(json, "Meta"), "Node.Meta", &meta));
  node.meta.insert(meta.begin(), meta.end());
  return node;
}

std::uint32_t ClampWeight(std::uint64_t weight) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(weight, UINT32_MAX));
}

// Address, Port, Tags and Weights of a health entry's "Service"; its ID in *id.
Status DecodeService(const Json& json, dns::DnsInstance* instance, std::string* id) {
  if (!json.is_object()) return NotShaped("a service is not an object");
  auto f = [&json](std::string_view name) { return http::FindField(json, name); };
  std::uint64_t port = 0;
  RETURN_IF_ERROR(http::DecodeString(f("ID"), "Service.ID", id));
  RETURN_IF_ERROR(http::DecodeString(f("Address"), "Service.Address", &instance->service_address));
  RETURN_IF_ERROR(http::DecodeUint64(f("Port"), "Service.Port", &port));
  RETURN_IF_ERROR(http::DecodeStringList(f("Tags"), "Service.Tags", &instance->tags));
  if (port > std::numeric_limits<std::uint16_t>::max()) return NotShaped("a port above 65535");
  instance->port = static_cast<std::uint16_t>(port);
  if (const Json* weights = f("Weights"); weights != nullptr && weights->is_object()) {
    std::uint64_t passing = instance->weights.passing;
    std::uint64_t warning = instance->weights.warning;
    RETURN_IF_ERROR(
        http::DecodeUint64(http::FindField(*weights, "Passing"), "Weights.Passing", &passing));
    RETURN_IF_ERROR(
        http::DecodeUint64(http::FindField(*weights, "Warning"), "Weights.Warning", &warning));
    instance->weights = {ClampWeight(passing), ClampWeight(warning)};
  }
  return Status::Ok();
}

store::HealthStatus StatusNamed(const std::string& name) {
  if (name == "passing") return store::HealthStatus::kPassing;
  if (name == "warning") return store::HealthStatus::kWarning;
  return store::HealthStatus::kCritical;  // what we cannot read counts against the instance
}

// The aggregated health of a health entry's "Checks": the node's and the instance's.
Result<dns::DnsHealth> DecodeHealth(const Json* checks, const std::string& service_id) {
  store::AggregatedStatus status = store::AggregatedStatus::kPassing;
  if (checks == nullptr || checks->is_null()) return dns::DnsHealthOf(status);
  if (!checks->is_array()) return NotShaped("Checks is not a list");
  for (const Json& check : *checks) {
    if (!check.is_object()) return NotShaped("a check is not an object");
    std::string check_id, check_status, check_service;
    RETURN_IF_ERROR(http::DecodeString(http::FindField(check, "CheckID"), "CheckID", &check_id));
    RETURN_IF_ERROR(http::DecodeString(http::FindField(check, "Status"), "Status", &check_status));
    RETURN_IF_ERROR(
        http::DecodeString(http::FindField(check, "ServiceID"), "ServiceID", &check_service));
    if (!check_service.empty() && check_service != service_id) continue;
    status = store::WithCheck(status, check_id, StatusNamed(check_status));
  }
  return dns::DnsHealthOf(status);
}

Result<dns::DnsInstance> DecodeEntry(const Json& entry) {
  if (!entry.is_object()) return NotShaped("a health entry is not an object");
  const Json* node = http::FindField(entry, "Node");
  const Json* service = http::FindField(entry, "Service");
  if (node == nullptr || service == nullptr)
    return NotShaped("a health entry lacks Node or Service");
  dns::DnsInstance instance;
  Result<dns::DnsNode> decoded_node = DecodeNode(*node);
  if (!decoded_node.ok()) return decoded_node.status();
  instance.node = std::move(decoded_node).value();
  std::string service_id;
  RETURN_IF_ERROR(DecodeService(*service, &instance, &service_id));
  Result<dns::DnsHealth> health = DecodeHealth(http::FindField(entry, "Checks"), service_id);
  if (!health.ok()) return health.status();
  instance.health = *health;
  return instance;
}

// Wraps a parser's typed result for the cache.
template <typename Value, typename Parsed>
Result<std::shared_ptr<const WatchedValue>> Wrap(Result<Parsed> parsed, Parsed Value::*field) {
  if (!parsed.ok()) return parsed.status();
  auto value = std::make_shared<Value>();
  value.get()->*field = std::move(parsed).value();
  return std::shared_ptr<const WatchedValue>(std::move(value));
}

}  // namespace

Result<ServiceNames> ParseServiceNames(std::string_view body) {
  Result<Json> json = http::ParseJsonBody(body, kDepthMax);
  if (!json.ok()) return json.status();
  if (!json->is_object()) return NotShaped("the service list is not an object");
  ServiceNames names;
  for (const auto& [name, tags] : json->items()) names[dns::AsciiLower(name)].push_back(name);
  for (auto& [lower, spellings] : names) std::sort(spellings.begin(), spellings.end());
  return names;
}

Result<std::vector<dns::DnsInstance>> ParseHealthService(std::string_view body) {
  Result<Json> json = http::ParseJsonBody(body, kDepthMax);
  if (!json.ok()) return json.status();
  if (!json->is_array()) return NotShaped("the health list is not a list");
  std::vector<dns::DnsInstance> instances;
  for (const Json& entry : *json) {
    Result<dns::DnsInstance> instance = DecodeEntry(entry);
    if (!instance.ok()) return instance.status();
    instances.push_back(std::move(instance).value());
  }
  return instances;
}

Result<NodesByName> ParseNodes(std::string_view body) {
  Result<Json> json = http::ParseJsonBody(body, kDepthMax);
  if (!json.ok()) return json.status();
  if (!json->is_array()) return NotShaped("the node list is not a list");
  std::vector<dns::DnsNode> nodes;
  for (const Json& item : *json) {
    Result<dns::DnsNode> node = DecodeNode(item);
    if (!node.ok()) return node.status();
    nodes.push_back(std::move(node).value());
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const dns::DnsNode& a, const dns::DnsNode& b) { return a.name < b.name; });
  NodesByName by_name;
  for (dns::DnsNode& node : nodes) by_name.emplace(dns::AsciiLower(node.name), std::move(node));
  return by_name;
}

AgentDnsCatalog::AgentDnsCatalog(Upstream& upstream, const Clock& clock, std::string datacenter,
                                 WatchedReadsOptions options)
    : datacenter_(dns::AsciiLower(datacenter)), reads_(upstream, clock, options) {}

Status AgentDnsCatalog::CheckDatacenter(std::string_view datacenter) const {
  if (dns::AsciiEqualsIgnoreCase(datacenter, datacenter_)) return Status::Ok();
  return NotFound("no datacenter \"" + std::string(datacenter) + "\"");
}

Result<dns::DnsInstances> AgentDnsCatalog::ServiceInstances(std::string_view datacenter,
                                                            std::string_view service) const {
  RETURN_IF_ERROR(CheckDatacenter(datacenter));
  Result<std::shared_ptr<const WatchedValue>> listed = reads_.Get(
      "/v1/catalog/services",
      [](std::string_view body) { return Wrap(ParseServiceNames(body), &NamesValue::names); });
  if (!listed.ok()) return listed.status();
  const ServiceNames& names = static_cast<const NamesValue&>(**listed).names;
  const auto spellings = names.find(dns::AsciiLower(service));
  if (spellings == names.end()) return std::make_shared<const std::vector<dns::DnsInstance>>();
  std::vector<dns::DnsInstances> parts;
  for (const std::string& spelling : spellings->second) {
    Result<std::shared_ptr<const WatchedValue>> health =
        reads_.Get("/v1/health/service/" + client::HttpClient::EscapePath(spelling),
                   [](std::string_view body) {
                     return Wrap(ParseHealthService(body), &InstancesValue::instances);
                   });
    if (!health.ok()) return health.status();
    const auto& value = static_cast<const InstancesValue&>(**health);
    // Aliasing: the vector shares ownership of the cached value it lives in.
    parts.push_back(dns::DnsInstances(*health, &value.instances));
  }
  if (parts.size() == 1) return parts.front();
  auto merged = std::make_shared<std::vector<dns::DnsInstance>>();
  for (const dns::DnsInstances& part : parts)
    merged->insert(merged->end(), part->begin(), part->end());
  return dns::DnsInstances(std::move(merged));
}

Result<std::optional<dns::DnsNode>> AgentDnsCatalog::Node(std::string_view datacenter,
                                                          std::string_view node) const {
  RETURN_IF_ERROR(CheckDatacenter(datacenter));
  Result<std::shared_ptr<const WatchedValue>> listed =
      reads_.Get("/v1/catalog/nodes",
                 [](std::string_view body) { return Wrap(ParseNodes(body), &NodesValue::nodes); });
  if (!listed.ok()) return listed.status();
  const NodesByName& nodes = static_cast<const NodesValue&>(**listed).nodes;
  const auto found = nodes.find(dns::AsciiLower(node));
  if (found == nodes.end()) return std::optional<dns::DnsNode>();
  return std::optional<dns::DnsNode>(found->second);
}

}  // namespace roster::agent
