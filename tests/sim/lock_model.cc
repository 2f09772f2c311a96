// LockModel: how each command changes the model (the contract of consul-api.md §3).
// The comparison with the store is in lock_model_compare.cc.
#include "tests/sim/lock_model.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "base/check.h"
#include "tests/sim/checkers.h"

namespace roster::sim {
namespace {

// The suffix of a sequential key: the creating index, zero-padded to 20 digits
// (DESIGN.md, "The global clock").
std::string Padded(consensus::Index index) {
  std::string digits = std::to_string(index);
  return std::string(20 - std::min<std::size_t>(20, digits.size()), '0') + digits;
}

}  // namespace

std::string DescribeToken(const FencingToken& token) {
  return "(" + std::to_string(token.create_index) + "," + std::to_string(token.lock_index) + ")";
}

const char* HoldingEndName(HoldingEnd end) {
  switch (end) {
    case HoldingEnd::kHeld:
      return "held";
    case HoldingEnd::kUnlocked:
      return "unlocked";
    case HoldingEnd::kSessionEnded:
      return "session ended";
    case HoldingEnd::kKeyDeleted:
      return "key deleted";
  }
  return "?";
}

LockModel::LockModel(std::string key_prefix) : prefix_(std::move(key_prefix)) {
  CHECK(!prefix_.empty());
}

std::string LockModel::OnCommitted(const consensus::Entry& entry, bool ok,
                                   const store::Store& store, bool compare) {
  if (last_index_ != 0 && entry.index != last_index_ + 1) {
    return "lock model: entry " + std::to_string(entry.index) + " committed after " +
           std::to_string(last_index_) + " (entries reach the model out of order)";
  }
  last_index_ = entry.index;
  index_ = entry.index;
  entry_ = &entry;
  transitions_.clear();
  ephemeral_deleted_now_.clear();
  unmodelled_.clear();
  why_.clear();
  std::optional<bool> expected_ok;
  if (entry.type == consensus::EntryType::kNormal) {
    Result<store::Command> command = store::Decode(entry.data);
    CHECK(command.ok()) << "the store applied an undecodable entry " << entry.index;
    expected_ok = Apply(*command);
  }
  std::string problem = unmodelled_;
  if (problem.empty() && compare) problem = Compare(ok, expected_ok, store);
  CommitTransitions();
  entry_ = nullptr;
  return problem;
}

// The expected outcome, or nullopt for a command on keys the model does not track.
std::optional<bool> LockModel::Apply(store::Command& command) {
  if (auto* c = std::get_if<store::KvLock>(&command)) {
    if (!Tracked(c->key)) return std::nullopt;
    return ApplyLock(c->key, c->value, c->flags, c->session);
  }
  if (auto* c = std::get_if<store::KvUnlock>(&command)) {
    if (!Tracked(c->key)) return std::nullopt;
    return ApplyUnlock(c->key, c->value, c->flags, c->session);
  }
  if (auto* c = std::get_if<store::KvCreateSequential>(&command)) {
    if (!Tracked(c->prefix)) return std::nullopt;
    return ApplySequential(*c);
  }
  if (auto* c = std::get_if<store::KvDelete>(&command)) {
    if (!Tracked(c->key)) return std::nullopt;
    ApplyDelete(c->key);
    return true;
  }
  if (auto* c = std::get_if<store::Txn>(&command)) return ApplyTxn(*c);
  if (auto* c = std::get_if<store::SessionCreate>(&command)) {
    return ApplySessionCreate(std::move(c->session));
  }
  if (auto* c = std::get_if<store::SessionDestroy>(&command)) {
    EndSession(c->id);
    return true;
  }
  if (auto* c = std::get_if<store::SessionInvalidate>(&command)) {
    EndSession(c->id);
    return true;
  }
  if (auto* c = std::get_if<store::CatalogRegister>(&command)) return ApplyRegister(*c);
  if (auto* c = std::get_if<store::CatalogDeregister>(&command)) {
    ApplyDeregister(*c);
    return true;
  }
  return ApplyOther(command);
}

// Plain KV writes: the KV workload's, on keys the model does not track. One on a
// tracked key is a workload the model cannot follow: reported, not guessed.
std::optional<bool> LockModel::ApplyOther(const store::Command& command) {
  std::string key;
  if (const auto* c = std::get_if<store::KvSet>(&command)) key = c->key;
  if (const auto* c = std::get_if<store::KvCas>(&command)) key = c->key;
  if (const auto* c = std::get_if<store::KvDeleteCas>(&command)) key = c->key;
  if (const auto* c = std::get_if<store::KvDeleteTree>(&command)) {
    if (Tracked(c->prefix) || prefix_.starts_with(c->prefix)) key = prefix_;
  }
  if (!key.empty() && Tracked(key)) {
    unmodelled_ =
        "lock model: " + At() + " writes a tracked key in a way the model does not follow";
  }
  return std::nullopt;
}

bool LockModel::ApplyLock(const std::string& key, const std::string& value, std::uint64_t flags,
                          const std::string& session) {
  if (session.empty() || !sessions_.contains(session)) {
    why_ = "session " + session + " does not exist";
    return false;
  }
  auto it = keys_.find(key);
  if (it == keys_.end()) {  // a new key: its first holder, LockIndex 1
    store::DirEntry entry{key, value, flags, index_, index_, 1, session};
    BeginHolding(entry);
    keys_.emplace(key, std::move(entry));
    return true;
  }
  store::DirEntry& entry = it->second;
  if (!entry.session.empty() && entry.session != session) {
    why_ = key + " is held by " + entry.session;
    return false;
  }
  if (entry.session == session) {  // a re-acquire: the same holding, the same token
    if (entry.value != value || entry.flags != flags) {
      entry.value = value;
      entry.flags = flags;
      entry.modify_index = index_;
    }
    return true;
  }
  entry.lock_index += 1;  // a new holder
  entry.session = session;
  entry.value = value;
  entry.flags = flags;
  entry.modify_index = index_;
  BeginHolding(entry);
  return true;
}

bool LockModel::ApplyUnlock(const std::string& key, const std::string& value, std::uint64_t flags,
                            const std::string& session) {
  auto it = keys_.find(key);
  if (it == keys_.end() || session.empty() || it->second.session != session) {
    why_ = key + " is not held by " + session;
    return false;
  }
  store::DirEntry& entry = it->second;
  EndHolding(entry, HoldingEnd::kUnlocked);
  entry.session.clear();
  entry.value = value;
  entry.flags = flags;
  entry.modify_index = index_;
  return true;
}

bool LockModel::ApplySequential(const store::KvCreateSequential& c) {
  if (!c.session.empty() && !sessions_.contains(c.session)) {
    why_ = "session " + c.session + " does not exist";
    return false;
  }
  const std::string key = c.prefix + Padded(index_);
  if (keys_.contains(key)) {
    why_ = key + " already exists";
    return false;
  }
  store::DirEntry entry{key,      c.value, c.flags, index_, index_, c.session.empty() ? 0u : 1u,
                        c.session};
  if (!c.session.empty()) BeginHolding(entry);
  keys_.emplace(key, std::move(entry));
  return true;
}

// Lock and unlock ops on tracked keys, all or nothing; a txn on other keys is the KV
// workload's business.
std::optional<bool> LockModel::ApplyTxn(const store::Txn& txn) {
  const bool touches = std::any_of(txn.ops.begin(), txn.ops.end(),
                                   [this](const store::TxnKvOp& op) { return Tracked(op.key); });
  if (!touches) return std::nullopt;
  for (const store::TxnKvOp& op : txn.ops) {
    if (!Tracked(op.key) ||
        (op.verb != store::TxnVerb::kLock && op.verb != store::TxnVerb::kUnlock)) {
      unmodelled_ = "lock model: " + At() + " has a txn op the model does not follow";
      return false;
    }
  }
  const Keys before = keys_;
  const std::size_t transitions_before = transitions_.size();
  bool ok = true;
  for (const store::TxnKvOp& op : txn.ops) {
    const bool op_ok = op.verb == store::TxnVerb::kLock
                           ? ApplyLock(op.key, op.value, op.flags, op.session)
                           : ApplyUnlock(op.key, op.value, op.flags, op.session);
    ok = ok && op_ok;
  }
  if (!ok) {  // rolled back: nothing changed, no holding began or ended
    keys_ = before;
    transitions_.resize(transitions_before);
  }
  return ok;
}

void LockModel::ApplyDelete(const std::string& key) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  if (!it->second.session.empty()) EndHolding(it->second, HoldingEnd::kKeyDeleted);
  keys_.erase(it);
}

