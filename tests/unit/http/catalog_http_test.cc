// The catalog endpoints end to end (consul-api.md §1.2, §2.2; Consul's
// agent/catalog_endpoint.go): register and deregister, the reads with Consul's field
// names and shapes, ?tag and ?node-meta, the per-service blocking index, and bad input
// answered with Consul's status codes and texts, registering nothing.
#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include "tests/unit/http/api_test_util.h"

namespace roster::http::testing {
namespace {

using nlohmann::json;

constexpr char kNodeId[] = "40e4a748-2192-161a-0510-9bf59fe950b5";

// PUT /v1/catalog/register; the reply's status and body.
std::pair<int, std::string> Register(httplib::Client& client, const std::string& body) {
  auto result = PutBody(client, "/v1/catalog/register", body);
  REQUIRE(result);
  return {result->status, result->body};
}

void MustRegister(httplib::Client& client, const std::string& body) {
  auto [status, reply] = Register(client, body);
  INFO(reply);
  REQUIRE(status == 200);
  REQUIRE(reply == "true");
}

json GetJson(httplib::Client& client, const std::string& target) {
  auto result = client.Get(target.c_str());
  REQUIRE(result);
  INFO(target << " -> " << result->body);
  REQUIRE(result->status == 200);
  return JsonOf(result);
}

// n1 with web (tags v1, primary) and a check of it; n2 with web (v2) and db.
void RegisterTwoNodes(httplib::Client& client) {
  MustRegister(client, R"({"Node":"n1","Address":"10.0.0.1","NodeMeta":{"rack":"r1"},
      "Service":{"ID":"web-1","Service":"web","Tags":["v1","primary"],"Port":80},
      "Check":{"Name":"web alive","ServiceID":"web-1","Status":"passing"}})");
  MustRegister(client, R"({"Node":"n2","Address":"10.0.0.2","NodeMeta":{"rack":"r2"},
      "Service":{"ID":"web-2","Service":"web","Tags":["v2"],"Port":80}})");
  MustRegister(client, R"({"Node":"n2","Address":"10.0.0.2","NodeMeta":{"rack":"r2"},
      "Service":{"Service":"db","Port":5432}})");
}

TEST_CASE("a registered service reads back as Consul's ServiceNode, field for field") {
  TestServer server;
  auto client = server.Client();
  MustRegister(client, std::string(R"({"Node":"n1","Address":"10.0.0.1","ID":")") + kNodeId +
                           R"(","TaggedAddresses":{"lan":"10.0.0.1"},"NodeMeta":{"rack":"r1"},
      "Service":{"Service":"web","Tags":["v1"],"Port":8080,"Meta":{"version":"1"}}})");
  auto result = client.Get("/v1/catalog/service/web");
  REQUIRE(result->status == 200);
  CHECK(result->get_header_value("Content-Type") == "application/json");
  CHECK(result->body ==
        std::string(R"([{"ID":")") + kNodeId +
            R"(","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1",)"
            R"("TaggedAddresses":{"lan":"10.0.0.1"},"NodeMeta":{"rack":"r1"},"ServiceKind":"",)"
            R"("ServiceID":"web","ServiceName":"web","ServiceTags":["v1"],"ServiceAddress":"",)"
            R"("ServiceWeights":{"Passing":1,"Warning":1},"ServiceMeta":{"version":"1"},)"
            R"("ServicePort":8080,"ServiceEnableTagOverride":false,)"
            R"("ServiceProxy":{"MeshGateway":{},"Expose":{}},"ServiceConnect":{},)"
            R"("CreateIndex":2,"ModifyIndex":2}])");
  CHECK(IndexHeader(result) == 2);
  CHECK(result->get_header_value("X-Consul-KnownLeader") == "true");
  CHECK(result->get_header_value("X-Consul-LastContact") == "0");
  CHECK(result->get_header_value("X-Consul-Effective-Consistency") == "leader");
}

