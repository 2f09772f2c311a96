// AntiEntropy: makes the catalog's view of this node match the agent's LocalState
// (consul-api.md §4.4; Consul's agent/local/state.go SyncChanges and SyncFull).
//
//  - SyncChanges pushes what LocalState says is out of sync: the node record, then
//    deletions, then each out-of-sync service with all its checks in one
//    catalog/register, then the remaining out-of-sync checks one by one.
//  - SyncFull first reads the catalog's view (catalog/node-services and health/node of
//    this node), lets LocalState mark the differences (Reconcile), then SyncChanges.
// The servers own `serfHealth` and the `consul` service; they are never touched.
// A failed request leaves the entry out of sync for the next attempt.
//
// Thread-safety: one caller at a time (the agent's sync thread); LocalState and
// Upstream are shared with other threads.
#pragma once

#include "agent/catalog_wire.h"
#include "agent/local_state.h"
#include "agent/upstream.h"

namespace roster::agent {

class AntiEntropy {
 public:
  AntiEntropy(LocalState& state, Upstream& upstream, NodeIdentity identity)
      : state_(state), upstream_(upstream), identity_(std::move(identity)) {}

  Status SyncChanges();
  Status SyncFull();

  const NodeIdentity& identity() const { return identity_; }

 private:
  // PUT `path` with `body`; OK only on 200.
  Status Put(const std::string& path, const std::string& body);

  LocalState& state_;
  Upstream& upstream_;
  const NodeIdentity identity_;
};

}  // namespace roster::agent