bool LockModel::ApplySessionCreate(store::Session session) {
  if (session.id.empty() || sessions_.contains(session.id)) {
    why_ = "session " + session.id + " exists already";
    return false;
  }
  auto node = catalog_.find(session.node);
  if (node == catalog_.end()) {
    why_ = "node " + session.node + " is not registered";
    return false;
  }
  for (const std::string& check_id : session.CheckIds()) {
    auto check = node->second.find(check_id);
    if (check == node->second.end() || check->second == store::HealthStatus::kCritical) {
      why_ = "check " + check_id + " on " + session.node + " is missing or critical";
      return false;
    }
  }
  session.create_index = index_;
  session.modify_index = index_;
  ended_at_.erase(session.id);
  const std::string id = session.id;
  sessions_.emplace(id, std::move(session));
  return true;
}

bool LockModel::ApplyRegister(const store::CatalogRegister& c) {
  if (c.node.empty()) return false;
  for (const store::HealthCheck& check : c.checks) {
    if (check.check_id.empty()) return false;
  }
  Checks& checks = catalog_[c.node];
  for (const store::HealthCheck& check : c.checks) {
    checks[check.check_id] = check.status;
    // Critical ends the sessions bound to the check; warning does not (§3.1).
    if (check.status == store::HealthStatus::kCritical) EndBoundSessions(c.node, check.check_id);
  }
  return true;
}

