// roster kv get|put|delete, and roster operator raft list-peers|remove-peer: clients of
// the HTTP API, with Consul's CLI flags.
#include <cstdio>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/output.h"
#include "cli/session_client.h"
#include "client/http_client.h"

namespace roster::cli {
namespace {

using nlohmann::json;

constexpr const char* kKvUsage =
    "usage: roster kv get [-recurse] [-keys] [-separator S] [-detailed] KEY\n"
    "       roster kv put [-cas -modify-index N] [-flags N] KEY [VALUE|-]\n"
    "       roster kv delete [-recurse] [-cas -modify-index N] KEY\n"
    "  all take -http-addr HOST:PORT (default $ROSTER_HTTP_ADDR, $CONSUL_HTTP_ADDR, 127.0.0.1:8500)\n";

int KvGet(const Flags& flags, client::HttpClient& http) {
  if (flags.positional().size() > 1) return Usage(kKvUsage);
  const std::string key = flags.positional().empty() ? "" : flags.positional()[0];
  std::string query;
  if (flags.GetBool("keys")) {
    query = "?keys";
    if (flags.Has("separator")) query += "&separator=" + client::HttpClient::EscapePath(flags.Get("separator"));
  } else if (flags.GetBool("recurse")) {
    query = "?recurse";
  } else if (key.empty()) {
    return Fail("a key is required (or -recurse / -keys)");
  }
  Result<client::Response> response =
      http.Get("/v1/kv/" + client::HttpClient::EscapePath(key) + query);
  if (!response.ok()) return Fail(response.status().message());
  if (response->status == 404) {
    if (flags.GetBool("keys") || flags.GetBool("recurse")) return 0;
    return Fail("key not found: " + key);
  }
  if (response->status != 200) return FailResponse(*response);
  const json body = json::parse(response->body, nullptr, false);
  if (body.is_discarded()) return Fail("the server sent JSON that does not parse");
  if (flags.GetBool("keys")) {
    for (const auto& name : body) std::printf("%s\n", name.get<std::string>().c_str());
    return 0;
  }
  const bool several = flags.GetBool("recurse");
  for (const auto& entry : body) {
    const std::string value =
        entry.contains("Value") && entry["Value"].is_string() ? Base64Decode(entry["Value"]) : "";
    if (flags.GetBool("detailed")) {
      std::printf("CreateIndex      %llu\nFlags            %llu\nKey              %s\n"
                  "LockIndex        %llu\nModifyIndex      %llu\nSession          %s\n"
                  "Value            %s\n\n",
                  entry.value("CreateIndex", 0ULL), entry.value("Flags", 0ULL),
                  entry.value("Key", std::string()).c_str(), entry.value("LockIndex", 0ULL),
                  entry.value("ModifyIndex", 0ULL), entry.value("Session", std::string("-")).c_str(),
                  value.c_str());
    } else if (several) {
      std::printf("%s:%s\n", entry.value("Key", std::string()).c_str(), value.c_str());
    } else {
      std::printf("%s\n", value.c_str());
    }
  }
  return 0;
}

int KvPut(const Flags& flags, client::HttpClient& http) {
  if (flags.positional().empty() || flags.positional().size() > 2) return Usage(kKvUsage);
  const std::string& key = flags.positional()[0];
  std::string value = flags.positional().size() == 2 ? flags.positional()[1] : "";
  if (value == "-") {
    value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::string query;
  auto add = [&query](const std::string& param) { query += (query.empty() ? "?" : "&") + param; };
  if (flags.Has("flags")) add("flags=" + flags.Get("flags"));
  if (flags.GetBool("cas")) {
    if (!flags.Has("modify-index")) return Fail("-cas needs -modify-index N");
    add("cas=" + flags.Get("modify-index"));
  }
  Result<client::Response> response =
      http.Put("/v1/kv/" + client::HttpClient::EscapePath(key) + query, value);
  if (!response.ok()) return Fail(response.status().message());
  if (response->status != 200) return FailResponse(*response);
  if (response->body.find("true") == std::string::npos) {
    return Fail("did not write " + key + ": its modify index is not " + flags.Get("modify-index"));
  }
  std::printf("Success! Data written to: %s\n", key.c_str());
  return 0;
}

int KvDelete(const Flags& flags, client::HttpClient& http) {
  if (flags.positional().size() > 1) return Usage(kKvUsage);
  const std::string key = flags.positional().empty() ? "" : flags.positional()[0];
  if (key.empty() && !flags.GetBool("recurse")) return Fail("a key is required (or -recurse)");
  std::string query;
  if (flags.GetBool("recurse")) query = "?recurse";
  if (flags.GetBool("cas")) {
    if (!flags.Has("modify-index")) return Fail("-cas needs -modify-index N");
    query += (query.empty() ? "?" : "&") + std::string("cas=") + flags.Get("modify-index");
  }
  Result<client::Response> response =
      http.Delete("/v1/kv/" + client::HttpClient::EscapePath(key) + query);
  if (!response.ok()) return Fail(response.status().message());
  if (response->status != 200) return FailResponse(*response);
  if (response->body.find("true") == std::string::npos) {
    return Fail("did not delete " + key + ": its modify index is not " + flags.Get("modify-index"));
  }
  std::printf("Success! Deleted key: %s\n", key.c_str());
  return 0;
}

}  // namespace

int RunKv(const std::vector<std::string>& args) {
  if (args.empty()) return Usage(kKvUsage);
  Result<Flags> flags =
      Flags::Parse({args.begin() + 1, args.end()},
                   {"http-addr", "separator", "flags", "modify-index"},
                   {"recurse", "keys", "cas", "detailed"});
  if (!flags.ok()) {
    std::fprintf(stderr, "roster: %s\n", flags.status().message().c_str());
    return Usage(kKvUsage);
  }
  client::HttpClient http(client::HttpClient::DefaultAddress(flags->Get("http-addr")));
  if (args[0] == "get") return KvGet(*flags, http);
  if (args[0] == "put") return KvPut(*flags, http);
  if (args[0] == "delete") return KvDelete(*flags, http);
  return Usage(kKvUsage);
}

int RunOperator(const std::vector<std::string>& args) {
  constexpr const char* kUsage =
      "usage: roster operator raft list-peers [-stale] [-http-addr HOST:PORT]\n"
      "       roster operator raft remove-peer -id ID | -address HOST:PORT\n";
  if (args.size() < 2 || args[0] != "raft") return Usage(kUsage);
  Result<Flags> flags = Flags::Parse({args.begin() + 2, args.end()},
                                     {"http-addr", "id", "address"}, {"stale"});
  if (!flags.ok()) {
    std::fprintf(stderr, "roster: %s\n", flags.status().message().c_str());
    return Usage(kUsage);
  }
  client::HttpClient http(client::HttpClient::DefaultAddress(flags->Get("http-addr")));
  if (args[1] == "list-peers") {
    Result<client::Response> response =
        http.Get(std::string("/v1/operator/raft/configuration") + (flags->GetBool("stale") ? "?stale" : ""));
    if (!response.ok()) return Fail(response.status().message());
    if (response->status != 200) return FailResponse(*response);
    const json body = json::parse(response->body, nullptr, false);
    if (body.is_discarded() || !body.contains("Servers")) return Fail("unexpected reply from the server");
    std::printf("%-12s %-22s %-22s %-9s %-6s %s\n", "Node", "ID", "Address", "State", "Voter",
                "RaftProtocol");
    for (const auto& server : body["Servers"]) {
      std::printf("%-12s %-22s %-22s %-9s %-6s %s\n", server.value("Node", std::string()).c_str(),
                  server.value("ID", std::string()).c_str(),
                  server.value("Address", std::string()).c_str(),
                  server.value("Leader", false) ? "leader" : "follower",
                  server.value("Voter", false) ? "true" : "false",
                  server.value("ProtocolVersion", std::string("3")).c_str());
    }
    return 0;
  }
  if (args[1] == "remove-peer") {
    std::string query;
    if (flags->Has("id")) {
      query = "id=" + flags->Get("id");
    } else if (flags->Has("address")) {
      query = "address=" + flags->Get("address");
    } else {
      return Usage(kUsage);
    }
    Result<client::Response> response = http.Delete("/v1/operator/raft/peer?" + query);
    if (!response.ok()) return Fail(response.status().message());
    if (response->status != 200) return FailResponse(*response);
    std::printf("Removed peer with %s\n", query.c_str());
    return 0;
  }
  return Usage(kUsage);
}

}  // namespace roster::cli