TEST_CASE("python-consul's lower-case keys and a service's tagged addresses and weights") {
  TestServer server;
  auto client = server.Client();
  MustRegister(client, R"({"node":"n1","address":"10.0.0.1","service":{"service":"api",
      "id":"api-1","port":9000,"address":"10.0.0.5","enabletagoverride":true,
      "weights":{"passing":10,"warning":2},
      "taggedaddresses":{"wan":{"address":"198.51.100.5","port":80}}}})");
  const json node = GetJson(client, "/v1/catalog/node/n1");
  const json& service = node["Services"]["api-1"];
  CHECK(service["Service"] == "api");
  CHECK(service["Address"] == "10.0.0.5");
  CHECK(service["Port"] == 9000);
  CHECK(service["EnableTagOverride"] == true);
  CHECK(service["Weights"] == json{{"Passing", 10}, {"Warning", 2}});
  CHECK(service["TaggedAddresses"]["wan"] == json{{"Address", "198.51.100.5"}, {"Port", 80}});
  CHECK(service["Tags"] == json::array());
  CHECK(node["Node"]["Node"] == "n1");
  CHECK(node["Node"]["Datacenter"] == "dc1");

  SECTION("weights Consul would refuse fall back to 1/1") {
    MustRegister(client, R"({"Node":"n1","Address":"10.0.0.1",
        "Service":{"Service":"api","ID":"api-2","Weights":{"Passing":0,"Warning":1}}})");
    CHECK(GetJson(client, "/v1/catalog/node/n1")["Services"]["api-2"]["Weights"] ==
          json{{"Passing", 1}, {"Warning", 1}});
  }
}

TEST_CASE("catalog/services maps each name to the union of its tags; nodes lists nodes") {
  TestServer server;
  auto client = server.Client();
  RegisterTwoNodes(client);
  CHECK(GetJson(client, "/v1/catalog/services") ==
        json{{"db", json::array()}, {"web", {"primary", "v1", "v2"}}});
  CHECK(GetJson(client, "/v1/catalog/services?node-meta=rack:r1") ==
        json{{"web", {"primary", "v1"}}});
  CHECK(GetJson(client, "/v1/catalog/services?node-meta=rack:r9") == json::object());

  const json nodes = GetJson(client, "/v1/catalog/nodes");
  REQUIRE(nodes.size() == 2);
  CHECK(nodes[0]["Node"] == "n1");
  CHECK(nodes[1]["Meta"] == json{{"rack", "r2"}});
  CHECK(GetJson(client, "/v1/catalog/nodes?node-meta=rack:r2").size() == 1);
  CHECK(GetJson(client, "/v1/catalog/datacenters") == json{"dc1"});
  auto services = client.Get("/v1/catalog/services");
  CHECK(IndexHeader(services) == 4);  // the services table index
}

TEST_CASE("?tag is repeatable, every tag must match, without regard to case") {
  TestServer server;
  auto client = server.Client();
  RegisterTwoNodes(client);
  CHECK(GetJson(client, "/v1/catalog/service/web").size() == 2);
  CHECK(GetJson(client, "/v1/catalog/service/web?tag=v1").size() == 1);
  CHECK(GetJson(client, "/v1/catalog/service/web?tag=PRIMARY&tag=v1").size() == 1);
  CHECK(GetJson(client, "/v1/catalog/service/web?tag=v1&tag=v2").empty());
  CHECK(GetJson(client, "/v1/catalog/service/web?node-meta=rack:r2")[0]["ServiceID"] == "web-2");
  CHECK(GetJson(client, "/v1/catalog/service/nothing") == json::array());
}

