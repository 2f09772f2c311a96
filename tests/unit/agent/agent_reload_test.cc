// Agent::Reload: the -config-dir files as the agent holds them, at start, on SIGHUP and on
// PUT /v1/agent/reload (docs/agent.md, "Config files").
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "base/clock.h"
#include "tests/unit/server/temp_dir.h"

#include <catch2/catch.hpp>

namespace roster::agent {
namespace {

using server::testing::TempDir;
using store::HealthStatus;

// An agent over a -config-dir in a temp dir (or none), never started: no request goes
// out.
class ConfiguredAgent {
 public:
  explicit ConfiguredAgent(bool with_config_dir = true) : with_config_dir_(with_config_dir) {
    std::filesystem::create_directories(config_dir());
  }

  // The next Open passes -config-dir, or not.
  void set_with_config_dir(bool with) { with_config_dir_ = with; }

  std::string config_dir() const { return dir_ / "config"; }

  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(config_dir() + "/" + name) << text;
  }
  void Remove(const std::string& name) const {
    std::filesystem::remove(config_dir() + "/" + name);
  }

  Agent& Open() {
    agent_.reset();  // a restart
    AgentOptions options;
    options.node_name = "node-a";
    options.data_dir = dir_ / "agent";
    options.servers = {"127.0.0.1:1"};
    if (with_config_dir_) options.config_dir = config_dir();
    Result<std::unique_ptr<Agent>> agent = Agent::Open(std::move(options), clock_);
    REQUIRE(agent.ok());
    agent_ = std::move(*agent);
    return *agent_;
  }

  std::vector<std::string> ServiceIds() const {
    std::vector<std::string> ids;
    for (const store::NodeService& service : agent_->Services()) ids.push_back(service.id);
    return ids;
  }
  std::vector<std::string> CheckIds() const {
    std::vector<std::string> ids;
    for (const store::HealthCheck& check : agent_->Checks()) ids.push_back(check.check_id);
    return ids;
  }
  std::optional<store::HealthCheck> Check(const std::string& id) const {
    for (const store::HealthCheck& check : agent_->Checks()) {
      if (check.check_id == id) return check;
    }
    return std::nullopt;
  }

 private:
  bool with_config_dir_;
  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Agent> agent_;
};

constexpr const char* kWeb =
    R"({"service": {"id": "web-1", "name": "web", "port": 80, "tags": ["v1"],
                    "check": {"id": "web-ttl", "ttl": "30s"}}})";
constexpr const char* kDb = R"({"service": {"id": "db-1", "name": "db", "port": 5432}})";
constexpr const char* kDisk = R"({"check": {"id": "disk", "name": "disk", "ttl": "30s"}})";

http::AgentServiceRegistration ApiService(const std::string& id) {
  http::AgentServiceRegistration registration;
  registration.service.id = id;
  registration.service.service = "api";
  return registration;
}

using Ids = std::vector<std::string>;

TEST_CASE("Reload adds, updates and removes what the files define; API entries stay",
          "[agent]") {
  ConfiguredAgent configured;
  configured.Write("web.json", kWeb);
  configured.Write("db.json", kDb);
  configured.Write("disk.json", kDisk);
  Agent& agent = configured.Open();
  REQUIRE(agent.Reload().ok());
  REQUIRE(agent.RegisterService(ApiService("api-1")).ok());
  CHECK(configured.ServiceIds() == Ids{"api-1", "db-1", "web-1"});
  CHECK(configured.CheckIds() == Ids{"disk", "web-ttl"});
  REQUIRE(agent.UpdateTtlCheck("web-ttl", HealthStatus::kPassing, "fine").ok());

  configured.Remove("db.json");
  configured.Remove("disk.json");
  configured.Write("web.json", R"({"service": {"id": "web-1", "name": "web", "port": 80,
      "tags": ["v2"], "check": {"id": "web-ttl", "ttl": "30s"}}})");
  REQUIRE(agent.Reload().ok());
  CHECK(configured.ServiceIds() == Ids{"api-1", "web-1"});
  CHECK(configured.CheckIds() == Ids{"web-ttl"});
  CHECK(agent.Services()[1].tags == Ids{"v2"});
  // Registered again, the check keeps its status rather than flapping to critical.
  REQUIRE(configured.Check("web-ttl").has_value());
  CHECK(configured.Check("web-ttl")->status == HealthStatus::kPassing);
}

TEST_CASE("A service's check dropped from its file goes with the reload", "[agent]") {
  ConfiguredAgent configured;
  configured.Write("web.json", kWeb);
  Agent& agent = configured.Open();
  REQUIRE(agent.Reload().ok());
  configured.Write("web.json", R"({"service": {"id": "web-1", "name": "web"}})");
  REQUIRE(agent.Reload().ok());
  CHECK(configured.ServiceIds() == Ids{"web-1"});
  CHECK(configured.CheckIds().empty());
}

TEST_CASE("A check registered through the API on a service of the files stays", "[agent]") {
  ConfiguredAgent configured;
  configured.Write("web.json", kWeb);
  Agent& agent = configured.Open();
  REQUIRE(agent.Reload().ok());
  http::AgentCheck extra;
  extra.check.check_id = "web-extra";
  extra.check.name = "extra";
  extra.check.service_id = "web-1";
  extra.check.type = "ttl";
  extra.check.definition.ttl_ns = 30'000'000'000;
  REQUIRE(agent.RegisterCheck(extra).ok());
  REQUIRE(agent.Reload().ok());
  CHECK(configured.CheckIds() == Ids{"web-extra", "web-ttl"});
}

