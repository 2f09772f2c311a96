// roster members, services register|deregister, catalog services|nodes|datacenters,
// maint, leave and reload: clients of the HTTP API with the flags and output of the consul
// commands of the same names (docs/cli.md). Registrations go to the agent the command
// talks to (-http-addr), as with consul: the agent owns its node's services.
#include <strings.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/output.h"
#include "client/http_client.h"

namespace roster::cli {
namespace {

using nlohmann::json;

std::string Escape(const std::string& text) { return client::HttpClient::EscapePath(text); }

Result<Flags> ParseOrUsage(const std::vector<std::string>& args,
                           const std::set<std::string>& value_flags,
                           const std::set<std::string>& bool_flags) {
  Result<Flags> flags = Flags::Parse(args, value_flags, bool_flags);
  if (!flags.ok()) std::fprintf(stderr, "roster: %s\n", flags.status().message().c_str());
  return flags;
}

// Left-aligned columns two spaces apart, as consul's CLI prints its tables.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

// "-meta k=v" and "-node-meta k=v": InvalidArgument for a pair without '='.
Result<std::map<std::string, std::string>> KeyValues(const std::vector<std::string>& pairs,
                                                     const std::string& flag) {
  std::map<std::string, std::string> out;
  for (const std::string& pair : pairs) {
    const std::size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("-" + flag + " takes key=value, not \"" + pair + "\"");
    }
    out[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return out;
}

// ---- roster members -------------------------------------------------------------------

std::string MemberStatus(int status) {
  switch (status) {
    case 1: return "alive";
    case 2: return "leaving";
    case 3: return "left";
    case 4: return "failed";
    default: return "none";
  }
}

// `roster <command> [-http-addr HOST:PORT]`: an empty PUT to the agent, printing
// `done` (consul's words) on 200 and the agent's answer otherwise.
int PutToAgent(const std::vector<std::string>& args, const std::string& command,
               const std::string& path, const char* done) {
  const std::string usage = "usage: roster " + command + " [-http-addr HOST:PORT]\n";
  Result<Flags> flags = ParseOrUsage(args, {"http-addr"}, {});
  if (!flags.ok() || !flags->positional().empty()) return Usage(usage.c_str());
  client::HttpClient http(client::HttpClient::DefaultAddress(flags->Get("http-addr")));
  Result<client::Response> response = http.Put(path, "");
  if (!response.ok()) return Fail(response.status().message());
  if (response->status != 200) return FailResponse(*response);
  std::printf("%s\n", done);
  return 0;
}

}  // namespace

int RunMembers(const std::vector<std::string>& args) {
  constexpr const char* kUsage = "usage: roster members [-status REGEX] [-detailed]\n";
  Result<Flags> flags = ParseOrUsage(args, {"http-addr", "status"}, {"detailed"});
  if (!flags.ok() || !flags->positional().empty()) return Usage(kUsage);
  std::regex status_filter;
  try {
    status_filter = std::regex(flags->Get("status", ".*"));
  } catch (const std::regex_error&) {
    return Fail("-status is not a valid regular expression: " + flags->Get("status"));
  }
  client::HttpClient http(client::HttpClient::DefaultAddress(flags->Get("http-addr")));
  Result<json> members = JsonReply(http.Get("/v1/agent/members"));
  if (!members.ok()) return Fail(members.status().message());
  if (!members->is_array()) return Fail("unexpected reply from the agent");
  std::vector<json> sorted(members->begin(), members->end());
  std::sort(sorted.begin(), sorted.end(), [](const json& a, const json& b) {
    return a.value("Name", std::string()) < b.value("Name", std::string());
  });
  std::vector<std::vector<std::string>> rows = {
      {"Node", "Address", "Status", "Type", "Build", "Protocol", "DC"}};
  if (flags->GetBool("detailed")) rows[0] = {"Node", "Address", "Status", "Tags"};
  for (const json& member : sorted) {
    const std::string status = MemberStatus(member.value("Status", 0));
    if (!std::regex_match(status, status_filter)) continue;
    const json tags = member.value("Tags", json::object());
    const std::string address = member.value("Addr", std::string()) + ":" +
                                std::to_string(member.value("Port", 0));
    const std::string name = member.value("Name", std::string());
    if (flags->GetBool("detailed")) {
      std::string tag_text;
      for (const auto& [key, value] : tags.items()) {
        if (!tag_text.empty()) tag_text += ",";
        tag_text += key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
      }
      rows.push_back({name, address, status, tag_text});
      continue;
    }
    const std::string type = tags.value("role", std::string()) == "consul" ? "server" : "client";
    rows.push_back({name, address, status, type, tags.value("build", std::string()),
                    tags.value("vsn", std::string("2")), tags.value("dc", std::string())});
  }
  PrintTable(rows);
  return 0;
}

namespace {

// ---- roster services register|deregister ----------------------------------------------

constexpr const char* kServicesUsage =
    "usage: roster services register [-name NAME] [-id ID] [-address ADDR] [-port N]\n"
    "                                [-tag TAG]... [-meta KEY=VALUE]... [FILE.json]\n"
    "       roster services deregister -id ID | FILE.json\n";

// The service definitions of a file: {"service": {...}}, {"services": [...]} or one
// service object, as consul services register reads them.
Result<std::vector<json>> ServicesInFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read " + path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json document = json::parse(text, nullptr, false);
  if (document.is_discarded() || !document.is_object()) {
    return InvalidArgument(path + " is not a JSON object");
  }
  std::vector<json> services;
  if (document.contains("service")) services.push_back(document["service"]);
  if (document.contains("services")) {
    if (!document["services"].is_array()) return InvalidArgument(path + ": services is not a list");
    for (const json& service : document["services"]) services.push_back(service);
  }
  if (services.empty()) services.push_back(document);
  for (const json& service : services) {
    if (!service.is_object()) return InvalidArgument(path + ": a service is not a JSON object");
  }
  return services;
}

Result<std::vector<json>> ServicesFromFlags(const Flags& flags) {
  if (!flags.positional().empty()) {
    if (flags.Has("name") || flags.Has("id")) {
      return InvalidArgument("give either a file or -name/-id, not both");
    }
    return ServicesInFile(flags.positional()[0]);
  }
  json service = json::object();
  if (flags.Has("name")) service["Name"] = flags.Get("name");
  if (flags.Has("id")) service["ID"] = flags.Get("id");
  if (flags.Has("address")) service["Address"] = flags.Get("address");
  if (flags.Has("port")) {
    Result<long long> port = flags.GetInt("port", 0);
    if (!port.ok() || *port < 0 || *port > 65535) {
      return InvalidArgument("-port must be a number from 0 to 65535");
    }
    service["Port"] = *port;
  }
  if (flags.Has("tag")) service["Tags"] = flags.GetAll("tag");
  Result<std::map<std::string, std::string>> meta = KeyValues(flags.GetAll("meta"), "meta");
  if (!meta.ok()) return meta.status();
  if (!meta->empty()) service["Meta"] = *meta;
  return std::vector<json>{service};
}

// A definition's string field in any case ("Name", "name"), as the agent reads a
// definition; "" when it has none.
std::string StringField(const json& service, const char* field) {
  for (const auto& [key, value] : service.items()) {
    if (value.is_string() && strcasecmp(key.c_str(), field) == 0) return value;
  }
  return "";
}

std::string ServiceLabel(const json& service) {
  const std::string name = StringField(service, "Name");
  return name.empty() ? StringField(service, "ID") : name;
}

}  // namespace

int RunServices(const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "register" && args[0] != "deregister")) {
    return Usage(kServicesUsage);
  }
  Result<Flags> flags = ParseOrUsage({args.begin() + 1, args.end()},
                                     {"http-addr", "name", "id", "address", "port", "tag", "meta"},
                                     {});
  if (!flags.ok() || flags->positional().size() > 1) return Usage(kServicesUsage);
  client::HttpClient http(client::HttpClient::DefaultAddress(flags->Get("http-addr")));
  if (args[0] == "deregister") {
    std::vector<std::string> ids;
    if (flags->Has("id")) {
      if (!flags->positional().empty()) return Fail("give either a file or -id, not both");
      ids.push_back(flags->Get("id"));
    } else if (!flags->positional().empty()) {
      Result<std::vector<json>> services = ServicesInFile(flags->positional()[0]);
      if (!services.ok()) return Fail(services.status().message());
      for (const json& service : *services) {
        // Consul defaults a service's ID to its name.
        std::string id = StringField(service, "ID");
        if (id.empty()) id = StringField(service, "Name");
        if (id.empty()) return Fail("a service in the file has neither ID nor Name");
        ids.push_back(id);
      }
    } else {
      return Usage(kServicesUsage);
    }
    for (const std::string& id : ids) {
      Result<client::Response> response = http.Put("/v1/agent/service/deregister/" + Escape(id), "");
      if (!response.ok()) return Fail(response.status().message());
      if (response->status != 200) return FailResponse(*response);
      std::printf("Deregistered service: %s\n", id.c_str());
    }
    return 0;
  }
  Result<std::vector<json>> services = ServicesFromFlags(*flags);
  if (!services.ok()) return Fail(services.status().message());
  for (const json& service : *services) {
    Result<client::Response> response = http.Put("/v1/agent/service/register", service.dump());
    if (!response.ok()) return Fail(response.status().message());
    if (response->status != 200) return FailResponse(*response);
    std::printf("Registered service: %s\n", ServiceLabel(service).c_str());
  }
  return 0;
}