TEST_CASE("catalog/node and node-services: a map and a list; an unknown node is null") {
  TestServer server;
  auto client = server.Client();
  RegisterTwoNodes(client);
  const json node = GetJson(client, "/v1/catalog/node/n2");
  CHECK(node["Services"].size() == 2);
  CHECK(node["Services"]["db"]["Port"] == 5432);
  const json list = GetJson(client, "/v1/catalog/node-services/n2");
  REQUIRE(list["Services"].is_array());
  CHECK(list["Services"][0]["ID"] == "db");
  CHECK(list["Services"][1]["ID"] == "web-2");
  auto unknown = client.Get("/v1/catalog/node/n9");
  CHECK(unknown->status == 200);
  CHECK(unknown->body == "null");
  CHECK(client.Get("/v1/catalog/node-services/n9")->body == R"({"Node":null,"Services":null})");
  CHECK(client.Get("/v1/catalog/node/")->status == 400);
  CHECK(client.Get("/v1/catalog/node/")->body == "Missing node name");
  CHECK(client.Get("/v1/catalog/service/")->body == "Missing service name");
}

TEST_CASE("coordinate endpoints answer as a Consul without coordinates, with the read headers") {
  TestServer server;
  auto client = server.Client();
  RegisterTwoNodes(client);
  const json datacenters = GetJson(client, "/v1/coordinate/datacenters");
  REQUIRE(datacenters.size() == 1);
  CHECK(datacenters[0]["Datacenter"] == "dc1");
  CHECK(datacenters[0]["AreaID"] == "wan");
  CHECK(datacenters[0]["Coordinates"] == json::array());
  auto nodes = client.Get("/v1/coordinate/nodes");
  REQUIRE(nodes);
  CHECK(nodes->status == 200);
  CHECK(nodes->body == "[]");
  CHECK(IndexHeader(nodes) == IndexHeader(client.Get("/v1/catalog/nodes")));
  CHECK(nodes->has_header("X-Consul-KnownLeader"));
  auto one = client.Get("/v1/coordinate/node/n1");
  REQUIRE(one);
  CHECK(one->status == 404);
  CHECK(one->body.empty());
  CHECK(IndexHeader(one) == IndexHeader(client.Get("/v1/catalog/node/n1")));
  CHECK(client.Get("/v1/coordinate/node/")->status == 400);
  CHECK(client.Get("/v1/coordinate/nodes?dc=dc9")->status == 500);
  CHECK(client.Get("/v1/coordinate/nodes?wait=30")->status == 400);
}

TEST_CASE("deregister removes a service with its checks, a check, or the node") {
  TestServer server;
  auto client = server.Client();
  RegisterTwoNodes(client);
  auto put = [&client](const std::string& body) {
    auto result = PutBody(client, "/v1/catalog/deregister", body);
    REQUIRE(result);
    INFO(result->body);
    CHECK(result->status == 200);
    CHECK(result->body == "true");
  };
  put(R"({"Node":"n1","ServiceID":"web-1"})");
  CHECK(GetJson(client, "/v1/catalog/service/web").size() == 1);
  CHECK(GetJson(client, "/v1/health/node/n1").empty());  // its check went with it
  put(R"({"Node":"n2","ServiceID":"nothing"})");         // absent: a no-op, still true
  put(R"({"Node":"n2"})");
  CHECK(GetJson(client, "/v1/catalog/nodes").size() == 1);
  CHECK(GetJson(client, "/v1/catalog/services") == json::object());

  auto no_node = PutBody(client, "/v1/catalog/deregister", R"({"ServiceID":"web-1"})");
  CHECK(no_node->status == 500);
  CHECK(no_node->body == "Must provide node");
}

// A register body that must be refused with (status, text) and register nothing.
void Refused(TestServer& server, const std::string& body, int status, const std::string& text) {
  auto client = server.Client();
  const std::size_t applied = server.backend.apply_count();
  auto [got_status, got_text] = Register(client, body);
  INFO(body);
  CHECK(got_status == status);
  CHECK(got_text == text);
  CHECK(GetJson(client, "/v1/catalog/nodes") == json::array());
  if (status != 500 || text.find("Missing service registration") == std::string::npos) {
    CHECK(server.backend.apply_count() == applied);  // refused before Raft
  }
}