TEST_CASE("A restart drops what was removed from the files while the agent was down",
          "[agent]") {
  ConfiguredAgent configured;
  configured.Write("web.json", kWeb);
  configured.Write("db.json", kDb);
  REQUIRE(configured.Open().Reload().ok());
  REQUIRE(configured.ServiceIds() == Ids{"db-1", "web-1"});

  configured.Remove("db.json");
  Agent& restarted = configured.Open();
  // agent.db brought both back; the files own db-1, and they no longer define it.
  CHECK(configured.ServiceIds() == Ids{"db-1", "web-1"});
  REQUIRE(restarted.Reload().ok());
  CHECK(configured.ServiceIds() == Ids{"web-1"});
}

TEST_CASE("A reload that cannot apply changes nothing and names the file", "[agent]") {
  ConfiguredAgent configured;
  configured.Write("web.json", kWeb);
  configured.Write("db.json", kDb);
  Agent& agent = configured.Open();
  REQUIRE(agent.Reload().ok());
  const Ids services = configured.ServiceIds();
  const Ids checks = configured.CheckIds();

  struct Case {
    const char* file;
    const char* text;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"web.json", "{\"service\": ", "web.json: "},
      {"web.json", R"({"service": {"port": 1}})", "web.json: Missing service name"},
      {"extra.json", R"({"check": {"id": "x", "name": "x", "ttl": "5s", "service_id": "nope"}})",
       "ServiceID \"nope\" does not exist"},
      {"extra.json", R"({"check": {"id": "x", "name": "x", "args": ["/bin/true"], "interval": "5s"}})",
       "Scripts are disabled on this agent"},
      {"extra.json", R"({"service": {"id": "web-1", "name": "other"}})",
       "service ID \"web-1\" is defined twice"},
  };
  for (const Case& bad : cases) {
    CAPTURE(bad.file, bad.text);
    configured.Remove("db.json");  // would be removed, were the reload applied
    configured.Write(bad.file, bad.text);
    Status reloaded = agent.Reload();
    CHECK(reloaded.code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(reloaded.message(), Catch::Contains(bad.says));
    CHECK_THAT(reloaded.message(), Catch::EndsWith("nothing was changed"));
    CHECK(configured.ServiceIds() == services);
    CHECK(configured.CheckIds() == checks);
    configured.Remove("extra.json");
    configured.Write("web.json", kWeb);
    configured.Write("db.json", kDb);
  }
}

TEST_CASE("Whoever registered an id last owns it: the files or the API", "[agent]") {
  ConfiguredAgent configured;
  configured.Write("web.json", kWeb);
  Agent& agent = configured.Open();
  REQUIRE(agent.Reload().ok());

  SECTION("the API takes a service over from the files") {
    http::AgentServiceRegistration web = ApiService("web-1");
    REQUIRE(agent.RegisterService(web).ok());
    configured.Remove("web.json");
    REQUIRE(agent.Reload().ok());
    CHECK(configured.ServiceIds() == Ids{"web-1"});
    // And so across a restart.
    REQUIRE(configured.Open().Reload().ok());
    CHECK(configured.ServiceIds() == Ids{"web-1"});
  }
  SECTION("the files take a service over from the API") {
    configured.Remove("web.json");
    REQUIRE(agent.Reload().ok());
    REQUIRE(agent.RegisterService(ApiService("db-1")).ok());
    configured.Write("db.json", kDb);
    REQUIRE(agent.Reload().ok());
    configured.Remove("db.json");
    REQUIRE(agent.Reload().ok());
    CHECK(configured.ServiceIds().empty());
  }
  SECTION("a service the files own and the API removed is not an error") {
    REQUIRE(agent.DeregisterService("web-1").ok());
    configured.Remove("web.json");
    REQUIRE(agent.Reload().ok());
    CHECK(configured.ServiceIds().empty());
  }
}

TEST_CASE("A check moved by the files to another service follows them", "[agent]") {
  ConfiguredAgent configured;
  configured.Write("web.json", kWeb);
  Agent& agent = configured.Open();
  REQUIRE(agent.Reload().ok());
  configured.Write("web.json", R"({"services": [{"id": "web-1", "name": "web"},
      {"id": "web-2", "name": "web", "check": {"id": "web-ttl", "ttl": "30s"}}]})");
  REQUIRE(agent.Reload().ok());
  REQUIRE(configured.Check("web-ttl").has_value());
  CHECK(configured.Check("web-ttl")->service_id == "web-2");
}

TEST_CASE("Restarted without its -config-dir, the agent drops what the files defined", "[agent]") {
  ConfiguredAgent configured;
  configured.Write("web.json", kWeb);
  REQUIRE(configured.Open().Reload().ok());
  REQUIRE(configured.Open().RegisterService(ApiService("api-1")).ok());
  configured.set_with_config_dir(false);
  REQUIRE(configured.Open().Reload().ok());
  CHECK(configured.ServiceIds() == Ids{"api-1"});
  CHECK(configured.CheckIds().empty());
}

TEST_CASE("Without a -config-dir a reload has nothing to do", "[agent]") {
  ConfiguredAgent configured(/*with_config_dir=*/false);
  configured.Write("web.json", kWeb);  // not read
  Agent& agent = configured.Open();
  REQUIRE(agent.RegisterService(ApiService("api-1")).ok());
  CHECK(agent.Reload().ok());
  CHECK(configured.ServiceIds() == Ids{"api-1"});
}

}  // namespace
}  // namespace roster::agent
