// NodeLiveness (server/liveness.h), the leader's serfHealth bookkeeping, against a real
// store: a heartbeat registers an unknown node and then costs nothing; silence for the
// failure timeout turns serfHealth critical (and the store invalidates the sessions
// bound to it); a heartbeat brings it back; critical for the reconnect timeout reaps
// it; a new leader gives every node a full period; a leave lists the node as left.
// Time is a number the tests pass in.
#include "server/liveness.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace roster::server {
namespace {

constexpr std::int64_t kFailureMs = 10'000;
constexpr std::int64_t kReconnectMs = 60'000;
constexpr std::int64_t kRetryMs = 1'000;

// A leader's view: a store the commands apply to, and the liveness over it.
class Leader {
 public:
  Leader()
      : liveness_(LivenessOptions{.failure_timeout_ms = kFailureMs,
                                  .reconnect_timeout_ms = kReconnectMs,
                                  .retry_ms = kRetryMs,
                                  .datacenter = "dc1"}) {}

  NodeLiveness& liveness() { return liveness_; }
  const store::CatalogTable& catalog() const { return store_.catalog(); }
  const store::Store& store() const { return store_; }

  store::ApplyResult Apply(const store::Command& command, std::int64_t now_ms) {
    store::ApplyResult result = store_.Apply(++index_, store::Encode(command));
    REQUIRE(result.error.ok());
    liveness_.Applied(command, now_ms);
    return result;
  }

  // A heartbeat; returns whether it led to a registration (which is applied).
  bool Beat(const std::string& node, std::int64_t now_ms, const std::string& address = "10.0.0.1",
            std::optional<store::StringMap> meta = std::nullopt) {
    std::optional<store::CatalogRegister> registration = liveness_.Heartbeat(
        http::NodeHeartbeat{.node = node, .id = "", .address = address, .meta = meta}, catalog(),
        now_ms);
    if (!registration) return false;
    Apply(*registration, now_ms);
    return true;
  }

  // Applies what is due; returns how many commands that was.
  std::size_t Tick(std::int64_t now_ms) {
    const std::vector<store::Command> due = liveness_.TakeDue(catalog(), now_ms, 100);
    for (const store::Command& command : due) Apply(command, now_ms);
    return due.size();
  }

  // serfHealth's status name, or "none" when the node has no such check.
  std::string SerfStatus(const std::string& node) const {
    const store::HealthCheck* check = catalog().FindCheck(node, kSerfHealthCheckId);
    return check == nullptr ? "none" : std::string(store::HealthStatusName(check->status));
  }