TEST_CASE("bad registrations get Consul's status and text and register nothing") {
  TestServer server;
  Refused(server, "", 400, "Request decode failed: EOF");
  Refused(server, "{", 400,
          "Request decode failed: [json.exception.parse_error.101] parse error at line 1, "
          "column 2: syntax error while parsing object key - unexpected end of input; "
          "expected string literal");
  Refused(server, "[]", 400,
          "Request decode failed: json: cannot unmarshal array into Go value of type "
          "structs.RegisterRequest");
  Refused(server, R"({"Node":7})", 400,
          "Request decode failed: json: cannot unmarshal number into Go struct field "
          "RegisterRequest.Node of type string");
  Refused(server, R"({"Node":"n1","Address":"a","Service":{"Service":"w","Port":"80"}})", 400,
          "Request decode failed: json: cannot unmarshal string into Go struct field "
          "RegisterRequest.Service.Port of type int");
  Refused(server, R"({"Address":"10.0.0.1"})", 500, "Must provide node");
  Refused(server, R"({"Node":"n1"})", 500, "Must provide address if SkipNodeUpdate is not set");
  Refused(server, R"({"Node":"n1","Address":"a","ID":"not-a-uuid"})", 500,
          "Bad node ID: uuid string is wrong length");
  Refused(server, R"({"Node":"n1","Address":"a","Service":{"ID":"web-1"}})", 500,
          "Must provide service name with ID");
  Refused(server, R"({"Node":"n1","Address":"a","Service":{"Service":"w","Address":"0.0.0.0"}})",
          500, "Invalid service address");
  Refused(server, R"({"Node":"n1","Address":"a","Service":{"Service":"w","Address":"::"}})", 500,
          "Invalid service address");
  Refused(server, R"({"Node":"n1","Address":"a","Service":{"Service":"w","Meta":{"a b":"1"}}})",
          500,
          "Invalid Service Meta for node n1 and serviceID w: Couldn't load metadata pair "
          "('a b', '1'): Key contains invalid characters");
  Refused(server, R"({"Node":"n1","Address":"a","Service":{"Service":"w","Port":70000}})", 400,
          "Invalid port 70000 in RegisterRequest.Service.Port: must be between 0 and 65535");
  Refused(server, R"({"Node":"n1","Address":"a","Service":{"Service":"w","Kind":"connect-proxy"}})",
          400, "Service kind \"connect-proxy\" is not supported: Roster registers plain services only");
  Refused(server, R"({"Node":"n1","Address":"a","Check":{"Name":"c","Status":"ok"}})", 400,
          "Bad check status");
  Refused(server, R"({"Node":"n1","Address":"a","Check":{"Status":"passing"}})", 500,
          "Missing check ID");
  Refused(server, R"({"Node":"n1","Address":"a","Check":{"Name":"c","Node":"n2"}})", 500,
          "check node \"n2\" does not match node \"n1\"");
  Refused(server,
          R"({"Node":"n1","Address":"a","Check":{"Name":"c","Definition":{"Interval":"soon"}}})",
          400, "Request decode failed: time: invalid duration \"soon\"");
  Refused(server, R"({"Node":"n1","Address":"a","Check":{"Name":"c","ServiceID":"nope"}})", 500,
          "failed inserting check on node \"n1\": Missing service registration");
  Refused(server, R"({"Node":"n1","Address":"a","Datacenter":"dc2"})", 500,
          "No path to datacenter");
}

