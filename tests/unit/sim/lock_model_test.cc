// LockModel: agrees with the real store on the session and lock contract, and names the
// property when a store disagrees with it.
#include "tests/sim/lock_model.h"

#include <string>
#include <utility>

#include "store/command.h"

// base/check.h and Catch2 both define CHECK; the tests mean Catch2's.
#undef CHECK
#include <catch2/catch.hpp>

namespace roster::sim {
namespace {

using store::HealthStatus;
using store::SessionBehavior;

store::HealthCheck Check(std::string id, HealthStatus status) {
  store::HealthCheck check;
  check.check_id = std::move(id);
  check.status = status;
  return check;
}

store::CatalogRegister Node(HealthStatus serf, HealthStatus app = HealthStatus::kPassing) {
  return store::CatalogRegister{
      "ln1", "", "10.0.0.1", {Check("serfHealth", serf), Check("app", app)}};
}

store::SessionCreate Session(std::string id, SessionBehavior behavior,
                             std::vector<std::string> checks = {"serfHealth"}) {
  store::Session session;
  session.id = std::move(id);
  session.node = "ln1";
  session.behavior = behavior;
  session.node_checks = std::move(checks);
  return store::SessionCreate{std::move(session)};
}

store::KvLock Lock(std::string key, std::string session) {
  return store::KvLock{std::move(key), "v-" + session, 0, session};
}

store::KvUnlock Unlock(std::string key, std::string session) {
  return store::KvUnlock{std::move(key), "", 0, std::move(session)};
}

// A real store and the model, fed one log: Next applies the same command to both;
// Diverge applies `actual` to the store while the log (and so the model) says `logged`,
// which is what a buggy store looks like from outside.
class Replay {
 public:
  std::string Next(const store::Command& command) { return Diverge(command, command); }

  std::string Diverge(const store::Command& logged, const store::Command& actual) {
    ++index_;
    const store::ApplyResult result = store_.Apply(index_, store::Encode(actual));
    last_ok_ = result.ok;
    const consensus::Entry entry{1, index_, consensus::EntryType::kNormal, store::Encode(logged)};
    return model_.OnCommitted(entry, result.ok, store_);
  }

  // The store applies `command` and reports ok as `reported_ok`.
  std::string Misreport(const store::Command& command, bool reported_ok) {
    ++index_;
    store_.Apply(index_, store::Encode(command));
    const consensus::Entry entry{1, index_, consensus::EntryType::kNormal, store::Encode(command)};
    return model_.OnCommitted(entry, reported_ok, store_);
  }

  consensus::Index index() const { return index_; }
  bool last_ok() const { return last_ok_; }
  const store::Store& store() const { return store_; }
  const LockModel& model() const { return model_; }

