// The session endpoints end to end (consul-api.md §1.6, §3.1, §3.2; Consul's
// agent/session_endpoint.go): create with Consul's defaults and decoding quirks,
// destroy, renew, the blocking reads, and Consul's status codes and texts.
#include <atomic>
#include <optional>
#include <regex>
#include <string>
#include <thread>

#include "tests/unit/http/api_test_util.h"

namespace roster::http::testing {
namespace {

using nlohmann::json;
using store::HealthStatus;

TEST_CASE("create without a body: Consul's defaults, a fresh UUID and the exact shape") {
  TestServer server;
  RegisterSelf(server.backend);  // index 2
  auto client = server.Client();
  auto created = client.Put("/v1/session/create", "", "application/json");
  REQUIRE(created->status == 200);
  CHECK(created->get_header_value("Content-Type") == "application/json");
  const std::string id = JsonOf(created)["ID"];
  CHECK(std::regex_match(id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                        "[0-9a-f]{12}")));
  CHECK(created->body == R"({"ID":")" + id + R"("})");

  auto info = client.Get(("/v1/session/info/" + id).c_str());
  REQUIRE(info->status == 200);
  CHECK(info->body == R"([{"ID":")" + id +
                          R"(","Name":"","Node":"node-1","LockDelay":15000000000,)"
                          R"("Behavior":"release","TTL":"","NodeChecks":["serfHealth"],)"
                          R"("ServiceChecks":null,"CreateIndex":3,"ModifyIndex":3}])");
  CHECK(IndexHeader(info) == 3);
  CHECK(info->get_header_value("X-Consul-KnownLeader") == "true");
  CHECK(CreateSession(client) != id);  // every create draws a new id
}

