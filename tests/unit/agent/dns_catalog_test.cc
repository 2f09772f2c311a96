// The agent's DNS catalog: parsing the servers' replies, and the cache of stale reads
// (one request for a burst, blocking refresh, failure as an error, idle entries
// dropped) against a fake upstream.
#include "agent/dns_catalog.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/upstream.h"
#include "base/clock.h"
#include "tests/unit/agent/fake_upstream.h"

namespace roster::agent {
namespace {

using nlohmann::json;
using testing::ClosedPort;
using testing::FakeUpstream;

json HealthEntry(const std::string& node, const std::string& address, const std::string& id,
                 int port, json checks) {
  return {{"Node", {{"Node", node}, {"Address", address}, {"Meta", {{"rack", "r1"}}}}},
          {"Service",
           {{"ID", id},
            {"Service", "web"},
            {"Tags", {"v1"}},
            {"Address", ""},
            {"Port", port},
            {"Weights", {{"Passing", 5}, {"Warning", 2}}}}},
          {"Checks", std::move(checks)}};
}

json Check(const std::string& id, const std::string& status, const std::string& service_id) {
  return {{"CheckID", id}, {"Status", status}, {"ServiceID", service_id}};
}

// A catalog of one service, "Web" (mixed case on purpose), whose health the test
// changes; blocking queries on it wait until it changes or their wait passes.
class FakeCatalog {
 public:
  explicit FakeCatalog(FakeUpstream& upstream) {
    upstream.Get("/v1/catalog/services", [this](const httplib::Request& q, httplib::Response& r) {
      if (!q.has_param("index")) ++first_fetches_;
      r.set_header("X-Consul-Index", "7");
      r.set_content(json{{"Web", {"v1"}}, {"consul", json::array()}}.dump(), "application/json");
    });
    upstream.Get("/v1/catalog/nodes", [](const httplib::Request&, httplib::Response& r) {
      r.set_header("X-Consul-Index", "7");
      json nodes = json::array({{{"Node", "Node-B"}, {"Address", "10.0.0.2"}},
                                {{"Node", "node-a"}, {"Address", "10.0.0.1"}}});
      r.set_content(nodes.dump(), "application/json");
    });
    upstream.Get("/v1/health/service/Web", [this](const httplib::Request& q, httplib::Response& r) {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!q.has_param("stale")) stale_missing_ = true;
      if (!q.has_param("index")) ++first_fetches_;
      if (q.has_param("index")) {
        const std::uint64_t asked = std::stoull(q.get_param_value("index"));
        changed_.wait_for(lock, std::chrono::seconds(2), [&] { return index_ > asked; });
      }
      r.set_header("X-Consul-Index", std::to_string(index_));
      r.set_content(json::array({HealthEntry("node-a", "10.0.0.1", "web-1", 80,
                                             json::array({Check("serfHealth", "passing", ""),
                                                          Check("c1", status_, "web-1")}))})
                        .dump(),
                    "application/json");
    });
  }
  ~FakeCatalog() { SetStatus("passing"); }

  void SetStatus(const std::string& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = status;
    ++index_;
    changed_.notify_all();
  }
  // Requests without index= (not blocking refreshes) to the services list and health.
  int first_fetches() const { return first_fetches_.load(); }
  bool stale_missing() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stale_missing_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string status_ = "passing";  // guarded by mutex_
  std::uint64_t index_ = 10;        // guarded by mutex_
  bool stale_missing_ = false;      // guarded by mutex_
  std::atomic<int> first_fetches_{0};
};

// A fake clock the refresh threads may read while the test moves it.
class SharedFakeClock final : public Clock {
 public:
  std::int64_t NowMs() const override { return now_ms_.load(); }
  std::int64_t WallMs() const override { return now_ms_.load(); }
  void AdvanceMs(std::int64_t delta_ms) { now_ms_ += delta_ms; }

