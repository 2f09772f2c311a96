// /v1/status, /v1/operator/raft and /v1/agent/self end to end (consul-api.md §1.1,
// §1.7), the per-client connection limit, and the server's start/stop life cycle.
#include <nlohmann/json.hpp>
#include <string>

#include "tests/unit/http/test_server.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http::testing {
namespace {

TEST_CASE("status/leader is a JSON string, empty without a leader") {
  TestServer server;
  auto client = server.Client();
  auto leader = client.Get("/v1/status/leader");
  CHECK(leader->status == 200);
  CHECK(leader->body == R"("127.0.0.1:8300")");
  CHECK(leader->get_header_value("Content-Type") == "application/json");
  server.backend.SetLeaderAddress("");
  CHECK(client.Get("/v1/status/leader")->body == R"("")");
  CHECK(client.Get("/v1/status/leader?dc=elsewhere")->status == 500);
}

TEST_CASE("status/peers lists the servers' addresses") {
  TestServer server;
  auto client = server.Client();
  CHECK(client.Get("/v1/status/peers")->body == R"(["127.0.0.1:8300","127.0.0.2:8300"])");
}

TEST_CASE("operator/raft/configuration in Consul's shape, honouring ?stale") {
  TestServer server;
  auto client = server.Client();
  auto result = client.Get("/v1/operator/raft/configuration");
  CHECK(result->status == 200);
  CHECK(result->body ==
        R"({"Servers":[{"ID":"id-1","Node":"node-1","Address":"127.0.0.1:8300","Leader":true,)"
        R"("ProtocolVersion":"3","Voter":true},{"ID":"id-2","Node":"node-2",)"
        R"("Address":"127.0.0.2:8300","Leader":false,"ProtocolVersion":"3","Voter":true}],)"
        R"("Index":1})");
  CHECK(server.backend.last_read_mode() == Consistency::kDefault);
  REQUIRE(client.Get("/v1/operator/raft/configuration?stale")->status == 200);
  CHECK(server.backend.last_read_mode() == Consistency::kStale);
  CHECK(client.Get("/v1/operator/raft/configuration?stale&consistent")->status == 400);
  server.backend.FailReadsWith(Unavailable("No cluster leader"));
  auto no_leader = client.Get("/v1/operator/raft/configuration");
  CHECK(no_leader->status == 500);
  CHECK(no_leader->body == "No cluster leader");
}

TEST_CASE("operator/raft/peer removes by id or by address") {
  TestServer server;
  auto client = server.Client();
  auto removed = client.Delete("/v1/operator/raft/peer?id=id-2");
  CHECK(removed->status == 200);
  CHECK(removed->body.empty());
  CHECK(client.Get("/v1/status/peers")->body == R"(["127.0.0.1:8300"])");

  auto unknown = client.Delete("/v1/operator/raft/peer?address=10.0.0.9:8300");
  CHECK(unknown->status == 500);  // Consul's code for a failed RPC
  CHECK(unknown->body == R"(address "10.0.0.9:8300" was not found in the Raft configuration)");
  auto neither = client.Delete("/v1/operator/raft/peer");
  CHECK(neither->status == 400);
  CHECK(neither->body ==
        "Must specify either ?id with the server's ID or ?address with IP:port of peer to "
        "remove");
  auto both = client.Delete("/v1/operator/raft/peer?id=a&address=b");
  CHECK(both->status == 400);
  CHECK(both->body == "Must specify only one of ?id or ?address");
  auto get = client.Get("/v1/operator/raft/peer?id=id-1");
  CHECK(get->status == 405);
  CHECK(get->get_header_value("Allow") == "OPTIONS,DELETE");
}

TEST_CASE("agent/self: Consul's Config and Stats, and why writes are refused") {
  TestServer server;
  auto client = server.Client();
  auto self = nlohmann::json::parse(client.Get("/v1/agent/self")->body);
  CHECK(self["Config"]["Datacenter"] == "dc1");
  CHECK(self["Config"]["NodeName"] == "node-1");
  CHECK(self["Config"]["Server"] == true);
  CHECK(self["Member"]["Port"] == 8300);
  CHECK(self["Member"]["Tags"]["role"] == "consul");
  CHECK(self["Stats"]["raft"]["state"] == "Leader");
  CHECK(self["Roster"]["WritesAccepted"] == true);
  CHECK(self["Roster"]["WriteBlockedReason"] == "");
  server.backend.SetWriteBlockedReason("data disk full (0 bytes free)");
  self = nlohmann::json::parse(client.Get("/v1/agent/self")->body);
  CHECK(self["Roster"]["WritesAccepted"] == false);
  CHECK(self["Roster"]["WriteBlockedReason"] == "data disk full (0 bytes free)");
}

TEST_CASE("a client IP over its connection limit gets Consul's 429") {
  HttpOptions options = TestOptions();
  options.connections_per_client_max = 2;
  options.keep_alive_timeout_ms = std::chrono::milliseconds(60'000);
  TestServer server(options);
  auto first = server.Client();
  auto second = server.Client();
  first.set_keep_alive(true);
  second.set_keep_alive(true);
  REQUIRE(first.Get("/v1/status/leader")->status == 200);
  REQUIRE(second.Get("/v1/status/leader")->status == 200);

  auto third = server.Client();
  auto refused = third.Get("/v1/status/leader");
  REQUIRE(refused);
  CHECK(refused->status == 429);
  CHECK(refused->body ==
        "Your IP is issuing too many concurrent connections, please rate limit your calls\n");
  CHECK(refused->get_header_value("Connection") == "close");
  // The kept-alive connections still work.
  CHECK(first.Get("/v1/status/leader")->status == 200);

  first.stop();  // closes its connection: a slot frees up
  CHECK(Eventually([&] {
    auto retry = third.Get("/v1/status/leader");
    return retry && retry->status == 200;
  }));
}

TEST_CASE("Start reports a port in use; Stop then Start serves again") {
  TestServer server;
  HttpOptions same_port = TestOptions();
  same_port.port = server.port();
  HttpServer clash(server.backend, same_port);
  const Status clashed = clash.Start();
  CHECK(clashed.code() == StatusCode::kIoError);
  CHECK(clashed.message().find("cannot listen") != std::string::npos);
  CHECK(clash.port() == -1);

  CHECK(server.server().Start().code() == StatusCode::kFailedPrecondition);
  server.server().Stop();
  CHECK(server.port() == -1);
  server.server().Stop();  // idempotent
  REQUIRE(server.server().Start().ok());
  CHECK(server.Client().Get("/v1/status/leader")->status == 200);
}

}  // namespace
}  // namespace roster::http::testing
