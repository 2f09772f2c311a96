// /v1/agent/* end to end (consul-api.md §1.1, §4) over a FakeLocalAgent: what each
// endpoint asks of the agent, Consul's shapes, status codes and texts, and that a
// refused request reaches no agent call.
#include <nlohmann/json.hpp>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "tests/unit/http/fake_agent.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http::testing {
namespace {

using nlohmann::json;
using store::HealthStatus;
using Mode = AgentTestServer::Mode;

httplib::Result Put(httplib::Client& client, const std::string& target,
                    const std::string& body = "") {
  return client.Put(target.c_str(), body, "application/json");
}

json JsonOf(const httplib::Result& result) { return json::parse(result->body); }

// Registers web-1 (service web) with a TTL check "service:web-1" through the API.
void RegisterWeb(httplib::Client& client, const std::string& id = "web-1") {
  auto result = Put(client, "/v1/agent/service/register",
                    R"({"ID": ")" + id + R"(", "Name": "web", "Tags": ["v1"], "Port": 8080,
                        "Check": {"TTL": "30s", "Status": "passing"}})");
  REQUIRE(result);
  INFO(result->body);
  REQUIRE(result->status == 200);
}

TEST_CASE("service/register hands the parsed service to the agent and answers empty") {
  AgentTestServer server;
  auto client = server.Client();
  auto result = Put(client, "/v1/agent/service/register?replace-existing-checks",
                    R"({"Name": "web", "Port": 80, "Check": {"TTL": "10s"}})");
  REQUIRE(result->status == 200);
  CHECK(result->body.empty());
  const std::vector<AgentServiceRegistration> registrations = server.agent.registrations();
  REQUIRE(registrations.size() == 1);
  const AgentServiceRegistration& registration = registrations[0];
  CHECK(registration.service.id == "web");
  CHECK(registration.service.port == 80);
  CHECK(registration.replace_existing_checks);
  REQUIRE(registration.checks.size() == 1);
  CHECK(registration.checks[0].check.check_id == "service:web");
  CHECK(registration.checks[0].check.type == "ttl");
  CHECK(server.forwarder.requests().empty());  // served locally, not forwarded
}

TEST_CASE("a refused registration is a 400 with Consul's text and reaches no agent call") {
  AgentTestServer server;
  auto client = server.Client();
  const std::vector<std::pair<std::string, std::string>> refused = {
      {R"({"Port": 80})", "Missing service name"},
      {R"({"Name": "web", "Address": "0.0.0.0"})", "Invalid service address"},
      {R"({"Name": "web", "Check": {"HTTP": "http://x/"}})",
       "Invalid check: Interval must be > 0 for Script, HTTP, or TCP checks"},
      {R"({"Name": "web", "Check": {"TTL": "5s", "Status": "up"}})",
       "Status for checks must 'passing', 'warning', 'critical'"},
      {"", "Request decode failed: EOF"},
  };
  for (const auto& [body, message] : refused) {
    auto result = Put(client, "/v1/agent/service/register", body);
    CHECK(result->status == 400);
    CHECK(result->body == message);
    CHECK(result->get_header_value("Content-Type") == "text/plain; charset=utf-8");
  }
  auto check = Put(client, "/v1/agent/check/register", R"({"Name": "c"})");
  CHECK(check->status == 400);
  CHECK(check->body == "Invalid check: TTL must be > 0 for TTL checks");
  CHECK(Put(client, "/v1/agent/check/register", R"({"TTL": "5s"})")->body == "Missing check name");
  CHECK(Put(client, "/v1/agent/check/update/x", R"({"Status": "meh"})")->body ==
        "Invalid check status: 'meh'");
  CHECK(Put(client, "/v1/agent/maintenance")->body == "Missing value for enable");
  CHECK(server.agent.calls().empty());
}

