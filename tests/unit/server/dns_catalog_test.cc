// ReplicaDnsCatalog: the DNS view of a real store (through the HTTP tests' TestBackend,
// no Raft). Stale reads only; names ignoring case; health the worst of node and
// service checks with maintenance as critical; unknown datacenters NotFound.
#include "server/dns_catalog.h"

#include <string>
#include <vector>

#include "store/command.h"
#include "store/health.h"
#include "tests/unit/http/test_backend.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::server {
namespace {

using http::testing::TestBackend;
using store::HealthStatus;

store::HealthCheck Check(std::string node, std::string id, HealthStatus status,
                         std::string service_id = "") {
  store::HealthCheck check;
  check.node = std::move(node);
  check.check_id = std::move(id);
  check.name = check.check_id;
  check.status = status;
  check.service_id = std::move(service_id);
  return check;
}

struct Catalog {
  TestBackend backend;
  ReplicaDnsCatalog dns{backend, "dc1"};

  void Register(std::string node, std::string address, std::optional<store::NodeService> service,
                std::vector<store::HealthCheck> checks = {}, store::StringMap meta = {}) {
    store::CatalogRegister command{std::move(node), "", std::move(address), std::move(checks)};
    command.service = std::move(service);
    command.node_meta = std::move(meta);
    REQUIRE(backend.Apply(store::Encode(store::Command{command})).ok());
  }

