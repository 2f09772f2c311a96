// RaftLog: the log rules of the Raft paper (§5.3 AppendEntries, §5.4.1 up-to-date,
// §5.4.2 commit by term) on a log whose prefix lives in MemoryStorage.
#include "consensus/raft_log.h"

#include "tests/unit/consensus/test_cluster.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace roster::consensus {
namespace {

using testing::EntriesWithTerms;
using testing::TermsOf;

constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

// A storage holding entries 1..terms.size(), and a RaftLog over it.
struct Fixture {
  explicit Fixture(const std::vector<Term>& terms,
                   std::uint64_t max_committed_bytes_per_ready = kNoLimit)
      : log(&storage, max_committed_bytes_per_ready) {
    storage.Append(EntriesWithTerms(1, terms));
    log = RaftLog(&storage, max_committed_bytes_per_ready);
  }

  std::vector<Term> Terms() const {
    if (log.LastIndex() < log.FirstIndex()) return {};
    Result<std::vector<Entry>> entries = log.Slice(log.FirstIndex(), log.LastIndex() + 1, kNoLimit);
    REQUIRE(entries.ok());
    return TermsOf(*entries);
  }

  MemoryStorage storage;
  RaftLog log;
};

TEST_CASE("A log over empty storage has no entries and nothing committed") {
  Fixture f({});
  CHECK(f.log.FirstIndex() == 1);
  CHECK(f.log.LastIndex() == 0);
  CHECK(f.log.LastTerm() == 0);
  CHECK(f.log.committed() == 0);
  CHECK(f.log.TermOrZero(0) == 0);
  CHECK_FALSE(f.log.HasUnstableEntries());
  CHECK_FALSE(f.log.HasNextCommittedEntries());
}

TEST_CASE("A log starts from what storage holds") {
  Fixture f({1, 1, 2});
  CHECK(f.log.FirstIndex() == 1);
  CHECK(f.log.LastIndex() == 3);
  CHECK(f.log.LastTerm() == 2);
  CHECK(*f.log.TermAt(2) == 1);
  CHECK_FALSE(f.log.HasUnstableEntries());
}

TEST_CASE("The term beyond the last entry is 0, and no term matches there") {
  Fixture f({1, 1});
  REQUIRE(f.log.TermAt(3).ok());
  CHECK(*f.log.TermAt(3) == 0);
  CHECK(f.log.TermOrZero(9) == 0);
  CHECK(f.log.MatchTerm(2, 1));
  CHECK_FALSE(f.log.MatchTerm(2, 2));
  CHECK_FALSE(f.log.MatchTerm(3, 1));
}

TEST_CASE("A leader's append goes at the end and stays unstable until persisted") {
  Fixture f({1, 1});
  const std::vector<Entry> proposal = EntriesWithTerms(3, {2, 2});
  CHECK(f.log.Append(proposal) == 4);
  CHECK(f.log.LastIndex() == 4);
  CHECK(f.log.LastTerm() == 2);
  CHECK(f.log.HasUnstableEntries());
  CHECK(f.log.UnstableEntries() == proposal);

  f.storage.Append(proposal);
  f.log.StableTo(4, 2);
  CHECK_FALSE(f.log.HasUnstableEntries());
  CHECK(f.log.LastIndex() == 4);
  CHECK(f.Terms() == std::vector<Term>{1, 1, 2, 2});
}

TEST_CASE("Persisting acknowledges only entries of the term that was written") {
  // The entry at 3 was replaced by a term 3 entry while the term 2 one was being written.
  Fixture f({1, 1});
  f.log.Append(EntriesWithTerms(3, {3}));
  f.log.StableTo(3, 2);
  CHECK(f.log.HasUnstableEntries());
}

TEST_CASE("§5.3 an append whose previous entry does not match is refused") {
  Fixture f({1, 2, 3});
  CHECK_FALSE(f.log.MaybeAppend(3, 2, 0, EntriesWithTerms(4, {4})).has_value());
  CHECK_FALSE(f.log.MaybeAppend(2, 1, 0, EntriesWithTerms(3, {4})).has_value());
  CHECK(f.Terms() == std::vector<Term>{1, 2, 3});
}

TEST_CASE("§5.3 an append whose previous entry is beyond the log is refused") {
  Fixture f({1, 2, 3});
  CHECK_FALSE(f.log.MaybeAppend(4, 3, 0, EntriesWithTerms(5, {3})).has_value());
  CHECK_FALSE(f.log.MaybeAppend(10, 3, 0, {}).has_value());
  CHECK(f.log.LastIndex() == 3);
}

TEST_CASE("§5.3 an append after a matching entry adds the new entries") {
  Fixture f({1, 2, 3});
  std::optional<Index> last = f.log.MaybeAppend(3, 3, 0, EntriesWithTerms(4, {3, 4}));
  REQUIRE(last.has_value());
  CHECK(*last == 5);
  CHECK(f.Terms() == std::vector<Term>{1, 2, 3, 3, 4});
}

TEST_CASE("§5.3 an empty append after a matching entry succeeds at that entry") {
  Fixture f({1, 2, 3});
  std::optional<Index> last = f.log.MaybeAppend(2, 2, 0, {});
  REQUIRE(last.has_value());
  CHECK(*last == 2);
  CHECK(f.log.LastIndex() == 3);  // nothing after the match is dropped
}

TEST_CASE("§5.3 an append at index 0 matches any log") {
  Fixture f({1, 1});
  std::optional<Index> last = f.log.MaybeAppend(0, 0, 0, EntriesWithTerms(1, {1}));
  REQUIRE(last.has_value());
  CHECK(*last == 1);
  CHECK(f.Terms() == std::vector<Term>{1, 1});
}

TEST_CASE("§5.3 a conflicting entry is replaced along with every entry after it") {
  Fixture f({1, 1, 1, 1, 1});
  std::optional<Index> last = f.log.MaybeAppend(2, 1, 0, EntriesWithTerms(3, {2}));
  REQUIRE(last.has_value());
  CHECK(*last == 3);
  CHECK(f.log.LastIndex() == 3);
  CHECK(f.Terms() == std::vector<Term>{1, 1, 2});
  // The replacement is what the application must persist, overwriting storage.
  CHECK(f.log.UnstableEntries() == EntriesWithTerms(3, {2}));
}

TEST_CASE("§5.3 the conflict is found even when it is not the first entry sent") {
  Fixture f({1, 1, 1, 1});
  std::optional<Index> last = f.log.MaybeAppend(1, 1, 0, EntriesWithTerms(2, {1, 1, 3, 3}));
  REQUIRE(last.has_value());
  CHECK(*last == 5);
  CHECK(f.Terms() == std::vector<Term>{1, 1, 1, 3, 3});
  CHECK(f.log.UnstableEntries() == EntriesWithTerms(4, {3, 3}));
}

TEST_CASE("§5.3 an old append of entries the log already has truncates nothing") {
  // A delayed AppendEntries must not erase entries that a later one added.
  Fixture f({1, 1, 1, 1, 1});
  std::optional<Index> last = f.log.MaybeAppend(1, 1, 0, EntriesWithTerms(2, {1, 1}));
  REQUIRE(last.has_value());
  CHECK(*last == 3);
  CHECK(f.log.LastIndex() == 5);
  CHECK_FALSE(f.log.HasUnstableEntries());
}

TEST_CASE("§5.3 an append overlapping the end of the log adds only what is new") {
  Fixture f({1, 1, 1});
  std::optional<Index> last = f.log.MaybeAppend(1, 1, 0, EntriesWithTerms(2, {1, 1, 2, 2}));
  REQUIRE(last.has_value());
  CHECK(*last == 5);
  CHECK(f.Terms() == std::vector<Term>{1, 1, 1, 2, 2});
  CHECK(f.log.UnstableEntries() == EntriesWithTerms(4, {2, 2}));
}

TEST_CASE("§5.3 commit follows the leader but never past the last new entry") {
  Fixture f({1, 1, 1, 1, 1});
  SECTION("leader commit beyond what this append covers: commit the last new entry") {
    REQUIRE(f.log.MaybeAppend(1, 1, /*leader_commit=*/5, EntriesWithTerms(2, {1})));
    // Entries 3..5 were not checked against the leader's log by this append.
    CHECK(f.log.committed() == 2);
  }
  SECTION("leader commit within the append: commit it") {
    REQUIRE(f.log.MaybeAppend(5, 1, /*leader_commit=*/3, {}));
    CHECK(f.log.committed() == 3);
  }
  SECTION("an older leader commit does not move commit back") {
    REQUIRE(f.log.MaybeAppend(5, 1, 4, {}));
    REQUIRE(f.log.MaybeAppend(5, 1, 2, {}));
    CHECK(f.log.committed() == 4);
  }
  SECTION("a refused append does not move commit") {
    CHECK_FALSE(f.log.MaybeAppend(5, 7, 5, {}).has_value());
    CHECK(f.log.committed() == 0);
  }
}

TEST_CASE("§5.4.1 a log is more up-to-date if its last term is higher") {
  Fixture f({1, 1, 2});
  CHECK(f.log.IsUpToDate(1, 3));        // shorter, but a later term
  CHECK_FALSE(f.log.IsUpToDate(9, 1));  // longer, but an earlier term
}

TEST_CASE("§5.4.1 with equal last terms, the longer log is more up-to-date") {
  Fixture f({1, 1, 2});
  CHECK(f.log.IsUpToDate(3, 2));  // identical: at least as up-to-date
  CHECK(f.log.IsUpToDate(4, 2));
  CHECK_FALSE(f.log.IsUpToDate(2, 2));
}

TEST_CASE("§5.4.1 any log is at least as up-to-date as an empty one") {
  Fixture f({});
  CHECK(f.log.IsUpToDate(0, 0));
  CHECK(f.log.IsUpToDate(1, 1));
}

TEST_CASE("§5.4.2 commit advances only to an entry of the given term") {
  Fixture f({1, 1, 2, 2});
  CHECK_FALSE(f.log.MaybeCommit(4, 1));
  CHECK_FALSE(f.log.MaybeCommit(2, 2));
  CHECK(f.log.committed() == 0);
  CHECK(f.log.MaybeCommit(4, 2));
  CHECK(f.log.committed() == 4);
}

TEST_CASE("Commit never moves backwards") {
  Fixture f({1, 1, 2, 2});
  REQUIRE(f.log.MaybeCommit(4, 2));
  CHECK_FALSE(f.log.MaybeCommit(3, 2));
  CHECK(f.log.committed() == 4);
  f.log.CommitTo(2);
  CHECK(f.log.committed() == 4);
}

TEST_CASE("CommitTo moves commit forward within the log") {
  Fixture f({1, 1, 2});
  f.log.CommitTo(2);
  CHECK(f.log.committed() == 2);
  f.log.CommitTo(3);
  CHECK(f.log.committed() == 3);
}

TEST_CASE("Fast back-off finds the last entry at or before an index with a term at most t") {
  // Index:  1  2  3  4  5  6  7
  // Term:   1  1  1  3  3  5  5
  Fixture f({1, 1, 1, 3, 3, 5, 5});
  using Hint = std::pair<Index, Term>;
  CHECK(f.log.FindConflictByTerm(7, 5) == Hint{7, 5});
  CHECK(f.log.FindConflictByTerm(7, 6) == Hint{7, 5});
  CHECK(f.log.FindConflictByTerm(7, 4) == Hint{5, 3});
  CHECK(f.log.FindConflictByTerm(7, 3) == Hint{5, 3});
  CHECK(f.log.FindConflictByTerm(7, 2) == Hint{3, 1});
  CHECK(f.log.FindConflictByTerm(7, 1) == Hint{3, 1});
  CHECK(f.log.FindConflictByTerm(7, 0) == Hint{0, 0});
  CHECK(f.log.FindConflictByTerm(4, 9) == Hint{4, 3});
  CHECK(f.log.FindConflictByTerm(2, 4) == Hint{2, 1});
}

TEST_CASE("Slice reads across the stable prefix and the unstable suffix") {
  Fixture f({1, 1, 1});
  f.log.Append(EntriesWithTerms(4, {2, 2}));
  Result<std::vector<Entry>> entries = f.log.Slice(2, 6, kNoLimit);
  REQUIRE(entries.ok());
  CHECK(*entries == [] {
    std::vector<Entry> expected = EntriesWithTerms(2, {1, 1});
    for (const Entry& entry : EntriesWithTerms(4, {2, 2})) expected.push_back(entry);
    return expected;
  }());
}

TEST_CASE("Slice stops at max_bytes but returns at least one entry") {
  Fixture f({1, 1, 1, 1});
  Result<std::vector<Entry>> one = f.log.Slice(1, 5, 1);
  REQUIRE(one.ok());
  CHECK(one->size() == 1);
  const std::uint64_t entry_bytes = EntriesWithTerms(1, {1})[0].ByteSize();
  Result<std::vector<Entry>> two = f.log.Slice(1, 5, 2 * entry_bytes);
  REQUIRE(two.ok());
  CHECK(two->size() == 2);
}

TEST_CASE("An unstable entry that replaces a stored one wins over storage") {
  Fixture f({1, 1, 1, 1, 1});
  REQUIRE(f.log.MaybeAppend(2, 1, 0, EntriesWithTerms(3, {2})));
  CHECK(*f.log.TermAt(3) == 2);
  CHECK(f.log.LastIndex() == 3);  // storage still holds 4 and 5 until persisted
  f.storage.Append(EntriesWithTerms(3, {2}));
  f.log.StableTo(3, 2);
  CHECK_FALSE(f.log.HasUnstableEntries());
  CHECK(f.Terms() == std::vector<Term>{1, 1, 2});
}

TEST_CASE("Entries behind a compacted prefix are Unavailable") {
  Fixture f({1, 1, 2, 2, 3, 3});
  f.storage.CreateSnapshot(4, ConfState{.voters = {1, 2, 3}, .learners = {}}, "s", 0);
  RaftLog log(&f.storage, kNoLimit);
  CHECK(log.FirstIndex() == 5);
  CHECK(log.LastIndex() == 6);
  CHECK(*log.TermAt(4) == 2);  // the snapshot's index keeps its term
  Result<Term> compacted = log.TermAt(2);
  REQUIRE_FALSE(compacted.ok());
  CHECK(compacted.status().code() == StatusCode::kUnavailable);
  CHECK(log.TermOrZero(2) == 0);
  Result<std::vector<Entry>> slice = log.Slice(3, 7, kNoLimit);
  REQUIRE_FALSE(slice.ok());
  CHECK(slice.status().code() == StatusCode::kUnavailable);
  CHECK(*log.Slice(5, 7, kNoLimit) == EntriesWithTerms(5, {3, 3}));
}

TEST_CASE("Restoring a snapshot replaces the log and commits up to the snapshot") {
  Fixture f({1, 1, 1});
  const SnapshotMetadata metadata{
      .index = 10, .term = 3, .conf_state = {.voters = {1, 2, 3}, .learners = {}}};
  f.log.Restore(metadata);
  CHECK(f.log.FirstIndex() == 11);
  CHECK(f.log.LastIndex() == 10);
  CHECK(f.log.LastTerm() == 3);
  CHECK(*f.log.TermAt(10) == 3);
  CHECK(f.log.committed() == 10);
  CHECK_FALSE(f.log.HasUnstableEntries());
  REQUIRE(f.log.UnstableSnapshot().has_value());
  CHECK(*f.log.UnstableSnapshot() == metadata);

  // The application persists it; the log then reads the snapshot from storage.
  Snapshot snapshot;
  snapshot.metadata = metadata;
  f.storage.ApplySnapshot(snapshot);
  f.log.StableSnapshotTo(10);
  CHECK_FALSE(f.log.UnstableSnapshot().has_value());
  CHECK(f.log.LastIndex() == 10);
  CHECK(*f.log.TermAt(10) == 3);
  // Appends continue after the snapshot.
  std::optional<Index> last = f.log.MaybeAppend(10, 3, 11, EntriesWithTerms(11, {3}));
  REQUIRE(last.has_value());
  CHECK(*last == 11);
  CHECK(f.log.committed() == 11);
}

TEST_CASE("Committed entries are handed out once, up to the commit index") {
  Fixture f({1, 1, 1, 1, 1});
  CHECK_FALSE(f.log.HasNextCommittedEntries());
  f.log.CommitTo(3);
  REQUIRE(f.log.HasNextCommittedEntries());
  CHECK(f.log.NextCommittedEntries() == EntriesWithTerms(1, {1, 1, 1}));
  f.log.AppliedTo(3);
  CHECK(f.log.applied() == 3);
  CHECK_FALSE(f.log.HasNextCommittedEntries());
  f.log.CommitTo(5);
  CHECK(f.log.NextCommittedEntries() == EntriesWithTerms(4, {1, 1}));
}

TEST_CASE("Committed entries per Ready are limited in bytes, but at least one is handed out") {
  const std::uint64_t entry_bytes = EntriesWithTerms(1, {1})[0].ByteSize();
  Fixture f({1, 1, 1, 1, 1}, /*max_committed_bytes_per_ready=*/2 * entry_bytes);
  f.log.CommitTo(5);
  std::vector<Entry> first = f.log.NextCommittedEntries();
  CHECK_FALSE(first.empty());
  CHECK(first.size() < 5);
  CHECK(first.front().index == 1);
  f.log.AppliedTo(first.back().index);
  std::vector<Entry> second = f.log.NextCommittedEntries();
  REQUIRE_FALSE(second.empty());
  CHECK(second.front().index == first.back().index + 1);
}

TEST_CASE("Applied can be set to where the application restarted from") {
  Fixture f({1, 1, 1, 1});
  f.log.CommitTo(4);
  f.log.set_applied(2);
  CHECK(f.log.NextCommittedEntries() == EntriesWithTerms(3, {1, 1}));
}

}  // namespace
}  // namespace roster::consensus
