// SqliteLogStorage: the server's durable Raft log, in SQLite.
//
// Implements consensus::LogStorage over `<data_dir>/raft.db` (WAL mode,
// synchronous=FULL) and keeps snapshot data as files in `<data_dir>/snapshots/`
// (snapshot_file.h). Its mutators mirror MemoryStorage's (consensus/storage.h), which
// the unit tests hold it to operation by operation. Each mutator is one SQLite
// transaction and so one fsync: the Ready handler calls Persist once per Ready, as the
// durability contract at the top of consensus/raw_node.h requires.
//
// raft.db is the commit point. A snapshot's data is written first, as a file
// (snapshots().NewWriter / Write); it becomes this storage's snapshot only when Persist
// or CreateSnapshot records its metadata in the database. A crash in between leaves an
// unrecorded file that is never used (and is pruned later).
//
// Reads come from memory where possible: first and last index, hard state,
// membership, the compaction point and snapshot metadata are cached, and so is the tail
// of the log (EntryCache, bounded by bytes); older entries are read with prepared
// SELECTs.
//
// Failures: a mutator that fails (disk full -> ResourceExhausted, I/O -> IoError, with
// SQLite's message) rolls its transaction back and leaves every cache as it was, i.e.
// equal to what is durable; the server then must not acknowledge what it tried to
// persist. A failed fsync is different: afterwards what the disk holds is unknown, so
// the storage refuses every later mutation (FailedPrecondition) and the node must
// restart, letting SQLite's recovery settle what survived. Reads keep working.
//
// Thread-safety: none. One thread (the server's Raft loop, the one driving the RawNode)
// makes every call, reads included: reads share prepared statements and the cache.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "consensus/storage.h"
#include "consensus/types.h"
#include "server/entry_cache.h"
#include "server/snapshot_file.h"

namespace roster::sqlite {
class SqliteDb;
}  // namespace roster::sqlite

namespace roster::server {

using sqlite::SqliteDb;

struct SqliteLogStorageOptions {
  // Bytes (Entry::ByteSize) of recent entries kept in memory. The default holds well
  // over the leader's default in-flight window to one follower.
  std::uint64_t entry_cache_bytes_max = 64ull << 20;
  // The SQLite VFS to open raft.db through; empty for SQLite's default. Tests register
  // a fault-injecting VFS (failing writes or fsyncs) and name it here.
  std::string sqlite_vfs;
};

// What one Ready asks to persist, applied in the contract's order: snapshot, entries,
// hard state. All of it or none of it becomes durable.
struct PersistBatch {
  // A snapshot received from the leader. REQUIRES: its file was committed to
  // snapshots() first. Replaces the log: every entry goes, the compaction point becomes
  // (index, term). Ignored if not newer than the current snapshot, as in MemoryStorage.
  std::optional<consensus::SnapshotMetadata> snapshot;
  // Appended after dropping every existing entry at or after the first new index (a
  // follower overwriting a conflicting suffix). Contiguous; must start after the
  // snapshot index (what a snapshot covers is committed and never conflicts) and at
  // most at LastIndex() + 1; anything else is a bug and CHECK-fails.
  std::vector<consensus::Entry> entries;
  std::optional<consensus::HardState> hard_state;

  bool empty() const { return !snapshot && entries.empty() && !hard_state; }
};

class SqliteLogStorage final : public consensus::LogStorage {
 public:
  // Opens or creates the log in `data_dir` (created if absent). Corruption if raft.db
  // is damaged or inconsistent, or if the snapshot it records is missing or corrupt and
  // no older valid snapshot still connects to the log (then the node cannot rebuild
  // its state and must be re-seeded from the cluster). If an older one connects, it
  // becomes the snapshot (logged as a warning): the log replays the rest.
  static Result<std::unique_ptr<SqliteLogStorage>> Open(
      const std::string& data_dir, const SqliteLogStorageOptions& options = {});
  ~SqliteLogStorage() override;
  SqliteLogStorage(const SqliteLogStorage&) = delete;
  SqliteLogStorage& operator=(const SqliteLogStorage&) = delete;

  // Writes the log of a brand-new cluster (consensus::MakeBootstrap: one committed
  // conf change per member, and its hard state) in one transaction. FailedPrecondition
  // if the storage already holds a log or a snapshot.
  Status Bootstrap(const consensus::ConfState& conf_state,
                   const std::map<consensus::NodeId, std::string>& contexts = {});

  // Persists one Ready's batch in one transaction (one fsync; none if empty), with the
  // snapshot record CreateSnapshot left pending, if any.
  Status Persist(const PersistBatch& batch);

