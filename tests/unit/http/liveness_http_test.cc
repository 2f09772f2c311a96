// Node liveness end to end over HTTP (docs/api.md, "Node liveness"): the heartbeat and
// leave bodies, their 400s, the "No cluster leader" 500, and the members' JSON shape
// on /v1/internal/members and /v1/agent/members.
#include <nlohmann/json.hpp>
#include <string>

#include "tests/unit/http/test_server.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http::testing {
namespace {

constexpr char kJson[] = "application/json";

TEST_CASE("a heartbeat reaches the backend and answers the failure timeout", "[liveness]") {
  TestServer server;
  auto client = server.Client();
  auto reply = client.Put("/v1/internal/node/heartbeat",
                          R"({"Node":"web-1","ID":"adf4238a-882b-9ddc-4a9d-5b6758e4159e",)"
                          R"("Address":"10.0.0.5","Meta":{"k":"v"}})",
                          kJson);
  REQUIRE(reply->status == 200);
  CHECK(reply->body == R"({"FailureTimeout":"10s"})");
  // Lower-case names, as Go decodes them; no Meta means "keep the catalog's".
  REQUIRE(client.Put("/v1/internal/node/heartbeat", R"({"node":"web-2","address":"10.0.0.6"})",
                     kJson)->status == 200);
  const std::vector<NodeHeartbeat> heartbeats = server.backend.heartbeats();
  REQUIRE(heartbeats.size() == 2);
  CHECK(heartbeats[0] == NodeHeartbeat{.node = "web-1",
                                       .id = "adf4238a-882b-9ddc-4a9d-5b6758e4159e",
                                       .address = "10.0.0.5",
                                       .meta = store::StringMap{{"k", "v"}}});
  CHECK(heartbeats[1].node == "web-2");
  CHECK_FALSE(heartbeats[1].meta.has_value());
}

TEST_CASE("a bad heartbeat is a 400 that says why, and reaches nothing", "[liveness]") {
  TestServer server;
  auto client = server.Client();
  auto missing = client.Put("/v1/internal/node/heartbeat", R"({"Address":"10.0.0.5"})", kJson);
  CHECK(missing->status == 400);
  CHECK(missing->body == "Missing node name");
  auto no_address = client.Put("/v1/internal/node/heartbeat", R"({"Node":"web-1"})", kJson);
  CHECK(no_address->status == 400);
  CHECK(no_address->body == "Missing node address");
  auto not_json = client.Put("/v1/internal/node/heartbeat", "{", kJson);
  CHECK(not_json->status == 400);
  CHECK(not_json->body.starts_with("Request decode failed: "));
  auto wrong_type = client.Put("/v1/internal/node/heartbeat", R"({"Node":5,"Address":"a"})", kJson);
  CHECK(wrong_type->status == 400);
  CHECK(wrong_type->body ==
        "Request decode failed: json: cannot unmarshal number into Go struct field "
        "NodeHeartbeat.Node of type string");
  auto empty = client.Put("/v1/internal/node/heartbeat", "", kJson);
  CHECK(empty->status == 400);
  CHECK(empty->body == "Request decode failed: EOF");
  std::string many = R"({"Node":"n","Address":"a","Meta":{)";
  for (int i = 0; i < 65; ++i) many += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  auto too_much_meta = client.Put("/v1/internal/node/heartbeat", many + "}}", kJson);
  CHECK(too_much_meta->status == 400);
  CHECK(client.Get("/v1/internal/node/heartbeat")->status == 405);
  CHECK(server.backend.heartbeats().empty());
}

TEST_CASE("without a leader a heartbeat is a 500 No cluster leader", "[liveness]") {
  TestServer server;
  server.backend.FailWritesWith(Unavailable("No cluster leader"));
  auto reply = server.Client().Put("/v1/internal/node/heartbeat",
                                   R"({"Node":"web-1","Address":"10.0.0.5"})", kJson);
  CHECK(reply->status == 500);
  CHECK(reply->body == "No cluster leader");
}

TEST_CASE("a leave names its node and answers true", "[liveness]") {
  TestServer server;
  auto client = server.Client();
  auto reply = client.Put("/v1/internal/node/leave", R"({"Node":"web-1"})", kJson);
  REQUIRE(reply->status == 200);
  CHECK(reply->body == "true");
  CHECK(server.backend.leaves() == std::vector<std::string>{"web-1"});
  auto missing = client.Put("/v1/internal/node/leave", R"({})", kJson);
  CHECK(missing->status == 400);
  CHECK(missing->body == "Missing node name");
  CHECK(client.Put("/v1/internal/node/leave", "[]", kJson)->status == 400);
  CHECK(server.backend.leaves().size() == 1);
}

TEST_CASE("force-leave leaves on the named node's behalf", "[liveness]") {
  TestServer server;
  auto client = server.Client();
  auto reply = client.Put("/v1/agent/force-leave/web-1", "", "text/plain");
  REQUIRE(reply->status == 200);
  CHECK(reply->body.empty());
  CHECK(client.Put("/v1/agent/force-leave/web-2?prune", "", "text/plain")->status == 200);
  CHECK(server.backend.leaves() == std::vector<std::string>{"web-1", "web-2"});
  CHECK(client.Put("/v1/agent/force-leave/", "", "text/plain")->body == "Missing node name");
  CHECK(client.Put("/v1/agent/force-leave/web-3?wan", "", "text/plain")->status == 400);
  CHECK(client.Get("/v1/agent/force-leave/web-3")->status == 200);  // python3-consul's GET
  CHECK(client.Delete("/v1/agent/force-leave/web-1")->status == 405);
  server.backend.FailWritesWith(Unavailable("No cluster leader"));
  auto no_leader = client.Put("/v1/agent/force-leave/web-1", "", "text/plain");
  CHECK(no_leader->status == 500);
  CHECK(no_leader->body == "No cluster leader");
  CHECK(server.backend.leaves() == std::vector<std::string>{"web-1", "web-2", "web-3"});
}

TEST_CASE("members in serf's shape, on both paths", "[liveness]") {
  TestServer server;
  AgentMember alive;
  alive.name = "server-1";
  alive.address = "127.0.0.1";
  alive.tags = {{"role", "consul"}, {"port", "8300"}};
  alive.status = 1;
  AgentMember left;
  left.name = "web-1";
  left.address = "10.0.0.5";
  left.tags = {{"role", "node"}};
  left.status = 3;
  server.backend.SetMembers({alive, left});
  auto client = server.Client();
  for (const char* path : {"/v1/internal/members", "/v1/agent/members"}) {
    auto reply = client.Get(path);
    INFO(path);
    REQUIRE(reply->status == 200);
    CHECK(reply->body ==
          R"([{"Name":"server-1","Addr":"127.0.0.1","Port":8301,"Tags":{"port":"8300",)"
          R"("role":"consul"},"Status":1,"ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,)"
          R"("DelegateMin":2,"DelegateMax":5,"DelegateCur":4},{"Name":"web-1",)"
          R"("Addr":"10.0.0.5","Port":8301,"Tags":{"role":"node"},"Status":3,)"
          R"("ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,)"
          R"("DelegateMax":5,"DelegateCur":4}])");
  }
}

}  // namespace
}  // namespace roster::http::testing
