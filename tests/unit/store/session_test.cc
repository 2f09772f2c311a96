// Sessions (consul-api.md §1.6, §3.1, §3.3; Consul's state/session.go): create checks,
// destroy and invalidate, release and delete behaviors, the per-node index, and the
// apply result the leader uses for lock-delay.
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

std::vector<std::string> IdsOf(const std::vector<Session>& sessions) {
  std::vector<std::string> ids;
  for (const Session& session : sessions) ids.push_back(session.id);
  return ids;
}

TEST_CASE("a created session is stored with every field and stamped indexes") {
  Store store;
  Register(
      store, 1, "n1",
      {Check("serfHealth", HealthStatus::kPassing), Check("web-check", HealthStatus::kWarning)});
  Session session = NewSession("s1", "n1", SessionBehavior::kDelete, {"serfHealth"});
  session.ttl_ms = 30000;
  session.service_checks = {ServiceCheckRef{"web-check", "default"}};
  session.create_index = 77;  // ignored: apply stamps its own
  ApplyResult result = CreateSession(store, 2, session);
  REQUIRE(result.ok);
  CHECK(result.changes.keys == std::vector<ChangedKey>{{Table::kSessions, "s1"}});

  const Session* stored = store.sessions().Find("s1");
  REQUIRE(stored != nullptr);
  session.create_index = 2;
  session.modify_index = 2;
  CHECK(*stored == session);
  CHECK(stored->CheckIds() == Ids{"serfHealth", "web-check"});
  CHECK(store.sessions().TableIndex() == 2);
}

TEST_CASE("session create is refused, changing nothing, when the catalog does not allow it") {
  Store store;
  Register(store, 1, "n1",
           {Check("serfHealth", HealthStatus::kPassing), Check("down", HealthStatus::kCritical)});
  auto refused = [&store](Session session, std::string message) {
    ApplyResult result = CreateSession(store, store.last_applied_index() + 1, session);
    CHECK_FALSE(result.ok);
    CHECK(result.error.message() == message);
    CHECK(result.changes.empty());
  };
  refused(NewSession("s1", "nowhere"), "Missing node registration");
  refused(NewSession("s1", "n1", SessionBehavior::kRelease, {"absent"}),
          "Missing check 'absent' registration");
  refused(NewSession("s1", "n1", SessionBehavior::kRelease, {"serfHealth", "down"}),
          "Check 'down' is in critical state");
  Session service_bound = NewSession("s1", "n1");
  service_bound.service_checks = {ServiceCheckRef{"down", ""}};
  refused(service_bound, "Check 'down' is in critical state");
  refused(NewSession("", "n1"), "Missing session ID");
  CHECK(store.sessions().sessions().empty());
  CHECK(store.sessions().TableIndex() == 0);

  SECTION("and an id that already exists is refused too") {
    REQUIRE(CreateSession(store, 20, NewSession("s1", "n1")).ok);
    refused(NewSession("s1", "n1", SessionBehavior::kDelete), "Session ID 's1' already exists");
    CHECK(store.sessions().Find("s1")->behavior == SessionBehavior::kRelease);
  }
}

TEST_CASE("a session with no checks needs only its node") {
  Store store;
  Register(store, 1, "n1");
  CHECK(CreateSession(store, 2, NewSession("s1", "n1")).ok);
}

TEST_CASE("sessions are listed in id order, and per node") {
  Store store;
  Register(store, 1, "n1");
  Register(store, 2, "n2");
  CreateSession(store, 3, NewSession("c", "n1"));
  CreateSession(store, 4, NewSession("a", "n2"));
  CreateSession(store, 5, NewSession("b", "n1"));
  CHECK(IdsOf(store.sessions().List()) == Ids{"a", "b", "c"});
  CHECK(IdsOf(store.sessions().ForNode("n1")) == Ids{"b", "c"});
  CHECK(IdsOf(store.sessions().ForNode("n2")) == Ids{"a"});
  CHECK(store.sessions().ForNode("n3").empty());
  Destroy(store, 6, "c");
  CHECK(IdsOf(store.sessions().ForNode("n1")) == Ids{"b"});
  CHECK(store.sessions().TableIndex() == 6);
}