namespace {

// ---- roster catalog services|nodes|datacenters ----------------------------------------

constexpr const char* kCatalogUsage =
    "usage: roster catalog services [-tags] [-node NODE] [-node-meta KEY=VALUE]...\n"
    "       roster catalog nodes [-service NAME] [-detailed] [-node-meta KEY=VALUE]...\n"
    "       roster catalog datacenters\n";

std::string NodeMetaQuery(const std::map<std::string, std::string>& meta) {
  std::string query;
  for (const auto& [key, value] : meta) {
    query += (query.empty() ? "?" : "&") + std::string("node-meta=") + Escape(key) + ":" +
             Escape(value);
  }
  return query;
}

std::string Joined(const json& strings) {
  std::vector<std::string> parts;
  if (strings.is_array()) {
    for (const json& s : strings) {
      if (s.is_string()) parts.push_back(s);
    }
  }
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : ",") + part;
  return out;
}

int CatalogServices(const Flags& flags, client::HttpClient& http, const std::string& meta_query) {
  // name -> tags
  std::map<std::string, json> services;
  if (flags.Has("node")) {
    Result<json> node = JsonReply(http.Get("/v1/catalog/node/" + Escape(flags.Get("node"))));
    if (!node.ok()) return Fail(node.status().message());
    if (node->is_null()) return Fail("No node found with name \"" + flags.Get("node") + "\"");
    const json node_services = node->contains("Services") ? (*node)["Services"] : json::object();
    for (const auto& [id, service] : node_services.items()) {
      services[service.value("Service", id)] = service.value("Tags", json::array());
    }
  } else {
    Result<json> all = JsonReply(http.Get("/v1/catalog/services" + meta_query));
    if (!all.ok()) return Fail(all.status().message());
    for (const auto& [name, tags] : all->items()) services[name] = tags;
  }
  if (services.empty()) {
    std::fprintf(stderr, "No services match the given query - try expanding your search.\n");
    return 0;
  }
  if (!flags.GetBool("tags")) {
    for (const auto& [name, tags] : services) std::printf("%s\n", name.c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, tags] : services) rows.push_back({name, Joined(tags)});
  PrintTable(rows);
  return 0;
}

