#include "agent/agent_db.h"

#include <functional>
#include <utility>
#include <variant>

#include "store/command.h"

namespace roster::agent {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS meta (key BLOB PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS services (id BLOB PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS checks (id BLOB PRIMARY KEY, value BLOB NOT NULL,"
    "  success_before_passing INTEGER NOT NULL, failures_before_critical INTEGER NOT NULL);";

Result<store::CatalogRegister> DecodeRow(std::string_view bytes, const std::string& what) {
  Result<store::Command> command = store::Decode(bytes);
  if (!command.ok()) return Corruption("agent.db: " + what + ": " + command.status().message());
  auto* registration = std::get_if<store::CatalogRegister>(&*command);
  if (registration == nullptr) return Corruption("agent.db: " + what + ": not a registration");
  return std::move(*registration);
}

}  // namespace

Result<std::unique_ptr<AgentDb>> AgentDb::Open(const std::string& path) {
  Result<std::unique_ptr<sqlite::SqliteDb>> db = sqlite::SqliteDb::Open(path);
  if (!db.ok()) return db.status();
  RETURN_IF_ERROR((*db)->Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR((*db)->Exec("PRAGMA synchronous=FULL"));
  RETURN_IF_ERROR((*db)->Exec(kSchema));
  std::unique_ptr<AgentDb> agent_db(new AgentDb(std::move(*db)));
  RETURN_IF_ERROR(agent_db->Prepare());
  return agent_db;
}

Status AgentDb::Prepare() {
  const std::pair<sqlite::SqliteStatement*, const char*> statements[] = {
      {&put_service_, "INSERT OR REPLACE INTO services (id, value) VALUES (?1, ?2)"},
      {&delete_service_, "DELETE FROM services WHERE id = ?1"},
      {&put_check_,
       "INSERT OR REPLACE INTO checks (id, value, success_before_passing, "
       "failures_before_critical) VALUES (?1, ?2, ?3, ?4)"},
      {&delete_check_, "DELETE FROM checks WHERE id = ?1"},
      {&select_services_, "SELECT value FROM services ORDER BY id"},
      {&select_checks_,
       "SELECT value, success_before_passing, failures_before_critical FROM checks ORDER BY id"},
      {&get_meta_, "SELECT value FROM meta WHERE key = ?1"},
      {&put_meta_, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)"},
  };
  for (const auto& [statement, sql] : statements) {
    Result<sqlite::SqliteStatement> prepared = db_->Prepare(sql);
    if (!prepared.ok()) return prepared.status();
    *statement = std::move(*prepared);
  }
  return Status::Ok();
}

Result<std::string> AgentDb::NodeId(const std::function<std::string()>& generate) {
  Result<std::string> stored = Meta("node_id");
  if (!stored.ok() || !stored->empty()) return stored;
  const std::string id = generate();
  RETURN_IF_ERROR(PutMeta("node_id", id));
  return id;
}

Result<std::string> AgentDb::Meta(const std::string& key) {
  sqlite::SqliteStatement::ResetGuard reset(get_meta_);
  get_meta_.BindBlob(1, key);
  Result<bool> row = get_meta_.Step();
  if (!row.ok()) return row.status();
  return *row ? std::string(get_meta_.ColumnBlob(0)) : std::string();
}

Status AgentDb::PutMeta(const std::string& key, const std::string& value) {
  put_meta_.BindBlob(1, key);
  put_meta_.BindBlob(2, value);
  return put_meta_.Run();
}

Status AgentDb::PutRow(sqlite::SqliteStatement& statement, const std::string& id,
                       const std::string& value, std::int64_t extra_1, std::int64_t extra_2) {
  statement.BindBlob(1, id);
  statement.BindBlob(2, value);
  if (&statement == &put_check_) {
    statement.BindInt64(3, extra_1);
    statement.BindInt64(4, extra_2);
  }
  return statement.Run();
}

Status AgentDb::PutService(const store::NodeService& service) {
  store::CatalogRegister row;
  row.service = service;
  return PutRow(put_service_, service.id, store::Encode(row), 0, 0);
}

Status AgentDb::DeleteService(const std::string& service_id) {
  delete_service_.BindBlob(1, service_id);
  return delete_service_.Run();
}

Status AgentDb::PutCheck(const http::AgentCheck& check) {
  store::CatalogRegister row;
  row.checks.push_back(check.check);
  return PutRow(put_check_, check.check.check_id, store::Encode(row),
                check.success_before_passing, check.failures_before_critical);
}

Status AgentDb::DeleteCheck(const std::string& check_id) {
  delete_check_.BindBlob(1, check_id);
  return delete_check_.Run();
}

Result<std::vector<store::NodeService>> AgentDb::LoadServices() {
  sqlite::SqliteStatement::ResetGuard reset(select_services_);
  std::vector<store::NodeService> services;
  for (;;) {
    Result<bool> row = select_services_.Step();
    if (!row.ok()) return row.status();
    if (!*row) return services;
    Result<store::CatalogRegister> decoded = DecodeRow(select_services_.ColumnBlob(0), "service");
    if (!decoded.ok()) return decoded.status();
    if (!decoded->service.has_value()) return Corruption("agent.db: a service row without one");
    services.push_back(std::move(*decoded->service));
  }
}

Result<std::vector<http::AgentCheck>> AgentDb::LoadChecks() {
  sqlite::SqliteStatement::ResetGuard reset(select_checks_);
  std::vector<http::AgentCheck> checks;
  for (;;) {
    Result<bool> row = select_checks_.Step();
    if (!row.ok()) return row.status();
    if (!*row) return checks;
    Result<store::CatalogRegister> decoded = DecodeRow(select_checks_.ColumnBlob(0), "check");
    if (!decoded.ok()) return decoded.status();
    if (decoded->checks.size() != 1) return Corruption("agent.db: a check row without one");
    http::AgentCheck check;
    check.check = std::move(decoded->checks[0]);
    check.success_before_passing = static_cast<int>(select_checks_.ColumnInt64(1));
    check.failures_before_critical = static_cast<int>(select_checks_.ColumnInt64(2));
    checks.push_back(std::move(check));
  }
}

}  // namespace roster::agent
