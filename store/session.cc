#include "store/session.h"

#include <utility>

#include "base/check.h"
#include "store/apply.h"

namespace roster::store {
namespace {

// The by-check index key: the node's length, then node and check id, so that no two
// (node, check id) pairs share a key whatever bytes they hold.
std::string CheckKey(std::string_view node, std::string_view check_id) {
  std::string key = std::to_string(node.size());
  key.push_back(':');
  key.append(node);
  key.append(check_id);
  return key;
}

Status CheckSession(const std::string& map_key, const Session& session, Index table_index) {
  if (map_key != session.id || session.id.empty()) {
    return Corruption("session stored under another key: " + map_key);
  }
  if (session.node.empty()) return Corruption("session without a node: " + map_key);
  if (session.create_index == 0 || session.create_index > session.modify_index ||
      session.modify_index > table_index) {
    return Corruption("session with invalid indexes: " + map_key);
  }
  return Status::Ok();
}

}  // namespace

std::string_view SessionBehaviorName(SessionBehavior behavior) {
  switch (behavior) {
    case SessionBehavior::kRelease:
      return "release";
    case SessionBehavior::kDelete:
      return "delete";
  }
  CHECK(false) << "unknown session behavior " << static_cast<int>(behavior);
  return "";
}

std::vector<std::string> Session::CheckIds() const {
  std::vector<std::string> ids = node_checks;
  for (const ServiceCheckRef& check : service_checks) ids.push_back(check.id);
  return ids;
}

Result<SessionTable> SessionTable::FromParts(Sessions sessions, Index table_index) {
  for (const auto& [id, session] : sessions)
    RETURN_IF_ERROR(CheckSession(id, session, table_index));
  SessionTable table;
  table.sessions_ = std::move(sessions);
  table.table_index_ = table_index;
  for (const auto& [id, session] : table.sessions_) table.AddToIndexes(session);
  return table;
}

void SessionTable::CheckOrder(Index index) const {
  CHECK(index > 0) << "session write at index 0";
  CHECK_GE(index, table_index_) << "session write out of log order";
}

void SessionTable::Insert(Index index, Session session, ChangeSet& changes) {
  CheckOrder(index);
  CHECK(!session.id.empty()) << "session without an id";
  session.create_index = index;
  session.modify_index = index;
  auto [it, inserted] = sessions_.try_emplace(session.id, std::move(session));
  CHECK(inserted) << "session " << it->first << " created twice";
  AddToIndexes(it->second);
  table_index_ = index;
  changes.AddKey(Table::kSessions, it->first);
}

std::optional<Session> SessionTable::Remove(Index index, std::string_view id, ChangeSet& changes) {
  CheckOrder(index);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  RemoveFromIndexes(it->second);
  Session removed = std::move(it->second);
  sessions_.erase(it);
  table_index_ = index;
  changes.AddKey(Table::kSessions, removed.id);
  return removed;
}

const Session* SessionTable::Find(std::string_view id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

std::vector<Session> SessionTable::List() const {
  std::vector<Session> result;
  result.reserve(sessions_.size());
  for (const auto& [id, session] : sessions_) result.push_back(session);
  return result;
}

std::vector<Session> SessionTable::ForNode(std::string_view node) const {
  std::vector<Session> result;
  for (const std::string& id : IdsForNode(node)) result.push_back(*Find(id));
  return result;
}

std::vector<std::string> SessionTable::IdsForNode(std::string_view node) const {
  auto it = by_node_.find(node);
  if (it == by_node_.end()) return {};
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

std::vector<std::string> SessionTable::IdsBoundTo(std::string_view node,
                                                  std::string_view check_id) const {
  auto it = by_check_.find(CheckKey(node, check_id));
  if (it == by_check_.end()) return {};
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

void SessionTable::AddToIndexes(const Session& session) {
  by_node_[session.node].insert(session.id);
  for (const std::string& check_id : session.CheckIds()) {
    by_check_[CheckKey(session.node, check_id)].insert(session.id);
  }
}

void SessionTable::RemoveFromIndexes(const Session& session) {
  auto erase_from = [&session](auto& index, const std::string& key) {
    auto it = index.find(key);
    CHECK(it != index.end()) << "session index lost " << session.id;
    it->second.erase(session.id);
    if (it->second.empty()) index.erase(it);
  };
  erase_from(by_node_, session.node);
  for (const std::string& check_id : session.CheckIds()) {
    // A session may name a check twice; the first erase empties its entry.
    if (by_check_.contains(CheckKey(session.node, check_id))) {
      erase_from(by_check_, CheckKey(session.node, check_id));
    }
  }
}

// ---- Commands (store/apply.h) ------------------------------------------------------------

namespace internal {
namespace {

// Why session may not be created now; Consul's texts (state/session.go).
Status CheckCreate(const StoreState& state, const Session& session) {
  if (session.id.empty()) return InvalidArgument("Missing session ID");
  if (state.sessions.Find(session.id) != nullptr) {
    return FailedPrecondition("Session ID '" + session.id + "' already exists");
  }
  if (state.catalog.FindNode(session.node) == nullptr) {
    return FailedPrecondition("Missing node registration");
  }
  for (const std::string& check_id : session.CheckIds()) {
    const HealthCheck* check = state.catalog.FindCheck(session.node, check_id);
    if (check == nullptr)
      return FailedPrecondition("Missing check '" + check_id + "' registration");
    if (check->status == HealthStatus::kCritical) {
      return FailedPrecondition("Check '" + check_id + "' is in critical state");
    }
  }
  return Status::Ok();
}

}  // namespace

void ApplyCommand(ApplyContext& context, SessionCreate&& command) {
  if (Status status = CheckCreate(context.state, command.session); !status.ok()) {
    return context.Refuse(std::move(status));
  }
  context.state.sessions.Insert(context.index, std::move(command.session), context.result.changes);
}

void ApplyCommand(ApplyContext& context, SessionDestroy&& command) {
  InvalidateSession(context, command.id);
}

void ApplyCommand(ApplyContext& context, SessionInvalidate&& command) {
  InvalidateSession(context, command.id);
}

void InvalidateSession(ApplyContext& context, std::string_view id) {
  const Session* session = context.state.sessions.Find(id);
  if (session == nullptr) return;
  InvalidatedSession invalidated{session->id, session->behavior, session->lock_delay_ms, {}};
  KvTable& kv = context.state.kv;
  ChangeSet& changes = context.result.changes;
  invalidated.keys = session->behavior == SessionBehavior::kDelete
                         ? kv.DeleteAll(context.index, id, changes)
                         : kv.ReleaseAll(context.index, id, changes);
  context.state.sessions.Remove(context.index, invalidated.id, changes);
  context.result.invalidated_sessions.push_back(std::move(invalidated));
}

}  // namespace internal
}  // namespace roster::store