int CatalogNodes(const Flags& flags, client::HttpClient& http, const std::string& meta_query) {
  const bool by_service = flags.Has("service");
  Result<json> nodes = JsonReply(http.Get(
      by_service ? "/v1/catalog/service/" + Escape(flags.Get("service")) + meta_query
                 : "/v1/catalog/nodes" + meta_query));
  if (!nodes.ok()) return Fail(nodes.status().message());
  if (!nodes->is_array() || nodes->empty()) {
    std::fprintf(stderr, "No nodes match the given query - try expanding your search.\n");
    return 0;
  }
  // A service's instances repeat their node's row once per instance.
  std::map<std::string, json> by_name;
  for (const json& node : *nodes) by_name.emplace(node.value("Node", std::string()), node);
  const bool detailed = flags.GetBool("detailed");
  std::vector<std::vector<std::string>> rows = {{"Node", "ID", "Address", "DC"}};
  if (detailed) rows[0] = {"Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"};
  for (const auto& [name, node] : by_name) {
    std::string id = node.value("ID", std::string());
    if (!detailed && id.size() > 8) id.resize(8);
    std::vector<std::string> row = {name, id, node.value("Address", std::string()),
                                    node.value("Datacenter", std::string())};
    if (detailed) {
      // catalog/nodes says Meta, catalog/service NodeMeta.
      for (const char* field : {"TaggedAddresses", node.contains("Meta") ? "Meta" : "NodeMeta"}) {
        std::string text;
        const json pairs = node.contains(field) ? node[field] : json::object();
        for (const auto& [key, value] : pairs.items()) {
          text += (text.empty() ? "" : ", ") + key + "=" +
                  (value.is_string() ? value.get<std::string>() : value.dump());
        }
        row.push_back(text);
      }
    }
    rows.push_back(std::move(row));
  }
  PrintTable(rows);
  return 0;
}

}  // namespace

