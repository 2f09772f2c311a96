#include "server/sqlite_log_storage.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "base/check.h"
#include "base/logging.h"
#include "server/disk_format.h"
#include "sqlite/sqlite_db.h"

namespace roster::server {

using sqlite::SqliteStatement;
using consensus::ConfState;
using consensus::Entry;
using consensus::EntryType;
using consensus::HardState;
using consensus::Index;
using consensus::SnapshotMetadata;
using consensus::Term;

namespace {

// PRAGMA user_version of the schema below; a file with another version is refused.
constexpr std::int64_t kSchemaVersion = 1;

// entries: one row per entry; idx is the rowid, so ranges are B-tree seeks.
// meta: exactly one row (id 1) holding everything durable besides the entries.
// conf_state is the membership as of the snapshot (empty before the first snapshot:
// later membership lives in the log), EncodeConfState's blob.
constexpr const char* kSchema = R"sql(
CREATE TABLE entries (
  idx  INTEGER PRIMARY KEY,
  term INTEGER NOT NULL,
  type INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE TABLE meta (
  id             INTEGER PRIMARY KEY CHECK (id = 1),
  term           INTEGER NOT NULL,
  vote           INTEGER NOT NULL,
  commit_index   INTEGER NOT NULL,
  compact_index  INTEGER NOT NULL,
  compact_term   INTEGER NOT NULL,
  snapshot_index INTEGER NOT NULL,
  snapshot_term  INTEGER NOT NULL,
  conf_state     BLOB NOT NULL
);
INSERT INTO meta VALUES (1, 0, 0, 0, 0, 0, 0, 0, X'0000');
PRAGMA user_version = 1;
)sql";

// SQLite integers are signed 64-bit; indexes and terms stay below 2^63.
// Compacted rows each Persist deletes. A snapshot interval (16384 entries) spans far
// more than 32 Persists, so the garbage never piles up, and a slice costs a Persist
// well under a millisecond.
constexpr Index kCompactRowsPerPersist = 512;

constexpr Index kIndexMax = static_cast<Index>(std::numeric_limits<std::int64_t>::max());

void CheckAppendable(const std::vector<Entry>& entries, Index snapshot_index, Index last_index) {
  if (entries.empty()) return;
  const Index first_new = entries.front().index;
  CHECK_GT(first_new, snapshot_index) << "append at or before the snapshot index";
  CHECK_LE(first_new, last_index + 1) << "append leaves a gap in the log";
  for (std::size_t i = 1; i < entries.size(); ++i) {
    CHECK_EQ(entries[i].index, entries[i - 1].index + 1) << "non-contiguous append";
  }
  CHECK_LT(entries.back().index, kIndexMax);
}

Result<Entry> EntryFromRow(const SqliteStatement& row) {
  if (!row.ColumnIsInteger(0) || !row.ColumnIsInteger(1) || !row.ColumnIsInteger(2)) {
    return Corruption("raft.db: entry row with a non-integer index, term or type");
  }
  const std::int64_t type = row.ColumnInt64(2);
  if (type != static_cast<std::int64_t>(EntryType::kNormal) &&
      type != static_cast<std::int64_t>(EntryType::kConfChange)) {
    return Corruption("raft.db: entry " + std::to_string(row.ColumnInt64(0)) + " has type " +
                      std::to_string(type));
  }
  Entry entry;
  entry.index = row.ColumnUint64(0);
  entry.term = row.ColumnUint64(1);
  entry.type = static_cast<EntryType>(type);
  entry.data = std::string(row.ColumnBlob(3));
  return entry;
}

std::string SnapshotName(const SnapshotMetadata& metadata) {
  return std::to_string(metadata.index) + "-" + std::to_string(metadata.term);
}

}  // namespace

struct SqliteLogStorage::Statements {
  SqliteStatement begin;
  SqliteStatement commit;
  SqliteStatement rollback;
  SqliteStatement insert_entry;
  SqliteStatement delete_from;     // entries at or after ?1
  SqliteStatement delete_through;  // entries up to and including ?1
  SqliteStatement delete_all;
  SqliteStatement select_entries;  // [?1, ?2) in index order
  SqliteStatement select_term;
  SqliteStatement write_meta;
};

SqliteLogStorage::SqliteLogStorage(std::string data_dir, const SqliteLogStorageOptions& options,
                                   std::unique_ptr<SnapshotStore> snapshots)
    : data_dir_(std::move(data_dir)),
      options_(options),
      snapshots_(std::move(snapshots)),
      statements_(std::make_unique<Statements>()),
      cache_(options.entry_cache_bytes_max) {}

SqliteLogStorage::~SqliteLogStorage() = default;

Result<std::unique_ptr<SqliteLogStorage>> SqliteLogStorage::Open(
    const std::string& data_dir, const SqliteLogStorageOptions& options) {
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) return IoError("create directory " + data_dir + ": " + error.message());
  Result<std::unique_ptr<SnapshotStore>> snapshots = SnapshotStore::Open(data_dir + "/snapshots");
  if (!snapshots.ok()) return snapshots.status();
  std::unique_ptr<SqliteLogStorage> storage(
      new SqliteLogStorage(data_dir, options, std::move(*snapshots)));
  RETURN_IF_ERROR(storage->OpenDatabase());
  RETURN_IF_ERROR(storage->LoadState());
  RETURN_IF_ERROR(storage->LoadSnapshotFile());
  return storage;
}