TEST_CASE("old clients' GET works on register, deregister and check pass/warn/fail") {
  AgentTestServer server;
  auto client = server.Client();
  auto registered = client.Get("/v1/agent/service/register");
  CHECK(registered->status == 400);  // reached the handler: the body is what is missing
  CHECK(registered->body == "Request decode failed: EOF");
  RegisterWeb(client);
  CHECK(client.Get("/v1/agent/check/pass/service:web-1")->status == 200);
  CHECK(client.Get("/v1/agent/check/warn/service:web-1")->status == 200);
  CHECK(client.Get("/v1/agent/check/fail/service:web-1")->status == 200);
  CHECK(client.Get("/v1/agent/check/deregister/service:web-1")->status == 200);
  CHECK(client.Get("/v1/agent/service/deregister/web-1")->status == 200);
  CHECK(server.agent.calls() ==
        std::vector<std::string>{"RegisterService web-1", "UpdateTtlCheck service:web-1",
                                 "UpdateTtlCheck service:web-1", "UpdateTtlCheck service:web-1",
                                 "DeregisterCheck service:web-1", "DeregisterService web-1"});
  // check/update and the maintenance endpoints stay PUT-only, as in Consul.
  auto update = client.Get("/v1/agent/check/update/service:web-1");
  CHECK(update->status == 405);
  CHECK(update->get_header_value("Allow") == "OPTIONS,PUT");
  CHECK(client.Get("/v1/agent/maintenance?enable=true")->status == 405);
}

TEST_CASE("check pass/warn/fail set the TTL check with ?note as its output") {
  AgentTestServer server;
  auto client = server.Client();
  RegisterWeb(client);
  REQUIRE(Put(client, "/v1/agent/check/warn/service:web-1?note=slow+disk")->status == 200);
  REQUIRE(Put(client, "/v1/agent/check/fail/service:web-1")->status == 200);
  REQUIRE(Put(client, "/v1/agent/check/update/service:web-1",
              R"({"Status": "passing", "Output": "all good"})")
              ->status == 200);
  const std::vector<FakeLocalAgent::TtlUpdate> updates = server.agent.ttl_updates();
  REQUIRE(updates.size() == 3);
  CHECK(updates[0].status == HealthStatus::kWarning);
  CHECK(updates[0].output == "slow disk");
  CHECK(updates[1].status == HealthStatus::kCritical);
  CHECK(updates[1].output.empty());
  CHECK(updates[2].status == HealthStatus::kPassing);
  CHECK(updates[2].output == "all good");
}

TEST_CASE("a TTL update of an unknown or non-TTL check keeps Consul's 500 text") {
  AgentTestServer server;
  auto client = server.Client();
  auto unknown = Put(client, "/v1/agent/check/pass/nope");
  CHECK(unknown->status == 500);
  CHECK(unknown->body == R"(CheckID "nope" does not have associated TTL)");
  REQUIRE(Put(client, "/v1/agent/check/register",
              R"({"Name": "ping", "TCP": "localhost:1", "Interval": "10s"})")
              ->status == 200);
  auto not_ttl = Put(client, "/v1/agent/check/update/ping", R"({"Status": "passing"})");
  CHECK(not_ttl->status == 500);
  CHECK(not_ttl->body == R"(CheckID "ping" does not have associated TTL)");
}

TEST_CASE("unknown ids: the agent's NotFound is Consul's 404 with its text") {
  AgentTestServer server;
  auto client = server.Client();
  auto service = Put(client, "/v1/agent/service/deregister/ghost");
  CHECK(service->status == 404);
  CHECK(
      service->body ==
      R"(Unknown service ID "ghost". Ensure that the service ID is passed, not the service name.)");
  auto check = Put(client, "/v1/agent/check/deregister/ghost");
  CHECK(check->status == 404);
  CHECK(check->body ==
        R"(Unknown check ID "ghost". Ensure that the check ID is passed, not the check name.)");
  auto on_service =
      Put(client, "/v1/agent/check/register", R"({"Name": "c", "TTL": "5s", "ServiceID": "x"})");
  CHECK(on_service->status == 404);
  CHECK(on_service->body == R"(ServiceID "x" does not exist)");
  auto maintenance = Put(client, "/v1/agent/service/maintenance/ghost?enable=true");
  CHECK(maintenance->status == 404);
  auto read = client.Get("/v1/agent/service/ghost");
  CHECK(read->status == 404);
  CHECK(read->body == "unknown service ID: ghost");
  CHECK(Put(client, "/v1/agent/service/deregister/")->body == "Missing service ID");
  CHECK(Put(client, "/v1/agent/service/maintenance/?enable=true")->body == "Missing service ID");
}

