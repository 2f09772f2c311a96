// SessionTable: the sessions of the replicated state machine (consul-api.md §1.6, §3;
// Consul's agent/consul/state/session.go).
//
// A session links a node, health checks on that node, a TTL, a lock-delay and a
// behavior. The store only records sessions and removes them when they are destroyed
// or invalidated; the rules that tie them to the catalog and the KV table (create
// checks, invalidation effects) live in the session commands (store/session.cc,
// store/apply.h). TTL timers and lock-delay belong to the leader (server/), not here.
// Besides the sessions by id, the table keeps two derived indexes: sessions by node
// (GET /v1/session/node/:node, node deregistration) and sessions by bound check (a
// check turning critical). Design notes: docs/design/store.md.
//
// Thread-safety: none. One writer (the apply loop); readers must be synchronised with
// it by the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/types.h"

namespace roster::store {

// What happens to the keys a session holds when it ends (consul-api.md §3.3). The
// values are part of the log and snapshot formats.
enum class SessionBehavior : std::uint8_t {
  kRelease = 0,  // locks are released; the keys stay
  kDelete = 1,   // held keys are deleted: ephemeral keys
};

// Consul's spelling: "release" or "delete".
std::string_view SessionBehaviorName(SessionBehavior behavior);

// Consul's ServiceCheck: a service's check the session is bound to. The check lives on
// the session's node, like node checks.
struct ServiceCheckRef {
  std::string id;
  std::string namespace_name;  // Consul Enterprise's Namespace: kept and echoed only

  bool operator==(const ServiceCheckRef&) const = default;
};

struct Session {
  std::string id;  // a UUID chosen by the proposer, so apply stays deterministic
  std::string name;
  std::string node;
  std::uint64_t lock_delay_ms = 0;
  SessionBehavior behavior = SessionBehavior::kRelease;
  std::uint64_t ttl_ms = 0;  // 0: no TTL
  // Check ids on `node`. The ["serfHealth"] default is the HTTP layer's, not the store's.
  std::vector<std::string> node_checks;
  std::vector<ServiceCheckRef> service_checks;
  Index create_index = 0;
  Index modify_index = 0;

  // Every check id the session is bound to: node checks, then service checks.
  std::vector<std::string> CheckIds() const;

  bool operator==(const Session&) const = default;
};

class SessionTable {
 public:
  using Sessions = std::map<std::string, Session, std::less<>>;

  SessionTable() = default;
  // Rebuilds a table from snapshot contents. Fails with Corruption when a map key
  // differs from its session's id, a session has an empty id or node, a zero or
  // inverted create/modify index, or an index beyond table_index.
  static Result<SessionTable> FromParts(Sessions sessions, Index table_index);

  // Writes. Each REQUIRES index >= TableIndex() (CHECKed) and records its change.

  // Adds a session stamped with index. REQUIRES: no session with its id (CHECKed; the
  // create command checks first).
  void Insert(Index index, Session session, ChangeSet& changes);
  // Removes a session and returns it; nullopt (and no change) if it is absent.
  std::optional<Session> Remove(Index index, std::string_view id, ChangeSet& changes);

  // Reads.

  const Session* Find(std::string_view id) const;
  // Every session, in id order.
  std::vector<Session> List() const;
  // The sessions of node, in id order.
  std::vector<Session> ForNode(std::string_view node) const;
  // Ids of the sessions on node, in id order.
  std::vector<std::string> IdsForNode(std::string_view node) const;
  // Ids of the sessions bound to the check (node, check_id), in id order.
  std::vector<std::string> IdsBoundTo(std::string_view node, std::string_view check_id) const;

  // The highest index of any create or removal (Consul's "sessions" table index).
  Index TableIndex() const { return table_index_; }
  const Sessions& sessions() const { return sessions_; }

  bool operator==(const SessionTable&) const = default;

 private:
  using IdSet = std::set<std::string, std::less<>>;

  void CheckOrder(Index index) const;
  void AddToIndexes(const Session& session);
  void RemoveFromIndexes(const Session& session);

  Sessions sessions_;
  Index table_index_ = 0;
  // Derived from sessions_.
  std::map<std::string, IdSet, std::less<>> by_node_;
  // Key: CheckKey(node, check id), which is unambiguous for any bytes.
  std::map<std::string, IdSet, std::less<>> by_check_;
};

}  // namespace roster::store
