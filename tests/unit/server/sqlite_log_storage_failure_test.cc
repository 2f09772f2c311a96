// SqliteLogStorage when things go wrong: a write that fails half-way (disk full), a
// failed fsync, a database locked by someone else, a damaged raft.db, a damaged
// snapshot file. The rule throughout: an error comes back as a Status, never a crash,
// and what the storage shows afterwards is exactly what is durable.
#include <sqlite3.h>

#include "server/sqlite_log_storage.h"
#include "tests/unit/server/fault_vfs.h"
#include "tests/unit/server/log_test_util.h"
#include "tests/unit/server/temp_dir.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace roster::server {
namespace {

using consensus::ConfState;
using consensus::HardState;
using consensus::Index;
using consensus::SnapshotMetadata;
using consensus::Term;
using namespace testing;  // NOLINT: the test vocabulary of log_test_util.h

SqliteLogStorageOptions ThroughFaultVfs() {
  RegisterFaultVfs();
  SqliteLogStorageOptions options;
  options.sqlite_vfs = kFaultVfsName;
  options.entry_cache_bytes_max = 4 * 30;  // a few entries: reads hit raft.db as well
  return options;
}

void FlipLastByte(const std::string& path) {
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(!bytes.empty());
  bytes.back() ^= 0x01;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Entries 1..10 in term 1, a hard state, a snapshot at 6 with entries 5.. kept.
std::unique_ptr<SqliteLogStorage> BusyStorage(const TempDir& dir,
                                              const SqliteLogStorageOptions& options) {
  auto storage = StorageWithTerms(dir, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, options);
  REQUIRE(TakeSnapshot(*storage, 6, kThreeVoters, "state@6", /*entries_to_keep=*/2).ok());
  PersistBatch hard_state;  // also writes the snapshot record
  hard_state.hard_state = HardState{.term = 1, .vote = 1, .commit = 8};
  REQUIRE(storage->Persist(hard_state).ok());
  REQUIRE(storage->FirstIndex() == 5);
  return storage;
}

// ---- Failed writes ----

TEST_CASE("A write that fails half-way (disk full) changes nothing, durably or in memory") {
  TempDir dir;
  const SqliteLogStorageOptions options = ThroughFaultVfs();
  auto storage = BusyStorage(dir, options);
  const Observed before = Observe(*storage);
  const std::size_t cached_before = storage->entry_cache().size();
  // The snapshot files exist already: only raft.db's writes fail.
  REQUIRE(
      storage->snapshots().Write({.index = 9, .term = 1, .conf_state = kThreeVoters}, "@9").ok());
  REQUIRE(
      storage->snapshots().Write({.index = 30, .term = 2, .conf_state = kThreeVoters}, "@30").ok());

  {
    InjectFaults faults({.fail_writes = true, .fail_syncs = false});
    // A follower overwriting a suffix, with a new term: truncate, insert, write meta.
    PersistBatch overwrite = Append(EntriesWithTerms(8, {2, 2, 2, 2, 2}));
    overwrite.hard_state = HardState{.term = 2, .vote = 3, .commit = 9};
    const Status status = storage->Persist(overwrite);
    CHECK(status.code() == StatusCode::kResourceExhausted);
    CHECK(status.message().find("sqlite") != std::string::npos);
    CHECK(faults.failures() > 0);
    CHECK(Observe(*storage) == before);
    CHECK(storage->entry_cache().size() == cached_before);

    PersistBatch install;
    install.snapshot = SnapshotMetadata{.index = 30, .term = 2, .conf_state = kThreeVoters};
    CHECK(storage->Persist(install).code() == StatusCode::kResourceExhausted);
    CHECK(storage->Compact(6).code() == StatusCode::kResourceExhausted);
    CHECK(Observe(*storage) == before);
  }

  // Nothing reached the disk either.
  storage.reset();
  storage = OpenStorage(dir, options);
  CHECK(Observe(*storage) == before);

  // Once there is room again, the same write goes through.
  PersistBatch retry = Append(EntriesWithTerms(8, {2, 2, 2, 2, 2}));
  REQUIRE(storage->Persist(retry).ok());
  CHECK(storage->LastIndex() == 12);
  CHECK(*storage->TermAt(8) == 2);
}

TEST_CASE("A snapshot record that cannot be written stays pending and loses nothing") {
  TempDir dir;
  const SqliteLogStorageOptions options = ThroughFaultVfs();
  auto storage = BusyStorage(dir, options);
  const Observed durable = Observe(*storage);
  {
    InjectFaults faults({.fail_writes = true, .fail_syncs = false});
    // CreateSnapshot writes nothing, so the full disk shows only at the next Persist.
    REQUIRE(TakeSnapshot(*storage, 9, kThreeVoters, "state@9", 0).ok());
    CHECK(storage->GetSnapshotMetadata().index == 9);
    CHECK(storage->Persist(Append(EntriesWithTerms(11, {1}))).code() ==
          StatusCode::kResourceExhausted);
    CHECK(storage->LastIndex() == 10);
  }
  // A crash now reopens the snapshot at 6 with the whole log after it.
  storage.reset();
  storage = OpenStorage(dir, options);
  CHECK(Observe(*storage) == durable);
  CHECK(*storage->snapshot_file()->ReadAll() == "state@6");
}

TEST_CASE("While another connection holds the write lock, Persist is Unavailable") {
  TempDir dir;
  auto storage = StorageWithTerms(dir, {1, 1, 1});
  const Observed before = Observe(*storage);
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open((dir / "raft.db").c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);

  const Status status = storage->Persist(Append(EntriesWithTerms(2, {2, 2, 2})));
  CHECK(status.code() == StatusCode::kUnavailable);
  CHECK(status.message().find("locked") != std::string::npos);
  CHECK(Observe(*storage) == before);

  REQUIRE(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  REQUIRE(storage->Persist(Append(EntriesWithTerms(2, {2, 2, 2}))).ok());
  CHECK(storage->LastIndex() == 4);
}

TEST_CASE("After a failed fsync every write is refused until the node restarts") {
  TempDir dir;
  const SqliteLogStorageOptions options = ThroughFaultVfs();
  auto storage = StorageWithTerms(dir, {1, 1, 1}, options);
  const Observed before = Observe(*storage);

  {
    InjectFaults faults({.fail_writes = false, .fail_syncs = true});
    const Status status = storage->Persist(Append(EntriesWithTerms(4, {1, 1})));
    CHECK(status.code() == StatusCode::kIoError);
    CHECK(faults.failures() > 0);
  }
  // The disk works again, but what the failed commit left on it is unknown.
  CHECK(Observe(*storage) == before);  // reads still serve what was known durable
  PersistBatch hard_state;
  hard_state.hard_state = HardState{.term = 2, .vote = 0, .commit = 0};
  CHECK(storage->Persist(hard_state).code() == StatusCode::kFailedPrecondition);
  CHECK(storage->Compact(1).code() == StatusCode::kFailedPrecondition);
  CHECK(storage->CreateSnapshot(2, kThreeVoters, 0).code() == StatusCode::kFailedPrecondition);

  // A restart settles it: the entries made it or they did not, nothing in between.
  storage.reset();
  storage = OpenStorage(dir);
  const Index last = storage->LastIndex();
  CHECK((last == 3 || last == 5));
  CHECK(All(*storage) == EntriesWithTerms(1, std::vector<Term>(last, 1)));
  REQUIRE(storage->Persist(hard_state).ok());
}

// ---- A damaged raft.db ----

TEST_CASE("A raft.db that is not a database is Corruption, not a crash") {
  TempDir dir;
  std::ofstream(dir / "raft.db", std::ios::binary) << std::string(8192, 'x');
  Result<std::unique_ptr<SqliteLogStorage>> storage = SqliteLogStorage::Open(dir.path());
  REQUIRE_FALSE(storage.ok());
  CHECK(storage.status().code() == StatusCode::kCorruption);
}

TEST_CASE("A raft.db from an unknown schema version is refused") {
  TempDir dir;
  OpenStorage(dir).reset();
  ExecOnRaftDb(dir, "PRAGMA user_version = 99");
  Result<std::unique_ptr<SqliteLogStorage>> storage = SqliteLogStorage::Open(dir.path());
  REQUIRE_FALSE(storage.ok());
  CHECK(storage.status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("A database that is not Roster's is refused") {
  TempDir dir;
  ExecOnRaftDb(dir, "CREATE TABLE something_else (x INTEGER)");
  CHECK(SqliteLogStorage::Open(dir.path()).status().code() == StatusCode::kCorruption);
}

TEST_CASE("An entry missing from raft.db is Corruption when read") {
  TempDir dir;
  StorageWithTerms(dir, {1, 1, 2, 2, 3, 3}).reset();
  ExecOnRaftDb(dir, "DELETE FROM entries WHERE idx = 4");
  auto storage = OpenStorage(dir, WithEntryCacheBytes(0));
  CHECK(storage->Entries(1, 7, kNoLimit).status().code() == StatusCode::kCorruption);
  CHECK(storage->Entries(4, 5, kNoLimit).status().code() == StatusCode::kCorruption);
  CHECK(storage->TermAt(4).status().code() == StatusCode::kCorruption);
  CHECK(*storage->Entries(5, 7, kNoLimit) == EntriesWithTerms(5, {3, 3}));
}

TEST_CASE("A log whose first entry does not follow the compaction point is Corruption") {
  TempDir dir;
  StorageWithTerms(dir, {1, 1, 2}).reset();
  ExecOnRaftDb(dir, "DELETE FROM entries WHERE idx = 1");
  CHECK(SqliteLogStorage::Open(dir.path()).status().code() == StatusCode::kCorruption);
}

TEST_CASE("A damaged membership or entry type in raft.db is Corruption") {
  TempDir dir;
  StorageWithTerms(dir, {1, 1}).reset();
  SECTION("membership") {
    ExecOnRaftDb(dir, "UPDATE meta SET conf_state = X'FF'");
    CHECK(SqliteLogStorage::Open(dir.path()).status().code() == StatusCode::kCorruption);
  }
  SECTION("entry type") {
    ExecOnRaftDb(dir, "UPDATE entries SET type = 7 WHERE idx = 1");
    auto storage = OpenStorage(dir, WithEntryCacheBytes(0));
    CHECK(storage->Entries(1, 3, kNoLimit).status().code() == StatusCode::kCorruption);
  }
  SECTION("meta field") {
    ExecOnRaftDb(dir, "UPDATE meta SET term = 'x'");
    CHECK(SqliteLogStorage::Open(dir.path()).status().code() == StatusCode::kCorruption);
  }
}

// ---- A damaged snapshot file ----

TEST_CASE("A corrupt snapshot file falls back to the older one when the log still connects") {
  TempDir dir;
  {
    auto storage = StorageWithTerms(dir, {1, 1, 1, 2, 2, 2, 2, 2, 3, 3});
    REQUIRE(TakeSnapshot(*storage, 4, kThreeVoters, "state@4", /*entries_to_keep=*/10).ok());
    REQUIRE(TakeSnapshot(*storage, 8, kThreeVoters, "state@8", /*entries_to_keep=*/5).ok());
    REQUIRE(storage->FirstIndex() == 4);  // entries 4.. kept: the log continues after 4
    REQUIRE(storage->Persist(Append(EntriesWithTerms(11, {3}))).ok());  // records them
  }
  FlipLastByte(dir / ("snapshots/" + SnapshotFileName({8, 2})));

  for (int open = 0; open < 2; ++open) {  // the fallback is recorded, so it sticks
    auto storage = OpenStorage(dir);
    CHECK(storage->GetSnapshotMetadata().index == 4);
    CHECK(storage->GetSnapshotMetadata().term == 2);
    CHECK(storage->ReadSnapshotChunk(0, kNoLimit)->data == "state@4");
    CHECK(storage->FirstIndex() == 4);
    CHECK(storage->LastIndex() == 11);
  }
}

TEST_CASE("A corrupt snapshot file with no older one that connects is Corruption at Open") {
  TempDir dir;
  {
    auto storage = StorageWithTerms(dir, {1, 1, 1, 2, 2, 2, 2, 2, 3, 3});
    REQUIRE(TakeSnapshot(*storage, 4, kThreeVoters, "state@4", 0).ok());
    REQUIRE(TakeSnapshot(*storage, 8, kThreeVoters, "state@8", 0).ok());  // compacts to 8
    REQUIRE(storage->Persist(Append(EntriesWithTerms(11, {3}))).ok());  // records it
  }
  SECTION("corrupt") { FlipLastByte(dir / ("snapshots/" + SnapshotFileName({8, 2}))); }
  SECTION("missing") { std::filesystem::remove(dir / ("snapshots/" + SnapshotFileName({8, 2}))); }
  Result<std::unique_ptr<SqliteLogStorage>> storage = SqliteLogStorage::Open(dir.path());
  REQUIRE_FALSE(storage.ok());
  CHECK(storage.status().code() == StatusCode::kCorruption);
  CHECK(storage.status().message().find("rejoin") != std::string::npos);
}

}  // namespace
}  // namespace roster::server