  std::vector<dns::DnsInstance> Instances(std::string_view service) { return *Shared(service); }
  dns::DnsInstances Shared(std::string_view service) {
    Result<dns::DnsInstances> found = dns.ServiceInstances("dc1", service);
    REQUIRE(found.ok());
    REQUIRE(*found != nullptr);
    return std::move(found).value();
  }
};

store::NodeService Service(std::string id, std::string name, std::uint64_t port) {
  store::NodeService service;
  service.id = std::move(id);
  service.service = std::move(name);
  service.port = port;
  return service;
}

TEST_CASE("instances come with their node, address, port, tags and weights") {
  Catalog catalog;
  store::NodeService web = Service("web-1", "web", 8080);
  web.tags = {"primary"};
  web.address = "10.0.0.9";
  web.weights = {10, 1};
  catalog.Register("host-a", "10.0.0.1", web, {}, {{"rack", "r1"}});
  const std::vector<dns::DnsInstance> instances = catalog.Instances("web");
  REQUIRE(instances.size() == 1);
  CHECK(instances[0].node.name == "host-a");
  CHECK(instances[0].node.address == "10.0.0.1");
  CHECK(instances[0].node.meta == std::map<std::string, std::string>{{"rack", "r1"}});
  CHECK(instances[0].service_address == "10.0.0.9");
  CHECK(instances[0].port == 8080);
  CHECK(instances[0].tags == std::vector<std::string>{"primary"});
  CHECK(instances[0].weights.passing == 10);
  CHECK(instances[0].health == dns::DnsHealth::kPassing);
  CHECK(catalog.backend.read_modes() == std::vector<http::Consistency>{http::Consistency::kStale});
}

TEST_CASE("service and node names match ignoring case, every spelling included") {
  Catalog catalog;
  catalog.Register("Host-A", "10.0.0.1", Service("w1", "Web", 80));
  catalog.Register("host-b", "10.0.0.2", Service("w2", "web", 80));
  CHECK(catalog.Instances("WEB").size() == 2);
  CHECK(catalog.Instances("web").size() == 2);
  CHECK(catalog.Instances("other").empty());
  Result<std::optional<dns::DnsNode>> node = catalog.dns.Node("dc1", "host-a");
  REQUIRE(node.ok());
  REQUIRE(node->has_value());
  CHECK((*node)->name == "Host-A");
  // A registration after the first lookup is seen: the folded index follows the table.
  catalog.Register("HOST-C", "10.0.0.3", Service("w3", "wEB", 80));
  CHECK(catalog.Instances("web").size() == 3);
  CHECK(catalog.dns.Node("dc1", "host-c")->has_value());
  CHECK(!catalog.dns.Node("dc1", "host-z")->has_value());
}

TEST_CASE("health: the worst of the node's and the instance's checks") {
  Catalog catalog;
  struct Row {
    std::vector<store::HealthCheck> checks;
    dns::DnsHealth expected;
  };
  const std::vector<Row> rows = {
      {std::vector<store::HealthCheck>{}, dns::DnsHealth::kPassing},
      {{Check("n", "serfHealth", HealthStatus::kPassing)}, dns::DnsHealth::kPassing},
      {{Check("n", "svc", HealthStatus::kWarning, "s")}, dns::DnsHealth::kWarning},
      {{Check("n", "serfHealth", HealthStatus::kCritical),
        Check("n", "svc", HealthStatus::kPassing, "s")},
       dns::DnsHealth::kCritical},
      {{Check("n", "serfHealth", HealthStatus::kWarning),
        Check("n", "svc", HealthStatus::kCritical, "s")},
       dns::DnsHealth::kCritical},
      // Maintenance is critical whatever status it is stored with.
      {{Check("n", std::string(store::kNodeMaintenanceCheckId), HealthStatus::kPassing)},
       dns::DnsHealth::kCritical},
      {{Check("n", std::string(store::kServiceMaintenanceCheckPrefix) + "s", HealthStatus::kWarning,
              "s")},
       dns::DnsHealth::kCritical},
  };
  int number = 0;
  for (const auto& [checks, expected] : rows) {
    const std::string node = "node-" + std::to_string(number);
    const std::string service = "svc-" + std::to_string(number++);
    std::vector<store::HealthCheck> on_node;
    for (store::HealthCheck check : checks) {
      check.node = node;
      on_node.push_back(check);
    }
    catalog.Register(node, "10.0.0.1", Service("s", service, 80), on_node);
    const std::vector<dns::DnsInstance> instances = catalog.Instances(service);
    REQUIRE(instances.size() == 1);
    CHECK(instances[0].health == expected);
  }
}

TEST_CASE("cached instances follow every change to the instance, its checks and its node") {
  Catalog catalog;
  catalog.Register("n", "10.0.0.1", Service("a", "api", 80));
  REQUIRE(catalog.Instances("api").size() == 1);
  CHECK(catalog.Instances("API")[0].health == dns::DnsHealth::kPassing);  // now cached
  // Cached means shared: the same vector for every question until a change.
  const dns::DnsInstances before = catalog.Shared("api");
  CHECK(catalog.Shared("Api") == before);

  // A node check turns critical: the node's record does not change, the name's index does.
  catalog.Register("n", "10.0.0.1", std::nullopt,
                   {Check("n", "serfHealth", HealthStatus::kCritical)});
  CHECK(catalog.Instances("api")[0].health == dns::DnsHealth::kCritical);
  CHECK(catalog.Shared("api") != before);  // a new version for the answer cache
  catalog.Register("n", "10.0.0.1", std::nullopt,
                   {Check("n", "serfHealth", HealthStatus::kPassing)});
  CHECK(catalog.Instances("api")[0].health == dns::DnsHealth::kPassing);

  // The node's address and meta, the instance's port and tags.
  catalog.Register("n", "10.0.0.2", std::nullopt, {}, {{"rack", "r2"}});
  CHECK(catalog.Instances("api")[0].node.address == "10.0.0.2");
  CHECK(catalog.Instances("api")[0].node.meta.at("rack") == "r2");
  store::NodeService moved = Service("a", "api", 81);
  moved.tags = {"blue"};
  catalog.Register("n", "10.0.0.2", moved);
  CHECK(catalog.Instances("api")[0].port == 81);
  CHECK(catalog.Instances("api")[0].tags == std::vector<std::string>{"blue"});

  // A second spelling joins the name; the last instance leaves and comes back.
  catalog.Register("m", "10.0.0.3", Service("b", "API", 90));
  CHECK(catalog.Instances("api").size() == 2);
  REQUIRE(catalog.backend
              .Apply(store::Encode(
                  store::Command{store::CatalogDeregister{.node = "m", .check_id = ""}}))
              .ok());
  REQUIRE(catalog.backend
              .Apply(store::Encode(
                  store::Command{store::CatalogDeregister{.node = "n", .check_id = ""}}))
              .ok());
  CHECK(catalog.Instances("api").empty());
  catalog.Register("n", "10.0.0.1", Service("a", "api", 82));
  REQUIRE(catalog.Instances("api").size() == 1);
  CHECK(catalog.Instances("api")[0].port == 82);
}

TEST_CASE("another instance's checks on the same node do not count") {
  Catalog catalog;
  catalog.Register("n", "10.0.0.1", Service("a", "api", 80),
                   {Check("n", "a-check", HealthStatus::kPassing, "a")});
  catalog.Register("n", "10.0.0.1", Service("b", "api", 81),
                   {Check("n", "b-check", HealthStatus::kCritical, "b")});
  std::map<std::uint16_t, dns::DnsHealth> by_port;
  for (const dns::DnsInstance& instance : catalog.Instances("api")) {
    by_port[instance.port] = instance.health;
  }
  CHECK(by_port == std::map<std::uint16_t, dns::DnsHealth>{{80, dns::DnsHealth::kPassing},
                                                           {81, dns::DnsHealth::kCritical}});
}

TEST_CASE("another datacenter is NotFound; a failed read is an error, not an empty answer") {
  Catalog catalog;
  catalog.Register("n", "10.0.0.1", Service("a", "api", 80));
  CHECK(catalog.dns.ServiceInstances("DC1", "api").ok());
  CHECK(catalog.dns.ServiceInstances("dc2", "api").status().code() == StatusCode::kNotFound);
  CHECK(catalog.dns.Node("dc2", "n").status().code() == StatusCode::kNotFound);
  catalog.backend.FailReadsWith(IoError("disk gone"));
  CHECK(catalog.dns.ServiceInstances("dc1", "api").status().code() == StatusCode::kIoError);
}

}  // namespace
}  // namespace roster::server