  // Records that the application took a snapshot at applied index `index`
  // (FirstIndex()-1 <= index <= LastIndex()) with membership `conf_state`, then drops
  // the entries up to index - entries_to_keep. REQUIRES: the snapshot's file, with
  // metadata {index, TermAt(index), conf_state}, was committed to snapshots() first.
  // Ignored if not newer than the current snapshot. `verified`, when given, is that
  // file already opened and verified (by the thread that wrote it), so it is not read
  // again here.
  // Writes nothing: the new record (and compaction point) rides in the next non-empty
  // Persist's transaction, so a snapshot costs the loop no fsync of its own. Until then
  // a crash reopens the previous snapshot with the log after it, which is still whole:
  // rows are deleted only in the transaction that records the point they go up to, and
  // older snapshot files are pruned only once the record naming their successor is
  // durable.
  Status CreateSnapshot(consensus::Index index, const consensus::ConfState& conf_state,
                        std::uint64_t entries_to_keep,
                        std::unique_ptr<SnapshotFile> verified = nullptr);

  // Drops every entry up to and including `index` (at most the snapshot index).
  Status Compact(consensus::Index index);

  // consensus::LogStorage. Reads that reach SQLite report its errors as Status
  // (Entries, TermAt); an entry missing from raft.db is Corruption.
  consensus::InitialState GetInitialState() const override;
  Result<std::vector<consensus::Entry>> Entries(consensus::Index lo, consensus::Index hi,
                                                std::uint64_t max_bytes) const override;
  Result<consensus::Term> TermAt(consensus::Index i) const override;
  consensus::Index FirstIndex() const override { return state_.compact_index + 1; }
  consensus::Index LastIndex() const override { return state_.last_index; }
  consensus::SnapshotMetadata GetSnapshotMetadata() const override { return state_.snapshot; }
  Result<consensus::SnapshotChunk> ReadSnapshotChunk(std::uint64_t offset,
                                                     std::uint64_t max_bytes) const override;

  const consensus::HardState& hard_state() const { return state_.hard_state; }
  // The current snapshot's file, nullptr if there is none. The server restores its
  // state machine from it at start (then Config::applied = its index).
  const SnapshotFile* snapshot_file() const { return snapshot_file_.get(); }
  // Where snapshot files are written before Persist / CreateSnapshot records them.
  SnapshotStore& snapshots() { return *snapshots_; }
  const EntryCache& entry_cache() const { return cache_; }

 private:
  struct Statements;

  // Everything durable except the entries themselves, mirrored in memory.
  struct DurableState {
    consensus::HardState hard_state;
    // snapshot.conf_state is the membership as of the snapshot (empty while there is
    // none; the rest of the membership's history is in the log): what
    // GetInitialState reports.
    consensus::SnapshotMetadata snapshot;
    consensus::Index compact_index = 0;  // the dummy before the first entry
    consensus::Term compact_term = 0;
    consensus::Index last_index = 0;
  };

  SqliteLogStorage(std::string data_dir, const SqliteLogStorageOptions& options,
                   std::unique_ptr<SnapshotStore> snapshots);
  Status OpenDatabase();
  Status CreateSchemaIfNew();
  Status LoadState();
  Status LoadSnapshotFile();
  Status RecordFallbackSnapshot(std::unique_ptr<SnapshotFile> file);

  // Runs `body` between BEGIN IMMEDIATE and COMMIT; rolls back if anything fails.
  template <typename Body>
  Status InTransaction(Body body);
  Status WriteMeta(const DurableState& state);
  Status InsertEntries(const std::vector<consensus::Entry>& entries);
  // Deletes up to kCompactRowsPerPersist rows at or below the compaction point, inside
  // the caller's transaction; returns the new first_row_ for after it commits.
  Result<consensus::Index> DeleteCompactedRows();
  Result<std::unique_ptr<SnapshotFile>> LoadSnapshotToRecord(
      const consensus::SnapshotMetadata& metadata);
  void PruneSnapshotFiles();

  Status ReadEntriesFromDb(consensus::Index lo, consensus::Index hi, std::uint64_t max_bytes,
                           std::vector<consensus::Entry>* out, std::uint64_t* bytes) const;
  Result<consensus::Term> TermFromDb(consensus::Index i) const;

  const std::string data_dir_;
  const SqliteLogStorageOptions options_;
  std::unique_ptr<SnapshotStore> snapshots_;
  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<Statements> statements_;  // declared after db_: finalized before it closes
  DurableState state_;
  // The lowest index with a row in `entries`. Compaction only moves compact_index (one
  // small write); the rows at or below it are garbage that later Persists delete a
  // slice at a time, so a snapshot never costs the loop a 16k-row DELETE.
  consensus::Index first_row_ = 1;
  // CreateSnapshot moved state_.snapshot / compact_index past what raft.db holds; the
  // next Persist writes them (and then prunes older snapshot files).
  bool record_pending_ = false;
  std::unique_ptr<SnapshotFile> snapshot_file_;  // the file of state_.snapshot
  EntryCache cache_;
  Status sync_failure_;  // set by a failed fsync; refuses every later mutation
};

}  // namespace roster::server