TEST_CASE("agent/services is a map of AgentService by id, in Consul's shape") {
  AgentTestServer server;
  auto client = server.Client();
  RegisterWeb(client);
  REQUIRE(Put(client, "/v1/agent/service/register",
              R"({"Name": "db", "Address": "10.0.0.9", "Meta": {"role": "primary"},
                  "TaggedAddresses": {"wan": {"Address": "1.2.3.4", "Port": 5432}}})")
              ->status == 200);
  auto result = client.Get("/v1/agent/services");
  REQUIRE(result->status == 200);
  CHECK(result->get_header_value("Content-Type") == "application/json");
  CHECK(result->body ==
        R"({"db":{"ID":"db","Service":"db","Tags":[],"Meta":{"role":"primary"},"Port":0,)"
        R"("Address":"10.0.0.9","TaggedAddresses":{"wan":{"Address":"1.2.3.4","Port":5432}},)"
        R"("Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,"Datacenter":"dc1"},)"
        R"("web-1":{"ID":"web-1","Service":"web","Tags":["v1"],"Meta":{},"Port":8080,)"
        R"("Address":"","Weights":{"Passing":1,"Warning":1},"EnableTagOverride":false,)"
        R"("Datacenter":"dc1"}})");
  CHECK(client.Get("/v1/agent/services?pretty")->body.find("\n    \"db\": {") != std::string::npos);
}

TEST_CASE("agent/service/:id adds ContentHash, which changes with the service") {
  AgentTestServer server;
  auto client = server.Client();
  RegisterWeb(client);
  auto first = client.Get("/v1/agent/service/web-1");
  REQUIRE(first->status == 200);
  const json shown = JsonOf(first);
  CHECK(shown["Service"] == "web");
  const std::string hash = shown["ContentHash"];
  CHECK(hash.size() == 16);
  CHECK(first->get_header_value("X-Consul-ContentHash") == hash);
  CHECK(JsonOf(client.Get("/v1/agent/service/web-1"))["ContentHash"] == hash);
  REQUIRE(Put(client, "/v1/agent/service/register", R"({"ID": "web-1", "Name": "web", "Port": 81})")
              ->status == 200);
  CHECK(JsonOf(client.Get("/v1/agent/service/web-1"))["ContentHash"] != hash);
}

