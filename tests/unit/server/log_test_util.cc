#include "tests/unit/server/log_test_util.h"

#include <sqlite3.h>

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::server::testing {

using consensus::Entry;
using consensus::Index;
using consensus::Term;

std::vector<Entry> EntriesWithTerms(Index first_index, const std::vector<Term>& terms) {
  std::vector<Entry> entries;
  for (Term term : terms) {
    const Index index = first_index + entries.size();
    entries.push_back(Entry{.term = term,
                            .index = index,
                            .type = consensus::EntryType::kNormal,
                            .data = "i" + std::to_string(index) + "t" + std::to_string(term)});
  }
  return entries;
}

std::vector<Term> TermsOf(const std::vector<Entry>& entries) {
  std::vector<Term> terms;
  for (const Entry& entry : entries) terms.push_back(entry.term);
  return terms;
}

PersistBatch Append(std::vector<Entry> entries) {
  PersistBatch batch;
  batch.entries = std::move(entries);
  return batch;
}

SqliteLogStorageOptions WithEntryCacheBytes(std::uint64_t entry_cache_bytes_max) {
  SqliteLogStorageOptions options;
  options.entry_cache_bytes_max = entry_cache_bytes_max;
  return options;
}

std::unique_ptr<SqliteLogStorage> OpenStorage(const TempDir& dir,
                                              const SqliteLogStorageOptions& options) {
  Result<std::unique_ptr<SqliteLogStorage>> storage = SqliteLogStorage::Open(dir.path(), options);
  INFO(storage.status().ToString());
  REQUIRE(storage.ok());
  return std::move(*storage);
}

std::unique_ptr<SqliteLogStorage> StorageWithTerms(const TempDir& dir,
                                                   const std::vector<Term>& terms,
                                                   const SqliteLogStorageOptions& options) {
  auto storage = OpenStorage(dir, options);
  REQUIRE(storage->Persist(Append(EntriesWithTerms(1, terms))).ok());
  return storage;
}

std::vector<Entry> All(const consensus::LogStorage& storage) {
  Result<std::vector<Entry>> entries =
      storage.Entries(storage.FirstIndex(), storage.LastIndex() + 1, kNoLimit);
  INFO(entries.status().ToString());
  REQUIRE(entries.ok());
  return *entries;
}

Status TakeSnapshot(SqliteLogStorage& storage, Index index, const consensus::ConfState& conf_state,
                    const std::string& data, std::uint64_t entries_to_keep) {
  const consensus::SnapshotMetadata metadata{
      .index = index, .term = storage.TermAt(index).value(), .conf_state = conf_state};
  RETURN_IF_ERROR(storage.snapshots().Write(metadata, data));
  return storage.CreateSnapshot(index, conf_state, entries_to_keep);
}

Observed Observe(const consensus::LogStorage& storage) {
  Observed observed;
  observed.first_index = storage.FirstIndex();
  observed.last_index = storage.LastIndex();
  observed.hard_state = storage.GetInitialState().hard_state;
  observed.conf_state = storage.GetInitialState().conf_state;
  observed.snapshot = storage.GetSnapshotMetadata();
  observed.compaction_term = storage.TermAt(storage.FirstIndex() - 1).value();
  observed.entries = All(storage);
  Result<consensus::SnapshotChunk> chunk = storage.ReadSnapshotChunk(0, kNoLimit);
  if (chunk.ok()) observed.snapshot_data = chunk->data;
  return observed;
}

void ExecOnRaftDb(const TempDir& dir, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir / "raft.db").c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  INFO(sql << ": " << (error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

std::int64_t QueryIntOnRaftDb(const TempDir& dir, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir / "raft.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
  const std::int64_t value = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

}  // namespace roster::server::testing