TEST_CASE("create reads python-consul's lower-case body and Go durations") {
  TestServer server;
  RegisterSelf(server.backend);
  auto client = server.Client();
  const std::string id =
      CreateSession(client, R"({"name":"lock","lockdelay":"5s","behavior":"delete","ttl":"30s"})");
  const json session = SessionInfo(client, id);
  CHECK(session["Name"] == "lock");
  CHECK(session["LockDelay"] == 5'000'000'000LL);
  CHECK(session["Behavior"] == "delete");
  CHECK(session["TTL"] == "30s");
  // A TTL is shown in seconds, whatever unit it came in; finer ones in Go's form.
  CHECK(SessionInfo(client, CreateSession(client, R"({"TTL":"1m"})"))["TTL"] == "60s");
  CHECK(SessionInfo(client, CreateSession(client, R"({"TTL":"10.5s"})"))["TTL"] == "10.5s");
  CHECK(SessionInfo(client, CreateSession(client, R"({"TTL":"0s"})"))["TTL"] == "");
  CHECK(SessionInfo(client, CreateSession(client, R"({"TTL":"24h"})"))["TTL"] == "86400s");
}

TEST_CASE("LockDelay: numbers are nanoseconds, below 1000 seconds; capped at 60 s") {
  TestServer server;
  RegisterSelf(server.backend);
  auto client = server.Client();
  const auto lock_delay = [&](const std::string& value) {
    return SessionInfo(client, CreateSession(client, R"({"LockDelay":)" + value + "}"))["LockDelay"]
        .get<std::int64_t>();
  };
  CHECK(lock_delay("15") == 15'000'000'000LL);
  CHECK(lock_delay("1500000000") == 1'500'000'000LL);
  CHECK(lock_delay("\"5ns\"") == 5'000'000'000LL);  // Consul's threshold applies to strings too
  CHECK(lock_delay("\"250ms\"") == 250'000'000LL);
  CHECK(lock_delay("\"0s\"") == 0);
  CHECK(lock_delay("\"90s\"") == 60'000'000'000LL);
  CHECK(lock_delay("null") == 15'000'000'000LL);
}

TEST_CASE("checks: serfHealth by default, Consul's rules for Checks and NodeChecks") {
  TestServer server;
  RegisterNode(server.backend, "node-1",
               {{"serfHealth", HealthStatus::kPassing}, {"disk", HealthStatus::kWarning}});
  auto client = server.Client();
  const auto node_checks = [&](const std::string& body) {
    return SessionInfo(client, CreateSession(client, body))["NodeChecks"];
  };
  CHECK(node_checks("{}") == json{"serfHealth"});
  CHECK(node_checks(R"({"NodeChecks":["disk"]})") == json{"disk"});
  // The deprecated Checks: present and empty (or null) means no checks at all...
  CHECK(node_checks(R"({"Checks":[]})") == json::array());
  CHECK(node_checks(R"({"checks":null})") == json::array());
  CHECK(node_checks(R"({"Checks":[],"NodeChecks":["disk"]})") == json::array());
  // ... and otherwise adds to NodeChecks, serfHealth included by default.
  CHECK(node_checks(R"({"Checks":["disk"]})") == json{"serfHealth", "disk"});
  CHECK(node_checks(R"({"Checks":["serfHealth"],"NodeChecks":["disk"]})") == json{"disk"});
  CHECK(node_checks(R"({"Checks":["disk"],"NodeChecks":[]})") == json::array());
  const json service_checks = SessionInfo(
      client, CreateSession(
                  client, R"({"NodeChecks":[],"ServiceChecks":[{"ID":"disk"}]})"))["ServiceChecks"];
  CHECK(service_checks == json::parse(R"([{"ID":"disk","Namespace":""}])"));
}

TEST_CASE("create refusals: Consul's 400s and 500s, with its texts") {
  TestServer server;
  RegisterNode(server.backend, "node-1",
               {{"serfHealth", HealthStatus::kPassing}, {"down", HealthStatus::kCritical}});
  auto client = server.Client();
  struct Case {
    const char* body;
    int status;
    const char* text;
  };
  for (const Case& c : {
           Case{R"({"TTL":"5s"})", 500,
                "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]"},
           Case{R"({"TTL":"25h"})", 500,
                "Invalid Session TTL '90000000000000', must be between [10s=24h0m0s]"},
           Case{R"({"TTL":"abc"})", 500,
                R"(Session TTL 'abc' invalid: time: invalid duration "abc")"},
           Case{R"({"Behavior":"keep"})", 500, "Invalid Behavior setting 'keep'"},
           Case{R"({"Node":""})", 500, "Must provide Node"},
           Case{R"({"Node":"elsewhere"})", 500, "Missing node registration"},
           Case{R"({"NodeChecks":["nope"]})", 500, "Missing check 'nope' registration"},
           Case{R"({"Checks":["down"]})", 500, "Check 'down' is in critical state"},
           Case{R"({"Name":5})", 400,
                "Request decode failed: json: cannot unmarshal number into Go struct field "
                "Session.Name of type string"},
           Case{R"({"NodeChecks":"serfHealth"})", 400,
                "Request decode failed: json: cannot unmarshal string into Go struct field "
                "Session.NodeChecks of type []string"},
           Case{R"(["not","an","object"])", 400,
                "Request decode failed: json: cannot unmarshal array into Go value of type "
                "structs.Session"},
           Case{R"({"LockDelay":"soon"})", 400,
                R"(Request decode failed: time: invalid duration "soon")"},
       }) {
    INFO(c.body);
    auto result = PutBody(client, "/v1/session/create", c.body);
    CHECK(result->status == c.status);
    CHECK(result->body == c.text);
    CHECK(result->get_header_value("Content-Type") == "text/plain; charset=utf-8");
  }
  auto malformed = PutBody(client, "/v1/session/create", "{nope");
  CHECK(malformed->status == 400);
  CHECK(malformed->body.starts_with("Request decode failed: "));
  CHECK(client.Get("/v1/session/list")->body == "[]");
  CHECK(client.Get("/v1/session/create")->status == 405);
  CHECK(PutBody(client, "/v1/session/create?dc=elsewhere", "")->body == "No path to datacenter");
}

TEST_CASE("destroy answers true, also for a session that is gone") {
  TestServer server;
  RegisterSelf(server.backend);
  auto client = server.Client();
  const std::string id = CreateSession(client);
  auto destroyed = client.Put(("/v1/session/destroy/" + id).c_str(), "", "text/plain");
  CHECK(destroyed->status == 200);
  CHECK(destroyed->body == "true");
  CHECK(client.Get(("/v1/session/info/" + id).c_str())->body == "[]");
  CHECK(client.Put(("/v1/session/destroy/" + id).c_str(), "", "text/plain")->body == "true");
  auto missing = client.Put("/v1/session/destroy/", "", "text/plain");
  CHECK(missing->status == 400);
  CHECK(missing->body == "Missing session");
}

TEST_CASE("renew answers the session as a list, 404 with Consul's text when unknown") {
  TestServer server;
  RegisterSelf(server.backend);
  auto client = server.Client();
  const std::string id = CreateSession(client, R"({"TTL":"15s"})");
  auto renewed = client.Put(("/v1/session/renew/" + id).c_str(), "", "text/plain");
  REQUIRE(renewed->status == 200);
  const json list = JsonOf(renewed);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["ID"] == id);
  CHECK(list[0]["TTL"] == "15s");
  CHECK(server.backend.renew_count() == 1);

  auto unknown = client.Put("/v1/session/renew/no-such-id", "", "text/plain");
  CHECK(unknown->status == 404);
  CHECK(unknown->body == "Session id 'no-such-id' not found");
  CHECK(client.Put("/v1/session/renew/", "", "text/plain")->body == "Missing session");
  CHECK(client.Get(("/v1/session/renew/" + id).c_str())->status == 405);
  server.backend.FailWritesWith(Unavailable("No cluster leader"));
  auto no_leader = client.Put(("/v1/session/renew/" + id).c_str(), "", "text/plain");
  CHECK(no_leader->status == 500);
  CHECK(no_leader->body == "No cluster leader");
}

TEST_CASE("list and node list sessions with the sessions table's index") {
  TestServer server;
  RegisterSelf(server.backend);
  RegisterNode(server.backend, "node-2", {{"serfHealth", HealthStatus::kPassing}});
  auto client = server.Client();
  const std::string a = CreateSession(client, R"({"Name":"a"})");
  const std::string b = CreateSession(client, R"({"Name":"b","Node":"node-2"})");
  auto list = client.Get("/v1/session/list");
  REQUIRE(list->status == 200);
  CHECK(JsonOf(list).size() == 2);
  CHECK(IndexHeader(list) == 5);
  auto on_node_2 = client.Get("/v1/session/node/node-2");
  REQUIRE(JsonOf(on_node_2).size() == 1);
  CHECK(JsonOf(on_node_2)[0]["ID"] == b);
  CHECK(IndexHeader(on_node_2) == 5);
  CHECK(client.Get("/v1/session/node/nobody")->body == "[]");
  auto no_node = client.Get("/v1/session/node/");
  CHECK(no_node->status == 400);
  CHECK(no_node->body == "Missing node name");
  CHECK(client.Get("/v1/session/info/")->body == "Missing session");
  // An unknown id is an empty list with the table's index, not a 404.
  auto unknown = client.Get("/v1/session/info/nope");
  CHECK(unknown->status == 200);
  CHECK(unknown->body == "[]");
  CHECK(IndexHeader(unknown) == 5);

  REQUIRE(client.Get("/v1/session/list?stale")->status == 200);
  CHECK(server.backend.last_read_mode() == Consistency::kStale);
  CHECK(client.Get("/v1/session/list?stale&consistent")->status == 400);
  CHECK(JsonOf(client.Get("/v1/session/list?pretty")).size() == 2);
  (void)a;
}

TEST_CASE("a blocking session list wakes when a session is created") {
  TestServer server;
  RegisterSelf(server.backend);
  auto client = server.Client();
  CreateSession(client);
  const std::uint64_t index = IndexHeader(client.Get("/v1/session/list"));
  std::atomic<bool> answered = false;
  std::optional<httplib::Result> result;  // httplib::Result has no empty state
  std::thread waiter([&] {
    auto own = server.Client();
    result.emplace(
        own.Get(("/v1/session/list?index=" + std::to_string(index) + "&wait=30s").c_str()));
    answered = true;
  });
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  CHECK_FALSE(answered);
  const auto start = std::chrono::steady_clock::now();
  const std::string id = CreateSession(client);
  waiter.join();
  CHECK(MillisecondsSince(start) < 5000);  // woken, not timed out
  REQUIRE(*result);
  CHECK(IndexHeader(*result) > index);
  CHECK(JsonOf(*result).size() == 2);

  // info blocks on its one session: a destroy wakes it.
  const std::uint64_t info_index = IndexHeader(client.Get(("/v1/session/info/" + id).c_str()));
  std::thread info_waiter([&] {
    auto own = server.Client();
    result.emplace(own.Get(
        ("/v1/session/info/" + id + "?index=" + std::to_string(info_index) + "&wait=30s").c_str()));
  });
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  REQUIRE(client.Put(("/v1/session/destroy/" + id).c_str(), "", "text/plain")->body == "true");
  info_waiter.join();
  REQUIRE(*result);
  CHECK((*result)->body == "[]");
}

}  // namespace
}  // namespace roster::http::testing