TEST_CASE("agent/service/:id?hash= blocks until the content hash changes") {
  AgentTestServer server;
  auto client = server.Client();
  RegisterWeb(client);
  const std::string hash = JsonOf(client.Get("/v1/agent/service/web-1"))["ContentHash"];

  SECTION("a different hash answers at once") {
    auto other = client.Get("/v1/agent/service/web-1?hash=0000000000000000&wait=5m");
    REQUIRE(other->status == 200);
    CHECK(JsonOf(other)["ContentHash"] == hash);
  }
  SECTION("the current hash waits for a change of the service") {
    std::future<httplib::Result> waiting = std::async(std::launch::async, [&] {
      return server.Client().Get("/v1/agent/service/web-1?hash=" + hash + "&wait=5m");
    });
    // A change elsewhere (another service) wakes the query, which goes on waiting.
    REQUIRE(Put(client, "/v1/agent/service/register", R"({"ID": "db", "Name": "db", "Port": 5432})")
                ->status == 200);
    CHECK(waiting.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
    REQUIRE(Put(client, "/v1/agent/service/register", R"({"ID": "web-1", "Name": "web", "Port": 81})")
                ->status == 200);
    httplib::Result changed = waiting.get();
    REQUIRE(changed->status == 200);
    CHECK(JsonOf(changed)["Port"] == 81);
    CHECK(JsonOf(changed)["ContentHash"] != hash);
  }
  SECTION("the wait ends with the same content") {
    auto same = client.Get("/v1/agent/service/web-1?hash=" + hash + "&wait=100ms");
    REQUIRE(same->status == 200);
    CHECK(JsonOf(same)["ContentHash"] == hash);
  }
  SECTION("a bad wait is a 400; an unknown service a 404 at once") {
    CHECK(client.Get("/v1/agent/service/web-1?hash=" + hash + "&wait=soon")->status == 400);
    CHECK(client.Get("/v1/agent/service/nope?hash=" + hash + "&wait=5m")->status == 404);
  }
}

TEST_CASE("agent/checks is a map of HealthCheck by id, with the service's tags") {
  AgentTestServer server;
  auto client = server.Client();
  RegisterWeb(client);
  auto result = client.Get("/v1/agent/checks");
  REQUIRE(result->status == 200);
  const json checks = JsonOf(result);
  REQUIRE(checks.size() == 1);
  const json& check = checks["service:web-1"];
  CHECK(check["Node"] == "node-a");
  CHECK(check["CheckID"] == "service:web-1");
  CHECK(check["Name"] == "Service 'web' check");
  CHECK(check["Status"] == "passing");
  CHECK(check["ServiceID"] == "web-1");
  CHECK(check["ServiceName"] == "web");
  CHECK(check["ServiceTags"] == json::array({"v1"}));
  CHECK(check["Type"] == "ttl");
  CHECK(check["Definition"]["TTL"] == "30s");
}

TEST_CASE("a bad ?filter is refused before the agent is asked") {
  AgentTestServer server;
  auto client = server.Client();
  for (const char* path : {"/v1/agent/services", "/v1/agent/checks", "/v1/agent/members"}) {
    auto result = client.Get((std::string(path) + "?filter=Service%20%3D%3D").c_str());
    CHECK(result->status == 400);
  }
  CHECK(server.agent.calls().empty());
}

TEST_CASE("agent/members in serf's shape; no server is a 500") {
  AgentTestServer server;
  auto client = server.Client();
  server.agent.SetMembers({AgentMember{"node-a", "10.0.0.7", 8301, {{"role", "node"}}, 1},
                           AgentMember{"srv-1", "10.0.0.1", 8301, {{"role", "consul"}}, 4}});
  auto result = client.Get("/v1/agent/members");
  REQUIRE(result->status == 200);
  CHECK(result->body ==
        R"([{"Name":"node-a","Addr":"10.0.0.7","Port":8301,"Tags":{"role":"node"},"Status":1,)"
        R"("ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,)"
        R"("DelegateCur":4},{"Name":"srv-1","Addr":"10.0.0.1","Port":8301,)"
        R"("Tags":{"role":"consul"},"Status":4,"ProtocolMin":1,"ProtocolMax":5,)"
        R"("ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4}])");
  server.agent.FailMembersWith(Unavailable("No known Consul servers"));
  auto down = client.Get("/v1/agent/members");
  CHECK(down->status == 500);
  CHECK(down->body == "No known Consul servers");
  CHECK(server.forwarder.requests().empty());
}