Status SqliteLogStorage::OpenDatabase() {
  const std::string path = data_dir_ + "/raft.db";
  Result<std::unique_ptr<SqliteDb>> db = SqliteDb::Open(path, options_.sqlite_vfs);
  if (!db.ok()) return db.status();
  db_ = std::move(*db);
  // WAL: a commit appends its pages to one file and fsyncs it once. The first statement
  // to touch the file is also where a damaged file is noticed (Corruption).
  Result<std::string> mode = db_->PragmaText("PRAGMA journal_mode=WAL");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") return IoError(path + ": cannot use WAL mode (journal mode " + *mode + ")");
  RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous=FULL"));

  auto prepare = [this](SqliteStatement* statement, std::string_view sql) {
    Result<SqliteStatement> prepared = db_->Prepare(sql);
    if (!prepared.ok()) return prepared.status();
    *statement = std::move(*prepared);
    return Status::Ok();
  };
  Statements& s = *statements_;
  RETURN_IF_ERROR(prepare(&s.begin, "BEGIN IMMEDIATE"));
  RETURN_IF_ERROR(prepare(&s.commit, "COMMIT"));
  RETURN_IF_ERROR(prepare(&s.rollback, "ROLLBACK"));
  RETURN_IF_ERROR(CreateSchemaIfNew());
  RETURN_IF_ERROR(prepare(&s.insert_entry,
                          "INSERT INTO entries (idx, term, type, data) VALUES (?1, ?2, ?3, ?4)"));
  RETURN_IF_ERROR(prepare(&s.delete_from, "DELETE FROM entries WHERE idx >= ?1"));
  RETURN_IF_ERROR(prepare(&s.delete_through, "DELETE FROM entries WHERE idx <= ?1"));
  RETURN_IF_ERROR(prepare(&s.delete_all, "DELETE FROM entries"));
  RETURN_IF_ERROR(prepare(&s.select_entries,
                          "SELECT idx, term, type, data FROM entries"
                          " WHERE idx >= ?1 AND idx < ?2 ORDER BY idx"));
  RETURN_IF_ERROR(prepare(&s.select_term, "SELECT term FROM entries WHERE idx = ?1"));
  return prepare(&s.write_meta,
                 "UPDATE meta SET term = ?1, vote = ?2, commit_index = ?3, compact_index = ?4,"
                 " compact_term = ?5, snapshot_index = ?6, snapshot_term = ?7, conf_state = ?8"
                 " WHERE id = 1");
}

Status SqliteLogStorage::CreateSchemaIfNew() {
  return InTransaction([this]() -> Status {
    Result<std::string> version = db_->PragmaText("PRAGMA user_version");
    if (!version.ok()) return version.status();
    if (*version == std::to_string(kSchemaVersion)) return Status::Ok();
    if (*version != "0") {
      return FailedPrecondition("raft.db has schema version " + *version + "; this build reads " +
                                std::to_string(kSchemaVersion));
    }
    Result<std::string> tables = db_->PragmaText("SELECT count(*) FROM sqlite_schema");
    if (!tables.ok()) return tables.status();
    if (*tables != "0") return Corruption("raft.db holds tables but no Roster schema version");
    return db_->Exec(kSchema);
  });
}

