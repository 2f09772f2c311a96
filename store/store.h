// Store: the replicated state machine. Raft hands it committed entries in log order;
// Apply decodes each one (store/command.h) and applies it to the tables (KV, sessions,
// catalog), stamping every change with the entry's index. Snapshot and Restore move
// the whole replicated state. The store also keeps a bounded history of recent KV
// events for streaming watches (store/history.h), which is local, not replicated.
//
// Apply is deterministic: replicas that apply the same entries hold the same state and
// return the same results. A command that cannot be decoded at apply means the
// replicas' logs have diverged (or the leader proposed without validating), so Apply
// CHECK-fails rather than guess. A CAS mismatch or a held lock is a normal result
// (ApplyResult::ok == false); a command that is invalid against the current state (an
// unknown session) is refused with ApplyResult::error. Neither changes anything.
//
// The store has no clock, thread or I/O: time-driven work (tombstone reaping, session
// TTL expiry) arrives as commands the leader proposes; lock-delay is the leader's.
// Thread-safety: none. One writer (the apply loop); readers must be synchronised with
// it by the caller. Design notes: docs/design/store.md.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "store/apply_result.h"
#include "store/catalog.h"
#include "store/history.h"
#include "store/kv.h"
#include "store/session.h"
#include "store/snapshot.h"
#include "store/state.h"
#include "store/types.h"

namespace roster::store {

struct StoreOptions {
  HistoryLimits history;  // the streaming-watch event history's budget
};

class Store {
 public:
  Store() = default;
  explicit Store(StoreOptions options) : history_(options.history) {}

  // Applies the command in one committed log entry. Empty bytes are a no-op.
  // REQUIRES: index > last_applied_index() (CHECKed); command decodes (CHECKed: see
  // above).
  ApplyResult Apply(Index index, std::string_view command);

  Index last_applied_index() const { return state_.last_applied_index; }
  // The tables, for reads: entries, listings and the blocking-query indexes.
  const KvTable& kv() const { return state_.kv; }
  const SessionTable& sessions() const { return state_.sessions; }
  const CatalogTable& catalog() const { return state_.catalog; }
  // Recent KV events, for streaming watches.
  const EventHistory& history() const { return history_; }

  std::string Snapshot() const { return WriteSnapshot(state_); }
  // Replaces the whole state with a snapshot's and restarts the history at the
  // snapshot's index. On error (Corruption) the store is unchanged. Any change is
  // possible, so the caller wakes every watcher afterwards.
  Status Restore(std::string_view snapshot);

  // Compares the replicated state only; the history is a local cache.
  bool operator==(const Store& other) const { return state_ == other.state_; }

 private:
  StoreState state_;
  EventHistory history_;
};

}  // namespace roster::store