TEST_CASE("agent/self from the agent: Config, Member and Meta") {
  AgentTestServer server;
  auto client = server.Client();
  auto result = client.Get("/v1/agent/self");
  REQUIRE(result->status == 200);
  const json self = JsonOf(result);
  CHECK(self["Config"]["Datacenter"] == "dc1");
  CHECK(self["Config"]["NodeName"] == "node-a");
  CHECK(self["Config"]["NodeID"] == "6f5b3e2a-1d4c-4b7e-9a8f-0c1d2e3f4a5b");
  CHECK(self["Config"]["Server"] == false);
  CHECK(self["Config"]["Version"] == "0.1.0");
  CHECK(self["Member"]["Name"] == "node-a");
  CHECK(self["Member"]["Addr"] == "10.0.0.7");
  CHECK(self["Member"]["Tags"]["role"] == "node");
  CHECK(self["Meta"] == json({{"rack", "r1"}}));
  CHECK(self["Stats"]["consul"]["server"] == "false");
  CHECK_FALSE(self.contains("Roster"));
}

TEST_CASE("agent/self on a server: the agent's Config with the server's Stats and Roster") {
  AgentTestServer server(Mode::kServer);
  auto client = server.Client();
  const json self = JsonOf(client.Get("/v1/agent/self"));
  CHECK(self["Config"]["NodeName"] == "node-a");
  CHECK(self["Meta"] == json({{"rack", "r1"}}));
  CHECK(self["Stats"]["raft"].contains("state"));
  CHECK(self["Roster"]["WritesAccepted"] == true);
  CHECK(self["Member"]["Tags"]["role"] == "consul");
}

TEST_CASE("maintenance: ?enable and ?reason reach the agent") {
  AgentTestServer server;
  auto client = server.Client();
  RegisterWeb(client);
  CHECK(Put(client, "/v1/agent/maintenance?enable=true&reason=kernel+upgrade")->status == 200);
  CHECK(Put(client, "/v1/agent/maintenance?enable=false")->status == 200);
  CHECK(Put(client, "/v1/agent/service/maintenance/web-1?enable=1&reason=deploy")->status == 200);
  auto bad = Put(client, "/v1/agent/service/maintenance/web-1?enable=maybe");
  CHECK(bad->status == 400);
  CHECK(bad->body == R"(Invalid value for enable: "maybe")");
  CHECK(server.agent.calls() == std::vector<std::string>{"RegisterService web-1",
                                                         "SetNodeMaintenance on kernel upgrade",
                                                         "SetNodeMaintenance off ",
                                                         "SetServiceMaintenance web-1 on deploy"});
}

TEST_CASE("health/service/id: 200 passing, 429 warning, 503 critical or maintenance") {
  AgentTestServer server;
  auto client = server.Client();
  RegisterWeb(client);
  auto passing = client.Get("/v1/agent/health/service/id/web-1");
  CHECK(passing->status == 200);
  const json body = JsonOf(passing);
  CHECK(body["AggregatedStatus"] == "passing");
  CHECK(body["Service"]["ID"] == "web-1");
  REQUIRE(body["Checks"].size() == 1);
  CHECK(body["Checks"][0]["CheckID"] == "service:web-1");

  server.agent.SetCheckStatus("service:web-1", HealthStatus::kWarning);
  auto warning = client.Get("/v1/agent/health/service/id/web-1");
  CHECK(warning->status == 429);
  CHECK(JsonOf(warning)["AggregatedStatus"] == "warning");
  auto text = client.Get("/v1/agent/health/service/id/web-1?format=text");
  CHECK(text->status == 429);
  CHECK(text->body == "warning");
  CHECK(text->get_header_value("Content-Type") == "text/plain; charset=utf-8");

  server.agent.SetCheckStatus("service:web-1", HealthStatus::kCritical);
  CHECK(client.Get("/v1/agent/health/service/id/web-1")->status == 503);

  // A node maintenance check counts for every service, and wins over the rest.
  server.agent.SetCheckStatus("service:web-1", HealthStatus::kPassing);
  REQUIRE(Put(client, "/v1/agent/maintenance?enable=true")->status == 200);
  auto maintenance =
      client.Get("/v1/agent/health/service/id/web-1", httplib::Headers{{"Accept", "text/plain"}});
  CHECK(maintenance->status == 503);
  CHECK(maintenance->body == "maintenance");
}