Status SqliteLogStorage::LoadState() {
  Result<SqliteStatement> meta = db_->Prepare(
      "SELECT term, vote, commit_index, compact_index, compact_term, snapshot_index,"
      " snapshot_term, conf_state FROM meta WHERE id = 1");
  if (!meta.ok()) return meta.status();
  {
    SqliteStatement::ResetGuard reset(*meta);
    Result<bool> row = meta->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Corruption("raft.db: the meta row is missing");
    for (int i = 0; i < 7; ++i) {
      if (!meta->ColumnIsInteger(i)) return Corruption("raft.db: a meta field is not an integer");
    }
    state_.hard_state = {meta->ColumnUint64(0), meta->ColumnUint64(1), meta->ColumnUint64(2)};
    state_.compact_index = meta->ColumnUint64(3);
    state_.compact_term = meta->ColumnUint64(4);
    state_.snapshot.index = meta->ColumnUint64(5);
    state_.snapshot.term = meta->ColumnUint64(6);
    Result<ConfState> conf_state = DecodeConfState(meta->ColumnBlob(7));
    if (!conf_state.ok()) return Corruption("raft.db: " + conf_state.status().message());
    state_.snapshot.conf_state = std::move(*conf_state);
  }

  Result<SqliteStatement> bounds = db_->Prepare("SELECT MIN(idx), MAX(idx) FROM entries");
  if (!bounds.ok()) return bounds.status();
  SqliteStatement::ResetGuard reset(*bounds);
  Result<bool> row = bounds->Step();
  if (!row.ok()) return row.status();
  state_.last_index = state_.compact_index;
  first_row_ = state_.compact_index + 1;
  if (*row && !bounds->ColumnIsNull(0)) {
    // Rows at or below the compaction point are garbage not yet deleted; a first row
    // above compact_index + 1 is a hole.
    first_row_ = bounds->ColumnUint64(0);
    if (first_row_ > state_.compact_index + 1) {
      return Corruption("raft.db: first entry is " + std::to_string(bounds->ColumnInt64(0)) +
                        ", expected " + std::to_string(state_.compact_index + 1));
    }
    state_.last_index = std::max(state_.compact_index, bounds->ColumnUint64(1));
  }
  if (state_.compact_index > state_.snapshot.index || state_.snapshot.index > state_.last_index) {
    return Corruption("raft.db: compaction point " + std::to_string(state_.compact_index) +
                      ", snapshot " + std::to_string(state_.snapshot.index) + " and last entry " +
                      std::to_string(state_.last_index) + " are out of order");
  }
  return Status::Ok();
}

Status SqliteLogStorage::LoadSnapshotFile() {
  if (state_.snapshot.index == 0) return Status::Ok();
  const SnapshotId recorded{state_.snapshot.index, state_.snapshot.term};
  Result<LoadedSnapshot> loaded = snapshots_->LoadNewestValid(recorded.index);
  if (!loaded.ok()) return loaded.status();
  std::unique_ptr<SnapshotFile>& file = loaded->file;
  if (file != nullptr && file->metadata() == state_.snapshot) {
    snapshot_file_ = std::move(file);
    return Status::Ok();
  }
  std::string problems;
  for (const std::string& problem : loaded->problems) problems += "; " + problem;
  // An older snapshot still serves if the log holds every entry after it.
  if (file != nullptr && file->id() < recorded && file->id().index >= state_.compact_index) {
    Result<Term> term = TermAt(file->id().index);
    if (!term.ok()) return term.status();
    if (*term == file->id().term) {
      LOG(WARNING) << "snapshot " << SnapshotName(state_.snapshot)
                   << " is missing or corrupt, falling back to " << file->path() << problems;
      return RecordFallbackSnapshot(std::move(file));
    }
  }
  return Corruption("raft.db records snapshot " + SnapshotName(state_.snapshot) +
                    " but its file is missing or corrupt" + problems +
                    "; no older valid snapshot connects to the log (compaction point " +
                    std::to_string(state_.compact_index) +
                    "), so this node cannot rebuild its state: move " + data_dir_ +
                    " aside and let the node rejoin the cluster");
}

