#include "http/json_mapping.h"

#include <cstdint>

#include "http/agent_json.h"
#include "http/params.h"
#include "http/session_params.h"

namespace roster::http {
namespace {

// "host:port" (or "[v6]:port") split at the last colon; port 0 if there is none.
std::pair<std::string, int> SplitHostPort(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) return {address, 0};
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::optional<std::uint64_t> port = ParseUint64(address.substr(colon + 1));
  return {host, port.has_value() && *port <= 65535 ? static_cast<int>(*port) : 0};
}

std::string BoolString(bool value) { return value ? "true" : "false"; }

Json MemberJson(const Backend::SelfInfo& self, const std::string& datacenter) {
  const auto [host, port] = SplitHostPort(self.server_address);
  AgentMember member;
  member.name = self.node_name;
  member.address = host;
  member.port = port;
  member.tags = {{"role", self.server ? "consul" : "node"},
                 {"dc", datacenter},
                 {"id", self.node_id},
                 {"build", self.version},
                 {"port", std::to_string(port)},
                 {"vsn", "2"},
                 {"vsn_min", "2"},
                 {"vsn_max", "3"},
                 {"raft_vsn", "3"}};
  member.status = 1;  // serf's "alive": this process is answering
  return AgentMemberJson(member);
}

// Consul's Stats: sections of string values.
Json StatsJson(const Backend::SelfInfo& self) {
  Json stats = Json::object();
  stats["build"] = {{"version", self.version}, {"revision", ""}, {"prerelease", ""}};
  stats["consul"] = {{"server", BoolString(self.server)},
                     {"leader", BoolString(self.raft_state == "Leader")},
                     {"known_datacenters", "1"}};
  stats["raft"] = {{"state", self.raft_state},
                   {"commit_index", std::to_string(self.commit_index)},
                   {"applied_index", std::to_string(self.last_applied_index)}};
  return stats;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = static_cast<std::uint8_t>(bytes[i]) << 16 |
                                static_cast<std::uint8_t>(bytes[i + 1]) << 8 |
                                static_cast<std::uint8_t>(bytes[i + 2]);
    out += {kAlphabet[group >> 18], kAlphabet[group >> 12 & 63], kAlphabet[group >> 6 & 63],
            kAlphabet[group & 63]};
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t group = static_cast<std::uint8_t>(bytes[i]) << 16;
    out += {kAlphabet[group >> 18], kAlphabet[group >> 12 & 63], '=', '='};
  } else if (rest == 2) {
    const std::uint32_t group =
        static_cast<std::uint8_t>(bytes[i]) << 16 | static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += {kAlphabet[group >> 18], kAlphabet[group >> 12 & 63], kAlphabet[group >> 6 & 63], '='};
  }
  return out;
}

Json DirEntryJson(const store::DirEntry& entry) {
  Json json = Json::object();
  json["LockIndex"] = entry.lock_index;
  json["Key"] = entry.key;
  json["Flags"] = entry.flags;
  // Consul keeps an empty body as a nil []byte, which Go encodes as null.
  json["Value"] = entry.value.empty() ? Json(nullptr) : Json(Base64Encode(entry.value));
  if (!entry.session.empty()) json["Session"] = entry.session;
  json["CreateIndex"] = entry.create_index;
  json["ModifyIndex"] = entry.modify_index;
  return json;
}

Json DirEntriesJson(const std::vector<store::DirEntry>& entries) {
  Json list = Json::array();
  for (const store::DirEntry& entry : entries) list.push_back(DirEntryJson(entry));
  return list;
}

Json StringListJson(const std::vector<std::string>& strings) {
  Json list = Json::array();
  for (const std::string& s : strings) list.push_back(s);
  return list;
}

Json SessionJson(const store::Session& session) {
  Json service_checks = nullptr;  // Go's nil slice
  for (const store::ServiceCheckRef& check : session.service_checks) {
    service_checks.push_back({{"ID", check.id}, {"Namespace", check.namespace_name}});
  }
  Json json = Json::object();
  json["ID"] = session.id;
  json["Name"] = session.name;
  json["Node"] = session.node;
  json["LockDelay"] = session.lock_delay_ms * 1'000'000;  // a Go time.Duration
  json["Behavior"] = store::SessionBehaviorName(session.behavior);
  json["TTL"] = SessionTtlString(session.ttl_ms);
  json["NodeChecks"] = StringListJson(session.node_checks);
  json["ServiceChecks"] = std::move(service_checks);
  json["CreateIndex"] = session.create_index;
  json["ModifyIndex"] = session.modify_index;
  return json;
}