TEST_CASE("a check names a service of its node or of the same request") {
  TestServer server;
  auto client = server.Client();
  MustRegister(client, R"({"Node":"n1","Address":"10.0.0.1","Service":{"Service":"web"},
      "Checks":[{"CheckID":"web-http","Name":"HTTP","ServiceID":"web","Status":"warning",
                 "Definition":{"HTTP":"http://10.0.0.1/health","Interval":"10s",
                               "Header":{"Accept":["text/plain"]}}},
                {"Name":"serfHealth","Status":"passing"}]})");
  MustRegister(client, R"({"Node":"n1","Address":"10.0.0.1",
      "Check":{"Name":"second","ServiceID":"web","Status":"passing"}})");
  const json checks = GetJson(client, "/v1/health/node/n1");
  REQUIRE(checks.size() == 3);
  const json& http_check = checks[2];
  CHECK(http_check["CheckID"] == "web-http");
  CHECK(http_check["ServiceName"] == "web");
  CHECK(http_check["Type"] == "http");  // derived from the definition, as Consul does
  CHECK(http_check["Definition"] == json{{"Interval", "10s"},
                                         {"Timeout", "0s"},
                                         {"DeregisterCriticalServiceAfter", "0s"},
                                         {"HTTP", "http://10.0.0.1/health"},
                                         {"Header", {{"Accept", {"text/plain"}}}}});
  CHECK(checks[1]["CheckID"] == "serfHealth");
  CHECK(checks[1]["Type"] == "");
}

TEST_CASE("?dc names another datacenter: 500 No path to datacenter") {
  TestServer server;
  auto client = server.Client();
  for (const char* target :
       {"/v1/catalog/nodes?dc=dc2", "/v1/catalog/service/web?dc=dc2", "/v1/health/state/any?dc=dc2"}) {
    auto result = client.Get(target);
    CHECK(result->status == 500);
    CHECK(result->body == "No path to datacenter");
  }
  CHECK(client.Get("/v1/catalog/nodes?dc=dc1")->status == 200);
}

TEST_CASE("?filter keeps the matching items; a bad filter is a 400 before the read") {
  TestServer server;
  auto client = server.Client();
  for (const char* body :
       {R"({"Node":"n1","Address":"10.0.0.1","NodeMeta":{"rack":"r1"},
            "Service":{"Service":"web","ID":"web-1","Tags":["primary"],"Port":80}})",
        R"({"Node":"n2","Address":"10.0.0.2","NodeMeta":{"rack":"r2"},
            "Service":{"Service":"web","ID":"web-2","Tags":["backup"],"Port":81}})"}) {
    MustRegister(client, body);
  }
  auto names = [&](const std::string& target) {
    auto result = client.Get(target);
    REQUIRE(result->status == 200);
    std::vector<std::string> out;
    for (const auto& item : json::parse(result->body)) out.push_back(item["Node"]);
    return out;
  };
  CHECK(names("/v1/catalog/nodes?filter=Node%20%3D%3D%20n1") == std::vector<std::string>{"n1"});
  CHECK(names("/v1/catalog/nodes?filter=Meta.rack%20%21%3D%20r1") ==
        std::vector<std::string>{"n2"});
  CHECK(names("/v1/catalog/service/web?filter=primary%20in%20ServiceTags") ==
        std::vector<std::string>{"n1"});
  auto health = client.Get("/v1/health/service/web?filter=Service.Port%20%3D%3D%2081");
  REQUIRE(health->status == 200);
  const json entries = json::parse(health->body);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["Node"]["Node"] == "n2");
  CHECK(names("/v1/catalog/nodes?filter=").size() >= 2);  // empty: no filter

  auto bad = client.Get("/v1/catalog/nodes?filter=Node%20%3D%3D");
  CHECK(bad->status == 400);
  CHECK(bad->body.find("Failed to create boolean expression evaluator") != std::string::npos);
}

// GET on its own thread, so the test can write while it waits.
class BackgroundGet {
 public:
  BackgroundGet(const TestServer& server, std::string target)
      : thread_([this, &server, target] {
          auto client = server.Client();
          result_.emplace(client.Get(target.c_str()));
          done_ = true;
        }) {}
  ~BackgroundGet() {
    if (thread_.joinable()) thread_.join();
  }
  const httplib::Result& Join() {
    thread_.join();
    return *result_;
  }
  bool done() const { return done_; }