Status SqliteLogStorage::RecordFallbackSnapshot(std::unique_ptr<SnapshotFile> file) {
  DurableState next = state_;
  next.snapshot = file->metadata();
  RETURN_IF_ERROR(InTransaction([&] { return WriteMeta(next); }));
  state_ = std::move(next);
  snapshot_file_ = std::move(file);
  return Status::Ok();
}

// ---- Writes ----

template <typename Body>
Status SqliteLogStorage::InTransaction(Body body) {
  Statements& s = *statements_;
  Status status = s.begin.Run();
  if (status.ok()) status = body();
  if (status.ok()) {
    status = s.commit.Run();
    if (s.commit.FailedOnSync()) {
      sync_failure_ = FailedPrecondition(
          "raft.db failed to fsync, so what it holds is unknown until the node restarts (" +
          status.ToString() + ")");
      LOG(ERROR) << sync_failure_.message();
    }
  }
  // SQLite rolls some failures back by itself; roll back whatever is still open.
  if (!status.ok() && !db_->autocommit()) {
    Status rolled_back = s.rollback.Run();
    if (!rolled_back.ok() && sync_failure_.ok()) {
      sync_failure_ = FailedPrecondition("raft.db could not roll back a failed transaction (" +
                                         rolled_back.ToString() + ")");
      LOG(ERROR) << sync_failure_.message();
    }
  }
  return status;
}

Status SqliteLogStorage::WriteMeta(const DurableState& state) {
  SqliteStatement& write = statements_->write_meta;
  write.BindUint64(1, state.hard_state.term);
  write.BindUint64(2, state.hard_state.vote);
  write.BindUint64(3, state.hard_state.commit);
  write.BindUint64(4, state.compact_index);
  write.BindUint64(5, state.compact_term);
  write.BindUint64(6, state.snapshot.index);
  write.BindUint64(7, state.snapshot.term);
  write.BindBlob(8, EncodeConfState(state.snapshot.conf_state));
  return write.Run();
}

Status SqliteLogStorage::InsertEntries(const std::vector<Entry>& entries) {
  SqliteStatement& insert = statements_->insert_entry;
  for (const Entry& entry : entries) {
    insert.BindUint64(1, entry.index);
    insert.BindUint64(2, entry.term);
    insert.BindInt64(3, static_cast<std::int64_t>(entry.type));
    insert.BindBlob(4, entry.data);
    RETURN_IF_ERROR(insert.Run());
  }
  return Status::Ok();
}

Result<std::unique_ptr<SnapshotFile>> SqliteLogStorage::LoadSnapshotToRecord(
    const SnapshotMetadata& metadata) {
  Result<std::unique_ptr<SnapshotFile>> file = snapshots_->Load({metadata.index, metadata.term});
  if (!file.ok()) {
    if (file.status().code() != StatusCode::kNotFound) return file.status();
    return FailedPrecondition("snapshot " + SnapshotName(metadata) +
                              ": its file must be committed before it is recorded");
  }
  if ((*file)->metadata() != metadata) {
    return InvalidArgument("snapshot " + SnapshotName(metadata) +
                           ": the file holds a different membership");
  }
  return file;
}

void SqliteLogStorage::PruneSnapshotFiles() {
  Status status = snapshots_->Prune({state_.snapshot.index, state_.snapshot.term});
  if (!status.ok()) LOG(WARNING) << "pruning old snapshots: " << status.ToString();
}

Status SqliteLogStorage::Bootstrap(const ConfState& conf_state,
                                   const std::map<consensus::NodeId, std::string>& contexts) {
  if (state_.last_index != 0 || state_.snapshot.index != 0) {
    return FailedPrecondition("bootstrap of a storage that already holds a log");
  }
  consensus::BootstrapLog bootstrap = consensus::MakeBootstrap(conf_state, contexts);
  PersistBatch batch;
  batch.entries = std::move(bootstrap.entries);
  batch.hard_state = bootstrap.hard_state;
  return Persist(batch);
}