void LockModel::ApplyDeregister(const store::CatalogDeregister& c) {
  if (!c.check_id.empty()) {
    EndBoundSessions(c.node, c.check_id);
    auto node = catalog_.find(c.node);
    if (node != catalog_.end()) node->second.erase(c.check_id);
    return;
  }
  if (!catalog_.contains(c.node)) return;
  std::vector<std::string> ids;
  for (const auto& [id, session] : sessions_) {
    if (session.node == c.node) ids.push_back(id);
  }
  for (const std::string& id : ids) EndSession(id);
  catalog_.erase(c.node);
}

void LockModel::EndBoundSessions(const std::string& node, const std::string& check_id) {
  std::vector<std::string> ids;
  for (const auto& [id, session] : sessions_) {
    const std::vector<std::string> checks = session.CheckIds();
    if (session.node == node && std::find(checks.begin(), checks.end(), check_id) != checks.end()) {
      ids.push_back(id);
    }
  }
  for (const std::string& id : ids) EndSession(id);
}

// Ends a live session: its keys are released, or deleted for behavior delete (§3.3).
void LockModel::EndSession(const std::string& id) {
  auto session = sessions_.find(id);
  if (session == sessions_.end()) return;
  const bool ephemeral = session->second.behavior == store::SessionBehavior::kDelete;
  for (auto it = keys_.begin(); it != keys_.end();) {
    store::DirEntry& entry = it->second;
    if (entry.session != id) {
      ++it;
      continue;
    }
    EndHolding(entry, HoldingEnd::kSessionEnded);
    if (ephemeral) {
      ++ephemeral_deleted_;
      ephemeral_deleted_now_.emplace(it->first, id);
      it = keys_.erase(it);
      continue;
    }
    entry.session.clear();  // LockIndex stays; ModifyIndex moves
    entry.modify_index = index_;
    ++it;
  }
  sessions_.erase(session);
  ended_at_[id] = index_;
  ++sessions_ended_;
}

void LockModel::BeginHolding(const store::DirEntry& entry) {
  transitions_.push_back(
      {true, entry.key, entry.session, {entry.create_index, entry.lock_index}, HoldingEnd::kHeld});
}

void LockModel::EndHolding(const store::DirEntry& entry, HoldingEnd end) {
  transitions_.push_back(
      {false, entry.key, entry.session, {entry.create_index, entry.lock_index}, end});
}

void LockModel::CommitTransitions() {
  for (Transition& t : transitions_) {
    auto id = std::make_pair(t.key, t.token);
    if (t.begin) {
      holdings_[id] = Holding{t.key, t.session, t.token, index_, 0, HoldingEnd::kHeld};
      continue;
    }
    auto it = holdings_.find(id);
    CHECK(it != holdings_.end()) << "lock model: holding of " << t.key << " "
                                 << DescribeToken(t.token) << " ended but never began";
    it->second.ended_index = index_;
    it->second.end = t.end;
  }
  transitions_.clear();
}

const Holding* LockModel::FindHolding(std::string_view key, const FencingToken& token) const {
  auto it = holdings_.find(std::make_pair(std::string(key), token));
  return it == holdings_.end() ? nullptr : &it->second;
}

consensus::Index LockModel::SessionEndIndex(std::string_view id) const {
  auto it = ended_at_.find(id);
  return it == ended_at_.end() ? 0 : it->second;
}

std::string LockModel::At() const {
  return "at index " + std::to_string(index_) +
         (entry_ != nullptr ? " (" + DescribeEntry(*entry_) + ")" : std::string());
}

}  // namespace roster::sim