int RunCatalog(const std::vector<std::string>& args) {
  if (args.empty()) return Usage(kCatalogUsage);
  Result<Flags> flags = ParseOrUsage({args.begin() + 1, args.end()},
                                     {"http-addr", "node", "service", "node-meta"},
                                     {"tags", "detailed"});
  if (!flags.ok() || !flags->positional().empty()) return Usage(kCatalogUsage);
  Result<std::map<std::string, std::string>> meta =
      KeyValues(flags->GetAll("node-meta"), "node-meta");
  if (!meta.ok()) return Fail(meta.status().message());
  client::HttpClient http(client::HttpClient::DefaultAddress(flags->Get("http-addr")));
  const std::string meta_query = NodeMetaQuery(*meta);
  if (args[0] == "services") return CatalogServices(*flags, http, meta_query);
  if (args[0] == "nodes") return CatalogNodes(*flags, http, meta_query);
  if (args[0] == "datacenters") {
    Result<json> dcs = JsonReply(http.Get("/v1/catalog/datacenters"));
    if (!dcs.ok()) return Fail(dcs.status().message());
    for (const json& dc : *dcs) {
      if (dc.is_string()) std::printf("%s\n", dc.get<std::string>().c_str());
    }
    return 0;
  }
  return Usage(kCatalogUsage);
}

namespace {

// ---- roster maint ---------------------------------------------------------------------

constexpr char kNodeMaintenanceCheck[] = "_node_maintenance";
constexpr char kServiceMaintenancePrefix[] = "_service_maintenance:";

// Without -enable or -disable: what is in maintenance on this agent.
int ListMaintenance(client::HttpClient& http) {
  Result<json> checks = JsonReply(http.Get("/v1/agent/checks"));
  if (!checks.ok()) return Fail(checks.status().message());
  const std::string prefix = kServiceMaintenancePrefix;
  for (const auto& [id, check] : checks->items()) {
    if (id == kNodeMaintenanceCheck) {
      std::printf("Node:\n  Name:   %s\n  Reason: %s\n\n", check.value("Node", std::string()).c_str(),
                  check.value("Notes", std::string()).c_str());
    } else if (id.compare(0, prefix.size(), prefix) == 0) {
      std::printf("Service:\n  ID:     %s\n  Reason: %s\n\n", id.substr(prefix.size()).c_str(),
                  check.value("Notes", std::string()).c_str());
    }
  }
  return 0;
}

}  // namespace

int RunMaint(const std::vector<std::string>& args) {
  constexpr const char* kUsage =
      "usage: roster maint [-enable | -disable] [-reason TEXT] [-service ID]\n";
  Result<Flags> flags =
      ParseOrUsage(args, {"http-addr", "reason", "service"}, {"enable", "disable"});
  if (!flags.ok() || !flags->positional().empty()) return Usage(kUsage);
  const bool enable = flags->GetBool("enable");
  const bool disable = flags->GetBool("disable");
  if (enable && disable) return Fail("only one of -enable or -disable may be given");
  if (!enable && !disable && (flags->Has("reason") || flags->Has("service"))) {
    return Fail("-reason and -service need -enable or -disable");
  }
  client::HttpClient http(client::HttpClient::DefaultAddress(flags->Get("http-addr")));
  if (!enable && !disable) return ListMaintenance(http);
  std::string query = std::string("?enable=") + (enable ? "true" : "false");
  if (flags->Has("reason")) query += "&reason=" + Escape(flags->Get("reason"));
  const std::string state = enable ? "enabled" : "disabled";
  if (flags->Has("service")) {
    const std::string id = flags->Get("service");
    Result<client::Response> response =
        http.Put("/v1/agent/service/maintenance/" + Escape(id) + query, "");
    if (!response.ok()) return Fail(response.status().message());
    if (response->status != 200) return FailResponse(*response);
    std::printf("Service maintenance is now %s for \"%s\"\n", state.c_str(), id.c_str());
    return 0;
  }
  Result<client::Response> response = http.Put("/v1/agent/maintenance" + query, "");
  if (!response.ok()) return Fail(response.status().message());
  if (response->status != 200) return FailResponse(*response);
  std::printf("Node maintenance is now %s\n", state.c_str());
  return 0;
}

// ---- roster leave ---------------------------------------------------------------------

int RunLeave(const std::vector<std::string>& args) {
  return PutToAgent(args, "leave", "/v1/agent/leave", "Graceful leave complete");
}

int RunReload(const std::vector<std::string>& args) {
  return PutToAgent(args, "reload", "/v1/agent/reload", "Configuration reload triggered");
}

}  // namespace roster::cli
