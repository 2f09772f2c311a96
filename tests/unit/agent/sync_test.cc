// The agent's link to the servers: anti-entropy against a fake catalog, the shared
// blocking queries of the forwarder, the headers it passes back, and failover between
// servers.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <set>
#include <thread>
#include <vector>
#include <nlohmann/json.hpp>

#include "agent/anti_entropy.h"
#include "agent/forwarder.h"
#include "agent/upstream.h"
#include "base/clock.h"
#include "tests/unit/agent/fake_upstream.h"
#include "tests/unit/server/temp_dir.h"

#include <catch2/catch.hpp>

namespace roster::agent {
namespace {

using nlohmann::json;
using server::testing::TempDir;
using testing::ClosedPort;
using testing::FakeUpstream;
using testing::Recorded;

// A catalog that already holds, for node-a: the servers' serfHealth and consul service,
// a service the agent no longer knows (old-svc, with a check), a node check the agent
// does not know, and web-1 with a stale port. The node record is the agent's own, or
// (`tagged` false) one without the TaggedAddresses agents publish.
void ServeCatalog(FakeUpstream& upstream, bool tagged = true) {
  upstream.Get(
      "/v1/catalog/node-services/node-a", [tagged](const httplib::Request&, httplib::Response& r) {
        json tagged_addresses = json::object();
        if (tagged) {
          tagged_addresses = {{"lan", "10.0.0.9"},
                              {"lan_ipv4", "10.0.0.9"},
                              {"wan", "10.0.0.9"},
                              {"wan_ipv4", "10.0.0.9"}};
        }
        json body = {{"Node",
                      {{"ID", "11111111-2222-3333-4444-555555555555"},
                       {"Node", "node-a"},
                       {"Address", "10.0.0.9"},
                       {"Meta", json::object()},
                       {"TaggedAddresses", tagged_addresses}}},
                     {"Services", json::array({
                                      {{"ID", "consul"}, {"Service", "consul"}, {"Port", 8300}},
                                      {{"ID", "old-svc"}, {"Service", "old"}},
                                      {{"ID", "web-1"}, {"Service", "web"}, {"Port", 1}},
                                  })}};
        r.set_content(body.dump(), "application/json");
      });
  upstream.Get("/v1/health/node/node-a", [](const httplib::Request&, httplib::Response& r) {
    json body = json::array({
        {{"Node", "node-a"}, {"CheckID", "serfHealth"}, {"Name", "Serf Health Status"},
         {"Status", "passing"}},
        {{"Node", "node-a"}, {"CheckID", "old-node-check"}, {"Name", "old"}, {"Status", "passing"}},
        {{"Node", "node-a"}, {"CheckID", "old-svc-check"}, {"Name", "old"}, {"Status", "passing"},
         {"ServiceID", "old-svc"}},
    });
    r.set_content(body.dump(), "application/json");
  });
  auto ok = [](const httplib::Request&, httplib::Response& r) { r.set_content("true", "application/json"); };
  upstream.Put("/v1/catalog/register", ok);
  upstream.Put("/v1/catalog/deregister", ok);
}

std::vector<json> Bodies(const FakeUpstream& upstream, const std::string& path) {
  std::vector<json> bodies;
  for (const testing::Recorded& r : upstream.recorded("PUT", path)) bodies.push_back(json::parse(r.body));
  return bodies;
}

TEST_CASE("A full sync re-creates what the catalog lacks and removes what the agent does not know, "
          "never serfHealth",
          "[agent][sync]") {
  FakeUpstream upstream;
  ServeCatalog(upstream);
  TempDir dir;
  FakeClock clock;
  Result<std::unique_ptr<AgentDb>> db = AgentDb::Open(dir / "agent.db");
  REQUIRE(db.ok());
  LocalState state(std::move(*db), clock, "node-a", 300'000);
  store::NodeService web;
  web.id = "web-1";
  web.service = "web";
  web.port = 8080;
  REQUIRE(state.PutService(web).ok());
  http::AgentCheck check;
  check.check.check_id = "web-check";
  check.check.name = "web check";
  check.check.service_id = "web-1";
  check.check.type = "ttl";
  check.check.definition.ttl_ns = 30'000'000'000;
  REQUIRE(state.PutCheck(check).ok());

  Upstream link({upstream.address()});
  NodeIdentity identity{"node-a", "11111111-2222-3333-4444-555555555555",  "10.0.0.9", "dc1",
                        {},       store::AgentTaggedAddresses("10.0.0.9"), false};
  AntiEntropy sync(state, link, identity);
  REQUIRE(sync.SyncFull().ok());

  std::vector<json> deregistered = Bodies(upstream, "/v1/catalog/deregister");
  std::set<std::string> removed;
  for (const json& body : deregistered) {
    CHECK(body["Node"] == "node-a");
    removed.insert(body.value("ServiceID", "") + "|" + body.value("CheckID", ""));
  }
  // old-svc-check goes with its service.
  CHECK(removed == std::set<std::string>{"old-svc|", "|old-node-check"});

  std::vector<json> registered = Bodies(upstream, "/v1/catalog/register");
  REQUIRE(registered.size() == 1);  // the node record matched; web-1 with its check
  const json& body = registered[0];
  CHECK(body["Node"] == "node-a");
  CHECK(body["Address"] == "10.0.0.9");
  CHECK(body["ID"] == identity.id);
  CHECK(body["Service"]["ID"] == "web-1");
  CHECK(body["Service"]["Port"] == 8080);
  REQUIRE(body["Checks"].size() == 1);
  CHECK(body["Checks"][0]["CheckID"] == "web-check");
  CHECK(body["Checks"][0]["Definition"]["TTL"] == "30s");
  for (const testing::Recorded& r : upstream.recorded()) {
    CHECK(r.body.find("serfHealth") == std::string::npos);
    CHECK(r.body.find("\"consul\"") == std::string::npos);
  }

  // In sync now: another change sync sends nothing.
  const std::size_t requests = upstream.recorded().size();
  REQUIRE(sync.SyncChanges().ok());
  CHECK(upstream.recorded().size() == requests);
}

TEST_CASE("A node record without the agent's TaggedAddresses is registered again with them",
          "[agent][sync]") {
  FakeUpstream upstream;
  ServeCatalog(upstream, /*tagged=*/false);
  TempDir dir;
  FakeClock clock;
  Result<std::unique_ptr<AgentDb>> db = AgentDb::Open(dir / "agent.db");
  REQUIRE(db.ok());
  LocalState state(std::move(*db), clock, "node-a", 300'000);
  Upstream link({upstream.address()});
  NodeIdentity identity{"node-a", "11111111-2222-3333-4444-555555555555",  "10.0.0.9", "dc1",
                        {},       store::AgentTaggedAddresses("10.0.0.9"), false};
  AntiEntropy sync(state, link, identity);
  REQUIRE(sync.SyncFull().ok());
  std::vector<json> registered = Bodies(upstream, "/v1/catalog/register");
  REQUIRE(registered.size() == 1);  // the node record alone
  CHECK(registered[0]["Node"] == "node-a");
  CHECK_FALSE(registered[0].contains("Service"));
  CHECK(registered[0]["TaggedAddresses"] == json{{"lan", "10.0.0.9"},
                                                 {"lan_ipv4", "10.0.0.9"},
                                                 {"wan", "10.0.0.9"},
                                                 {"wan_ipv4", "10.0.0.9"}});
  CHECK(store::AgentTaggedAddresses("fd00::1") == store::StringMap{{"lan", "fd00::1"},
                                                                   {"lan_ipv6", "fd00::1"},
                                                                   {"wan", "fd00::1"},
                                                                   {"wan_ipv6", "fd00::1"}});
  CHECK(store::AgentTaggedAddresses("host.example") ==
        store::StringMap{{"lan", "host.example"}, {"wan", "host.example"}});
}

TEST_CASE("A failed sync leaves the entry out of sync for the next attempt", "[agent][sync]") {
  TempDir dir;
  FakeClock clock;
  Result<std::unique_ptr<AgentDb>> db = AgentDb::Open(dir / "agent.db");
  REQUIRE(db.ok());
  LocalState state(std::move(*db), clock, "node-a", 300'000);
  store::NodeService a;
  a.id = "a";
  a.service = "a";
  REQUIRE(state.PutService(a).ok());
  Upstream dead({"127.0.0.1:" + std::to_string(ClosedPort())});
  AntiEntropy sync(state, dead, NodeIdentity{"node-a", "", "10.0.0.9", "dc1", {}, {}, false});
  CHECK(sync.SyncChanges().code() == StatusCode::kUnavailable);
  CHECK(state.PlanChanges().node);
  CHECK(state.PlanChanges().services.size() == 1);
}

TEST_CASE("Requests fail over to the next server and stay there", "[agent][failover]") {
  FakeUpstream live;
  live.Get("/v1/status/leader", [](const httplib::Request&, httplib::Response& r) {
    r.set_content("\"x\"", "application/json");
  });
  FakeUpstream unavailable;
  unavailable.Get("/v1/status/leader", [](const httplib::Request&, httplib::Response& r) {
    r.status = 503;
  });
  const std::string dead = "127.0.0.1:" + std::to_string(ClosedPort());
  Upstream link({dead, unavailable.address(), live.address()});
  client::Request request{"GET", "/v1/status/leader", "", {}};
  Result<client::Response> response = link.Send(request, std::chrono::seconds(5));
  REQUIRE(response.ok());
  CHECK(response->status == 200);
  CHECK(link.current() == live.address());
  CHECK(link.failovers() == 2);
  REQUIRE(link.Send(request, std::chrono::seconds(5)).ok());
  CHECK(link.failovers() == 2);  // went straight to the live one
  CHECK(unavailable.recorded().size() == 1);

  Upstream none({dead});
  Result<client::Response> failed = none.Send(request, std::chrono::seconds(5));
  CHECK(failed.status().code() == StatusCode::kUnavailable);
}

TEST_CASE("Requests to a server reuse an open connection", "[agent][failover]") {
  FakeUpstream server;
  server.Get("/v1/status/leader", [](const httplib::Request&, httplib::Response& r) {
    r.set_content("\"x\"", "application/json");
  });
  server.Get("/v1/broken", [](const httplib::Request&, httplib::Response& r) {
    r.status = 500;  // still a good reply: the connection stays
  });
  Upstream link({server.address()});
  client::Request leader{"GET", "/v1/status/leader", "", {}};
  for (int i = 0; i < 20; ++i) REQUIRE(link.Send(leader, std::chrono::seconds(5)).ok());
  REQUIRE(link.Send({"GET", "/v1/broken", "", {}}, std::chrono::seconds(5)).ok());
  std::set<int> ports;
  for (const Recorded& r : server.recorded()) ports.insert(r.remote_port);
  CHECK(ports.size() == 1);  // one connection for all 21 requests, not one each

  // Concurrent requests each take a connection of their own, and give it back.
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 10; ++j) CHECK(link.Send(leader, std::chrono::seconds(5)).ok());
    });
  }
  for (std::thread& thread : threads) thread.join();
  ports.clear();
  for (const Recorded& r : server.recorded()) ports.insert(r.remote_port);
  CHECK(ports.size() <= 1 + 4);
}

// Whether a loopback connection to `port` has been closed by that end and not yet by
// this one (TCP state CLOSE_WAIT in /proc/net/tcp).
bool HasClosedByPeer(int port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  char wanted[8];
  std::snprintf(wanted, sizeof(wanted), ":%04X", port);
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (remote.ends_with(wanted) && state == "08") return true;
  }
  return false;
}

