// MemoryStorage: the LogStorage contract of consensus/storage.h, exercised on the
// in-memory implementation the tests and the simulator rely on.
#include "consensus/storage.h"
#include "tests/unit/consensus/test_cluster.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace roster::consensus {
namespace {

using testing::EntriesWithTerms;
using testing::TermsOf;

constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

const ConfState kThreeVoters{.voters = {1, 2, 3}, .learners = {}};

// Entries 1..terms.size() with the given terms.
MemoryStorage StorageWithTerms(const std::vector<Term>& terms) {
  MemoryStorage storage;
  storage.Append(EntriesWithTerms(1, terms));
  return storage;
}

std::vector<Entry> All(const MemoryStorage& storage) {
  Result<std::vector<Entry>> entries =
      storage.Entries(storage.FirstIndex(), storage.LastIndex() + 1, kNoLimit);
  REQUIRE(entries.ok());
  return *entries;
}

TEST_CASE("A new storage is empty: first index 1, last index 0, term 0 at index 0") {
  MemoryStorage storage;
  CHECK(storage.FirstIndex() == 1);
  CHECK(storage.LastIndex() == 0);
  REQUIRE(storage.TermAt(0).ok());
  CHECK(*storage.TermAt(0) == 0);
  CHECK(storage.GetSnapshotMetadata().index == 0);
  CHECK(storage.GetInitialState().hard_state == HardState{});
}

TEST_CASE("Bootstrap writes the membership into the log as committed entries of term 1") {
  MemoryStorage storage;
  const ConfState membership{.voters = {1, 2, 3}, .learners = {4}};
  storage.Bootstrap(membership);
  CHECK(storage.FirstIndex() == 1);
  CHECK(storage.LastIndex() == 4);
  CHECK(storage.hard_state() == HardState{.term = 1, .vote = kNoNode, .commit = 4});
  CHECK(storage.GetInitialState().hard_state == storage.hard_state());
  // Replaying the entries rebuilds the membership (a node that joins later does this).
  ConfState replayed;
  for (const Entry& entry : All(storage)) {
    CHECK(entry.term == 1);
    REQUIRE(entry.type == EntryType::kConfChange);
    Result<ConfChange> change = DecodeConfChange(entry.data);
    REQUIRE(change.ok());
    Result<ConfState> next = ApplyConfChange(replayed, *change);
    REQUIRE(next.ok());
    replayed = *next;
  }
  CHECK(replayed == membership);
  CHECK(All(storage) == MakeBootstrap(membership).entries);
}

TEST_CASE("The hard state is stored as given and reported in the initial state") {
  MemoryStorage storage;
  const HardState hard_state{.term = 4, .vote = 2, .commit = 0};
  storage.SetHardState(hard_state);
  CHECK(storage.hard_state() == hard_state);
  CHECK(storage.GetInitialState().hard_state == hard_state);
}

TEST_CASE("Appended entries are read back with their terms") {
  MemoryStorage storage = StorageWithTerms({1, 1, 2, 3});
  CHECK(storage.FirstIndex() == 1);
  CHECK(storage.LastIndex() == 4);
  CHECK(*storage.TermAt(3) == 2);
  CHECK(*storage.TermAt(4) == 3);
  CHECK(All(storage) == EntriesWithTerms(1, {1, 1, 2, 3}));
}

TEST_CASE("TermAt beyond the last index is Unavailable") {
  MemoryStorage storage = StorageWithTerms({1, 1});
  Result<Term> term = storage.TermAt(3);
  REQUIRE_FALSE(term.ok());
  CHECK(term.status().code() == StatusCode::kUnavailable);
}

TEST_CASE("Appending at the end extends the log") {
  MemoryStorage storage = StorageWithTerms({1, 1});
  storage.Append(EntriesWithTerms(3, {2, 2}));
  CHECK(storage.LastIndex() == 4);
  CHECK(TermsOf(All(storage)) == std::vector<Term>{1, 1, 2, 2});
}

TEST_CASE("Appending over existing entries replaces them and drops every entry after them") {
  MemoryStorage storage = StorageWithTerms({1, 1, 1, 1, 1});
  storage.Append(EntriesWithTerms(3, {4}));
  CHECK(storage.LastIndex() == 3);
  CHECK(TermsOf(All(storage)) == std::vector<Term>{1, 1, 4});
  CHECK(All(storage).back().data == "i3t4");
}

TEST_CASE("Appending nothing changes nothing") {
  MemoryStorage storage = StorageWithTerms({1, 2});
  storage.Append({});
  CHECK(TermsOf(All(storage)) == std::vector<Term>{1, 2});
}

TEST_CASE("Entries returns the half-open range [lo, hi)") {
  MemoryStorage storage = StorageWithTerms({1, 1, 2, 2, 3});
  Result<std::vector<Entry>> entries = storage.Entries(2, 4, kNoLimit);
  REQUIRE(entries.ok());
  CHECK(*entries == EntriesWithTerms(2, {1, 2}));
  Result<std::vector<Entry>> empty = storage.Entries(3, 3, kNoLimit);
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("Entries stops at max_bytes but always returns at least one entry") {
  MemoryStorage storage = StorageWithTerms({1, 1, 1, 1, 1});
  const std::uint64_t entry_bytes = EntriesWithTerms(1, {1})[0].ByteSize();

  Result<std::vector<Entry>> none_fit = storage.Entries(1, 6, 0);
  REQUIRE(none_fit.ok());
  CHECK(none_fit->size() == 1);

  Result<std::vector<Entry>> two_fit = storage.Entries(1, 6, 2 * entry_bytes);
  REQUIRE(two_fit.ok());
  CHECK(two_fit->size() == 2);

  Result<std::vector<Entry>> almost_three = storage.Entries(1, 6, 3 * entry_bytes - 1);
  REQUIRE(almost_three.ok());
  CHECK(almost_three->size() == 2);
}

TEST_CASE("Compact drops entries up to the index; reading them is Unavailable") {
  MemoryStorage storage = StorageWithTerms({1, 1, 2, 2, 3});
  storage.CreateSnapshot(3, kThreeVoters, "state", /*entries_to_keep=*/3);
  REQUIRE(storage.FirstIndex() == 1);
  storage.Compact(3);
  CHECK(storage.FirstIndex() == 4);
  CHECK(storage.LastIndex() == 5);
  // The compaction point keeps its term: it is the previous entry of the first append.
  CHECK(*storage.TermAt(3) == 2);
  CHECK(storage.TermAt(2).status().code() == StatusCode::kUnavailable);
  Result<std::vector<Entry>> compacted = storage.Entries(2, 5, kNoLimit);
  REQUIRE_FALSE(compacted.ok());
  CHECK(compacted.status().code() == StatusCode::kUnavailable);
  CHECK(*storage.Entries(4, 6, kNoLimit) == EntriesWithTerms(4, {2, 3}));
}

TEST_CASE("CreateSnapshot records the applied state and the membership at its index") {
  MemoryStorage storage = StorageWithTerms({1, 1, 2, 2, 3});
  const ConfState five{.voters = {1, 2, 3, 4, 5}, .learners = {}};
  storage.CreateSnapshot(4, five, "state@4", 0);
  const SnapshotMetadata metadata = storage.GetSnapshotMetadata();
  CHECK(metadata.index == 4);
  CHECK(metadata.term == 2);
  CHECK(metadata.conf_state == five);
  CHECK(storage.snapshot().data == "state@4");
  CHECK(storage.GetInitialState().conf_state == five);
}

TEST_CASE("CreateSnapshot keeps the entries after its index") {
  MemoryStorage storage = StorageWithTerms({1, 1, 2, 2, 3, 3});
  storage.CreateSnapshot(4, kThreeVoters, "s", /*entries_to_keep=*/0);
  CHECK(storage.FirstIndex() == 5);
  CHECK(storage.LastIndex() == 6);
  CHECK(*storage.TermAt(4) == 2);
  CHECK(*storage.Entries(5, 7, kNoLimit) == EntriesWithTerms(5, {3, 3}));
}

TEST_CASE("CreateSnapshot can keep entries behind the snapshot for slow followers") {
  MemoryStorage storage = StorageWithTerms({1, 1, 2, 2, 3, 3, 3, 3});
  storage.CreateSnapshot(6, kThreeVoters, "s", /*entries_to_keep=*/2);
  CHECK(storage.GetSnapshotMetadata().index == 6);
  CHECK(storage.FirstIndex() == 5);
  CHECK(storage.LastIndex() == 8);
  CHECK(*storage.Entries(5, 9, kNoLimit) == EntriesWithTerms(5, {3, 3, 3, 3}));
  CHECK(storage.TermAt(3).status().code() == StatusCode::kUnavailable);
}

TEST_CASE("CreateSnapshot keeping more entries than exist drops nothing") {
  MemoryStorage storage = StorageWithTerms({1, 1, 2});
  storage.CreateSnapshot(2, kThreeVoters, "s", /*entries_to_keep=*/100);
  CHECK(storage.FirstIndex() == 1);
  CHECK(storage.LastIndex() == 3);
  CHECK(storage.GetSnapshotMetadata().index == 2);
}

TEST_CASE("Appends continue after a snapshot") {
  MemoryStorage storage = StorageWithTerms({1, 1, 2});
  storage.CreateSnapshot(3, kThreeVoters, "s", 0);
  storage.Append(EntriesWithTerms(4, {2, 5}));
  CHECK(storage.FirstIndex() == 4);
  CHECK(storage.LastIndex() == 5);
  CHECK(*storage.TermAt(5) == 5);
}

TEST_CASE("ApplySnapshot replaces the whole log with the snapshot") {
  MemoryStorage storage = StorageWithTerms({1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  Snapshot snapshot;
  snapshot.metadata = SnapshotMetadata{
      .index = 20, .term = 4, .conf_state = {.voters = {1, 2, 3, 4}, .learners = {}}};
  snapshot.data = "leader state";
  storage.ApplySnapshot(snapshot);
  CHECK(storage.FirstIndex() == 21);
  CHECK(storage.LastIndex() == 20);
  CHECK(*storage.TermAt(20) == 4);
  CHECK(storage.TermAt(10).status().code() == StatusCode::kUnavailable);
  CHECK(storage.GetSnapshotMetadata() == snapshot.metadata);
  CHECK(storage.snapshot() == snapshot);
  CHECK(storage.GetInitialState().conf_state == snapshot.metadata.conf_state);
  storage.Append(EntriesWithTerms(21, {4}));
  CHECK(storage.LastIndex() == 21);
}

TEST_CASE("ApplySnapshot drops a log that runs past the snapshot") {
  // A follower's conflicting suffix must not survive behind the leader's snapshot.
  MemoryStorage storage = StorageWithTerms({1, 1, 1, 1, 1, 1});
  Snapshot snapshot;
  snapshot.metadata = SnapshotMetadata{.index = 4, .term = 2, .conf_state = kThreeVoters};
  storage.ApplySnapshot(snapshot);
  CHECK(storage.LastIndex() == 4);
  CHECK(*storage.TermAt(4) == 2);
}

TEST_CASE("ApplySnapshot ignores a snapshot older than the current one") {
  MemoryStorage storage;
  Snapshot newer;
  newer.metadata = SnapshotMetadata{.index = 10, .term = 3, .conf_state = kThreeVoters};
  newer.data = "newer";
  storage.ApplySnapshot(newer);
  Snapshot older;
  older.metadata = SnapshotMetadata{.index = 5, .term = 2, .conf_state = kThreeVoters};
  older.data = "older";
  storage.ApplySnapshot(older);
  CHECK(storage.snapshot() == newer);
  CHECK(storage.FirstIndex() == 11);
}

TEST_CASE("Reading a snapshot chunk without a snapshot is Unavailable") {
  MemoryStorage storage = StorageWithTerms({1});
  Result<SnapshotChunk> chunk = storage.ReadSnapshotChunk(0, 100);
  REQUIRE_FALSE(chunk.ok());
  CHECK(chunk.status().code() == StatusCode::kUnavailable);
}

TEST_CASE("The snapshot reads back in chunks that end with done") {
  MemoryStorage storage = StorageWithTerms({1, 1, 2});
  const std::string data = "0123456789abcdefghij";  // 20 bytes
  storage.CreateSnapshot(3, kThreeVoters, data, 0);

  std::string assembled;
  std::uint64_t offset = 0;
  int chunks = 0;
  for (;;) {
    Result<SnapshotChunk> chunk = storage.ReadSnapshotChunk(offset, 8);
    REQUIRE(chunk.ok());
    CHECK(chunk->offset == offset);
    CHECK(chunk->metadata == storage.GetSnapshotMetadata());
    CHECK(chunk->data.size() <= 8);
    assembled += chunk->data;
    offset += chunk->data.size();
    ++chunks;
    REQUIRE(chunks <= 3);
    if (chunk->done) break;
  }
  CHECK(chunks == 3);  // 8 + 8 + 4
  CHECK(assembled == data);
}

TEST_CASE("A chunk from the middle of the snapshot holds exactly those bytes") {
  MemoryStorage storage = StorageWithTerms({1});
  storage.CreateSnapshot(1, kThreeVoters, "abcdefghij", 0);
  Result<SnapshotChunk> middle = storage.ReadSnapshotChunk(3, 4);
  REQUIRE(middle.ok());
  CHECK(middle->data == "defg");
  CHECK_FALSE(middle->done);
  Result<SnapshotChunk> tail = storage.ReadSnapshotChunk(7, 100);
  REQUIRE(tail.ok());
  CHECK(tail->data == "hij");
  CHECK(tail->done);
}

TEST_CASE("A chunk that ends exactly at the end of the snapshot is done") {
  MemoryStorage storage = StorageWithTerms({1});
  storage.CreateSnapshot(1, kThreeVoters, "abcdefgh", 0);
  Result<SnapshotChunk> chunk = storage.ReadSnapshotChunk(4, 4);
  REQUIRE(chunk.ok());
  CHECK(chunk->data == "efgh");
  CHECK(chunk->done);
}

TEST_CASE("An empty snapshot is one empty chunk that is done") {
  MemoryStorage storage = StorageWithTerms({1});
  storage.CreateSnapshot(1, kThreeVoters, "", 0);
  Result<SnapshotChunk> chunk = storage.ReadSnapshotChunk(0, 16);
  REQUIRE(chunk.ok());
  CHECK(chunk->data.empty());
  CHECK(chunk->done);
}

TEST_CASE("A newer snapshot is read with its own metadata") {
  MemoryStorage storage = StorageWithTerms({1, 1, 2, 2});
  storage.CreateSnapshot(2, kThreeVoters, "old", 0);
  storage.CreateSnapshot(4, kThreeVoters, "new", 0);
  Result<SnapshotChunk> chunk = storage.ReadSnapshotChunk(0, 100);
  REQUIRE(chunk.ok());
  CHECK(chunk->metadata.index == 4);
  CHECK(chunk->data == "new");
}

}  // namespace
}  // namespace roster::consensus
