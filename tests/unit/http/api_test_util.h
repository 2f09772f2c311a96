// The vocabulary of the session, lock, transaction and watch tests: requests with a
// body, JSON replies, and a catalog with a node to hang sessions on (written straight
// through the TestBackend, as the catalog endpoints do not exist yet).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "store/command.h"
#include "tests/unit/http/test_server.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http::testing {

inline httplib::Result PutBody(httplib::Client& client, const std::string& target,
                               const std::string& body) {
  return client.Put(target.c_str(), body, "application/json");
}

inline nlohmann::json JsonOf(const httplib::Result& result) {
  return nlohmann::json::parse(result->body);
}

inline std::uint64_t IndexHeader(const httplib::Result& result) {
  return std::stoull(result->get_header_value("X-Consul-Index"));
}

// Registers `node` with the given checks (id, status); CHECK-fails the test otherwise.
inline void RegisterNode(TestBackend& backend, const std::string& node,
                         const std::vector<std::pair<std::string, store::HealthStatus>>& checks) {
  store::CatalogRegister command{node, "", "10.0.0.1", {}};
  for (const auto& [id, status] : checks) {
    store::HealthCheck check;
    check.check_id = id;
    check.name = id;
    check.status = status;
    command.checks.push_back(std::move(check));
  }
  REQUIRE(backend.Apply(store::Encode(command)).ok());
}

// node-1 (the TestBackend's own node) with a passing serfHealth: what a session needs
// by default.
inline void RegisterSelf(TestBackend& backend) {
  RegisterNode(backend, "node-1", {{"serfHealth", store::HealthStatus::kPassing}});
}

// Creates a session through the API and returns its id.
inline std::string CreateSession(httplib::Client& client, const std::string& body = "") {
  auto result = PutBody(client, "/v1/session/create", body);
  REQUIRE(result);
  INFO(result->body);
  REQUIRE(result->status == 200);
  return JsonOf(result)["ID"].get<std::string>();
}

// The one session GET /v1/session/info/<id> shows.
inline nlohmann::json SessionInfo(httplib::Client& client, const std::string& id) {
  auto result = client.Get(("/v1/session/info/" + id).c_str());
  REQUIRE(result);
  REQUIRE(result->status == 200);
  const nlohmann::json list = JsonOf(result);
  REQUIRE(list.size() == 1);
  return list[0];
}

// The entry GET /v1/kv/<key> shows, or null when the key is missing.
inline nlohmann::json KvEntry(httplib::Client& client, const std::string& key) {
  auto result = client.Get(("/v1/kv/" + key).c_str());
  REQUIRE(result);
  if (result->status == 404) return nullptr;
  REQUIRE(result->status == 200);
  return JsonOf(result)[0];
}

}  // namespace roster::http::testing
