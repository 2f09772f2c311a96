// AgentDb: the agent's durable state in <data-dir>/agent.db (SQLite, WAL,
// synchronous=FULL): the node ID chosen on first start, and the services and checks
// registered with this agent, so that a restarted agent brings them back without the
// applications registering again (docs/agent.md, "Local state"), and which of them came
// from -config-dir files.
//
// Rows hold a service or check in the store's own binary encoding (a CatalogRegister
// command, store/command.h), so every field survives exactly; the agent's own check
// settings (flap damping) sit in columns beside it. Each Put/Delete is one transaction,
// durable when it returns.
//
// Thread-safety: none; the owner (LocalState) serialises calls under its mutex.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "http/local_agent.h"
#include "sqlite/sqlite_db.h"
#include "store/catalog.h"

namespace roster::agent {

class AgentDb {
 public:
  // Opens (creating if absent) the database at `path`.
  static Result<std::unique_ptr<AgentDb>> Open(const std::string& path);

  // The node ID (a UUID) kept in the database; `generate` makes one on first call.
  Result<std::string> NodeId(const std::function<std::string()>& generate);

  // A value of the meta table; "" when the key is absent.
  Result<std::string> Meta(const std::string& key);
  Status PutMeta(const std::string& key, const std::string& value);

  Status PutService(const store::NodeService& service);
  Status DeleteService(const std::string& service_id);
  Status PutCheck(const http::AgentCheck& check);
  Status DeleteCheck(const std::string& check_id);

  // Everything stored, ordered by id. Corruption when a row does not decode.
  Result<std::vector<store::NodeService>> LoadServices();
  Result<std::vector<http::AgentCheck>> LoadChecks();

 private:
  explicit AgentDb(std::unique_ptr<sqlite::SqliteDb> db) : db_(std::move(db)) {}
  Status Prepare();
  Status PutRow(sqlite::SqliteStatement& statement, const std::string& id,
                const std::string& value, std::int64_t extra_1, std::int64_t extra_2);

  std::unique_ptr<sqlite::SqliteDb> db_;  // declared first: outlives the statements
  sqlite::SqliteStatement put_service_;
  sqlite::SqliteStatement delete_service_;
  sqlite::SqliteStatement put_check_;
  sqlite::SqliteStatement delete_check_;
  sqlite::SqliteStatement select_services_;
  sqlite::SqliteStatement select_checks_;
  sqlite::SqliteStatement get_meta_;
  sqlite::SqliteStatement put_meta_;
};

}  // namespace roster::agent
