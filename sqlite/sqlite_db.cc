#include "sqlite/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

namespace roster::sqlite {

Status SqliteStatus(sqlite3* db, int rc, std::string_view context) {
  std::string message = "sqlite: " + std::string(context) + ": ";
  // The connection's message is more specific than the code's, but only when it is
  // about this failure.
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) {
    message += sqlite3_errmsg(db);
  } else {
    message += sqlite3_errstr(rc);
  }
  message += " (code " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return Status(StatusCode::kResourceExhausted, std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Corruption(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(message));
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
      return Internal(std::move(message));
    default:  // SQLITE_IOERR_*, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM, ...
      return IoError(std::move(message));
  }
}

// ---- SqliteStatement ----

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      statement_(std::exchange(other.statement_, nullptr)),
      last_result_code_(other.last_result_code_) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(statement_);
    db_ = std::exchange(other.db_, nullptr);
    statement_ = std::exchange(other.statement_, nullptr);
    last_result_code_ = other.last_result_code_;
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(statement_); }

// Binding fails only on a bad parameter index or an out-of-memory: both are bugs or
// conditions nothing above could handle, hence CHECK.
void SqliteStatement::BindInt64(int i, std::int64_t value) {
  const int rc = sqlite3_bind_int64(statement_, i, value);
  CHECK(rc == SQLITE_OK) << sqlite3_errstr(rc);
}

void SqliteStatement::BindBlob(int i, std::string_view value) {
  // A zero-length blob still binds as a blob (not NULL) when the pointer is non-null.
  static const char kEmpty = 0;
  const char* data = value.empty() ? &kEmpty : value.data();
  const int rc = sqlite3_bind_blob64(statement_, i, data, value.size(), SQLITE_TRANSIENT);
  CHECK(rc == SQLITE_OK) << sqlite3_errstr(rc);
}

Status SqliteStatement::Run() {
  ResetGuard reset(*this);
  for (;;) {
    const int rc = sqlite3_step(statement_);
    last_result_code_ = rc;
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return SqliteStatus(db_, rc, sqlite3_sql(statement_));
  }
}

Result<bool> SqliteStatement::Step() {
  const int rc = sqlite3_step(statement_);
  last_result_code_ = rc;
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_, rc, sqlite3_sql(statement_));
}

void SqliteStatement::Reset() {
  // sqlite3_reset repeats the last step's error, which Step/Run already reported.
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

bool SqliteStatement::FailedOnSync() const {
  return last_result_code_ == SQLITE_IOERR_FSYNC || last_result_code_ == SQLITE_IOERR_DIR_FSYNC;
}

bool SqliteStatement::ColumnIsInteger(int i) const {
  return sqlite3_column_type(statement_, i) == SQLITE_INTEGER;
}

bool SqliteStatement::ColumnIsNull(int i) const {
  return sqlite3_column_type(statement_, i) == SQLITE_NULL;
}

std::int64_t SqliteStatement::ColumnInt64(int i) const {
  return sqlite3_column_int64(statement_, i);
}

std::string_view SqliteStatement::ColumnBlob(int i) const {
  const void* data = sqlite3_column_blob(statement_, i);
  const int bytes = sqlite3_column_bytes(statement_, i);
  if (data == nullptr || bytes <= 0) return {};
  return {static_cast<const char*>(data), static_cast<std::size_t>(bytes)};
}

// ---- SqliteDb ----

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, const std::string& vfs) {
  sqlite3* db = nullptr;
  // NOMUTEX: one thread owns the connection, so SQLite need not lock it.
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    Status status = SqliteStatus(db, rc, "open " + path);
    sqlite3_close(db);  // a handle is returned even on failure
    return status;
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db));
}

SqliteDb::~SqliteDb() {
  // Every statement is finalized before the connection goes (the owner declares the
  // connection first), so this close cannot be refused as busy.
  sqlite3_close(db_);
}

Result<SqliteStatement> SqliteDb::Prepare(std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "prepare " + std::string(sql));
  return SqliteStatement(db_, statement);
}

Status SqliteDb::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, sql);
  return Status::Ok();
}

Result<std::string> SqliteDb::PragmaText(const char* sql) {
  Result<SqliteStatement> statement = Prepare(sql);
  if (!statement.ok()) return statement.status();
  SqliteStatement::ResetGuard reset(*statement);
  Result<bool> row = statement->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::string();
  return std::string(statement->ColumnBlob(0));
}

bool SqliteDb::autocommit() const { return sqlite3_get_autocommit(db_) != 0; }

}  // namespace roster::sqlite
