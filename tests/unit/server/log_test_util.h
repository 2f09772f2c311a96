// Vocabulary for the SqliteLogStorage tests: building entries and batches, opening a
// storage in a TempDir, taking a snapshot the way the application will, observing
// everything a reader of a LogStorage can see, and poking raft.db from the side.
// Only for use inside Catch2 test cases (failures are reported through REQUIRE).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "consensus/storage.h"
#include "consensus/types.h"
#include "server/sqlite_log_storage.h"
#include "tests/unit/server/temp_dir.h"

namespace roster::server::testing {

inline constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();
inline const consensus::ConfState kThreeVoters{.voters = {1, 2, 3}, .learners = {}};

// Entries first_index, first_index+1, ... with the given terms and data "i<index>t<term>".
std::vector<consensus::Entry> EntriesWithTerms(consensus::Index first_index,
                                               const std::vector<consensus::Term>& terms);
std::vector<consensus::Term> TermsOf(const std::vector<consensus::Entry>& entries);
PersistBatch Append(std::vector<consensus::Entry> entries);

SqliteLogStorageOptions WithEntryCacheBytes(std::uint64_t entry_cache_bytes_max);

std::unique_ptr<SqliteLogStorage> OpenStorage(const TempDir& dir,
                                              const SqliteLogStorageOptions& options = {});
// A log holding exactly entries 1..terms.size() of the given terms (not bootstrapped).
std::unique_ptr<SqliteLogStorage> StorageWithTerms(const TempDir& dir,
                                                   const std::vector<consensus::Term>& terms,
                                                   const SqliteLogStorageOptions& options = {});

std::vector<consensus::Entry> All(const consensus::LogStorage& storage);

// The application's side of CreateSnapshot: commit the file, then record it.
Status TakeSnapshot(SqliteLogStorage& storage, consensus::Index index,
                    const consensus::ConfState& conf_state, const std::string& data,
                    std::uint64_t entries_to_keep);

// Everything a reader of a LogStorage can observe.
struct Observed {
  consensus::Index first_index = 0;
  consensus::Index last_index = 0;
  consensus::HardState hard_state;
  consensus::ConfState conf_state;
  consensus::SnapshotMetadata snapshot;
  consensus::Term compaction_term = 0;
  std::vector<consensus::Entry> entries;
  std::string snapshot_data;

  bool operator==(const Observed&) const = default;
};
Observed Observe(const consensus::LogStorage& storage);

// Runs constant SQL on raft.db through a second connection.
void ExecOnRaftDb(const TempDir& dir, const char* sql);
// Runs a constant query for one integer on raft.db through a second connection.
std::int64_t QueryIntOnRaftDb(const TempDir& dir, const char* sql);

}  // namespace roster::server::testing