Json SessionsJson(const std::vector<store::Session>& sessions) {
  Json list = Json::array();
  for (const store::Session& session : sessions) list.push_back(SessionJson(session));
  return list;
}

Json TxnOutcomeJson(const store::TxnOutcome& outcome) {
  Json results = nullptr;
  for (const store::TxnResult& result : outcome.results) {
    results.push_back({{"KV", DirEntryJson(result.kv)}});
  }
  Json errors = nullptr;
  for (const store::TxnError& error : outcome.errors) {
    errors.push_back({{"OpIndex", error.op_index}, {"What", error.what}});
  }
  Json json = Json::object();
  json["Results"] = std::move(results);
  json["Errors"] = std::move(errors);
  return json;
}

Json KvEventJson(const store::KvEvent& event) {
  const store::DirEntry& entry = event.entry;
  Json json = Json::object();
  json["Index"] = event.index;
  json["Op"] = event.type == store::KvEventType::kSet ? "set" : "delete";
  json["Key"] = entry.key;
  if (event.type == store::KvEventType::kDelete) return json;
  json["Value"] = entry.value.empty() ? Json(nullptr) : Json(Base64Encode(entry.value));
  json["Flags"] = entry.flags;
  if (!entry.session.empty()) json["Session"] = entry.session;
  json["CreateIndex"] = entry.create_index;
  json["ModifyIndex"] = entry.modify_index;
  json["LockIndex"] = entry.lock_index;
  return json;
}

Json RaftConfigurationJson(const RaftConfiguration& configuration) {
  Json servers = Json::array();
  for (const RaftServer& server : configuration.servers) {
    Json json = Json::object();
    json["ID"] = server.id;
    json["Node"] = server.node;
    json["Address"] = server.address;
    json["Leader"] = server.leader;
    json["ProtocolVersion"] = "3";  // Raft protocol 3, what `consul operator raft` shows
    json["Voter"] = server.voter;
    servers.push_back(std::move(json));
  }
  Json json = Json::object();
  json["Servers"] = std::move(servers);
  json["Index"] = configuration.index;
  return json;
}

Json AgentConfigJson(const std::string& datacenter, const std::string& node_name,
                     const std::string& node_id, bool server, const std::string& version) {
  Json config = Json::object();
  config["Datacenter"] = datacenter;
  config["PrimaryDatacenter"] = datacenter;
  config["NodeName"] = node_name;
  config["NodeID"] = node_id;
  config["Revision"] = "";
  config["Server"] = server;
  config["Version"] = version;
  config["BuildDate"] = "";
  return config;
}

Json AgentSelfJson(const Backend::SelfInfo& self, const std::string& datacenter) {
  Json config =
      AgentConfigJson(datacenter, self.node_name, self.node_id, self.server, self.version);
  Json roster = Json::object();
  roster["WritesAccepted"] = self.write_blocked_reason.empty();
  roster["WriteBlockedReason"] = self.write_blocked_reason;
  roster["RaftState"] = self.raft_state;
  roster["CommitIndex"] = self.commit_index;
  roster["LastAppliedIndex"] = self.last_applied_index;
  roster["ServerAddress"] = self.server_address;
  roster["HTTPAddress"] = self.http_address;
  Json json = Json::object();
  json["Config"] = std::move(config);
  json["Member"] = MemberJson(self, datacenter);
  json["Stats"] = StatsJson(self);
  json["Meta"] = Json::object();
  json["Roster"] = std::move(roster);
  return json;
}

std::string RenderJson(const Json& value, bool pretty) {
  constexpr auto kReplaceInvalidUtf8 = Json::error_handler_t::replace;
  if (pretty) return value.dump(4, ' ', /*ensure_ascii=*/false, kReplaceInvalidUtf8) + "\n";
  return value.dump(-1, ' ', /*ensure_ascii=*/false, kReplaceInvalidUtf8);
}

}  // namespace roster::http