TEST_CASE("health/service/id of an unknown service is 404") {
  AgentTestServer server;
  auto client = server.Client();
  auto json_reply = client.Get("/v1/agent/health/service/id/ghost");
  CHECK(json_reply->status == 404);
  CHECK(json_reply->body == R"({"AggregatedStatus":"critical","Service":null,"Checks":null})");
  auto text = client.Get("/v1/agent/health/service/id/ghost?format=text");
  CHECK(text->status == 404);
  CHECK(text->body == "ServiceId ghost not found");
  CHECK(client.Get("/v1/agent/health/service/id/")->body == "Missing serviceID");
}

TEST_CASE("health/service/name: every instance, the worst one decides the code") {
  AgentTestServer server;
  auto client = server.Client();
  RegisterWeb(client, "web-1");
  RegisterWeb(client, "web-2");
  auto passing = client.Get("/v1/agent/health/service/name/web");
  CHECK(passing->status == 200);
  const json list = JsonOf(passing);
  REQUIRE(list.size() == 2);
  CHECK(list[0]["Service"]["ID"] == "web-1");
  CHECK(list[1]["Service"]["ID"] == "web-2");
  server.agent.SetCheckStatus("service:web-2", HealthStatus::kWarning);
  CHECK(client.Get("/v1/agent/health/service/name/web")->status == 429);
  server.agent.SetCheckStatus("service:web-1", HealthStatus::kCritical);
  auto critical = client.Get("/v1/agent/health/service/name/web?format=text");
  CHECK(critical->status == 503);
  CHECK(critical->body == "critical");
  auto unknown = client.Get("/v1/agent/health/service/name/api");
  CHECK(unknown->status == 404);
  CHECK(unknown->body == "[]");
  CHECK(client.Get("/v1/agent/health/service/name/api?format=text")->body ==
        "ServiceName api Not Found");
}

TEST_CASE("agent/leave asks the agent to leave; PUT only") {
  AgentTestServer server;
  auto client = server.Client();
  CHECK(client.Get("/v1/agent/leave")->status == 405);
  CHECK(Put(client, "/v1/agent/leave")->status == 200);
  CHECK(server.agent.calls() == std::vector<std::string>{"Leave"});
}

TEST_CASE("agent/reload asks the agent to reload; its failure is a 500 saying why") {
  AgentTestServer server;
  auto client = server.Client();
  CHECK(client.Get("/v1/agent/reload")->status == 405);
  CHECK(Put(client, "/v1/agent/reload")->status == 200);
  server.agent.reload_status =
      FailedPrecondition("-config-dir: web.json: Missing service name; nothing was changed");
  auto failed = Put(client, "/v1/agent/reload");
  CHECK(failed->status == 500);
  CHECK(failed->body == "-config-dir: web.json: Missing service name; nothing was changed");
  CHECK(server.agent.calls() == std::vector<std::string>{"Reload", "Reload"});
}

TEST_CASE("a server without an agent answers agent/self from the Backend, the rest 404") {
  TestServer server;
  auto client = server.Client();
  const json self = JsonOf(client.Get("/v1/agent/self"));
  CHECK(self["Config"]["NodeName"] == "node-1");
  auto services = client.Get("/v1/agent/services");
  CHECK(services->status == 404);
  CHECK(services->body == "Unknown path /v1/agent/services");
}

TEST_CASE("a server with an agent serves both the agent and the Backend's endpoints") {
  AgentTestServer server(Mode::kServer);
  auto client = server.Client();
  RegisterWeb(client);
  CHECK(JsonOf(client.Get("/v1/agent/services")).contains("web-1"));
  CHECK(client.Get("/v1/status/leader")->body == R"("127.0.0.1:8300")");
  CHECK(client.Get("/v1/agent/metrics")->status == 404);  // not forwarded: no forwarder
  CHECK(client.Get("/v1/agent/force-leave/x")->status == 200);  // the Backend's
}

}  // namespace
}  // namespace roster::http::testing