TEST_CASE("invalidating a release session frees its locks: ModifyIndex bumped, LockIndex kept") {
  Store store = StoreWithSessions();
  REQUIRE(Lock(store, 4, "a", "s1", "va").ok);
  REQUIRE(Lock(store, 5, "b", "s1", "vb").ok);
  REQUIRE(Lock(store, 6, "c", "s2").ok);
  ApplyResult result = store.Apply(7, Encode(SessionInvalidate{"s1"}));
  CHECK(result.ok);
  REQUIRE(result.invalidated_sessions.size() == 1);
  const InvalidatedSession& ended = result.invalidated_sessions[0];
  CHECK(ended.id == "s1");
  CHECK(ended.behavior == SessionBehavior::kRelease);
  CHECK(ended.lock_delay_ms == 15000);
  CHECK(ended.keys == Ids{"a", "b"});
  for (const char* key : {"a", "b"}) {
    const DirEntry entry = *store.kv().Get(key);
    CHECK(entry.session.empty());
    CHECK(entry.lock_index == 1);
    CHECK(entry.modify_index == 7);
  }
  CHECK(store.kv().Get("a")->value == "va");
  CHECK(store.kv().Get("c")->session == "s2");
  CHECK(store.sessions().Find("s1") == nullptr);
  CHECK(result.changes.keys ==
        std::vector<ChangedKey>{{Table::kKvs, "a"}, {Table::kKvs, "b"}, {Table::kSessions, "s1"}});
}

TEST_CASE("invalidating a delete session removes its keys with tombstones") {
  Store store = StoreWithSessions();
  REQUIRE(Lock(store, 4, "svc/x", "s2").ok);
  REQUIRE(Lock(store, 5, "svc/y", "s2").ok);
  Put(store, 6, "svc/z", "stays");
  ApplyResult result = Destroy(store, 8, "s2");
  CHECK(result.invalidated_sessions.at(0).keys == Ids{"svc/x", "svc/y"});
  CHECK(result.invalidated_sessions.at(0).behavior == SessionBehavior::kDelete);
  CHECK_FALSE(store.kv().Get("svc/x").has_value());
  CHECK_FALSE(store.kv().Get("svc/y").has_value());
  CHECK(store.kv().tombstones().at("svc/x") == 8);
  // The prefix index moves forward to the delete, not back to svc/z's 6.
  CHECK(store.kv().PrefixIndex("svc/") == 8);
  CHECK(store.kv().PrefixIndex("svc/x") == 8);
  CHECK(store.kv().TableIndex() == 8);
}

TEST_CASE("destroying a session that is gone is a successful no-op") {
  Store store = StoreWithSessions();
  for (Index index : {4, 5}) {
    ApplyResult result = Destroy(store, index, "never");
    CHECK(result.ok);
    CHECK(result.changes.empty());
    CHECK(result.invalidated_sessions.empty());
  }
  CHECK(store.sessions().TableIndex() == 3);
}

TEST_CASE("destroy and invalidate have the same effect") {
  Store destroyed = StoreWithSessions();
  Store invalidated = StoreWithSessions();
  for (Store* store : {&destroyed, &invalidated}) {
    Lock(*store, 4, "k", "s1");
    Lock(*store, 5, "e", "s2");
  }
  ApplyResult one = destroyed.Apply(6, Encode(SessionDestroy{"s1"}));
  ApplyResult two = invalidated.Apply(6, Encode(SessionInvalidate{"s1"}));
  CHECK(one.changes == two.changes);
  CHECK(one.invalidated_sessions == two.invalidated_sessions);
  CHECK(destroyed == invalidated);
}

TEST_CASE("ending a session wakes watchers of its id, the table and its keys") {
  Store store = StoreWithSessions();
  Lock(store, 4, "k", "s1");
  WatchSet watches;
  const WatchId by_id = watches.Add(WatchKey::Key(Table::kSessions, "s1"));
  const WatchId table = watches.Add(WatchKey::WholeTable(Table::kSessions));
  const WatchId key = watches.Add(WatchKey::Key(Table::kKvs, "k"));
  watches.Add(WatchKey::Key(Table::kSessions, "s2"));
  CHECK(watches.Fired(Destroy(store, 5, "s1").changes) == std::vector<WatchId>{by_id, table, key});
}

}  // namespace
}  // namespace roster::store