 private:
  std::optional<httplib::Result> result_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

TEST_CASE("a blocking query on one service is not moved by a write to another") {
  TestServer server;
  auto client = server.Client();
  RegisterTwoNodes(client);
  const std::uint64_t web_index = IndexHeader(client.Get("/v1/catalog/service/web"));
  CHECK(web_index == 3);

  // A write to db leaves web's index where it was: a short query on web times out
  // with the same index.
  MustRegister(client, R"({"Node":"n2","Address":"10.0.0.2","NodeMeta":{"rack":"r2"},
      "Service":{"Service":"db","Port":5433}})");
  auto unchanged = client.Get(
      ("/v1/catalog/service/web?index=" + std::to_string(web_index) + "&wait=50ms").c_str());
  CHECK(IndexHeader(unchanged) == web_index);
  CHECK(IndexHeader(client.Get("/v1/catalog/service/db")) == 5);

  // A parked query on web answers the write to web with a higher index.
  BackgroundGet parked(server, "/v1/catalog/service/web?index=" + std::to_string(web_index) +
                                   "&wait=60s");
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  MustRegister(client, R"({"Node":"n1","Address":"10.0.0.1","NodeMeta":{"rack":"r1"},
      "Service":{"ID":"web-1","Service":"web","Tags":["v1","primary","new"],"Port":80}})");
  const httplib::Result& woken = parked.Join();
  REQUIRE(woken->status == 200);
  CHECK(IndexHeader(woken) == 6);
  CHECK(JsonOf(woken)[0]["ServiceTags"].size() == 3);
}

TEST_CASE("catalog/node and node-services find a node by its ID or an ID prefix") {
  TestServer server;
  auto client = server.Client();
  MustRegister(client, std::string(R"({"Node":"n1","ID":")") + kNodeId +
                           R"(","Address":"10.0.0.1","Service":{"Service":"web","Port":80}})");
  MustRegister(client, R"({"Node":"n2","ID":"40e4a748-0000-0000-0000-000000000002",
      "Address":"10.0.0.2"})");
  CHECK(GetJson(client, std::string("/v1/catalog/node/") + kNodeId)["Node"]["Node"] == "n1");
  CHECK(GetJson(client, "/v1/catalog/node/40E4A748-2192")["Services"]["web"]["Port"] == 80);
  CHECK(GetJson(client, "/v1/catalog/node-services/40e4a748-21")["Node"]["Node"] == "n1");
  // A prefix of both IDs, or of none, finds nothing; so does a name that is not hex.
  CHECK(client.Get("/v1/catalog/node/40e4a748")->body == "null");
  CHECK(client.Get("/v1/catalog/node/ff")->body == "null");
  CHECK(client.Get("/v1/catalog/node/40e4a748-2192-161a-0510-9bf59fe950b5x")->body == "null");

  // Blocking on the ID wakes when the node's services change.
  const std::uint64_t index = IndexHeader(client.Get("/v1/catalog/node/40e4a748-21"));
  BackgroundGet parked(server,
                       "/v1/catalog/node/40e4a748-21?index=" + std::to_string(index) + "&wait=60s");
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  MustRegister(client, std::string(R"({"Node":"n1","ID":")") + kNodeId +
                           R"(","Address":"10.0.0.1","Service":{"Service":"db","Port":5432}})");
  const httplib::Result& woken = parked.Join();
  REQUIRE(woken->status == 200);
  CHECK(IndexHeader(woken) > index);
  CHECK(JsonOf(woken)["Services"].contains("db"));
}

TEST_CASE("a query on a service that went away keeps a non-decreasing index") {
  TestServer server;
  auto client = server.Client();
  RegisterTwoNodes(client);
  auto dereg = PutBody(client, "/v1/catalog/deregister", R"({"Node":"n2","ServiceID":"db"})");
  REQUIRE(dereg->status == 200);
  auto gone = client.Get("/v1/catalog/service/db");
  CHECK(gone->body == "[]");
  CHECK(IndexHeader(gone) == 5);  // the extinction index, past db's last index (4)
  CHECK(IndexHeader(client.Get("/v1/health/service/never")) == 5);
}

}  // namespace
}  // namespace roster::http::testing
