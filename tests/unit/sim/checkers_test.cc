// SafetyChecker: each Raft safety property is caught when broken, and quiet otherwise.
#include "tests/sim/checkers.h"

// base/check.h and Catch2 both define CHECK; the tests mean Catch2's.
#undef CHECK
#include <catch2/catch.hpp>

namespace roster::sim {
namespace {

using consensus::Entry;
using consensus::MemoryStorage;

Entry E(consensus::Index index, consensus::Term term, std::string data = "") {
  return Entry{term, index, consensus::EntryType::kNormal, std::move(data)};
}

TEST_CASE("SafetyChecker: election safety", "[sim][checkers]") {
  SafetyChecker checker;
  CHECK(checker.OnLeader(1, 2).empty());
  CHECK(checker.OnLeader(1, 2).empty());  // the same leader reported again
  CHECK(checker.OnLeader(2, 3).empty());
  CHECK_FALSE(checker.OnLeader(3, 2).empty());
  CHECK(checker.elections() == 2);
}

TEST_CASE("SafetyChecker: state machine safety", "[sim][checkers]") {
  SafetyChecker checker;
  CHECK(checker.OnApplied(1, 1, E(1, 1, "a"), 10, 20, 0).empty());
  CHECK(checker.OnApplied(2, 1, E(1, 1, "a"), 10, 20, 0).empty());
  CHECK_FALSE(checker.OnApplied(3, 2, E(1, 2, "b"), 11, 21, 0).empty());
  CHECK_FALSE(checker.OnApplied(3, 2, E(1, 1, "a"), 12, 20, 0).empty());  // other history
  CHECK(checker.IsApplied(1));
  CHECK_FALSE(checker.IsApplied(2));
  REQUIRE(checker.AppliedAt(1) != nullptr);
  CHECK(*checker.AppliedAt(1) == E(1, 1, "a"));
  CHECK(checker.AppliedAt(2) == nullptr);
}

TEST_CASE("SafetyChecker: client operations apply once and never after failing",
          "[sim][checkers]") {
  SafetyChecker checker;
  CHECK(checker.OnApplied(1, 1, E(1, 1, "a"), 1, 1, 7).empty());
  CHECK_FALSE(checker.OnApplied(1, 1, E(2, 1, "b"), 2, 2, 7).empty());
  CHECK_FALSE(checker.OnOperationFailed(7).empty());
  CHECK(checker.OnOperationFailed(8).empty());
  CHECK_FALSE(checker.OnApplied(1, 1, E(3, 1, "c"), 3, 3, 8).empty());
}

TEST_CASE("SafetyChecker: log matching over storages", "[sim][checkers]") {
  SafetyChecker checker;
  MemoryStorage a;
  MemoryStorage b;
  a.Append({E(1, 1, "x"), E(2, 1, "y"), E(3, 2, "z")});
  b.Append({E(1, 1, "x"), E(2, 1, "y"), E(3, 3, "w")});
  CHECK(checker.CheckLogs({{1, &a, 0}, {2, &b, 0}}).empty());  // diverge after 2: fine
  MemoryStorage c;
  c.Append({E(1, 1, "x"), E(2, 1, "DIFFERENT"), E(3, 2, "z")});
  CHECK_FALSE(checker.CheckLogs({{1, &a, 0}, {3, &c, 0}}).empty());
}

TEST_CASE("SafetyChecker: committed entries never change", "[sim][checkers]") {
  SafetyChecker checker;
  CHECK(checker.OnApplied(1, 1, E(1, 1, "x"), 1, 1, 0).empty());
  MemoryStorage overwritten;
  overwritten.Append({E(1, 2, "other")});
  CHECK_FALSE(checker.CheckLogs({{2, &overwritten, 1}}).empty());
  CHECK(checker.CheckLogs({{2, &overwritten, 0}}).empty());  // not committed there: allowed
  MemoryStorage short_log;
  CHECK_FALSE(checker.CheckLogs({{3, &short_log, 1}}).empty());  // commit beyond the log
}

TEST_CASE("SafetyChecker: leader completeness", "[sim][checkers]") {
  SafetyChecker checker;
  CHECK(checker.OnApplied(1, 2, E(1, 1, "x"), 1, 1, 0).empty());  // committed by term 2
  MemoryStorage lacking;
  CHECK(checker.CheckLeaderLog(2, 2, lacking).empty());  // term 2 itself may lack it
  CHECK_FALSE(checker.CheckLeaderLog(2, 3, lacking).empty());
  MemoryStorage holding;
  holding.Append({E(1, 1, "x")});
  CHECK(checker.CheckLeaderLog(2, 3, holding).empty());
}

}  // namespace
}  // namespace roster::sim