TEST_CASE("A connection the server closed while idle is replaced, not failed over",
          "[agent][failover]") {
  FakeUpstream server;
  server.SetKeepAliveTimeout(std::chrono::seconds(1));
  server.Get("/v1/status/leader", [](const httplib::Request&, httplib::Response& r) {
    r.set_content("\"x\"", "application/json");
  });
  Upstream link({server.address(), "127.0.0.1:" + std::to_string(ClosedPort())});
  client::Request leader{"GET", "/v1/status/leader", "", {}};
  REQUIRE(link.Send(leader, std::chrono::seconds(5)).ok());
  // The fake server closes the idle connection after its 1 s keep-alive timeout: the
  // agent's end of it then sits in CLOSE_WAIT, unread, in the idle pool.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!HasClosedByPeer(server.port()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling /proc/net/tcp
  }
  REQUIRE(HasClosedByPeer(server.port()));
  Result<client::Response> again = link.Send(leader, std::chrono::seconds(5));
  REQUIRE(again.ok());
  CHECK(again->status == 200);
  CHECK(link.failovers() == 0);
  CHECK(link.current() == server.address());
  const std::vector<Recorded> recorded = server.recorded();
  REQUIRE(recorded.size() == 2);
  CHECK(recorded[0].remote_port != recorded[1].remote_port);  // a new connection
}