Status SqliteLogStorage::Persist(const PersistBatch& batch) {
  RETURN_IF_ERROR(sync_failure_);
  if (batch.empty()) return Status::Ok();
  DurableState next = state_;
  std::unique_ptr<SnapshotFile> snapshot_file;
  const bool install = batch.snapshot && batch.snapshot->index > state_.snapshot.index;
  if (install) {
    Result<std::unique_ptr<SnapshotFile>> file = LoadSnapshotToRecord(*batch.snapshot);
    if (!file.ok()) return file.status();
    snapshot_file = std::move(*file);
    next.snapshot = *batch.snapshot;
    next.compact_index = next.last_index = batch.snapshot->index;
    next.compact_term = batch.snapshot->term;
  }
  CheckAppendable(batch.entries, next.snapshot.index, next.last_index);
  const bool truncate = !batch.entries.empty() && batch.entries.front().index <= next.last_index;
  if (!batch.entries.empty()) next.last_index = batch.entries.back().index;
  if (batch.hard_state) next.hard_state = *batch.hard_state;

  consensus::Index first_row = first_row_;
  const Status written = InTransaction([&]() -> Status {
    if (install) {
      RETURN_IF_ERROR(statements_->delete_all.Run());
      first_row = next.compact_index + 1;
    } else {
      Result<consensus::Index> deleted_through = DeleteCompactedRows();
      if (!deleted_through.ok()) return deleted_through.status();
      first_row = *deleted_through;
    }
    if (truncate) {
      statements_->delete_from.BindUint64(1, batch.entries.front().index);
      RETURN_IF_ERROR(statements_->delete_from.Run());
    }
    RETURN_IF_ERROR(InsertEntries(batch.entries));
    if (install || batch.hard_state || record_pending_) RETURN_IF_ERROR(WriteMeta(next));
    return Status::Ok();
  });
  if (!written.ok()) return written;

  // Durable now; only now may the in-memory view show it.
  state_ = std::move(next);
  first_row_ = first_row;
  if (install) {
    cache_.Clear();
    snapshot_file_ = std::move(snapshot_file);
  }
  if (install || record_pending_) {
    record_pending_ = false;
    PruneSnapshotFiles();
  }
  cache_.Append(batch.entries);
  return Status::Ok();
}

Status SqliteLogStorage::CreateSnapshot(Index index, const ConfState& conf_state,
                                        std::uint64_t entries_to_keep,
                                        std::unique_ptr<SnapshotFile> verified) {
  RETURN_IF_ERROR(sync_failure_);
  if (index <= state_.snapshot.index) return Status::Ok();
  CHECK_LE(index, LastIndex()) << "snapshot beyond the log";
  CHECK_GE(index, FirstIndex() - 1);
  Result<Term> term = TermAt(index);
  if (!term.ok()) return term.status();
  DurableState next = state_;
  next.snapshot = SnapshotMetadata{.index = index, .term = *term, .conf_state = conf_state};
  Result<std::unique_ptr<SnapshotFile>> file =
      verified ? Result<std::unique_ptr<SnapshotFile>>(std::move(verified))
               : LoadSnapshotToRecord(next.snapshot);
  if (!file.ok()) return file.status();
  if ((*file)->metadata() != next.snapshot) {
    return InvalidArgument("snapshot " + SnapshotName(next.snapshot) +
                           ": the file holds different metadata");
  }
  const Index compact_to = index > entries_to_keep ? index - entries_to_keep : 0;
  const bool compact = compact_to > state_.compact_index;
  if (compact) {
    Result<Term> compact_term = TermAt(compact_to);
    if (!compact_term.ok()) return compact_term.status();
    next.compact_index = compact_to;
    next.compact_term = *compact_term;
  }

  // Only the record moves, and only in memory: the next Persist writes it, and the rows
  // below compact_to go a slice per Persist after that.
  state_ = std::move(next);
  record_pending_ = true;
  snapshot_file_ = std::move(*file);
  if (compact) cache_.DropThrough(compact_to);
  return Status::Ok();
}

Status SqliteLogStorage::Compact(Index index) {
  RETURN_IF_ERROR(sync_failure_);
  if (index <= state_.compact_index) return Status::Ok();
  CHECK_LE(index, state_.snapshot.index) << "compacting past the snapshot";
  CHECK_LE(index, LastIndex());
  Result<Term> term = TermAt(index);
  if (!term.ok()) return term.status();
  DurableState next = state_;
  next.compact_index = index;
  next.compact_term = *term;

  const Status written = InTransaction([&]() -> Status {
    statements_->delete_through.BindUint64(1, index);
    RETURN_IF_ERROR(statements_->delete_through.Run());
    return WriteMeta(next);
  });
  if (!written.ok()) return written;

  state_ = std::move(next);
  first_row_ = std::max(first_row_, index + 1);
  cache_.DropThrough(index);
  if (record_pending_) {  // WriteMeta wrote it along
    record_pending_ = false;
    PruneSnapshotFiles();
  }
  return Status::Ok();
}

