#include "store/txn.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "base/check.h"
#include "store/apply.h"

namespace roster::store {
namespace {

// Why an op failed, in Consul's words; nullopt when it succeeded.
using OpError = std::optional<std::string>;

// Go's %q, which Consul's error texts use for keys and sessions.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// An entry as a write or check verb reports it: everything but the value.
TxnResult Metadata(const DirEntry& entry) {
  return TxnResult{DirEntry{entry.key, "", entry.flags, entry.create_index, entry.modify_index,
                            entry.lock_index, entry.session}};
}

OpError CheckIndex(const KvTable& kv, const TxnKvOp& op, std::vector<TxnResult>& results) {
  const DirEntry* entry = kv.Find(op.key);
  if (entry == nullptr) return "failed to check index, key " + Quote(op.key) + " doesn't exist";
  if (entry->modify_index != op.index) {
    return "failed index check for key " + Quote(op.key) + ", current modify index " +
           std::to_string(entry->modify_index) + " != " + std::to_string(op.index);
  }
  results.push_back(Metadata(*entry));
  return std::nullopt;
}

OpError CheckSession(const KvTable& kv, const TxnKvOp& op, std::vector<TxnResult>& results) {
  const DirEntry* entry = kv.Find(op.key);
  if (entry == nullptr) return "failed to check session, key " + Quote(op.key) + " doesn't exist";
  if (entry->session != op.session) {
    return "failed session check for key " + Quote(op.key) + ", current session " +
           Quote(entry->session) + " != " + Quote(op.session);
  }
  results.push_back(Metadata(*entry));
  return std::nullopt;
}

// The read verbs, shared by the write path and ReadTxn.
OpError ReadOp(const KvTable& kv, const TxnKvOp& op, std::vector<TxnResult>& results) {
  switch (op.verb) {
    case TxnVerb::kGet:
      if (const DirEntry* entry = kv.Find(op.key)) {
        results.push_back(TxnResult{*entry});
        return std::nullopt;
      }
      return "key " + Quote(op.key) + " doesn't exist";
    case TxnVerb::kGetOrEmpty: {
      TxnResult result;
      if (const DirEntry* entry = kv.Find(op.key)) {
        result.kv = *entry;
      } else {
        result.kv.key = op.key;  // Consul answers with the op's own entry, value null
      }
      results.push_back(std::move(result));
      return std::nullopt;
    }
    case TxnVerb::kGetTree:
      for (DirEntry& entry : kv.List(op.key)) results.push_back(TxnResult{std::move(entry)});
      return std::nullopt;
    case TxnVerb::kCheckIndex:
      return CheckIndex(kv, op, results);
    case TxnVerb::kCheckSession:
      return CheckSession(kv, op, results);
    case TxnVerb::kCheckNotExists:
      if (kv.Find(op.key) != nullptr) return "key " + Quote(op.key) + " exists";
      return std::nullopt;
    default:
      CHECK(false) << "not a read verb: " << TxnVerbName(op.verb);
      return std::nullopt;
  }
}

OpError LockOp(StoreState& state, Index index, TxnKvOp& op, ChangeSet& changes,
               std::vector<TxnResult>& results) {
  if (Status status = internal::CheckLockSession(state.sessions, op.session); !status.ok()) {
    return status.message();
  }
  if (!state.kv.Lock(index, op.key, std::move(op.value), op.flags, std::move(op.session),
                     changes)) {
    return "failed to lock key " + Quote(op.key) + ", lock is already held";
  }
  results.push_back(Metadata(*state.kv.Find(op.key)));
  return std::nullopt;
}

OpError UnlockOp(StoreState& state, Index index, TxnKvOp& op, ChangeSet& changes,
                 std::vector<TxnResult>& results) {
  if (op.session.empty()) return "missing session";
  if (!state.kv.Unlock(index, op.key, std::move(op.value), op.flags, op.session, changes)) {
    return "failed to unlock key " + Quote(op.key) +
           ", lock isn't held, or is held by another session";
  }
  results.push_back(Metadata(*state.kv.Find(op.key)));
  return std::nullopt;
}

// The write verbs: changes go to the KV table (under its undo log) and `changes`.
OpError WriteOp(StoreState& state, Index index, TxnKvOp& op, ChangeSet& changes,
                std::vector<TxnResult>& results) {
  KvTable& kv = state.kv;
  switch (op.verb) {
    case TxnVerb::kSet:
      kv.Set(index, op.key, std::move(op.value), op.flags, changes);
      results.push_back(Metadata(*kv.Find(op.key)));
      return std::nullopt;
    case TxnVerb::kCas:
      if (!kv.Cas(index, op.key, std::move(op.value), op.flags, op.index, changes)) {
        return "failed to set key " + Quote(op.key) + ", index is stale";
      }
      results.push_back(Metadata(*kv.Find(op.key)));
      return std::nullopt;
    case TxnVerb::kLock:
      return LockOp(state, index, op, changes, results);
    case TxnVerb::kUnlock:
      return UnlockOp(state, index, op, changes, results);
    case TxnVerb::kDelete:
      kv.Delete(index, op.key, changes);
      return std::nullopt;
    case TxnVerb::kDeleteTree:
      kv.DeleteTree(index, op.key, changes);
      return std::nullopt;
    case TxnVerb::kDeleteCas:
      if (!kv.DeleteCas(index, op.key, op.index, changes)) {
        return "failed to delete key " + Quote(op.key) + ", index is stale";
      }
      return std::nullopt;
    default:
      CHECK(false) << "not a write verb: " << TxnVerbName(op.verb);
      return std::nullopt;
  }
}

}  // namespace

bool IsReadOnly(const Txn& txn) {
  return std::all_of(txn.ops.begin(), txn.ops.end(),
                     [](const TxnKvOp& op) { return IsReadVerb(op.verb); });
}

TxnOutcome ReadTxn(const Store& store, const Txn& txn) {
  CHECK(IsReadOnly(txn)) << "a transaction with writes must go through the log";
  TxnOutcome outcome;
  for (std::size_t i = 0; i < txn.ops.size(); ++i) {
    if (OpError error = ReadOp(store.kv(), txn.ops[i], outcome.results)) {
      outcome.errors.push_back(TxnError{i, std::move(*error)});
    }
  }
  if (!outcome.ok()) outcome.results.clear();
  return outcome;
}

TxnOutcome CheckLockDelays(const Txn& txn,
                           const std::function<bool(std::string_view key)>& delayed) {
  TxnOutcome outcome;
  for (std::size_t i = 0; i < txn.ops.size(); ++i) {
    const TxnKvOp& op = txn.ops[i];
    if (op.verb == TxnVerb::kLock && delayed(op.key)) {
      outcome.errors.push_back(
          TxnError{i, "failed to lock key " + Quote(op.key) + " due to lock delay"});
    }
  }
  return outcome;
}

namespace internal {

void ApplyCommand(ApplyContext& context, Txn&& txn) {
  StoreState& state = context.state;
  ChangeSet changes;
  changes.index = context.index;
  TxnOutcome outcome;
  state.kv.OpenUndo();
  for (std::size_t i = 0; i < txn.ops.size(); ++i) {
    TxnKvOp& op = txn.ops[i];
    OpError error = IsReadVerb(op.verb)
                        ? ReadOp(state.kv, op, outcome.results)
                        : WriteOp(state, context.index, op, changes, outcome.results);
    if (error) outcome.errors.push_back(TxnError{i, std::move(*error)});
  }
  if (outcome.ok()) {
    state.kv.CloseUndo();
    context.result.changes = std::move(changes);
  } else {
    state.kv.RollBack();
    outcome.results.clear();
    context.result.ok = false;
  }
  context.result.txn = std::move(outcome);
}

}  // namespace internal
}  // namespace roster::store