TEST_CASE("Identical blocking GETs in flight share one upstream request", "[agent][cache]") {
  FakeUpstream upstream;
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> served{0};
  upstream.Get("/v1/health/service/web", [&](const httplib::Request&, httplib::Response& r) {
    ++served;
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return release; });
    r.set_header("X-Consul-Index", "42");
    r.set_content("[]", "application/json");
  });
  Upstream link({upstream.address()});
  UpstreamForwarder forwarder(link);
  constexpr int kCallers = 8;
  std::vector<Result<http::ForwardReply>> replies(kCallers, Unavailable("not run"));
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      http::ForwardRequest request{"GET", "/v1/health/service/web?index=41&wait=1m", "", {}};
      replies[i] = forwarder.Forward(request);
    });
  }
  // Wait until the one upstream request is parked and every other caller has joined it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((served.load() == 0 || forwarder.shared_requests() < kCallers - 1) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the polling period
  }
  REQUIRE(forwarder.shared_requests() == kCallers - 1);
  {
    std::lock_guard<std::mutex> lock(mutex);
    release = true;
    cv.notify_all();
  }
  for (std::thread& caller : callers) caller.join();
  CHECK(served.load() == 1);
  CHECK(forwarder.upstream_requests() == 1);
  for (const Result<http::ForwardReply>& reply : replies) {
    REQUIRE(reply.ok());
    CHECK(reply->status == 200);
    CHECK(reply->body == "[]");
    bool has_index = false;
    for (const auto& [name, value] : reply->headers) has_index |= (name == "X-Consul-Index" && value == "42");
    CHECK(has_index);
  }
}