 private:
  store::Store store_;
  store::Index index_ = 1;
  NodeLiveness liveness_;
};

TEST_CASE("a heartbeat registers an unknown node with serfHealth passing, then costs nothing",
          "[liveness]") {
  Leader leader;
  CHECK(leader.Beat("web-1", 0, "10.0.0.5", store::StringMap{{"rack", "r1"}}));
  const store::Node* node = leader.catalog().FindNode("web-1");
  REQUIRE(node != nullptr);
  CHECK(node->address == "10.0.0.5");
  CHECK(node->meta == store::StringMap{{"rack", "r1"}});
  const store::HealthCheck* check = leader.catalog().FindCheck("web-1", "serfHealth");
  REQUIRE(check != nullptr);
  CHECK(check->name == "Serf Health Status");
  CHECK(check->status == store::HealthStatus::kPassing);
  CHECK(check->output == "Agent alive and reachable");
  // The same heartbeat again, with or without meta: no Raft write.
  CHECK_FALSE(leader.Beat("web-1", 2'000, "10.0.0.5", store::StringMap{{"rack", "r1"}}));
  CHECK_FALSE(leader.Beat("web-1", 4'000, "10.0.0.5"));
  CHECK(leader.liveness().FailureDeadlineMs("web-1") == 4'000 + kFailureMs);
}

TEST_CASE("a heartbeat with a new address or meta registers the node again, keeping the rest",
          "[liveness]") {
  Leader leader;
  leader.Beat("web-1", 0, "10.0.0.5", store::StringMap{{"rack", "r1"}});
  CHECK(leader.Beat("web-1", 1'000, "10.0.0.6"));
  CHECK(leader.catalog().FindNode("web-1")->address == "10.0.0.6");
  CHECK(leader.catalog().FindNode("web-1")->meta == store::StringMap{{"rack", "r1"}});
  CHECK(leader.Beat("web-1", 2'000, "10.0.0.6", store::StringMap{}));
  CHECK(leader.catalog().FindNode("web-1")->meta.empty());
}

TEST_CASE("a heartbeat's registration does not undo a registration that got in first",
          "[liveness]") {
  Leader leader;
  const http::NodeHeartbeat beat{.node = "web-1", .id = "", .address = "10.0.0.5", .meta = {}};
  // Proposed while the catalog has no web-1...
  std::optional<store::CatalogRegister> from_beat =
      leader.liveness().Heartbeat(beat, leader.catalog(), 0);
  REQUIRE(from_beat.has_value());
  // ...but the agent's own registration, with what a heartbeat does not say, applies first.
  leader.Apply(
      store::CatalogRegister{.node = "web-1",
                             .id = "0e5cc9a4-4bb4-4e0b-9a8f-0d3c1f1c0b5e",
                             .address = "10.0.0.5",
                             .checks = {},
                             .datacenter = "dc1",
                             .tagged_addresses = {{"lan", "10.0.0.5"}, {"wan", "10.0.0.5"}},
                             .node_meta = {{"rack", "r1"}}},
      0);
  leader.Apply(*from_beat, 0);
  const store::Node* node = leader.catalog().FindNode("web-1");
  REQUIRE(node != nullptr);
  CHECK(node->id == "0e5cc9a4-4bb4-4e0b-9a8f-0d3c1f1c0b5e");
  CHECK(node->tagged_addresses == store::StringMap{{"lan", "10.0.0.5"}, {"wan", "10.0.0.5"}});
  CHECK(node->meta == store::StringMap{{"rack", "r1"}});
  CHECK(leader.SerfStatus("web-1") == "passing");  // the heartbeat's check still counts
}

TEST_CASE("a registration in flight is not proposed again before the retry time",
          "[liveness]") {
  Leader leader;
  const http::NodeHeartbeat beat{.node = "web-1", .id = "", .address = "10.0.0.5", .meta = {}};
  CHECK(leader.liveness().Heartbeat(beat, leader.catalog(), 0).has_value());
  // Not applied yet (still in Raft): the next heartbeats do not propose it twice.
  CHECK_FALSE(leader.liveness().Heartbeat(beat, leader.catalog(), 500).has_value());
  // Lost (say, leadership wobbled): proposed again after the retry time.
  CHECK(leader.liveness().Heartbeat(beat, leader.catalog(), kRetryMs).has_value());
}

TEST_CASE("silence for the failure timeout turns serfHealth critical, not a moment before",
          "[liveness]") {
  Leader leader;
  leader.Beat("web-1", 0);
  leader.Beat("web-1", 5'000);
  CHECK(leader.Tick(5'000 + kFailureMs - 1) == 0);
  CHECK(leader.SerfStatus("web-1") == "passing");
  CHECK(leader.Tick(5'000 + kFailureMs) == 1);
  CHECK(leader.SerfStatus("web-1") == "critical");
  const store::HealthCheck* check = leader.catalog().FindCheck("web-1", "serfHealth");
  CHECK(check->output == "Agent not live or unreachable");
  CHECK(leader.catalog().FindNode("web-1")->address == "10.0.0.1");  // the node stays
  CHECK(leader.Tick(5'000 + kFailureMs + kRetryMs) == 0);  // done: nothing proposed again
}

TEST_CASE("a critical serfHealth invalidates the sessions bound to it", "[liveness]") {
  Leader leader;
  leader.Beat("web-1", 0);
  store::Session session;
  session.id = "11111111-2222-3333-4444-555555555555";
  session.node = "web-1";
  session.node_checks = {"serfHealth"};
  leader.Apply(store::SessionCreate{session}, 0);
  leader.Apply(store::KvLock{.key = "lock", .value = "", .flags = 0, .session = session.id}, 0);
  REQUIRE(leader.store().sessions().Find(session.id) != nullptr);
  const std::vector<store::Command> due = leader.liveness().TakeDue(leader.catalog(), kFailureMs, 10);
  REQUIRE(due.size() == 1);
  const store::ApplyResult result = leader.Apply(due[0], kFailureMs);
  REQUIRE(result.invalidated_sessions.size() == 1);
  CHECK(result.invalidated_sessions[0].id == session.id);
  CHECK(result.invalidated_sessions[0].keys == std::vector<std::string>{"lock"});
  CHECK(leader.store().sessions().Find(session.id) == nullptr);
}

TEST_CASE("a critical proposal that is lost is proposed again after the retry time",
          "[liveness]") {
  Leader leader;
  leader.Beat("web-1", 0);
  CHECK(leader.liveness().TakeDue(leader.catalog(), kFailureMs, 10).size() == 1);  // lost
  CHECK(leader.liveness().TakeDue(leader.catalog(), kFailureMs + kRetryMs - 1, 10).empty());
  CHECK(leader.Tick(kFailureMs + kRetryMs) == 1);
  CHECK(leader.SerfStatus("web-1") == "critical");
}

TEST_CASE("a heartbeat after failure makes serfHealth passing again", "[liveness]") {
  Leader leader;
  leader.Beat("web-1", 0);
  leader.Tick(kFailureMs);
  REQUIRE(leader.SerfStatus("web-1") == "critical");
  CHECK(leader.Beat("web-1", kFailureMs + 3'000));
  CHECK(leader.SerfStatus("web-1") == "passing");
  CHECK(leader.liveness().ReapDeadlineMs("web-1") == -1);
  CHECK(leader.Tick(kFailureMs + 3'000 + kReconnectMs) == 1);  // failed again, not reaped
  CHECK(leader.SerfStatus("web-1") == "critical");
}

TEST_CASE("a node critical for the reconnect timeout is reaped from the catalog",
          "[liveness]") {
  Leader leader;
  leader.Beat("web-1", 0);
  leader.Beat("db-1", 0);
  leader.Tick(kFailureMs);  // both fail
  leader.Beat("db-1", kFailureMs + 1);  // db-1 comes back
  CHECK(leader.Tick(kFailureMs + kReconnectMs - 1) == 1);  // db-1 fails again; web-1 stays
  CHECK(leader.catalog().FindNode("web-1") != nullptr);
  CHECK(leader.Tick(kFailureMs + kReconnectMs) == 1);
  CHECK(leader.catalog().FindNode("web-1") == nullptr);
  CHECK(leader.catalog().FindNode("db-1") != nullptr);
  CHECK(leader.liveness().ReapDeadlineMs("web-1") == -1);
  CHECK(leader.liveness().FailureDeadlineMs("web-1") == -1);
}

TEST_CASE("a new leader gives every node a full period, whatever the old deadlines were",
          "[liveness]") {
  Leader leader;
  leader.Beat("web-1", 0);
  leader.Beat("db-1", 0);
  leader.Tick(kFailureMs);  // both critical
  leader.Beat("web-1", kFailureMs);  // web-1 alive again
  const std::int64_t elected_ms = kFailureMs + 9'000;  // web-1 was 1 s from failing
  leader.liveness().Clear();
  leader.liveness().Restart(leader.catalog(), elected_ms);
  CHECK(leader.liveness().FailureDeadlineMs("web-1") == elected_ms + kFailureMs);
  CHECK(leader.liveness().ReapDeadlineMs("db-1") == elected_ms + kReconnectMs);
  CHECK(leader.Tick(elected_ms + kFailureMs - 1) == 0);
  CHECK(leader.SerfStatus("web-1") == "passing");
}

TEST_CASE("a serfHealth registered by someone else starts a timer", "[liveness]") {
  Leader leader;
  // A server registering itself through the write path, not a heartbeat.
  store::HealthCheck check;
  check.node = "server-1";
  check.check_id = "serfHealth";
  check.name = "Serf Health Status";
  check.status = store::HealthStatus::kPassing;
  leader.Apply(store::CatalogRegister{.node = "server-1", .id = "", .address = "127.0.0.1",
                                      .checks = {check}},
               1'000);
  CHECK(leader.liveness().FailureDeadlineMs("server-1") == 1'000 + kFailureMs);
  CHECK(leader.Tick(1'000 + kFailureMs) == 1);
  CHECK(leader.SerfStatus("server-1") == "critical");
}

TEST_CASE("a deregistered node loses its timers", "[liveness]") {
  Leader leader;
  leader.Beat("web-1", 0);
  leader.Apply(store::CatalogDeregister{.node = "web-1", .check_id = ""}, 1'000);
  CHECK(leader.liveness().FailureDeadlineMs("web-1") == -1);
  CHECK(leader.Tick(kFailureMs * 10) == 0);
}

TEST_CASE("a leave stops the timers and lists the node as left for the reconnect timeout",
          "[liveness]") {
  Leader leader;
  leader.Beat("web-1", 0, "10.0.0.5");
  leader.Beat("db-1", 0, "10.0.0.6");
  leader.liveness().Leave("web-1", leader.catalog(), 1'000);
  leader.Apply(store::CatalogDeregister{.node = "web-1", .check_id = ""}, 1'000);
  CHECK(leader.Tick(kFailureMs) == 1);  // only db-1 fails
  REQUIRE(leader.liveness().left().size() == 1);
  CHECK(leader.liveness().left()[0].address == "10.0.0.5");

  std::vector<http::AgentMember> members =
      MembersOf(leader.catalog(), leader.liveness().left(), "dc1", "0.1.0");
  REQUIRE(members.size() == 2);
  CHECK(members[0].name == "db-1");
  CHECK(members[0].status == 4);  // failed
  CHECK(members[0].tags.at("role") == "node");
  CHECK(members[1].name == "web-1");
  CHECK(members[1].status == 3);  // left
  CHECK(members[1].address == "10.0.0.5");

  leader.Tick(1'000 + kReconnectMs);
  CHECK(leader.liveness().left().empty());
}

TEST_CASE("members show a server's role and port from its service consul", "[liveness]") {
  Leader leader;
  store::HealthCheck check;
  check.node = "server-1";
  check.check_id = "serfHealth";
  check.status = store::HealthStatus::kPassing;
  store::NodeService consul;
  consul.id = "consul";
  consul.service = "consul";
  consul.port = 8300;
  consul.meta = {{"expect", "3"}};
  leader.Apply(store::CatalogRegister{.node = "server-1", .id = "42", .address = "127.0.0.1",
                                      .checks = {check}, .service = consul},
               0);
  leader.Apply(store::CatalogRegister{.node = "no-serf", .id = "", .address = "127.0.0.2",
                                      .checks = {}},
               0);
  const std::vector<http::AgentMember> members =
      MembersOf(leader.catalog(), {}, "dc1", "0.1.0");
  REQUIRE(members.size() == 1);  // a node without serfHealth is no member
  CHECK(members[0].status == 1);
  CHECK(members[0].port == 8301);
  CHECK(members[0].tags.at("role") == "consul");
  CHECK(members[0].tags.at("port") == "8300");
  CHECK(members[0].tags.at("expect") == "3");
  CHECK(members[0].tags.at("id") == "42");
  CHECK(members[0].tags.at("dc") == "dc1");
}

}  // namespace
}  // namespace roster::server
