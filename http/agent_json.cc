#include "http/agent_json.h"

#include <map>
#include <utility>

#include "http/catalog_json.h"
#include "store/health.h"

namespace roster::http {
namespace {

// serf's LAN port, which a member shows when nothing better is known.
constexpr int kSerfLanPort = 8301;

// The agent's own member, as the servers would list it.
AgentMember SelfMember(const AgentInfo& info) {
  AgentMember member;
  member.name = info.node_name;
  member.address = info.address;
  member.port = kSerfLanPort;
  member.tags = {{"role", info.server ? "consul" : "node"},
                 {"dc", info.datacenter},
                 {"id", info.node_id},
                 {"build", info.version},
                 {"vsn", "2"},
                 {"vsn_min", "2"},
                 {"vsn_max", "3"}};
  member.status = 1;  // alive: it is answering
  return member;
}

}  // namespace

Json AgentServiceJson(const store::NodeService& service, const std::string& datacenter) {
  // The values are the catalog's NodeService ones; only the envelope differs.
  Json shown = NodeServiceJson(service);
  Json json = Json::object();
  json["ID"] = std::move(shown["ID"]);
  json["Service"] = std::move(shown["Service"]);
  json["Tags"] = std::move(shown["Tags"]);
  json["Meta"] = std::move(shown["Meta"]);
  json["Port"] = service.port;
  json["Address"] = std::move(shown["Address"]);
  if (shown.contains("TaggedAddresses")) {
    json["TaggedAddresses"] = std::move(shown["TaggedAddresses"]);
  }
  json["Weights"] = std::move(shown["Weights"]);
  json["EnableTagOverride"] = service.enable_tag_override;
  if (service.create_index != 0) json["CreateIndex"] = service.create_index;
  if (service.modify_index != 0) json["ModifyIndex"] = service.modify_index;
  json["Datacenter"] = datacenter;
  return json;
}

Json AgentServicesJson(const std::vector<store::NodeService>& services,
                       const std::string& datacenter) {
  Json map = Json::object();
  for (const store::NodeService& service : services) {
    map[service.id] = AgentServiceJson(service, datacenter);
  }
  return map;
}

Json AgentChecksJson(const std::vector<store::HealthCheck>& checks,
                     const std::vector<store::NodeService>& services) {
  std::map<std::string_view, const std::vector<std::string>*> tags_by_service;
  for (const store::NodeService& service : services) tags_by_service[service.id] = &service.tags;
  static const std::vector<std::string> kNoTags;
  Json map = Json::object();
  for (const store::HealthCheck& check : checks) {
    auto tags = tags_by_service.find(check.service_id);
    map[check.check_id] =
        HealthCheckJson(check, tags == tags_by_service.end() ? kNoTags : *tags->second);
  }
  return map;
}

Json AgentMemberJson(const AgentMember& member) {
  Json tags = Json::object();
  for (const auto& [key, value] : member.tags) tags[key] = value;
  Json json = Json::object();
  json["Name"] = member.name;
  json["Addr"] = member.address;
  json["Port"] = member.port;
  json["Tags"] = std::move(tags);
  json["Status"] = member.status;
  json["ProtocolMin"] = 1;
  json["ProtocolMax"] = 5;
  json["ProtocolCur"] = 2;
  json["DelegateMin"] = 2;
  json["DelegateMax"] = 5;
  json["DelegateCur"] = 4;
  return json;
}

Json AgentMembersJson(const std::vector<AgentMember>& members) {
  Json list = Json::array();
  for (const AgentMember& member : members) list.push_back(AgentMemberJson(member));
  return list;
}

Json AgentServiceHealthJson(const store::NodeService& service,
                            const std::vector<store::HealthCheck>& checks,
                            const std::string& datacenter) {
  Json list = Json::array();
  for (const store::HealthCheck& check : checks) {
    list.push_back(HealthCheckJson(
        check, check.service_id.empty() ? std::vector<std::string>() : service.tags));
  }
  Json json = Json::object();
  json["AggregatedStatus"] = store::AggregatedStatusName(store::AggregateStatus(checks));
  json["Service"] = AgentServiceJson(service, datacenter);
  json["Checks"] = std::move(list);
  return json;
}

Json LocalAgentSelfJson(const AgentInfo& info, const Backend::SelfInfo* server) {
  Json meta = Json::object();
  for (const auto& [key, value] : info.node_meta) meta[key] = value;
  Json json = Json::object();
  json["Config"] =
      AgentConfigJson(info.datacenter, info.node_name, info.node_id, info.server, info.version);
  if (server == nullptr) {
    json["Member"] = AgentMemberJson(SelfMember(info));
    json["Stats"] = {{"build", {{"version", info.version}, {"revision", ""}, {"prerelease", ""}}},
                     {"consul", {{"server", info.server ? "true" : "false"}}}};
    json["Meta"] = std::move(meta);
    return json;
  }
  // A server: its member carries the server's port and raft tags, and its Stats and
  // Roster sections say what its Raft node is doing.
  Json shown = AgentSelfJson(*server, info.datacenter);
  json["Member"] = std::move(shown["Member"]);
  json["Stats"] = std::move(shown["Stats"]);
  json["Meta"] = std::move(meta);
  json["Roster"] = std::move(shown["Roster"]);
  return json;
}

}  // namespace roster::http
