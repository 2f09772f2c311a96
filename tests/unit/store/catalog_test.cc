// The catalog's nodes and checks, and the session contract it drives (consul-api.md
// §3.1): a bound check turning critical or deregistered, or the node deregistered,
// invalidates the session in the same log entry.
#include <string>
#include <vector>

#include "store/command.h"
#include "store/store.h"
#include "store/watch_set.h"
#include "tests/unit/store/fixtures.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::store {
namespace {

using namespace testing;
using Ids = std::vector<std::string>;

Ids EndedIds(const ApplyResult& result) {
  Ids ids;
  for (const InvalidatedSession& ended : result.invalidated_sessions) ids.push_back(ended.id);
  return ids;
}

Ids SessionIds(const Store& store) {
  Ids ids;
  for (const auto& [id, session] : store.sessions().sessions()) ids.push_back(id);
  return ids;
}

TEST_CASE("register creates the node and its checks, stamped with the index") {
  Store store;
  ApplyResult result = Register(
      store, 4, "n1",
      {Check("serfHealth", HealthStatus::kPassing), Check("disk", HealthStatus::kWarning)});
  CHECK(result.ok);
  const Node* node = store.catalog().FindNode("n1");
  REQUIRE(node != nullptr);
  CHECK(*node == Node{.name = "n1",
                      .id = "id-n1",
                      .address = "10.0.0.1",
                      .create_index = 4,
                      .modify_index = 4});
  const std::vector<HealthCheck> checks = store.catalog().ListChecks("n1");
  REQUIRE(checks.size() == 2);
  CHECK(checks[0].check_id == "disk");  // in check id order
  CHECK(checks[0].node == "n1");
  CHECK(checks[0].status == HealthStatus::kWarning);
  CHECK(checks[0].create_index == 4);
  CHECK(checks[1].check_id == "serfHealth");
  CHECK(store.catalog().NodesIndex() == 4);
  CHECK(store.catalog().ChecksIndex() == 4);
  CHECK(result.changes.keys == std::vector<ChangedKey>{{Table::kNodes, "n1"},
                                                       {Table::kChecks, "n1"},
                                                       {Table::kChecks, "n1"}});
  CHECK(HealthStatusName(HealthStatus::kCritical) == "critical");
}

TEST_CASE("a re-registration that changes nothing bumps no index and wakes nobody") {
  Store store;
  Register(store, 1, "n1", {Check("serfHealth", HealthStatus::kPassing)});
  ApplyResult same = Register(store, 2, "n1", {Check("serfHealth", HealthStatus::kPassing)});
  CHECK(same.ok);
  CHECK(same.changes.empty());
  CHECK(store.catalog().FindNode("n1")->modify_index == 1);
  CHECK(store.catalog().NodesIndex() == 1);

  SECTION("a new output is a change of the check only") {
    HealthCheck check = Check("serfHealth", HealthStatus::kPassing);
    check.output = "Agent alive and reachable";
    ApplyResult changed = Register(store, 3, "n1", {check});
    CHECK(changed.changes.keys == std::vector<ChangedKey>{{Table::kChecks, "n1"}});
    CHECK(store.catalog().FindCheck("n1", "serfHealth")->modify_index == 3);
    CHECK(store.catalog().FindCheck("n1", "serfHealth")->create_index == 1);
    CHECK(store.catalog().FindNode("n1")->modify_index == 1);
  }
}

TEST_CASE("a register without a node name or with a check without an id is refused") {
  Store store;
  CHECK(store.Apply(1, Encode(CatalogRegister{"", "", "", {}})).error.message() ==
        "Must provide node");
  ApplyResult no_id = Register(store, 2, "n1", {Check("", HealthStatus::kPassing)});
  CHECK(no_id.error.message() == "Missing check ID");
  CHECK(store.catalog().nodes().empty());
}

TEST_CASE("a bound check turning critical invalidates its sessions in the same entry") {
  Store store = StoreWithSessions();
  Register(store, 4, "n1", {Check("other", HealthStatus::kPassing)});
  CreateSession(store, 5, NewSession("s3", "n1", SessionBehavior::kRelease, {"other"}));
  Lock(store, 6, "lock", "s1");
  Lock(store, 7, "ephemeral", "s2");
  Lock(store, 8, "safe", "s3");

  ApplyResult result = Register(store, 9, "n1", {Check("serfHealth", HealthStatus::kCritical)});
  CHECK(result.ok);
  CHECK(EndedIds(result) == Ids{"s1", "s2"});
  CHECK(store.sessions().Find("s1") == nullptr);
  CHECK(store.sessions().Find("s2") == nullptr);
  CHECK(store.sessions().Find("s3") != nullptr);
  CHECK(store.kv().Get("lock")->session.empty());
  CHECK(store.kv().Get("lock")->modify_index == 9);
  CHECK_FALSE(store.kv().Get("ephemeral").has_value());
  CHECK(store.kv().Get("safe")->session == "s3");
  CHECK(store.catalog().FindCheck("n1", "serfHealth")->status == HealthStatus::kCritical);
  CHECK(result.changes.index == 9);

  SECTION("a session cannot bind to the critical check any more") {
    CHECK_FALSE(
        CreateSession(store, 10, NewSession("s4", "n1", SessionBehavior::kRelease, {"serfHealth"}))
            .ok);
  }
}

TEST_CASE("warning does not invalidate") {
  Store store = StoreWithSessions();
  ApplyResult result = Register(store, 4, "n1", {Check("serfHealth", HealthStatus::kWarning)});
  CHECK(result.invalidated_sessions.empty());
  CHECK(store.sessions().sessions().size() == 2);
}

TEST_CASE("deregistering a bound check invalidates its sessions") {
  Store store = StoreWithSessions();
  Register(store, 4, "n1", {Check("other", HealthStatus::kPassing)});
  CreateSession(store, 5, NewSession("s3", "n1"));  // bound to no check
  ApplyResult result = Deregister(store, 6, "n1", "serfHealth");
  CHECK(EndedIds(result) == Ids{"s1", "s2"});
  CHECK(store.catalog().FindCheck("n1", "serfHealth") == nullptr);
  CHECK(store.catalog().FindCheck("n1", "other") != nullptr);
  CHECK(store.catalog().FindNode("n1") != nullptr);
  CHECK(SessionIds(store) == Ids{"s3"});
}

TEST_CASE("deregistering a node removes its checks and every session on it") {
  Store store = StoreWithSessions();
  Register(store, 4, "n2", {Check("serfHealth", HealthStatus::kPassing)});
  CreateSession(store, 5, NewSession("s3", "n1"));  // bound to no check, still ends
  CreateSession(store, 6, NewSession("s4", "n2", SessionBehavior::kRelease, {"serfHealth"}));
  ApplyResult result = Deregister(store, 7, "n1");
  CHECK(EndedIds(result) == Ids{"s1", "s2", "s3"});
  CHECK(store.catalog().FindNode("n1") == nullptr);
  CHECK(store.catalog().ListChecks("n1").empty());
  CHECK(store.catalog().FindNode("n2") != nullptr);
  CHECK(store.sessions().ForNode("n1").empty());
  CHECK(store.sessions().Find("s4") != nullptr);
  CHECK(store.catalog().NodesIndex() == 7);
  CHECK(store.catalog().ChecksIndex() == 7);

  WatchSet watches;
  const WatchId node = watches.Add(WatchKey::Key(Table::kNodes, "n2"));
  const WatchId checks = watches.Add(WatchKey::Key(Table::kChecks, "n2"));
  watches.Add(WatchKey::Key(Table::kNodes, "n1"));
  CHECK(watches.Fired(Deregister(store, 8, "n2").changes) == std::vector<WatchId>{node, checks});
}

TEST_CASE("deregistering what is absent is a successful no-op") {
  Store store = StoreWithSessions();
  for (ApplyResult result : {Deregister(store, 4, "nowhere"), Deregister(store, 5, "n1", "nope"),
                             Deregister(store, 6, "nowhere", "serfHealth")}) {
    CHECK(result.ok);
    CHECK(result.changes.empty());
  }
}

}  // namespace
}  // namespace roster::store