TEST_CASE("Writes and plain GETs are never shared", "[agent][cache]") {
  FakeUpstream upstream;
  upstream.Put("/v1/kv/a", [](const httplib::Request&, httplib::Response& r) { r.set_content("true", "application/json"); });
  upstream.Get("/v1/kv/a", [](const httplib::Request&, httplib::Response& r) { r.set_content("[]", "application/json"); });
  Upstream link({upstream.address()});
  UpstreamForwarder forwarder(link);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(forwarder.Forward({"PUT", "/v1/kv/a", "v", {}}).ok());
    REQUIRE(forwarder.Forward({"GET", "/v1/kv/a", "", {}}).ok());
  }
  CHECK(upstream.recorded("PUT", "/v1/kv/a").size() == 3);
  CHECK(upstream.recorded("GET", "/v1/kv/a").size() == 3);
  CHECK(IsBlockingTarget("/v1/kv/a?index=3"));
  CHECK(IsBlockingTarget("/v1/kv/a?recurse&index=3"));
  CHECK_FALSE(IsBlockingTarget("/v1/kv/a?myindex=3"));
  CHECK_FALSE(IsBlockingTarget("/v1/kv/index=3"));
}

TEST_CASE("A forwarded reply keeps the headers about the answer, not the connection's",
          "[agent][forward]") {
  FakeUpstream upstream;
  upstream.Get("/v1/kv/page", [](const httplib::Request&, httplib::Response& r) {
    r.set_header("X-Consul-Index", "7");
    r.set_header("X-Content-Type-Options", "nosniff");
    r.set_header("Content-Security-Policy", "sandbox");
    r.set_header("Keep-Alive", "timeout=5");
    r.set_content("<b>hi</b>", "text/plain; charset=utf-8");
  });
  upstream.Put("/v1/kv/page", [](const httplib::Request&, httplib::Response& r) {
    r.status = 405;
    r.set_header("Allow", "OPTIONS,GET,PUT,DELETE");
    r.set_content("Method not allowed", "text/plain");
  });
  Upstream link({upstream.address()});
  UpstreamForwarder forwarder(link);
  auto header = [](const http::ForwardReply& reply, std::string_view name) {
    std::vector<std::string> values;
    for (const auto& [n, value] : reply.headers) {
      if (n == name) values.push_back(value);
    }
    return values;
  };
  Result<http::ForwardReply> raw = forwarder.Forward({"GET", "/v1/kv/page?raw", "", {}});
  REQUIRE(raw.ok());
  CHECK(header(*raw, "X-Consul-Index") == std::vector<std::string>{"7"});
  CHECK(header(*raw, "X-Content-Type-Options") == std::vector<std::string>{"nosniff"});
  CHECK(header(*raw, "Content-Security-Policy") == std::vector<std::string>{"sandbox"});
  CHECK(header(*raw, "Keep-Alive").empty());
  CHECK(header(*raw, "Content-Length").empty());
  Result<http::ForwardReply> refused = forwarder.Forward({"PUT", "/v1/kv/page", "v", {}});
  REQUIRE(refused.ok());
  CHECK(refused->status == 405);
  CHECK(header(*refused, "Allow") == std::vector<std::string>{"OPTIONS,GET,PUT,DELETE"});

  CHECK(IsPassedBackHeader("x-consul-knownleader"));
  CHECK(IsPassedBackHeader("ALLOW"));
  CHECK_FALSE(IsPassedBackHeader("Agent"));  // not a prefix match on Age
  CHECK_FALSE(IsPassedBackHeader("Content-Typo"));
  CHECK_FALSE(IsPassedBackHeader("Transfer-Encoding"));
}

}  // namespace
}  // namespace roster::agent