Result<consensus::Index> SqliteLogStorage::DeleteCompactedRows() {
  if (first_row_ > state_.compact_index) return first_row_;
  const Index through = std::min(state_.compact_index, first_row_ + kCompactRowsPerPersist - 1);
  statements_->delete_through.BindUint64(1, through);
  RETURN_IF_ERROR(statements_->delete_through.Run());
  return through + 1;
}

// ---- Reads ----

consensus::InitialState SqliteLogStorage::GetInitialState() const {
  return {state_.hard_state, state_.snapshot.conf_state};
}

Result<std::vector<Entry>> SqliteLogStorage::Entries(Index lo, Index hi,
                                                     std::uint64_t max_bytes) const {
  if (lo <= state_.compact_index) return Unavailable("entries compacted");
  CHECK_LE(hi, LastIndex() + 1) << "entries requested beyond the last index";
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  Index next = lo;
  // The cache is a suffix of the log: whatever precedes it comes from raft.db.
  const Index db_hi = cache_.empty() ? hi : std::min(hi, cache_.first_index());
  if (next < db_hi) {
    RETURN_IF_ERROR(ReadEntriesFromDb(next, db_hi, max_bytes, &out, &bytes));
    next += out.size();
    if (next < db_hi) return out;  // max_bytes reached
  }
  for (; next < hi; ++next) {
    const Entry& entry = cache_.At(next);
    if (!out.empty() && bytes + entry.ByteSize() > max_bytes) break;
    bytes += entry.ByteSize();
    out.push_back(entry);
  }
  return out;
}

Status SqliteLogStorage::ReadEntriesFromDb(Index lo, Index hi, std::uint64_t max_bytes,
                                           std::vector<Entry>* out, std::uint64_t* bytes) const {
  SqliteStatement& select = statements_->select_entries;
  SqliteStatement::ResetGuard reset(select);
  select.BindUint64(1, lo);
  select.BindUint64(2, hi);
  Index expected = lo;
  for (;;) {
    Result<bool> row = select.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<Entry> entry = EntryFromRow(select);
    if (!entry.ok()) return entry.status();
    if (entry->index != expected) break;  // a gap: reported below
    if (!out->empty() && *bytes + entry->ByteSize() > max_bytes) return Status::Ok();
    *bytes += entry->ByteSize();
    out->push_back(std::move(*entry));
    ++expected;
  }
  if (expected != hi)
    return Corruption("raft.db: entry " + std::to_string(expected) + " is missing");
  return Status::Ok();
}

Result<Term> SqliteLogStorage::TermAt(Index i) const {
  if (i < state_.compact_index) return Unavailable("entry compacted");
  if (i > state_.last_index) return Unavailable("entry beyond the last index");
  if (i == state_.compact_index) return state_.compact_term;
  if (cache_.Contains(i)) return cache_.At(i).term;
  return TermFromDb(i);
}

Result<Term> SqliteLogStorage::TermFromDb(Index i) const {
  SqliteStatement& select = statements_->select_term;
  SqliteStatement::ResetGuard reset(select);
  select.BindUint64(1, i);
  Result<bool> row = select.Step();
  if (!row.ok()) return row.status();
  if (!*row || !select.ColumnIsInteger(0)) {
    return Corruption("raft.db: entry " + std::to_string(i) + " is missing");
  }
  return select.ColumnUint64(0);
}

Result<consensus::SnapshotChunk> SqliteLogStorage::ReadSnapshotChunk(
    std::uint64_t offset, std::uint64_t max_bytes) const {
  if (state_.snapshot.index == 0) return Unavailable("no snapshot");
  CHECK(snapshot_file_ != nullptr) << "a recorded snapshot without its file";
  Result<std::string> data = snapshot_file_->ReadChunk(offset, max_bytes);
  if (!data.ok()) return data.status();
  consensus::SnapshotChunk chunk;
  chunk.metadata = state_.snapshot;
  chunk.offset = offset;
  chunk.data = std::move(*data);
  chunk.done = offset + chunk.data.size() >= snapshot_file_->data_bytes();
  return chunk;
}

}  // namespace roster::server
