#include "agent/catalog_wire.h"

#include <chrono>
#include <utility>

#include "http/catalog_json.h"
#include "http/catalog_params.h"
#include "http/json_decode.h"
#include "http/params.h"

namespace roster::agent {
namespace {

using http::Json;

// Replies are trusted more than requests, but a bound still keeps a broken one cheap.
constexpr std::size_t kDepthMax = 32;

Json MetaJson(const store::StringMap& meta) {  // also TaggedAddresses
  Json json = Json::object();
  for (const auto& [key, value] : meta) json[key] = value;
  return json;
}

// Decodes one service or a list of checks through the servers' own register parser,
// wrapped in a register body for this node.
Result<store::CatalogRegister> DecodeAsRegistration(const std::string& node, Json part,
                                                    const char* field) {
  Json body = Json::object();
  body["Node"] = node;
  body["Address"] = "127.0.0.1";  // required by the parser, ignored here
  body[field] = std::move(part);
  return http::ParseCatalogRegister(body.dump(), http::CatalogRules{});
}

}  // namespace

std::string RegisterBody(const NodeIdentity& node, const store::NodeService* service,
                         const std::vector<store::HealthCheck>& checks) {
  Json body = Json::object();
  if (!node.id.empty() && !node.node_owned_by_server) body["ID"] = node.id;
  body["Node"] = node.name;
  body["Address"] = node.address;
  body["Datacenter"] = node.datacenter;
  if (node.node_owned_by_server) {
    body["SkipNodeUpdate"] = true;
  } else {
    body["NodeMeta"] = MetaJson(node.meta);
    body["TaggedAddresses"] = MetaJson(node.tagged_addresses);
  }
  if (service != nullptr) body["Service"] = http::NodeServiceJson(*service);
  Json list = Json::array();
  for (const store::HealthCheck& check : checks) {
    Json json = http::HealthCheckJson(check, {});
    json["Node"] = node.name;
    list.push_back(std::move(json));
  }
  if (!list.empty()) body["Checks"] = std::move(list);
  return body.dump();
}

std::string DeregisterBody(const std::string& node, const std::string& service_id,
                           const std::string& check_id) {
  Json body = Json::object();
  body["Node"] = node;
  if (!service_id.empty()) body["ServiceID"] = service_id;
  if (!check_id.empty()) body["CheckID"] = check_id;
  return body.dump();
}

std::string HeartbeatBody(const NodeIdentity& node) {
  Json body = Json::object();
  body["Node"] = node.name;
  body["ID"] = node.id;
  body["Address"] = node.address;
  body["Meta"] = MetaJson(node.meta);
  return body.dump();
}

std::string LeaveBody(const std::string& node) {
  Json body = Json::object();
  body["Node"] = node;
  return body.dump();
}

Status ParseNodeServices(std::string_view body, const std::string& node, RemoteNode* out) {
  Result<Json> json = http::ParseJsonBody(body, kDepthMax);
  if (!json.ok()) return json.status();
  out->node.reset();
  out->services.clear();
  if (!json->is_object()) return Status::Ok();  // null: no such node
  const Json* node_json = http::FindField(*json, "Node");
  if (node_json != nullptr && node_json->is_object()) {
    store::Node record;
    RETURN_IF_ERROR(http::DecodeString(http::FindField(*node_json, "Node"), "Node.Node", &record.name));
    RETURN_IF_ERROR(http::DecodeString(http::FindField(*node_json, "ID"), "Node.ID", &record.id));
    RETURN_IF_ERROR(http::DecodeString(http::FindField(*node_json, "Address"), "Node.Address",
                                       &record.address));
    RETURN_IF_ERROR(http::DecodeStringMap(http::FindField(*node_json, "Meta"), "Node.Meta",
                                          &record.meta));
    RETURN_IF_ERROR(http::DecodeStringMap(http::FindField(*node_json, "TaggedAddresses"),
                                          "Node.TaggedAddresses", &record.tagged_addresses));
    out->node = std::move(record);
  }
  const Json* services = http::FindField(*json, "Services");
  if (services == nullptr || !services->is_array()) return Status::Ok();
  for (const Json& service : *services) {
    Result<store::CatalogRegister> decoded = DecodeAsRegistration(node, service, "Service");
    if (!decoded.ok()) return decoded.status();
    if (decoded->service.has_value()) out->services.push_back(std::move(*decoded->service));
  }
  return Status::Ok();
}

Status ParseNodeChecks(std::string_view body, const std::string& node, RemoteNode* out) {
  Result<Json> json = http::ParseJsonBody(body, kDepthMax);
  if (!json.ok()) return json.status();
  out->checks.clear();
  if (!json->is_array() || json->empty()) return Status::Ok();
  Result<store::CatalogRegister> decoded = DecodeAsRegistration(node, *json, "Checks");
  if (!decoded.ok()) return decoded.status();
  out->checks = std::move(decoded->checks);
  return Status::Ok();
}

Result<std::vector<http::AgentMember>> ParseMembers(std::string_view body) {
  Result<Json> json = http::ParseJsonBody(body, kDepthMax);
  if (!json.ok()) return json.status();
  std::vector<http::AgentMember> members;
  if (!json->is_array()) return InvalidArgument("members: not a list");
  for (const Json& item : *json) {
    if (!item.is_object()) continue;
    http::AgentMember member;
    std::int64_t port = member.port;
    std::int64_t status = member.status;
    RETURN_IF_ERROR(http::DecodeString(http::FindField(item, "Name"), "Member.Name", &member.name));
    RETURN_IF_ERROR(http::DecodeString(http::FindField(item, "Addr"), "Member.Addr", &member.address));
    RETURN_IF_ERROR(http::DecodeInt64(http::FindField(item, "Port"), "Member.Port", &port));
    RETURN_IF_ERROR(http::DecodeInt64(http::FindField(item, "Status"), "Member.Status", &status));
    store::StringMap tags;
    RETURN_IF_ERROR(http::DecodeStringMap(http::FindField(item, "Tags"), "Member.Tags", &tags));
    member.tags.insert(tags.begin(), tags.end());
    member.port = static_cast<int>(port);
    member.status = static_cast<int>(status);
    members.push_back(std::move(member));
  }
  return members;
}

std::optional<std::int64_t> ParseFailureTimeoutMs(std::string_view body) {
  Result<Json> json = http::ParseJsonBody(body, kDepthMax);
  if (!json.ok() || !json->is_object()) return std::nullopt;
  std::string text;
  if (!http::DecodeString(http::FindField(*json, "FailureTimeout"), "FailureTimeout", &text).ok() ||
      text.empty()) {
    return std::nullopt;
  }
  Result<std::chrono::nanoseconds> parsed = http::ParseGoDuration(text);
  if (!parsed.ok()) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*parsed).count();
}

}  // namespace roster::agent
