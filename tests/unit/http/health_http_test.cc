// The health endpoints end to end (consul-api.md §1.3, §2.2; Consul's
// agent/health_endpoint.go): CheckServiceNode with node checks before the service's own,
// ?passing (any check not passing, the node's included, drops the instance), the check
// lists and the state filter, with Consul's texts for bad input.
#include <string>

#include "tests/unit/http/api_test_util.h"

namespace roster::http::testing {
namespace {

using nlohmann::json;

void MustRegister(httplib::Client& client, const std::string& body) {
  auto result = PutBody(client, "/v1/catalog/register", body);
  REQUIRE(result);
  INFO(result->body);
  REQUIRE(result->status == 200);
}

json GetJson(httplib::Client& client, const std::string& target) {
  auto result = client.Get(target.c_str());
  REQUIRE(result);
  INFO(target << " -> " << result->body);
  REQUIRE(result->status == 200);
  return JsonOf(result);
}

// n1: serfHealth passing, web-1 (tag primary) with a passing check.
// n2: serfHealth warning, web-2 with a passing check.
// n3: serfHealth passing, web-3 with a critical check.
void RegisterWeb(httplib::Client& client) {
  const char* serf[] = {"passing", "warning", "passing"};
  const char* own[] = {"passing", "passing", "critical"};
  for (int i = 1; i <= 3; ++i) {
    const std::string n = std::to_string(i);
    MustRegister(client, R"({"Node":"n)" + n + R"(","Address":"10.0.0.)" + n +
                             R"(","NodeMeta":{"rack":"r)" + n + R"("},
        "Service":{"ID":"web-)" + n + R"(","Service":"web","Tags":[")" +
                             (i == 1 ? "primary" : "backup") + R"("]},
        "Checks":[{"CheckID":"serfHealth","Name":"Serf Health Status","Status":")" +
                             serf[i - 1] + R"("},
                  {"CheckID":"web-check","Name":"web","ServiceID":"web-)" + n +
                             R"(","Status":")" + own[i - 1] + R"("}]})");
  }
}

TEST_CASE("health/service: Node, Service and the node's checks before the service's own") {
  TestServer server;
  auto client = server.Client();
  RegisterWeb(client);
  auto result = client.Get("/v1/health/service/web");
  REQUIRE(result->status == 200);
  const json instances = JsonOf(result);
  REQUIRE(instances.size() == 3);
  const json& first = instances[0];
  CHECK(first["Node"]["Node"] == "n1");
  CHECK(first["Node"]["Meta"] == json{{"rack", "r1"}});
  CHECK(first["Service"]["ID"] == "web-1");
  CHECK(first["Service"]["Tags"] == json{"primary"});
  CHECK(first["Service"].contains("Port") == false);  // omitempty, as Consul's NodeService
  REQUIRE(first["Checks"].size() == 2);
  CHECK(first["Checks"][0]["CheckID"] == "serfHealth");
  CHECK(first["Checks"][0]["ServiceTags"] == json::array());
  CHECK(first["Checks"][1]["CheckID"] == "web-check");
  CHECK(first["Checks"][1]["ServiceTags"] == json{"primary"});
  CHECK(first["Checks"][1]["ServiceName"] == "web");
  const std::string keys = [&] {
    std::string names;
    for (const auto& [key, value] : first["Checks"][1].items()) names += key + ",";
    return names;
  }();
  CHECK(keys ==
        "CheckID,CreateIndex,Definition,ModifyIndex,Name,Node,Notes,Output,ServiceID,"
        "ServiceName,ServiceTags,Status,Type,");  // nlohmann::json sorts keys
  CHECK(result->body.find(R"({"Node":{"ID":"","Node":"n1")") == 1);  // Consul's order
  CHECK(IndexHeader(result) == 4);  // web's own index
}

