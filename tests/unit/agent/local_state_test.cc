// The agent's local state: what it keeps across restarts and when it says a sync is due.
#include <filesystem>

#include "agent/agent.h"
#include "agent/config_dir.h"
#include "agent/local_state.h"
#include "base/clock.h"
#include "base/version.h"
#include "tests/unit/server/temp_dir.h"

#include <catch2/catch.hpp>

namespace roster::agent {
namespace {

using server::testing::TempDir;
using store::HealthStatus;

constexpr std::uint64_t kSecondNs = 1'000'000'000;

AgentOptions Options(const TempDir& dir) {
  AgentOptions options;
  options.node_name = "node-a";
  options.data_dir = dir / "agent";
  options.servers = {"127.0.0.1:1"};  // never started: no request goes out
  return options;
}

http::AgentServiceRegistration Web() {
  http::AgentServiceRegistration registration;
  registration.service.id = "web-1";
  registration.service.service = "web";
  registration.service.tags = {"v1"};
  registration.service.port = 8080;
  http::AgentCheck ttl;
  ttl.check.check_id = "web-ttl";
  ttl.check.name = "web alive";
  ttl.check.type = "ttl";
  ttl.check.definition.ttl_ns = 30 * kSecondNs;
  ttl.success_before_passing = 2;
  registration.checks.push_back(ttl);
  return registration;
}

TEST_CASE("Services, checks and TTL status survive a restart; the node ID is kept", "[agent]") {
  TempDir dir;
  FakeClock clock;
  std::string node_id;
  {
    Result<std::unique_ptr<Agent>> agent = Agent::Open(Options(dir), clock);
    REQUIRE(agent.ok());
    node_id = (*agent)->Info().node_id;
    REQUIRE(node_id.size() == 36);
    CHECK((*agent)->Info().version == kRosterVersion);  // Config.Version in agent/self
    REQUIRE((*agent)->RegisterService(Web()).ok());
    REQUIRE((*agent)->UpdateTtlCheck("web-ttl", HealthStatus::kWarning, "slow").ok());
    REQUIRE((*agent)->SetNodeMaintenance(true, "upgrading").ok());
  }
  Result<std::unique_ptr<Agent>> reopened = Agent::Open(Options(dir), clock);
  REQUIRE(reopened.ok());
  CHECK((*reopened)->Info().node_id == node_id);
  std::vector<store::NodeService> services = (*reopened)->Services();
  REQUIRE(services.size() == 1);
  CHECK(services[0] == Web().service);
  std::vector<store::HealthCheck> checks = (*reopened)->Checks();
  REQUIRE(checks.size() == 2);
  CHECK(checks[0].check_id == "_node_maintenance");
  CHECK(checks[0].notes == "upgrading");
  CHECK(checks[1].check_id == "web-ttl");
  CHECK(checks[1].status == HealthStatus::kWarning);
  CHECK(checks[1].output == "slow");
  CHECK(checks[1].service_name == "web");
  CHECK(checks[1].node == "node-a");
  std::optional<http::AgentCheck> ttl = (*reopened)->state().Check("web-ttl");
  REQUIRE(ttl.has_value());
  CHECK(ttl->success_before_passing == 2);
}

TEST_CASE("Deregistering a service removes its checks, also on disk", "[agent]") {
  TempDir dir;
  FakeClock clock;
  {
    Result<std::unique_ptr<Agent>> agent = Agent::Open(Options(dir), clock);
    REQUIRE(agent.ok());
    REQUIRE((*agent)->RegisterService(Web()).ok());
    REQUIRE((*agent)->DeregisterService("web-1").ok());
    Status again = (*agent)->DeregisterService("web-1");
    CHECK(again.code() == StatusCode::kNotFound);
    CHECK(again.message().find("Unknown service ID \"web-1\"") == 0);
  }
  Result<std::unique_ptr<Agent>> reopened = Agent::Open(Options(dir), clock);
  REQUIRE(reopened.ok());
  CHECK((*reopened)->Services().empty());
  CHECK((*reopened)->Checks().empty());
}

TEST_CASE("A check registered again keeps its status and output, as in Consul", "[agent]") {
  TempDir dir;
  FakeClock clock;
  Result<std::unique_ptr<Agent>> agent = Agent::Open(Options(dir), clock);
  REQUIRE(agent.ok());
  REQUIRE((*agent)->RegisterService(Web()).ok());
  REQUIRE((*agent)->UpdateTtlCheck("web-ttl", HealthStatus::kPassing, "alive").ok());

  // A client re-registering on start-up, with a second check this time. The new
  // definition's Status (critical by default) only applies to the new check.
  http::AgentServiceRegistration again = Web();
  again.service.port = 9090;
  http::AgentCheck added = again.checks[0];
  added.check.check_id = "web-ttl-2";
  again.checks.push_back(added);
  REQUIRE((*agent)->RegisterService(again).ok());
  std::vector<store::HealthCheck> checks = (*agent)->Checks();
  REQUIRE(checks.size() == 2);
  CHECK(checks[0].check_id == "web-ttl");
  CHECK(checks[0].status == HealthStatus::kPassing);
  CHECK(checks[0].output == "alive");
  CHECK(checks[1].check_id == "web-ttl-2");
  CHECK(checks[1].status == HealthStatus::kCritical);
  CHECK((*agent)->Services().at(0).port == 9090);

  // The same for a check registered on its own, and across a restart.
  http::AgentCheck node_check;
  node_check.check.check_id = "disk";
  node_check.check.name = "disk";
  node_check.check.type = "ttl";
  node_check.check.definition.ttl_ns = 30 * kSecondNs;
  REQUIRE((*agent)->RegisterCheck(node_check).ok());
  REQUIRE((*agent)->UpdateTtlCheck("disk", HealthStatus::kWarning, "80% full").ok());
  node_check.check.notes = "the data disk";
  REQUIRE((*agent)->RegisterCheck(node_check).ok());
  agent->reset();
  Result<std::unique_ptr<Agent>> reopened = Agent::Open(Options(dir), clock);
  REQUIRE(reopened.ok());
  std::optional<http::AgentCheck> disk = (*reopened)->state().Check("disk");
  REQUIRE(disk.has_value());
  CHECK(disk->check.status == HealthStatus::kWarning);
  CHECK(disk->check.output == "80% full");
  CHECK(disk->check.notes == "the data disk");
}

TEST_CASE("Registering a critical check again does not put off its reaping", "[agent]") {
  TempDir dir;
  FakeClock clock;
  Result<std::unique_ptr<AgentDb>> db = AgentDb::Open(dir / "agent.db");
  REQUIRE(db.ok());
  LocalState state(std::move(*db), clock, "node-a", /*output_sync_interval_ms=*/0);
  http::AgentServiceRegistration web = Web();
  web.checks[0].check.service_id = "web-1";
  web.checks[0].check.definition.deregister_critical_service_after_ns = 60 * kSecondNs;
  REQUIRE(state.PutService(web.service, web.checks).ok());
  clock.AdvanceMs(40'000);
  REQUIRE(state.PutService(web.service, web.checks).ok());
  clock.AdvanceMs(19'999);
  CHECK(state.ServicesToReap().empty());
  clock.AdvanceMs(1);  // 60 s after it first turned critical, not after the second PUT
  CHECK(state.ServicesToReap() == std::vector<std::string>{"web-1"});
}

TEST_CASE("Bad registrations are refused and change nothing", "[agent]") {
  TempDir dir;
  FakeClock clock;
  Result<std::unique_ptr<Agent>> agent = Agent::Open(Options(dir), clock);
  REQUIRE(agent.ok());
  http::AgentCheck orphan;
  orphan.check.check_id = "orphan";
  orphan.check.name = "orphan";
  orphan.check.service_id = "nope";
  Status status = (*agent)->RegisterCheck(orphan);
  CHECK(status.code() == StatusCode::kNotFound);
  CHECK(status.message() == "ServiceID \"nope\" does not exist");

  http::AgentServiceRegistration scripted = Web();
  scripted.checks[0].check.type = "script";
  scripted.checks[0].check.definition.script_args = {"true"};
  status = (*agent)->RegisterService(scripted);
  CHECK(status.code() == StatusCode::kInvalidArgument);
  CHECK(status.message() == kScriptChecksDisabled);

  status = (*agent)->UpdateTtlCheck("missing", HealthStatus::kPassing, "");
  CHECK(status.code() == StatusCode::kNotFound);
  CHECK((*agent)->Services().empty());
  CHECK((*agent)->Checks().empty());
}

TEST_CASE("Only a status change syncs at once; an output change waits", "[agent]") {
  TempDir dir;
  FakeClock clock;
  Result<std::unique_ptr<AgentDb>> db = AgentDb::Open(dir / "agent.db");
  REQUIRE(db.ok());
  LocalState state(std::move(*db), clock, "node-a", /*output_sync_interval_ms=*/300'000);
  int changes = 0;
  state.set_on_change([&changes] { ++changes; });
  http::AgentCheck check;
  check.check.check_id = "c";
  check.check.name = "c";
  check.check.type = "http";
  REQUIRE(state.PutCheck(check).ok());
  CHECK(changes == 1);
  LocalState::Plan plan = state.PlanChanges();
  REQUIRE(plan.checks.size() == 1);
  state.MarkNodeSynced();
  state.MarkCheckSynced("c", plan.checks[0].version);
  CHECK(state.PlanChanges().empty());

  state.UpdateCheck("c", HealthStatus::kCritical, "down at 10:00");  // output only
  CHECK(changes == 1);
  CHECK(state.PlanChanges().empty());
  clock.AdvanceMs(299'999);
  CHECK_FALSE(state.PromoteDueOutputs());
  clock.AdvanceMs(1);
  CHECK(state.PromoteDueOutputs());
  plan = state.PlanChanges();
  REQUIRE(plan.checks.size() == 1);
  CHECK(plan.checks[0].check.output == "down at 10:00");
  state.MarkCheckSynced("c", plan.checks[0].version);

  state.UpdateCheck("c", HealthStatus::kPassing, "up");
  CHECK(changes == 2);
  CHECK(state.PlanChanges().checks.size() == 1);
}

TEST_CASE("A service and its checks become due together, never the service alone",
          "[agent]") {
  TempDir dir;
  FakeClock clock;
  Result<std::unique_ptr<AgentDb>> db = AgentDb::Open(dir / "agent.db");
  REQUIRE(db.ok());
  LocalState state(std::move(*db), clock, "node-a", /*output_sync_interval_ms=*/300'000);
  LocalState::Plan seen_at_first_change;
  int changes = 0;
  // The syncer plans on the first wake-up: what it sees then is what it pushes.
  state.set_on_change([&] {
    if (changes++ == 0) seen_at_first_change = state.PlanChanges();
  });
  http::AgentServiceRegistration web = Web();
  web.checks[0].check.service_id = "web-1";
  web.checks[0].check.status = HealthStatus::kCritical;
  REQUIRE(state.PutService(web.service, web.checks).ok());
  CHECK(changes == 1);
  REQUIRE(seen_at_first_change.services.size() == 1);
  REQUIRE(seen_at_first_change.services[0].checks.size() == 1);
  CHECK(seen_at_first_change.services[0].checks[0].check_id == "web-ttl");
  CHECK(seen_at_first_change.services[0].checks[0].status == HealthStatus::kCritical);
}

TEST_CASE("Config files hold services and checks in Consul's forms", "[agent][config]") {
  ConfigDefinitions definitions;
  REQUIRE(ParseConfigFile("web.json",
                          R"({"service": {"name": "web", "port": 8080,
                               "check": {"http": "http://127.0.0.1:8080/", "interval": "10s"}},
                              "checks": [{"name": "up", "ttl": "30s"}]})",
                          &definitions)
              .ok());
  REQUIRE(definitions.services.size() == 1);
  CHECK(definitions.services[0].service.id == "web");
  REQUIRE(definitions.services[0].checks.size() == 1);
  CHECK(definitions.services[0].checks[0].check.type == "http");
  REQUIRE(definitions.checks.size() == 1);
  CHECK(definitions.checks[0].check.type == "ttl");
  Status bad = ParseConfigFile("bad.json", R"({"service": {"port": 1}})", &definitions);
  CHECK(bad.code() == StatusCode::kInvalidArgument);
  CHECK(bad.message() == "bad.json: Missing service name");
}

}  // namespace
}  // namespace roster::agent