 private:
  store::Store store_;
  LockModel model_{"lock/"};
  consensus::Index index_ = 0;
  bool last_ok_ = false;
};

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

TEST_CASE("LockModel: a lock's life agrees with the store, tokens per holder", "[sim][locks]") {
  Replay log;
  REQUIRE(log.Next(Node(HealthStatus::kPassing)) == "");
  REQUIRE(log.Next(Session("s1", SessionBehavior::kRelease)) == "");
  REQUIRE(log.Next(Session("s2", SessionBehavior::kRelease)) == "");
  REQUIRE(log.Next(Lock("lock/m", "s1")) == "");  // index 4: a new key, LockIndex 1
  CHECK(log.last_ok());
  REQUIRE(log.Next(Lock("lock/m", "s2")) == "");  // contended
  CHECK_FALSE(log.last_ok());
  REQUIRE(log.Next(Lock("lock/m", "s1")) == "");    // a re-acquire keeps the token
  REQUIRE(log.Next(Unlock("lock/m", "s2")) == "");  // not the holder
  CHECK_FALSE(log.last_ok());
  REQUIRE(log.Next(Unlock("lock/m", "s1")) == "");    // index 8
  REQUIRE(log.Next(Lock("lock/m", "s2")) == "");      // index 9: LockIndex 2
  REQUIRE(log.Next(Lock("lock/m", "nobody")) == "");  // refused: no such session
  CHECK_FALSE(log.last_ok());

  const Holding* first = log.model().FindHolding("lock/m", {4, 1});
  REQUIRE(first != nullptr);
  CHECK(first->session == "s1");
  CHECK(first->acquired_index == 4);
  CHECK(first->ended_index == 8);
  CHECK(first->end == HoldingEnd::kUnlocked);
  const Holding* second = log.model().FindHolding("lock/m", {4, 2});
  REQUIRE(second != nullptr);
  CHECK(second->session == "s2");
  CHECK(second->end == HoldingEnd::kHeld);
  CHECK(log.model().FindHolding("lock/m", {4, 3}) == nullptr);
}

TEST_CASE("LockModel: ending a session releases or deletes what it holds", "[sim][locks]") {
  Replay log;
  REQUIRE(log.Next(Node(HealthStatus::kPassing)) == "");
  REQUIRE(log.Next(Session("rel", SessionBehavior::kRelease)) == "");
  REQUIRE(log.Next(Session("del", SessionBehavior::kDelete)) == "");
  REQUIRE(log.Next(Lock("lock/a", "rel")) == "");
  REQUIRE(log.Next(Lock("lock/b", "del")) == "");
  REQUIRE(log.Next(store::KvCreateSequential{"lock/seq/", "x", 0, "del"}) == "");
  REQUIRE(log.Next(store::SessionInvalidate{"rel"}) == "");  // index 7: released, kept
  REQUIRE(log.Next(store::SessionDestroy{"del"}) == "");     // index 8: both deleted
  CHECK(log.store().kv().Find("lock/a") != nullptr);
  CHECK(log.store().kv().Find("lock/b") == nullptr);
  CHECK(log.model().SessionEndIndex("rel") == 7);
  CHECK(log.model().SessionEndIndex("del") == 8);
  CHECK(log.model().ephemeral_deleted() == 2);
  const Holding* held = log.model().FindHolding("lock/b", {5, 1});
  REQUIRE(held != nullptr);
  CHECK(held->end == HoldingEnd::kSessionEnded);
  CHECK(held->ended_index == 8);
  // The released key's next holder moves its LockIndex on; the deleted one starts over.
  REQUIRE(log.Next(Session("s3", SessionBehavior::kRelease)) == "");
  REQUIRE(log.Next(Lock("lock/a", "s3")) == "");
  REQUIRE(log.Next(Lock("lock/b", "s3")) == "");
  CHECK(log.model().FindHolding("lock/a", {4, 2}) != nullptr);
  CHECK(log.model().FindHolding("lock/b", {11, 1}) != nullptr);
}

TEST_CASE("LockModel: critical ends bound sessions, warning does not", "[sim][locks]") {
  Replay log;
  REQUIRE(log.Next(Node(HealthStatus::kPassing)) == "");
  REQUIRE(log.Next(Session("serf", SessionBehavior::kDelete)) == "");
  REQUIRE(log.Next(Session("app", SessionBehavior::kDelete, {"app"})) == "");
  REQUIRE(log.Next(Session("none", SessionBehavior::kDelete, {})) == "");
  REQUIRE(log.Next(Lock("lock/e", "serf")) == "");
  REQUIRE(log.Next(Node(HealthStatus::kWarning)) == "");  // nothing ends
  CHECK(log.store().sessions().Find("serf") != nullptr);
  REQUIRE(log.Next(Node(HealthStatus::kCritical)) == "");  // serf ends, lock/e goes
  CHECK(log.store().sessions().Find("serf") == nullptr);
  CHECK(log.store().sessions().Find("app") != nullptr);
  REQUIRE(log.Next(Session("late", SessionBehavior::kRelease)) == "");  // refused: critical
  CHECK_FALSE(log.last_ok());
  REQUIRE(log.Next(store::CatalogDeregister{"ln1", "app"}) == "");  // app ends
  CHECK(log.store().sessions().Find("app") == nullptr);
  REQUIRE(log.Next(store::CatalogDeregister{"ln1", ""}) == "");  // none ends
  CHECK(log.store().sessions().List().empty());
}

TEST_CASE("LockModel: a txn's locks apply all or nothing", "[sim][locks]") {
  Replay log;
  REQUIRE(log.Next(Node(HealthStatus::kPassing)) == "");
  REQUIRE(log.Next(Session("s1", SessionBehavior::kDelete)) == "");
  REQUIRE(log.Next(Session("s2", SessionBehavior::kDelete)) == "");
  REQUIRE(log.Next(Lock("lock/m", "s1")) == "");
  store::Txn txn;
  txn.ops.push_back({store::TxnVerb::kLock, "lock/sem/s2", "x", 0, 0, "s2"});
  txn.ops.push_back({store::TxnVerb::kLock, "lock/m", "x", 0, 0, "s2"});
  REQUIRE(log.Next(txn) == "");  // lock/m is held: the contender key is rolled back
  CHECK_FALSE(log.last_ok());
  CHECK(log.store().kv().Find("lock/sem/s2") == nullptr);
  REQUIRE(log.Next(Unlock("lock/m", "s1")) == "");
  REQUIRE(log.Next(txn) == "");
  CHECK(log.last_ok());
}

TEST_CASE("LockModel: names the property a disagreeing store breaks", "[sim][locks]") {
  Replay log;
  REQUIRE(log.Next(Node(HealthStatus::kPassing)) == "");
  REQUIRE(log.Next(Session("s1", SessionBehavior::kDelete)) == "");
  REQUIRE(log.Next(Session("s2", SessionBehavior::kRelease)) == "");
  REQUIRE(log.Next(Lock("lock/m", "s1")) == "");

  SECTION("an ephemeral key deleted while its session lives") {
    const std::string problem = log.Diverge(store::Noop{}, store::SessionDestroy{"s1"});
    CHECK(StartsWith(problem, "ephemeral keys: lock/m, held by s1"));
  }
  SECTION("an ephemeral key kept after its session ended") {
    const std::string problem = log.Diverge(store::SessionDestroy{"s1"}, store::Noop{});
    CHECK(StartsWith(problem, "ephemeral keys: lock/m outlived its session s1"));
  }
  SECTION("a session ended by an entry that cannot end it") {
    const std::string problem = log.Diverge(store::Noop{}, store::SessionDestroy{"s2"});
    CHECK(StartsWith(problem, "sessions: s2"));
  }
  SECTION("a LockIndex that does not move for a new holder") {
    // Log: s1 releases, s2 acquires (LockIndex 2). Store: the key is deleted and s2
    // creates it again, so its LockIndex is 1 in the store.
    REQUIRE(!log.Diverge(Unlock("lock/m", "s1"), store::KvDelete{"lock/m"}).empty());
    const std::string problem = log.Diverge(Lock("lock/m", "s2"), Lock("lock/m", "s2"));
    CHECK(StartsWith(problem, "fencing: "));
    CHECK(problem.find("LockIndex 1, expected 2") != std::string::npos);
  }
  SECTION("an outcome that disagrees") {
    const std::string problem = log.Misreport(Lock("lock/m", "s2"), /*reported_ok=*/true);
    CHECK(StartsWith(problem, "lock outcome: "));
    CHECK(problem.find("lock/m is held by s1") != std::string::npos);
  }
}

TEST_CASE("LockModel: two holders at once", "[sim][locks]") {
  Replay log;
  REQUIRE(log.Next(Node(HealthStatus::kPassing)) == "");
  REQUIRE(log.Next(Session("s1", SessionBehavior::kRelease)) == "");
  REQUIRE(log.Next(Session("s2", SessionBehavior::kRelease)) == "");
  REQUIRE(log.Next(Lock("lock/m", "s1")) == "");
  // The log has s2's acquire (refused: s1 holds the key); the store hands the key to s2,
  // as a Lock that ignores the holder would.
  REQUIRE(log.Next(Unlock("lock/m", "s1")) == "");
  REQUIRE(log.Next(Lock("lock/m", "s1")) == "");
  const std::string problem = log.Diverge(
      Lock("lock/m", "s2"), store::Txn{{{store::TxnVerb::kUnlock, "lock/m", "", 0, 0, "s1"},
                                        {store::TxnVerb::kLock, "lock/m", "v-s2", 0, 0, "s2"}}});
  CHECK(StartsWith(problem, "mutual exclusion: "));
  CHECK(problem.find("gives lock/m to s2 while s1 holds it") != std::string::npos);
  CHECK(problem.find("two holders") != std::string::npos);
}

}  // namespace
}  // namespace roster::sim
