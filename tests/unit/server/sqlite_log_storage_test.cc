// SqliteLogStorage: the LogStorage contract of consensus/storage.h on real SQLite files.
// It must answer every read exactly as MemoryStorage does, return exactly what it
// persisted after a reopen, and leave durable state and caches untouched when a write
// fails. Each test case works in its own temp dir.
#include "server/sqlite_log_storage.h"

#include <sqlite3.h>

#include "base/random.h"
#include "consensus/storage.h"
#include "tests/unit/server/log_test_util.h"
#include "tests/unit/server/temp_dir.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace roster::server {
namespace {

using consensus::ConfState;
using consensus::Entry;
using consensus::EntryType;
using consensus::HardState;
using consensus::Index;
using consensus::MemoryStorage;
using consensus::SnapshotMetadata;
using consensus::Term;
using namespace testing;  // NOLINT: the test vocabulary of log_test_util.h

// ---- What MemoryStorage does, on disk ----

TEST_CASE("A new log is empty: first index 1, last index 0, term 0 at index 0, in WAL mode") {
  TempDir dir;
  auto storage = OpenStorage(dir);
  CHECK(storage->FirstIndex() == 1);
  CHECK(storage->LastIndex() == 0);
  CHECK(*storage->TermAt(0) == 0);
  CHECK(storage->GetSnapshotMetadata() == SnapshotMetadata{});
  CHECK(storage->GetInitialState().hard_state == HardState{});
  CHECK(storage->snapshot_file() == nullptr);
  CHECK(storage->ReadSnapshotChunk(0, 10).status().code() == StatusCode::kUnavailable);

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir / "raft.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0))) == "wal");
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

TEST_CASE("Bootstrap writes the founding log durably; bootstrapping a log is refused") {
  TempDir dir;
  const consensus::BootstrapLog expected = consensus::MakeBootstrap(kThreeVoters);
  REQUIRE(expected.entries.size() == 3);
  {
    auto storage = OpenStorage(dir);
    REQUIRE(storage->Bootstrap(kThreeVoters).ok());
    CHECK(All(*storage) == expected.entries);
    CHECK(storage->hard_state() == expected.hard_state);
    CHECK(storage->Bootstrap(kThreeVoters).code() == StatusCode::kFailedPrecondition);
  }
  auto storage = OpenStorage(dir);
  CHECK(All(*storage) == expected.entries);
  CHECK(storage->hard_state() == expected.hard_state);
  CHECK(storage->GetInitialState().conf_state == ConfState{});  // membership is in the log
  CHECK(storage->Bootstrap(kThreeVoters).code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("One Persist writes entries and hard state together; a reopen reads the same") {
  TempDir dir;
  Observed before;
  {
    auto storage = OpenStorage(dir);
    PersistBatch batch = Append(EntriesWithTerms(1, {1, 1, 2, 3}));
    batch.entries[1].type = EntryType::kConfChange;
    batch.entries[2].data = std::string("\0binary\xff", 8);
    batch.entries[3].data.clear();
    batch.hard_state = HardState{.term = 3, .vote = 2, .commit = 2};
    REQUIRE(storage->Persist(batch).ok());
    CHECK(storage->LastIndex() == 4);
    CHECK(*storage->TermAt(4) == 3);
    CHECK(All(*storage) == batch.entries);
    CHECK(storage->hard_state() == *batch.hard_state);
    before = Observe(*storage);
  }
  auto reopened = OpenStorage(dir);
  CHECK(Observe(*reopened) == before);
  CHECK(reopened->entry_cache().empty());  // so the entries above came from raft.db
}

TEST_CASE("Persist over existing entries drops the conflicting suffix, durably") {
  TempDir dir;
  {
    auto storage = StorageWithTerms(dir, {1, 1, 1, 1, 1});
    REQUIRE(storage->Persist(Append(EntriesWithTerms(3, {4}))).ok());
    CHECK(storage->LastIndex() == 3);
    CHECK(TermsOf(All(*storage)) == std::vector<Term>{1, 1, 4});
    CHECK(storage->TermAt(4).status().code() == StatusCode::kUnavailable);
  }
  auto reopened = OpenStorage(dir);
  CHECK(reopened->LastIndex() == 3);
  CHECK(All(*reopened) == EntriesWithTerms(1, {1, 1, 4}));
}

TEST_CASE("After a truncation the entry cache and raft.db agree") {
  TempDir dir;
  // Room for about three entries: the log is split between raft.db and the cache.
  const SqliteLogStorageOptions small_cache = WithEntryCacheBytes(3 * 30);
  auto storage = StorageWithTerms(dir, {1, 1, 1, 1, 1, 1, 1, 1}, small_cache);
  REQUIRE(storage->entry_cache().first_index() == 6);

  SECTION("cut inside the cache") {
    REQUIRE(storage->Persist(Append(EntriesWithTerms(7, {2, 2}))).ok());
    CHECK(storage->entry_cache().last_index() == 8);
  }
  SECTION("cut before the cache") {
    REQUIRE(storage->Persist(Append(EntriesWithTerms(3, {2, 2, 2}))).ok());
    CHECK(storage->entry_cache().first_index() >= 3);
  }
  SECTION("cut at the first entry") {
    REQUIRE(storage->Persist(Append(EntriesWithTerms(1, {2}))).ok());
  }
  CHECK(storage->entry_cache().last_index() == storage->LastIndex());
  const std::vector<Entry> live = All(*storage);
  for (Index i = 1; i <= storage->LastIndex(); ++i) CHECK(*storage->TermAt(i) == live[i - 1].term);
  storage.reset();
  CHECK(All(*OpenStorage(dir, small_cache)) == live);
}

TEST_CASE("Old entries come from raft.db, recent ones from the cache, max_bytes spans both") {
  TempDir dir;
  const std::uint64_t entry_bytes = EntriesWithTerms(1, {1})[0].ByteSize();  // all 28 bytes
  const SqliteLogStorageOptions small_cache = WithEntryCacheBytes(4 * entry_bytes);
  auto storage = StorageWithTerms(dir, {1, 1, 1, 2, 2, 2, 3, 3, 3}, small_cache);
  REQUIRE(storage->entry_cache().first_index() == 6);

  CHECK(*storage->Entries(2, 9, kNoLimit) == EntriesWithTerms(2, {1, 1, 2, 2, 2, 3, 3}));
  CHECK(*storage->Entries(4, 8, 3 * entry_bytes) == EntriesWithTerms(4, {2, 2, 2}));
  CHECK(*storage->Entries(5, 8, 2 * entry_bytes - 1) == EntriesWithTerms(5, {2}));
  CHECK(storage->Entries(3, 10, 0)->size() == 1);
  CHECK(storage->Entries(4, 4, kNoLimit)->empty());
  CHECK(*storage->TermAt(3) == 1);  // from raft.db
  CHECK(*storage->TermAt(8) == 3);  // from the cache
}

TEST_CASE("Compact drops entries durably; reading them is Unavailable") {
  TempDir dir;
  {
    auto storage = StorageWithTerms(dir, {1, 1, 2, 2, 3});
    REQUIRE(TakeSnapshot(*storage, 3, kThreeVoters, "state", /*entries_to_keep=*/3).ok());
    REQUIRE(storage->FirstIndex() == 1);
    REQUIRE(storage->Compact(3).ok());
  }
  auto storage = OpenStorage(dir);
  CHECK(storage->FirstIndex() == 4);
  CHECK(storage->LastIndex() == 5);
  CHECK(*storage->TermAt(3) == 2);  // the compaction point keeps its term
  CHECK(storage->TermAt(2).status().code() == StatusCode::kUnavailable);
  CHECK(storage->Entries(2, 5, kNoLimit).status().code() == StatusCode::kUnavailable);
  CHECK(storage->Entries(3, 5, kNoLimit).status().code() == StatusCode::kUnavailable);
  CHECK(*storage->Entries(4, 6, kNoLimit) == EntriesWithTerms(4, {2, 3}));
}

TEST_CASE("CreateSnapshot records the snapshot and compacts behind entries_to_keep, durably") {
  TempDir dir;
  const ConfState five{.voters = {1, 2, 3, 4, 5}, .learners = {}};
  {
    auto storage = StorageWithTerms(dir, {1, 1, 2, 2, 3, 3, 3, 3});
    REQUIRE(TakeSnapshot(*storage, 6, five, "state@6", /*entries_to_keep=*/2).ok());
    CHECK(storage->FirstIndex() == 5);
    CHECK(storage->GetSnapshotMetadata() ==
          SnapshotMetadata{.index = 6, .term = 3, .conf_state = five});
    // The record rides in the next Persist.
    REQUIRE(storage->Persist(Append(EntriesWithTerms(9, {3}))).ok());
  }
  auto storage = OpenStorage(dir);
  CHECK(storage->GetSnapshotMetadata() ==
        SnapshotMetadata{.index = 6, .term = 3, .conf_state = five});
  CHECK(storage->GetInitialState().conf_state == five);
  CHECK(storage->FirstIndex() == 5);
  CHECK(*storage->TermAt(4) == 2);
  CHECK(*storage->Entries(5, 10, kNoLimit) == EntriesWithTerms(5, {3, 3, 3, 3, 3}));
  REQUIRE(storage->snapshot_file() != nullptr);
  CHECK(*storage->snapshot_file()->ReadAll() == "state@6");
}

TEST_CASE("CreateSnapshot leaves the compacted rows for later Persists to delete a slice at a time") {
  TempDir dir;
  const std::vector<Term> terms(2000, 1);
  auto storage = StorageWithTerms(dir, terms);
  REQUIRE(TakeSnapshot(*storage, 1900, kThreeVoters, "state", /*entries_to_keep=*/100).ok());
  CHECK(storage->FirstIndex() == 1801);
  // Nothing written yet: the snapshot cost the loop no write at all.
  CHECK(QueryIntOnRaftDb(dir, "SELECT MIN(idx) FROM entries") == 1);
  CHECK(QueryIntOnRaftDb(dir, "SELECT compact_index FROM meta") == 0);

  // The next Persist records it, and deletes the first slice (512 rows) below it.
  REQUIRE(storage->Persist(Append(EntriesWithTerms(2001, {1}))).ok());
  CHECK(QueryIntOnRaftDb(dir, "SELECT compact_index FROM meta") == 1800);
  CHECK(QueryIntOnRaftDb(dir, "SELECT MIN(idx) FROM entries") == 513);

  // Garbage rows below the compaction point are no hole: a reopen reads the log right.
  storage = OpenStorage(dir);
  CHECK(storage->FirstIndex() == 1801);
  CHECK(storage->LastIndex() == 2001);
  CHECK(*storage->Entries(1801, 2002, kNoLimit) == EntriesWithTerms(1801, std::vector<Term>(201, 1)));
  CHECK(storage->TermAt(1799).status().code() == StatusCode::kUnavailable);

  // Each Persist deletes one slice, until none are left.
  for (Index i = 2002; i <= 2005; ++i) REQUIRE(storage->Persist(Append(EntriesWithTerms(i, {1}))).ok());
  CHECK(QueryIntOnRaftDb(dir, "SELECT MIN(idx) FROM entries") == 1801);
  CHECK(QueryIntOnRaftDb(dir, "SELECT COUNT(*) FROM entries") == 205);
  CHECK(*storage->Entries(1801, 2006, kNoLimit) == EntriesWithTerms(1801, std::vector<Term>(205, 1)));
}

TEST_CASE("A crash before the next Persist reopens the previous snapshot, log whole") {
  TempDir dir;
  {
    auto storage = StorageWithTerms(dir, {1, 1, 2, 2, 3, 3});
    REQUIRE(TakeSnapshot(*storage, 3, kThreeVoters, "state@3", 0).ok());
    REQUIRE(storage->Persist(Append(EntriesWithTerms(7, {3}))).ok());  // records it
    REQUIRE(TakeSnapshot(*storage, 6, kThreeVoters, "state@6", 0).ok());
    CHECK(storage->FirstIndex() == 7);
  }  // no Persist after the second snapshot: its record never reached raft.db
  auto storage = OpenStorage(dir);
  CHECK(storage->GetSnapshotMetadata().index == 3);
  CHECK(*storage->snapshot_file()->ReadAll() == "state@3");
  CHECK(storage->FirstIndex() == 4);
  CHECK(*storage->Entries(4, 8, kNoLimit) == EntriesWithTerms(4, {2, 3, 3, 3}));
}

TEST_CASE("CreateSnapshot needs its file first and ignores an older snapshot") {
  TempDir dir;
  auto storage = StorageWithTerms(dir, {1, 1, 2, 2});
  const Observed before = Observe(*storage);
  CHECK(storage->CreateSnapshot(3, kThreeVoters, 0).code() == StatusCode::kFailedPrecondition);
  CHECK(Observe(*storage) == before);

  // A file whose membership differs from the one being recorded is refused too.
  REQUIRE(storage->snapshots()
              .Write({.index = 3, .term = 2, .conf_state = {.voters = {1}, .learners = {}}}, "x")
              .ok());
  CHECK(storage->CreateSnapshot(3, kThreeVoters, 0).code() == StatusCode::kInvalidArgument);
  CHECK(Observe(*storage) == before);

  REQUIRE(TakeSnapshot(*storage, 4, kThreeVoters, "at 4", 0).ok());
  REQUIRE(storage->CreateSnapshot(2, kThreeVoters, 0).ok());  // older: ignored
  CHECK(storage->GetSnapshotMetadata().index == 4);
}

TEST_CASE("CreateSnapshot takes a file another thread already verified, if it matches") {
  TempDir dir;
  auto storage = StorageWithTerms(dir, {1, 1, 2, 2});
  const SnapshotMetadata at3{.index = 3, .term = 2, .conf_state = kThreeVoters};
  const SnapshotMetadata at4{.index = 4, .term = 2, .conf_state = kThreeVoters};
  REQUIRE(storage->snapshots().Write(at3, "at 3").ok());
  REQUIRE(storage->snapshots().Write(at4, "at 4").ok());
  const Observed before = Observe(*storage);
  // The file for index 3 offered as the one for index 4: refused, nothing changes.
  Result<std::unique_ptr<SnapshotFile>> file3 = storage->snapshots().Load({3, 2});
  REQUIRE(file3.ok());
  CHECK(storage->CreateSnapshot(4, kThreeVoters, 0, std::move(*file3)).code() ==
        StatusCode::kInvalidArgument);
  CHECK(Observe(*storage) == before);

  Result<std::unique_ptr<SnapshotFile>> file4 = storage->snapshots().Load({4, 2});
  REQUIRE(file4.ok());
  REQUIRE(storage->CreateSnapshot(4, kThreeVoters, 0, std::move(*file4)).ok());
  CHECK(storage->GetSnapshotMetadata() == at4);
  REQUIRE(storage->snapshot_file() != nullptr);
  CHECK(*storage->snapshot_file()->ReadAll() == "at 4");
}

TEST_CASE("Persist installs a received snapshot: the log is replaced, chunks come from its file") {
  TempDir dir;
  const SnapshotMetadata metadata{
      .index = 20, .term = 4, .conf_state = {.voters = {1, 2, 3, 4}, .learners = {}}};
  const std::string data = "0123456789abcdefghij";
  {
    auto storage = StorageWithTerms(dir, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
    REQUIRE(storage->snapshots().Write(metadata, data).ok());
    PersistBatch batch;
    batch.snapshot = metadata;
    batch.entries = EntriesWithTerms(21, {4, 4});
    batch.hard_state = HardState{.term = 4, .vote = 0, .commit = 20};
    REQUIRE(storage->Persist(batch).ok());
    CHECK(storage->FirstIndex() == 21);
    CHECK(storage->LastIndex() == 22);
    CHECK(storage->TermAt(10).status().code() == StatusCode::kUnavailable);
  }
  auto storage = OpenStorage(dir);
  CHECK(storage->GetSnapshotMetadata() == metadata);
  CHECK(storage->GetInitialState().conf_state == metadata.conf_state);
  CHECK(storage->FirstIndex() == 21);
  CHECK(*storage->TermAt(20) == 4);
  CHECK(All(*storage) == EntriesWithTerms(21, {4, 4}));
  CHECK(storage->hard_state().commit == 20);

  std::string assembled;
  int chunks = 0;
  for (std::uint64_t offset = 0;;) {
    Result<consensus::SnapshotChunk> chunk = storage->ReadSnapshotChunk(offset, 8);
    REQUIRE(chunk.ok());
    CHECK(chunk->metadata == metadata);
    CHECK(chunk->offset == offset);
    assembled += chunk->data;
    offset += chunk->data.size();
    ++chunks;
    REQUIRE(chunks <= 3);
    if (chunk->done) break;
  }
  CHECK(chunks == 3);  // 8 + 8 + 4
  CHECK(assembled == data);
  CHECK(storage->ReadSnapshotChunk(21, 8).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("A received snapshot without its file is refused; an older one is ignored") {
  TempDir dir;
  auto storage = StorageWithTerms(dir, {1, 1, 1, 1, 1, 1});
  REQUIRE(TakeSnapshot(*storage, 5, kThreeVoters, "five", 0).ok());
  const Observed before = Observe(*storage);

  PersistBatch missing_file;
  missing_file.snapshot = SnapshotMetadata{.index = 9, .term = 2, .conf_state = kThreeVoters};
  CHECK(storage->Persist(missing_file).code() == StatusCode::kFailedPrecondition);
  CHECK(Observe(*storage) == before);

  PersistBatch older;
  older.snapshot = SnapshotMetadata{.index = 4, .term = 1, .conf_state = kThreeVoters};
  older.hard_state = HardState{.term = 2, .vote = 0, .commit = 5};
  REQUIRE(storage->Persist(older).ok());
  CHECK(storage->GetSnapshotMetadata().index == 5);
  CHECK(storage->LastIndex() == 6);
  CHECK(storage->hard_state().term == 2);
}

TEST_CASE("An empty Persist writes nothing") {
  TempDir dir;
  auto storage = StorageWithTerms(dir, {1, 1});
  const auto wal_bytes = std::filesystem::file_size(dir / "raft.db-wal");
  REQUIRE(storage->Persist(PersistBatch{}).ok());
  CHECK(std::filesystem::file_size(dir / "raft.db-wal") == wal_bytes);
  CHECK(storage->LastIndex() == 2);
}

TEST_CASE("Snapshot files are pruned to the newest two once a newer one is recorded") {
  TempDir dir;
  auto storage = StorageWithTerms(dir, {1, 1, 1, 1, 1, 1, 1, 1});
  for (Index index : {2, 4, 6, 8}) {
    REQUIRE(TakeSnapshot(*storage, index, kThreeVoters, "s", 0).ok());
  }
  // Not before the record naming the newest is durable: until then a crash needs them.
  CHECK(storage->snapshots().List()->size() == 4);
  REQUIRE(storage->Persist(Append(EntriesWithTerms(9, {1}))).ok());
  CHECK(*storage->snapshots().List() == std::vector<SnapshotId>{{8, 1}, {6, 1}});
}

TEST_CASE("A snapshot file committed but never recorded is not used") {
  // A crash between writing a snapshot's file and recording it in raft.db.
  TempDir dir;
  {
    auto storage = StorageWithTerms(dir, {1, 1, 1, 1, 1, 1});
    REQUIRE(TakeSnapshot(*storage, 3, kThreeVoters, "recorded", 0).ok());
    REQUIRE(storage->Persist(Append(EntriesWithTerms(7, {1}))).ok());  // records it
    REQUIRE(
        storage->snapshots().Write({.index = 5, .term = 1, .conf_state = kThreeVoters}, "x").ok());
    REQUIRE(
        storage->snapshots().Write({.index = 40, .term = 3, .conf_state = kThreeVoters}, "y").ok());
  }
  auto storage = OpenStorage(dir);
  CHECK(storage->GetSnapshotMetadata().index == 3);
  CHECK(storage->ReadSnapshotChunk(0, kNoLimit)->data == "recorded");
  CHECK(storage->FirstIndex() == 4);
  CHECK(storage->LastIndex() == 7);
}

// ---- Held to MemoryStorage, operation by operation ----

// Runs one random sequence of mutations against a MemoryStorage and a SqliteLogStorage
// (reopening the latter now and then) and compares every read after each step.
class ModelComparison {
 public:
  ModelComparison(const TempDir& dir, SqliteLogStorageOptions options, std::uint64_t seed)
      : dir_(dir), options_(options), random_(seed) {
    sqlite_ = OpenStorage(dir_, options_);
    memory_.Bootstrap(kThreeVoters);
    REQUIRE(sqlite_->Bootstrap(kThreeVoters).ok());
  }

  // One random mutation, weighted toward appends (the common case).
  void Step() {
    const std::uint64_t roll = random_.Uniform(10);
    if (roll < 4) return AppendEntries();
    if (roll < 5) return PersistHardState();
    if (roll < 6) return InstallSnapshot();
    if (roll < 8) return TakeSnapshotAt();
    if (roll < 9) return CompactSome();
    Reopen();
  }

  // A restart after the loop's next Persist, which records a snapshot CreateSnapshot left
  // pending (the crash in between has a test of its own above).
  void Reopen() {
    PersistHardState();
    sqlite_.reset();
    sqlite_ = OpenStorage(dir_, options_);
  }

  // Every read both storages answer, compared.
  void CompareReads() {
    REQUIRE(sqlite_->FirstIndex() == memory_.FirstIndex());
    REQUIRE(sqlite_->LastIndex() == memory_.LastIndex());
    CHECK(sqlite_->GetSnapshotMetadata() == memory_.GetSnapshotMetadata());
    CHECK(sqlite_->GetInitialState().hard_state == memory_.GetInitialState().hard_state);
    CHECK(sqlite_->GetInitialState().conf_state == memory_.GetInitialState().conf_state);
    const Index first = memory_.FirstIndex();
    const Index last = memory_.LastIndex();
    for (Index i = first > 1 ? first - 2 : 0; i <= last + 1; ++i) {
      CheckSame(sqlite_->TermAt(i), memory_.TermAt(i));
    }
    for (Index lo = first - 1; lo <= last + 1; ++lo) {
      const Index his[] = {lo, std::min(lo + 1, last + 1), RandomBetween(lo, last + 1), last + 1};
      for (Index hi : his) {
        for (std::uint64_t max_bytes : {std::uint64_t{0}, random_.Uniform(400), kNoLimit}) {
          CheckSame(sqlite_->Entries(lo, hi, max_bytes), memory_.Entries(lo, hi, max_bytes));
        }
      }
    }
    CompareSnapshotChunk(0, kNoLimit);
    CompareSnapshotChunk(random_.Uniform(40), 1 + random_.Uniform(20));
  }

 private:
  template <typename T>
  static void CheckSame(const Result<T>& actual, const Result<T>& expected) {
    REQUIRE(actual.ok() == expected.ok());
    if (expected.ok()) {
      CHECK(*actual == *expected);
    } else {
      CHECK(actual.status().code() == expected.status().code());
    }
  }

  void CompareSnapshotChunk(std::uint64_t offset, std::uint64_t max_bytes) {
    Result<consensus::SnapshotChunk> actual = sqlite_->ReadSnapshotChunk(offset, max_bytes);
    Result<consensus::SnapshotChunk> expected = memory_.ReadSnapshotChunk(offset, max_bytes);
    REQUIRE(actual.ok() == expected.ok());
    if (!expected.ok()) {
      CHECK(actual.status().code() == expected.status().code());
      return;
    }
    CHECK(actual->metadata == expected->metadata);
    CHECK(actual->offset == expected->offset);
    CHECK(actual->data == expected->data);
    CHECK(actual->done == expected->done);
  }

  Index RandomBetween(Index lo, Index hi) {  // inclusive
    return lo + random_.Uniform(hi - lo + 1);
  }

  std::vector<Entry> RandomEntries(Index first_index, std::uint64_t count) {
    std::vector<Entry> entries;
    for (Index index = first_index; index < first_index + count; ++index) {
      if (random_.OneIn(4)) ++term_;
      entries.push_back(
          Entry{.term = term_,
                .index = index,
                .type = random_.OneIn(5) ? EntryType::kConfChange : EntryType::kNormal,
                .data = std::string(random_.Uniform(120), static_cast<char>('a' + index % 26))});
    }
    return entries;
  }

  ConfState RandomConfState() {
    ConfState conf_state;
    for (consensus::NodeId id = 1; id <= 5; ++id) {
      if (random_.OneIn(2)) {
        conf_state.voters.push_back(id);
      } else if (random_.OneIn(2)) {
        conf_state.learners.push_back(id);
      }
    }
    return conf_state;
  }

  HardState RandomHardState() {
    return {.term = term_, .vote = random_.Uniform(4), .commit = random_.Uniform(50)};
  }

  // An append that may overwrite a suffix (never at or before the snapshot).
  void AppendEntries() {
    const Index lo = memory_.GetSnapshotMetadata().index + 1;
    const Index first_new =
        random_.OneIn(2) ? memory_.LastIndex() + 1 : RandomBetween(lo, memory_.LastIndex() + 1);
    PersistBatch batch = Append(RandomEntries(first_new, 1 + random_.Uniform(6)));
    if (random_.OneIn(2)) batch.hard_state = RandomHardState();
    REQUIRE(sqlite_->Persist(batch).ok());
    memory_.Append(batch.entries);
    if (batch.hard_state) memory_.SetHardState(*batch.hard_state);
  }

  void PersistHardState() {
    PersistBatch batch;
    batch.hard_state = RandomHardState();
    REQUIRE(sqlite_->Persist(batch).ok());
    memory_.SetHardState(*batch.hard_state);
  }

  // What a follower does with a snapshot from the leader, sometimes a stale one.
  void InstallSnapshot() {
    const Index current = memory_.GetSnapshotMetadata().index;
    consensus::Snapshot snapshot;
    const bool stale = current > 0 && random_.OneIn(5);
    snapshot.metadata.index =
        stale ? RandomBetween(1, current) : RandomBetween(current + 1, memory_.LastIndex() + 5);
    snapshot.metadata.term = ++term_;
    snapshot.metadata.conf_state = RandomConfState();
    snapshot.data = std::string(random_.Uniform(60), 's');
    if (!stale) REQUIRE(sqlite_->snapshots().Write(snapshot.metadata, snapshot.data).ok());
    PersistBatch batch;
    batch.snapshot = snapshot.metadata;
    if (!stale && random_.OneIn(2)) {
      batch.entries = RandomEntries(snapshot.metadata.index + 1, 1 + random_.Uniform(3));
    }
    REQUIRE(sqlite_->Persist(batch).ok());
    memory_.ApplySnapshot(snapshot);
    memory_.Append(batch.entries);
  }

  // What the application does after applying entries.
  void TakeSnapshotAt() {
    const Index current = memory_.GetSnapshotMetadata().index;
    if (memory_.LastIndex() <= current) return;
    const Index index = RandomBetween(current + 1, memory_.LastIndex());
    const ConfState conf_state = RandomConfState();
    const std::string data = "state@" + std::to_string(index);
    const std::uint64_t entries_to_keep = random_.Uniform(6);
    REQUIRE(TakeSnapshot(*sqlite_, index, conf_state, data, entries_to_keep).ok());
    memory_.CreateSnapshot(index, conf_state, data, entries_to_keep);
  }

  void CompactSome() {
    const Index compacted = memory_.FirstIndex() - 1;
    const Index snapshot = memory_.GetSnapshotMetadata().index;
    if (snapshot <= compacted) return;
    const Index index = RandomBetween(compacted + 1, snapshot);
    REQUIRE(sqlite_->Compact(index).ok());
    memory_.Compact(index);
  }

  const TempDir& dir_;
  const SqliteLogStorageOptions options_;
  DeterministicRandom random_;
  MemoryStorage memory_;
  std::unique_ptr<SqliteLogStorage> sqlite_;
  Term term_ = 1;
};

TEST_CASE("SqliteLogStorage answers every read as MemoryStorage does, across reopens") {
  // No cache (every read from raft.db), a cache that holds a few entries, and one that
  // holds everything.
  const std::uint64_t cache_bytes = GENERATE(0u, 300u, 64u << 20);
  const std::uint64_t seed = GENERATE(range(1, 6));
  INFO("seed " << seed << ", cache " << cache_bytes << " bytes");
  TempDir dir(TempDir::Where::kMemoryIfAvailable);
  ModelComparison model(dir, WithEntryCacheBytes(cache_bytes), seed);
  for (int step = 0; step < 80; ++step) {
    INFO("step " << step);
    model.Step();
    model.CompareReads();
  }
  model.Reopen();
  model.CompareReads();
}

}  // namespace
}  // namespace roster::server
