// A thin RAII layer over the SQLite C API, shared by server/ (the Raft log) and agent/
// (the agent's local state): a connection, prepared statements with typed binds and
// columns, and the one mapping of SQLite result codes to Status (disk full ->
// ResourceExhausted, I/O -> IoError, a damaged file -> Corruption, locked by someone
// else -> Unavailable), each with SQLite's own message.
//
// Statements are prepared once and reused; data is only ever bound, never spliced into
// SQL text. Thread-safety: a SqliteDb and its statements belong to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace roster::sqlite {

// The Status for SQLite result code `rc` (extended codes understood), naming what was
// being done and carrying the connection's error message when `db` is given.
Status SqliteStatus(sqlite3* db, int rc, std::string_view context);

class SqliteStatement {
 public:
  SqliteStatement() = default;
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  ~SqliteStatement();

  // Binds parameter `i` (1-based). The blob is copied into SQLite.
  void BindInt64(int i, std::int64_t value);
  void BindUint64(int i, std::uint64_t value) { BindInt64(i, static_cast<std::int64_t>(value)); }
  void BindBlob(int i, std::string_view value);

  // Runs a statement that returns no rows, then resets it.
  Status Run();
  // Advances to the next row: true on a row, false when done. Call Reset() when done
  // with the rows (ResetGuard does), or the statement keeps its read open.
  Result<bool> Step();
  void Reset();

  // Whether the last Run or Step failed on an fsync: afterwards what is on disk is
  // unknown (the kernel may have written the pages or dropped them).
  bool FailedOnSync() const;

  // Columns of the current row (0-based).
  bool ColumnIsInteger(int i) const;
  bool ColumnIsNull(int i) const;
  std::int64_t ColumnInt64(int i) const;
  std::uint64_t ColumnUint64(int i) const { return static_cast<std::uint64_t>(ColumnInt64(i)); }
  // Valid until the next Step or Reset.
  std::string_view ColumnBlob(int i) const;

  // Resets the statement (and clears its bindings) when it goes out of scope.
  class ResetGuard {
   public:
    explicit ResetGuard(SqliteStatement& statement) : statement_(statement) {}
    ~ResetGuard() { statement_.Reset(); }
    ResetGuard(const ResetGuard&) = delete;
    ResetGuard& operator=(const ResetGuard&) = delete;

   private:
    SqliteStatement& statement_;
  };

 private:
  friend class SqliteDb;
  SqliteStatement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}

  sqlite3* db_ = nullptr;
  sqlite3_stmt* statement_ = nullptr;
  int last_result_code_ = 0;
};

class SqliteDb {
 public:
  // Opens (creating if absent) the database file at `path`, with extended result codes,
  // through the registered VFS named `vfs` (empty: SQLite's default; tests name a
  // fault-injecting one).
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                const std::string& vfs = "");
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  Result<SqliteStatement> Prepare(std::string_view sql);
  // Runs constant SQL (schema, pragmas); never SQL with data in it.
  Status Exec(const char* sql);
  // Runs a constant pragma and returns its single result as text ("" if no row).
  Result<std::string> PragmaText(const char* sql);

  // False while a transaction is open.
  bool autocommit() const;

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}

  sqlite3* db_;
};

}  // namespace roster::sqlite
