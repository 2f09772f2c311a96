// ApplyResult: what applying one committed command produced, for the server that
// waits on it (the HTTP reply, lock-delay bookkeeping, TTL timers) and for the
// WatchSet. Also the transaction result types, shared by the write path and the
// read-only path (store/txn.h).
// Thread-safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/kv.h"
#include "store/session.h"
#include "store/types.h"

namespace roster::store {

// One element of a committed transaction's Results: Consul's TxnResult {"KV": ...}.
// For the write verbs and the checks, kv.value is empty (Consul sends null); get and
// get-tree carry the value.
struct TxnResult {
  DirEntry kv;
  bool operator==(const TxnResult&) const = default;
};

// One element of a rolled-back transaction's Errors: Consul's TxnError.
struct TxnError {
  std::size_t op_index = 0;
  std::string what;  // Consul's text where Consul has one
  bool operator==(const TxnError&) const = default;
};

// A transaction's outcome: results when it committed, errors (one per failed op, in op
// order) when it rolled back.
struct TxnOutcome {
  std::vector<TxnResult> results;
  std::vector<TxnError> errors;

  bool ok() const { return errors.empty(); }
  bool operator==(const TxnOutcome&) const = default;
};

// A session that this entry ended (destroyed, invalidated, or by the catalog: its
// node deregistered, a bound check critical or deregistered). The leader starts
// lock-delay on `keys` and drops the session's TTL timer.
struct InvalidatedSession {
  std::string id;
  SessionBehavior behavior = SessionBehavior::kRelease;
  std::uint64_t lock_delay_ms = 0;
  std::vector<std::string> keys;  // released (kRelease) or deleted (kDelete), key order

  bool operator==(const InvalidatedSession&) const = default;
};

struct ApplyResult {
  // False when a condition did not hold (a CAS index, a lock held by another session,
  // a transaction op), or when the command was refused (error is set). Either way the
  // command changed nothing.
  bool ok = true;
  // Non-OK when the command was refused as invalid at apply: an unknown session for a
  // lock ("invalid session"), a session create on a missing node or a missing or
  // critical check. Consul answers these with 500.
  Status error;
  ChangeSet changes;                                     // what changed; pass to WatchSet::Fired
  std::vector<InvalidatedSession> invalidated_sessions;  // in the order they ended
  std::optional<DirEntry> entry;  // kv-create-sequential: the entry it created
  TxnOutcome txn;                 // txn: results, or errors when it rolled back
};

}  // namespace roster::store