 private:
  std::atomic<std::int64_t> now_ms_{1'000};
};

WatchedReadsOptions FastOptions() {
  WatchedReadsOptions options;
  options.first_wait_ms = 2'000;
  options.blocking_wait_ms = 1'000;
  options.retry_ms = 50;
  return options;
}

// Polls `done` until it holds or 5 s pass.
template <typename Done>
bool Eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST_CASE("health entries parse into instances with the store's health rule") {
  const json body = json::array({
      HealthEntry(
          "a", "10.0.0.1", "web-1", 80,
          json::array({Check("serfHealth", "passing", ""), Check("c", "warning", "web-1")})),
      // Another instance's critical check on the same node does not count.
      HealthEntry("a", "10.0.0.1", "web-2", 81, json::array({Check("c2", "critical", "web-9")})),
      HealthEntry("b", "10.0.0.2", "web-3", 82,
                  json::array({Check("_node_maintenance", "passing", "")})),
      HealthEntry("c", "10.0.0.3", "web-4", 83, json::array({Check("serfHealth", "critical", "")})),
  });
  Result<std::vector<dns::DnsInstance>> parsed = ParseHealthService(body.dump());
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 4);
  const dns::DnsInstance& first = (*parsed)[0];
  CHECK(first.node.name == "a");
  CHECK(first.node.address == "10.0.0.1");
  CHECK(first.node.meta.at("rack") == "r1");
  CHECK(first.port == 80);
  CHECK(first.tags == std::vector<std::string>{"v1"});
  CHECK(first.weights.passing == 5);
  CHECK(first.weights.warning == 2);
  CHECK(first.health == dns::DnsHealth::kWarning);
  CHECK((*parsed)[1].health == dns::DnsHealth::kPassing);
  CHECK((*parsed)[2].health == dns::DnsHealth::kCritical);  // maintenance
  CHECK((*parsed)[3].health == dns::DnsHealth::kCritical);  // the node's check
}

TEST_CASE("replies of the wrong shape are errors, not empty answers") {
  CHECK_FALSE(ParseHealthService("{}").ok());
  CHECK_FALSE(ParseHealthService("[{\"Node\": 1, \"Service\": {}}]").ok());
  CHECK_FALSE(ParseHealthService("[{\"Node\": {}, \"Service\": {\"Port\": 70000}}]").ok());
  CHECK_FALSE(ParseServiceNames("[]").ok());
  CHECK_FALSE(ParseNodes("not json").ok());
}

TEST_CASE("names fold to lowercase; of nodes equal ignoring case the first in byte order wins") {
  Result<std::map<std::string, std::vector<std::string>, std::less<>>> names =
      ParseServiceNames(R"({"web": [], "Web": [], "db": []})");
  REQUIRE(names.ok());
  CHECK(names->at("web") == std::vector<std::string>{"Web", "web"});
  Result<std::map<std::string, dns::DnsNode, std::less<>>> nodes = ParseNodes(
      R"([{"Node": "n1", "Address": "10.0.0.2"}, {"Node": "N1", "Address": "10.0.0.1"}])");
  REQUIRE(nodes.ok());
  CHECK(nodes->at("n1").name == "N1");
  CHECK(nodes->at("n1").address == "10.0.0.1");
}

TEST_CASE("questions are answered from stale reads, ignoring case, and follow changes") {
  FakeUpstream upstream_server;
  FakeCatalog catalog(upstream_server);
  Upstream upstream({upstream_server.address()});
  SystemClock clock;
  AgentDnsCatalog dns_catalog(upstream, clock, "DC1", FastOptions());

  Result<dns::DnsInstances> instances = dns_catalog.ServiceInstances("dc1", "WEB");
  REQUIRE(instances.ok());
  REQUIRE((*instances)->size() == 1);
  CHECK((**instances)[0].health == dns::DnsHealth::kPassing);
  // Until the value changes, every question shares the one cached vector.
  CHECK(*dns_catalog.ServiceInstances("dc1", "web") == *instances);
  CHECK_FALSE(catalog.stale_missing());
  CHECK(dns_catalog.ServiceInstances("dc2", "web").status().code() == StatusCode::kNotFound);
  CHECK((*dns_catalog.ServiceInstances("dc1", "nope"))->empty());

  Result<std::optional<dns::DnsNode>> node = dns_catalog.Node("dc1", "NODE-b");
  REQUIRE(node.ok());
  REQUIRE(node->has_value());
  CHECK((*node)->address == "10.0.0.2");
  CHECK_FALSE(dns_catalog.Node("dc1", "node-z")->has_value());

  // The background blocking query brings the change without a new question's wait.
  catalog.SetStatus("critical");
  CHECK(Eventually([&] {
    Result<dns::DnsInstances> now = dns_catalog.ServiceInstances("dc1", "web");
    return now.ok() && (*now)->size() == 1 && (**now)[0].health == dns::DnsHealth::kCritical;
  }));
  dns_catalog.Stop();
}

TEST_CASE("a burst of identical questions for an uncached name makes one request per read") {
  FakeUpstream upstream_server;
  FakeCatalog catalog(upstream_server);
  Upstream upstream({upstream_server.address()});
  SystemClock clock;
  AgentDnsCatalog dns_catalog(upstream, clock, "dc1", FastOptions());
  std::atomic<int> answered{0};
  std::vector<std::thread> askers;
  for (int i = 0; i < 16; ++i) {
    askers.emplace_back([&] {
      if (dns_catalog.ServiceInstances("dc1", "web").ok()) ++answered;
    });
  }
  for (std::thread& asker : askers) asker.join();
  CHECK(answered == 16);
  // The service list and the service's health, once each; later requests are the
  // blocking refreshes.
  CHECK(catalog.first_fetches() == 2);
  CHECK(dns_catalog.reads().entries() == 2);
  dns_catalog.Stop();
}

TEST_CASE("no server answering is an error within the first-fetch wait") {
  Upstream upstream({"127.0.0.1:" + std::to_string(ClosedPort())});
  SystemClock clock;
  AgentDnsCatalog dns_catalog(upstream, clock, "dc1", FastOptions());
  const auto start = std::chrono::steady_clock::now();
  Result<dns::DnsInstances> instances = dns_catalog.ServiceInstances("dc1", "web");
  CHECK_FALSE(instances.ok());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2'500));
  dns_catalog.Stop();
}

TEST_CASE("entries nobody asks for are dropped") {
  FakeUpstream upstream_server;
  FakeCatalog catalog(upstream_server);
  Upstream upstream({upstream_server.address()});
  SharedFakeClock clock;
  WatchedReadsOptions options = FastOptions();
  options.blocking_wait_ms = 100;
  options.idle_drop_ms = 60'000;
  AgentDnsCatalog dns_catalog(upstream, clock, "dc1", options);
  REQUIRE(dns_catalog.ServiceInstances("dc1", "web").ok());
  CHECK(dns_catalog.reads().entries() == 2);
  clock.AdvanceMs(60'001);
  CHECK(Eventually([&] { return dns_catalog.reads().entries() == 0; }));
  // Asked again: fetched again.
  REQUIRE(dns_catalog.ServiceInstances("dc1", "web").ok());
  CHECK(dns_catalog.reads().entries() == 2);
  dns_catalog.Stop();
}

}  // namespace
}  // namespace roster::agent
