// FencingChecker: the downstream resource's sequencer check, and the checks on what
// lock clients believed and sent.
#include "tests/sim/fencing.h"

#include <string>

#include "store/command.h"

// base/check.h and Catch2 both define CHECK; the tests mean Catch2's.
#undef CHECK
#include <catch2/catch.hpp>

namespace roster::sim {
namespace {

LockObservation Seen(std::string session, consensus::Index lock_index,
                     consensus::Index modify_index) {
  return LockObservation{
      "lock/m", std::move(session), {10, lock_index}, modify_index, modify_index};
}

// A store in which `live` is a session (on a registered node).
store::Store StoreWith(const std::string& live) {
  store::Store store;
  store::HealthCheck check;
  check.check_id = "serfHealth";
  check.status = store::HealthStatus::kPassing;
  store.Apply(1, store::Encode(store::CatalogRegister{"ln1", "", "10.0.0.1", {check}}));
  store::Session session;
  session.id = live;
  session.node = "ln1";
  store.Apply(2, store::Encode(store::SessionCreate{session}));
  return store;
}

TEST_CASE("FencingChecker: the downstream fences a stale holder's late request", "[sim][fencing]") {
  FencingChecker checker(nullptr);
  const store::Store empty;
  REQUIRE(checker.BeginBelief(1, Seen("s1", 1, 20), empty) == "");
  checker.Send(1, 500);  // a long pause: it lands late
  checker.EndBelief(1);
  REQUIRE(checker.BeginBelief(2, Seen("s2", 2, 30), empty) == "");
  checker.Send(2, 100);
  checker.Send(2, 200);
  CHECK(checker.Deliver(300) == "");
  CHECK(checker.stats().accepted == 2);
  CHECK(checker.DeliverAll() == "");
  CHECK(checker.stats().fenced == 1);
  CHECK(checker.stats().overlaps == 0);
}

TEST_CASE("FencingChecker: two sessions never share a token", "[sim][fencing]") {
  FencingChecker checker(nullptr);
  const store::Store empty;
  REQUIRE(checker.BeginBelief(1, Seen("s1", 3, 20), empty) == "");
  checker.EndBelief(1);
  REQUIRE(checker.BeginBelief(1, Seen("s1", 3, 25), empty) == "");  // the same holder again
  checker.EndBelief(1);
  const std::string problem = checker.BeginBelief(2, Seen("s2", 3, 30), empty);
  CHECK(problem.rfind("fencing: sessions s1 and s2 both saw", 0) == 0);
}

TEST_CASE("FencingChecker: overlapping beliefs need the older session gone", "[sim][fencing]") {
  FencingChecker checker(nullptr);
  REQUIRE(checker.BeginBelief(1, Seen("s1", 1, 20), store::Store()) == "");
  SECTION("gone: the older client lost its lock behind its back") {
    CHECK(checker.BeginBelief(2, Seen("s2", 2, 30), StoreWith("s2")) == "");
    CHECK(checker.stats().overlaps == 1);
  }
  SECTION("still live: it never released, so two holders") {
    const std::string problem = checker.BeginBelief(2, Seen("s2", 2, 30), StoreWith("s1"));
    CHECK(problem.rfind("mutual exclusion: ", 0) == 0);
    CHECK(problem.find("s1 holds it (token (10,1)), and that session is still live") !=
          std::string::npos);
  }
}

TEST_CASE("FencingChecker: an older holder never gets in after a newer one", "[sim][fencing]") {
  // Tokens say s2 is newer, ModifyIndexes (the log) say s1 is: the two disagree.
  FencingChecker checker(nullptr);
  const store::Store empty;
  REQUIRE(checker.BeginBelief(1, Seen("s1", 1, 50), empty) == "");
  checker.Send(1, 10);
  checker.EndBelief(1);
  REQUIRE(checker.BeginBelief(2, Seen("s2", 2, 40), empty) == "");
  checker.Send(2, 20);
  const std::string problem = checker.DeliverAll();
  CHECK(problem.rfind("fencing: the downstream accepted s2's request", 0) == 0);
}

}  // namespace
}  // namespace roster::sim
