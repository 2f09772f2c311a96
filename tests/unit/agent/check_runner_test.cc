// Check runners: the probes against real sockets and processes, and the runner's
// timing and flap damping on a fake clock.
#include <sys/socket.h>

#include <map>

#include "agent/check_runner.h"
#include "agent/probes.h"
#include "base/clock.h"
#include "tests/unit/agent/fake_upstream.h"

#include <catch2/catch.hpp>

namespace roster::agent {
namespace {

using store::HealthStatus;
using testing::FakeUpstream;

constexpr std::uint64_t kMsNs = 1'000'000;

TEST_CASE("HTTP probe: 2xx passing, 429 warning, anything else critical", "[agent][probe]") {
  FakeUpstream target;
  for (int code : {200, 204, 429, 500, 404}) {
    target.Get("/status/" + std::to_string(code), [code](const httplib::Request& request,
                                                         httplib::Response& response) {
      response.status = code;
      response.set_content("said " + request.get_header_value("X-Probe"), "text/plain");
    });
  }
  const std::map<int, HealthStatus> expected = {{200, HealthStatus::kPassing},
                                                {204, HealthStatus::kPassing},
                                                {429, HealthStatus::kWarning},
                                                {500, HealthStatus::kCritical},
                                                {404, HealthStatus::kCritical}};
  for (const auto& [code, status] : expected) {
    store::CheckDefinition definition;
    definition.http = "http://" + target.address() + "/status/" + std::to_string(code);
    definition.header["X-Probe"] = {"hello"};
    ProbeResult result = RunHttpProbe(definition, 2'000);
    INFO(code << ": " << result.output);
    CHECK(result.status == status);
    if (code != 204) CHECK(result.output.find("Output: said hello") != std::string::npos);
  }
  store::CheckDefinition closed;
  closed.http = "http://127.0.0.1:" + std::to_string(testing::ClosedPort()) + "/";
  CHECK(RunHttpProbe(closed, 2'000).status == HealthStatus::kCritical);
}

TEST_CASE("HTTP probe sends the Method and Body it is given", "[agent][probe]") {
  FakeUpstream target;
  target.Put("/echo", [](const httplib::Request& request, httplib::Response& response) {
    response.status = request.body == "ping" ? 200 : 400;
  });
  store::CheckDefinition definition;
  definition.http = "http://" + target.address() + "/echo";
  definition.method = "PUT";
  definition.body = "ping";
  CHECK(RunHttpProbe(definition, 2'000).status == HealthStatus::kPassing);
}

TEST_CASE("TCP probe: a listening port passes, a closed one is critical", "[agent][probe]") {
  FakeUpstream listening;
  CHECK(RunTcpProbe(listening.address(), 2'000).status == HealthStatus::kPassing);
  ProbeResult closed = RunTcpProbe("127.0.0.1:" + std::to_string(testing::ClosedPort()), 2'000);
  CHECK(closed.status == HealthStatus::kCritical);
  CHECK(closed.output.find("refused") != std::string::npos);
}

TEST_CASE("Script probe: exit 0 passing, 1 warning, else critical; killed at the timeout",
          "[agent][probe]") {
  CHECK(RunScriptProbe({"sh", "-c", "echo fine; exit 0"}, 5'000).status == HealthStatus::kPassing);
  CHECK(RunScriptProbe({"sh", "-c", "exit 1"}, 5'000).status == HealthStatus::kWarning);
  ProbeResult failed = RunScriptProbe({"sh", "-c", "echo broken >&2; exit 2"}, 5'000);
  CHECK(failed.status == HealthStatus::kCritical);
  CHECK(failed.output == "broken\n");
  ProbeResult slow = RunScriptProbe({"sleep", "30"}, 200);
  CHECK(slow.status == HealthStatus::kCritical);
  CHECK(slow.output.find("Timed out") == 0);
  CHECK(RunScriptProbe({"/nonexistent/check"}, 1'000).status == HealthStatus::kCritical);
}

// A runner on a fake clock whose probe returns what the test scripts.
struct RunnerFixture {
  explicit RunnerFixture(CheckRunner::Options options = {})
      : scheduler(clock),
        runner(scheduler, executor, options,
               [this](const std::string& id, HealthStatus status, const std::string& output) {
                 reported.push_back({id, status, output});
               }) {
    runner.set_probe_for_testing([this](const store::HealthCheck&, std::int64_t) {
      ++runs;
      ProbeResult result = next;
      return result;
    });
  }

  struct Report {
    std::string id;
    HealthStatus status;
    std::string output;
  };

  FakeClock clock;
  Scheduler scheduler;
  InlineExecutor executor;
  CheckRunner runner;
  ProbeResult next;
  int runs = 0;
  std::vector<Report> reported;
};

http::AgentCheck HttpCheck(std::int64_t interval_ms) {
  http::AgentCheck check;
  check.check.check_id = "web";
  check.check.type = "http";
  check.check.definition.http = "http://unused";
  check.check.definition.interval_ns = static_cast<std::uint64_t>(interval_ms) * kMsNs;
  return check;
}

TEST_CASE("A TTL check turns critical when its TTL passes without an update", "[agent]") {
  RunnerFixture f;
  http::AgentCheck check;
  check.check.check_id = "ttl";
  check.check.type = "ttl";
  check.check.definition.ttl_ns = 10'000 * kMsNs;
  f.runner.Add(check);
  f.clock.AdvanceMs(6'000);
  f.scheduler.RunDue();
  f.runner.TtlUpdate("ttl", HealthStatus::kPassing, "ok");
  f.clock.AdvanceMs(9'999);  // 10 s after the update is not yet reached
  f.scheduler.RunDue();
  REQUIRE(f.reported.size() == 1);
  CHECK(f.reported[0].status == HealthStatus::kPassing);
  f.clock.AdvanceMs(1);
  f.scheduler.RunDue();
  REQUIRE(f.reported.size() == 2);
  CHECK(f.reported[1].status == HealthStatus::kCritical);
  CHECK(f.reported[1].output == "TTL expired");
}

TEST_CASE("Polled checks run at once, then every Interval", "[agent]") {
  RunnerFixture f;
  f.next = {HealthStatus::kPassing, "ok"};
  f.runner.Add(HttpCheck(5'000));
  f.scheduler.RunDue();
  CHECK(f.runs == 1);
  f.clock.AdvanceMs(4'999);
  f.scheduler.RunDue();
  CHECK(f.runs == 1);
  f.clock.AdvanceMs(1);
  f.scheduler.RunDue();
  CHECK(f.runs == 2);
  f.runner.Remove("web");
  f.clock.AdvanceMs(10'000);
  f.scheduler.RunDue();
  CHECK(f.runs == 2);
}

TEST_CASE("SuccessBeforePassing and FailuresBeforeCritical damp flapping", "[agent]") {
  RunnerFixture f;
  http::AgentCheck check = HttpCheck(1'000);
  check.success_before_passing = 2;
  check.failures_before_critical = 3;
  f.runner.Add(check);
  auto run = [&f](HealthStatus status) {
    f.next = {status, ""};
    f.scheduler.RunDue();
    f.clock.AdvanceMs(1'000);
  };
  run(HealthStatus::kPassing);
  CHECK(f.reported.empty());  // one success of two
  run(HealthStatus::kPassing);
  REQUIRE(f.reported.size() == 1);
  CHECK(f.reported.back().status == HealthStatus::kPassing);
  run(HealthStatus::kCritical);
  run(HealthStatus::kCritical);
  run(HealthStatus::kPassing);  // resets the failures; one success of two
  run(HealthStatus::kCritical);
  run(HealthStatus::kCritical);
  CHECK(f.reported.size() == 1);  // two failures of three
  run(HealthStatus::kCritical);
  REQUIRE(f.reported.size() == 2);
  CHECK(f.reported.back().status == HealthStatus::kCritical);
}

TEST_CASE("Check output is capped at 4 KB", "[agent]") {
  RunnerFixture f;
  f.next = {HealthStatus::kPassing, std::string(10'000, 'x')};
  f.runner.Add(HttpCheck(1'000));
  f.scheduler.RunDue();
  REQUIRE(f.reported.size() == 1);
  CHECK(f.reported[0].output.size() == 4096);
  f.runner.TtlUpdate("web", HealthStatus::kPassing, std::string(5'000, 'y'));
  CHECK(f.reported.back().output.size() == 4096);
}

TEST_CASE("Script checks run only when enabled", "[agent]") {
  http::AgentCheck check;
  check.check.check_id = "script";
  check.check.type = "script";
  check.check.definition.script_args = {"sh", "-c", "exit 1"};
  check.check.definition.interval_ns = 1'000 * kMsNs;
  {
    RunnerFixture off;
    off.runner.set_probe_for_testing(&CheckRunner::DefaultProbe);
    off.runner.Add(check);
    off.scheduler.RunDue();
    CHECK(off.reported.empty());
  }
  CheckRunner::Options options;
  options.enable_script_checks = true;
  RunnerFixture on(options);
  on.runner.set_probe_for_testing(&CheckRunner::DefaultProbe);
  on.runner.Add(check);
  on.scheduler.RunDue();
  REQUIRE(on.reported.size() == 1);
  CHECK(on.reported[0].status == HealthStatus::kWarning);
}

}  // namespace
}  // namespace roster::agent
