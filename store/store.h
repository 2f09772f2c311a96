// Store: the replicated state machine. Raft hands it committed entries in log order;
// Apply decodes each one (store/command.h) and applies it to the tables, stamping
// every change with the entry's index. Snapshot and Restore move the whole state.
//
// Apply is deterministic: replicas that apply the same entries hold the same state. A
// command that cannot be decoded at apply means the replicas' logs have diverged (or
// the leader proposed without validating), so Apply CHECK-fails rather than guess. A
// CAS mismatch is a normal result (ApplyResult::ok == false), not an error.
//
// The store has no clock, thread or I/O: time-driven work (tombstone reaping, session
// expiry) arrives as commands the leader proposes.
// Thread-safety: none. One writer (the apply loop); readers must be synchronised with
// it by the caller. Design notes: docs/design/store.md.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "store/kv.h"
#include "store/snapshot.h"
#include "store/types.h"

namespace roster::store {

struct ApplyResult {
  bool ok = true;     // false only when a CAS condition did not hold
  ChangeSet changes;  // what changed; pass to WatchSet::Fired
};

class Store {
 public:
  // Applies the command in one committed log entry. Empty bytes are a no-op.
  // REQUIRES: index > last_applied_index() (CHECKed); command decodes (CHECKed: see
  // above).
  ApplyResult Apply(Index index, std::string_view command);

  Index last_applied_index() const { return state_.last_applied_index; }
  // The KV table, for reads: Get, List, Keys and the blocking-query indexes.
  const KvTable& kv() const { return state_.kv; }

  std::string Snapshot() const { return WriteSnapshot(state_); }
  // Replaces the whole state with a snapshot's. On error (Corruption) the store is
  // unchanged. Any change is possible, so the caller wakes every watcher afterwards.
  Status Restore(std::string_view snapshot);

  bool operator==(const Store&) const = default;

 private:
  StoreState state_;
};

}  // namespace roster::store