TEST_CASE("?passing keeps instances whose every check passes, node checks included") {
  TestServer server;
  auto client = server.Client();
  RegisterWeb(client);
  const json passing = GetJson(client, "/v1/health/service/web?passing");
  REQUIRE(passing.size() == 1);
  CHECK(passing[0]["Service"]["ID"] == "web-1");
  CHECK(GetJson(client, "/v1/health/service/web?passing=1").size() == 1);  // python-consul
  CHECK(GetJson(client, "/v1/health/service/web?passing=true").size() == 1);
  CHECK(GetJson(client, "/v1/health/service/web?passing=false").size() == 3);
  CHECK(GetJson(client, "/v1/health/service/web?tag=backup").size() == 2);
  CHECK(GetJson(client, "/v1/health/service/web?tag=backup&passing").empty());
  CHECK(GetJson(client, "/v1/health/service/web?node-meta=rack:r3").size() == 1);
  // The index covers every instance, passing or not (Consul filters after the query).
  CHECK(IndexHeader(client.Get("/v1/health/service/web?passing")) == 4);

  auto bad = client.Get("/v1/health/service/web?passing=maybe");
  CHECK(bad->status == 400);
  CHECK(bad->body == "Invalid value for ?passing");
  CHECK(client.Get("/v1/health/service/")->body == "Missing service name");
  CHECK(GetJson(client, "/v1/health/service/none") == json::array());
}

TEST_CASE("health/checks/:service, health/node/:node and health/state/:state") {
  TestServer server;
  auto client = server.Client();
  RegisterWeb(client);
  const json of_web = GetJson(client, "/v1/health/checks/web");
  REQUIRE(of_web.size() == 3);
  for (const json& check : of_web) CHECK(check["ServiceName"] == "web");
  CHECK(GetJson(client, "/v1/health/checks/web?node-meta=rack:r2").size() == 1);

  const json on_n2 = GetJson(client, "/v1/health/node/n2");
  REQUIRE(on_n2.size() == 2);
  CHECK(on_n2[0]["CheckID"] == "serfHealth");
  CHECK(on_n2[0]["Status"] == "warning");
  CHECK(GetJson(client, "/v1/health/node/n9") == json::array());

  CHECK(GetJson(client, "/v1/health/state/any").size() == 6);
  CHECK(GetJson(client, "/v1/health/state/passing").size() == 4);
  CHECK(GetJson(client, "/v1/health/state/warning").size() == 1);
  const json critical = GetJson(client, "/v1/health/state/critical");
  REQUIRE(critical.size() == 1);
  CHECK(critical[0]["Node"] == "n3");
  CHECK(GetJson(client, "/v1/health/state/passing?node-meta=rack:r1").size() == 2);
  CHECK(IndexHeader(client.Get("/v1/health/state/any")) == 4);  // the checks table index

  auto bogus = client.Get("/v1/health/state/bogus");
  CHECK(bogus->status == 400);
  CHECK(bogus->body ==
        "Invalid check state \"bogus\": must be any, passing, warning or critical");
  auto missing = client.Get("/v1/health/state/");
  CHECK(missing->status == 400);
  CHECK(missing->body == "Missing check state");
  CHECK(client.Get("/v1/health/node/")->body == "Missing node name");
  CHECK(client.Get("/v1/health/checks/")->body == "Missing service name");
}

TEST_CASE("a check turning critical moves the service's health index, not another's") {
  TestServer server;
  auto client = server.Client();
  RegisterWeb(client);
  MustRegister(client, R"({"Node":"n1","Address":"10.0.0.1","NodeMeta":{"rack":"r1"},
      "Service":{"Service":"db"}})");
  const std::uint64_t web = IndexHeader(client.Get("/v1/health/service/web"));
  const std::uint64_t db = IndexHeader(client.Get("/v1/health/service/db"));
  MustRegister(client, R"({"Node":"n2","Address":"10.0.0.2","NodeMeta":{"rack":"r2"},
      "Check":{"CheckID":"web-check","Name":"web","ServiceID":"web-2","Status":"critical"}})");
  CHECK(IndexHeader(client.Get("/v1/health/service/web")) > web);
  CHECK(IndexHeader(client.Get("/v1/health/service/db")) == db);
  // A node check on n1 concerns every service there.
  MustRegister(client, R"({"Node":"n1","Address":"10.0.0.1","NodeMeta":{"rack":"r1"},
      "Check":{"CheckID":"serfHealth","Name":"Serf Health Status","Status":"critical"}})");
  CHECK(IndexHeader(client.Get("/v1/health/service/db")) > db);
}

}  // namespace
}  // namespace roster::http::testing
