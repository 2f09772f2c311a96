#include "http/catalog_json.h"

#include <chrono>

#include "http/params.h"

namespace roster::http {
namespace {

Json StringMapJson(const store::StringMap& map) {
  Json json = Json::object();
  for (const auto& [key, value] : map) json[key] = value;
  return json;
}

Json ServiceAddressesJson(
    const std::map<std::string, store::ServiceAddress, std::less<>>& addresses) {
  Json json = Json::object();
  for (const auto& [name, address] : addresses) {
    json[name] = {{"Address", address.address}, {"Port", address.port}};
  }
  return json;
}

Json WeightsJson(const store::ServiceWeights& weights) {
  return {{"Passing", weights.passing}, {"Warning", weights.warning}};
}

// Consul's ConnectProxyConfig and ServiceConnect of a plain service.
Json EmptyProxyJson() { return {{"MeshGateway", Json::object()}, {"Expose", Json::object()}}; }

std::string DurationString(std::uint64_t ns) {
  return FormatGoDuration(std::chrono::nanoseconds(static_cast<std::int64_t>(ns)));
}

}  // namespace

Json NodeJson(const store::Node& node) {
  Json json = Json::object();
  json["ID"] = node.id;
  json["Node"] = node.name;
  json["Address"] = node.address;
  json["Datacenter"] = node.datacenter;
  json["TaggedAddresses"] = StringMapJson(node.tagged_addresses);
  json["Meta"] = StringMapJson(node.meta);
  json["CreateIndex"] = node.create_index;
  json["ModifyIndex"] = node.modify_index;
  return json;
}

Json NodeServiceJson(const store::NodeService& service) {
  Json json = Json::object();
  json["ID"] = service.id;
  json["Service"] = service.service;
  json["Tags"] = StringListJson(service.tags);
  json["Address"] = service.address;
  if (!service.tagged_addresses.empty()) {
    json["TaggedAddresses"] = ServiceAddressesJson(service.tagged_addresses);
  }
  json["Meta"] = StringMapJson(service.meta);
  if (service.port != 0) json["Port"] = service.port;
  json["Weights"] = WeightsJson(service.weights);
  json["EnableTagOverride"] = service.enable_tag_override;
  json["Proxy"] = EmptyProxyJson();
  json["Connect"] = Json::object();
  json["CreateIndex"] = service.create_index;
  json["ModifyIndex"] = service.modify_index;
  return json;
}

Json ServiceNodeJson(const store::Node& node, const store::NodeService& service) {
  Json json = Json::object();
  json["ID"] = node.id;
  json["Node"] = node.name;
  json["Address"] = node.address;
  json["Datacenter"] = node.datacenter;
  json["TaggedAddresses"] = StringMapJson(node.tagged_addresses);
  json["NodeMeta"] = StringMapJson(node.meta);
  json["ServiceKind"] = "";
  json["ServiceID"] = service.id;
  json["ServiceName"] = service.service;
  json["ServiceTags"] = StringListJson(service.tags);
  json["ServiceAddress"] = service.address;
  if (!service.tagged_addresses.empty()) {
    json["ServiceTaggedAddresses"] = ServiceAddressesJson(service.tagged_addresses);
  }
  json["ServiceWeights"] = WeightsJson(service.weights);
  json["ServiceMeta"] = StringMapJson(service.meta);
  json["ServicePort"] = service.port;
  json["ServiceEnableTagOverride"] = service.enable_tag_override;
  json["ServiceProxy"] = EmptyProxyJson();
  json["ServiceConnect"] = Json::object();
  json["CreateIndex"] = service.create_index;
  json["ModifyIndex"] = service.modify_index;
  return json;
}

Json CheckDefinitionJson(const store::CheckDefinition& d) {
  Json json = Json::object();
  json["Interval"] = DurationString(d.interval_ns);
  json["Timeout"] = DurationString(d.timeout_ns);
  json["DeregisterCriticalServiceAfter"] = DurationString(d.deregister_critical_service_after_ns);
  if (!d.http.empty()) json["HTTP"] = d.http;
  if (!d.tls_server_name.empty()) json["TLSServerName"] = d.tls_server_name;
  if (d.tls_skip_verify) json["TLSSkipVerify"] = true;
  if (!d.header.empty()) {
    Json header = Json::object();
    for (const auto& [name, values] : d.header) header[name] = StringListJson(values);
    json["Header"] = std::move(header);
  }
  if (!d.method.empty()) json["Method"] = d.method;
  if (!d.body.empty()) json["Body"] = d.body;
  if (!d.tcp.empty()) json["TCP"] = d.tcp;
  if (!d.script_args.empty()) json["ScriptArgs"] = StringListJson(d.script_args);
  if (d.ttl_ns != 0) json["TTL"] = DurationString(d.ttl_ns);
  return json;
}

Json HealthCheckJson(const store::HealthCheck& check,
                     const std::vector<std::string>& service_tags) {
  Json json = Json::object();
  json["Node"] = check.node;
  json["CheckID"] = check.check_id;
  json["Name"] = check.name;
  json["Status"] = store::HealthStatusName(check.status);
  json["Notes"] = check.notes;
  json["Output"] = check.output;
  json["ServiceID"] = check.service_id;
  json["ServiceName"] = check.service_name;
  json["ServiceTags"] = StringListJson(service_tags);
  json["Type"] = check.type;
  json["Definition"] = CheckDefinitionJson(check.definition);
  json["CreateIndex"] = check.create_index;
  json["ModifyIndex"] = check.modify_index;
  return json;
}

}  // namespace roster::http
