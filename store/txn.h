// Transactions (PUT /v1/txn; consul-api.md §1.5; Consul's state/txn.go).
//
// A write transaction (the Txn command) applies every op at the entry's index, in op
// order, each op seeing the ones before it, or none at all: when any op fails, the KV
// table's undo log (store/kv.h) rolls the earlier ops back, the entry changes nothing
// (empty ChangeSet), and the result lists every failed op with Consul's error text.
// Like Consul, the remaining ops still run after a failure so that all errors are
// reported at once.
//
// A transaction made only of reads (IsReadOnly) is served on the server's read path,
// without a log entry: ReadTxn evaluates it against the current state with the same
// code the write path uses for those verbs. The 128-op limit (store/limits.h) is the
// HTTP edge's to enforce, not apply's.
// Thread-safety: ReadTxn only reads the Store; the caller synchronises it with the
// apply loop, as for any read.
#pragma once

#include <functional>
#include <string_view>

#include "store/apply_result.h"
#include "store/command.h"
#include "store/store.h"

namespace roster::store {

// True when every op of txn only reads (IsReadVerb); an empty txn is read-only.
bool IsReadOnly(const Txn& txn);

// Evaluates a read-only transaction against store. REQUIRES: IsReadOnly(txn)
// (CHECKed: the caller routes writes through the log).
TxnOutcome ReadTxn(const Store& store, const Txn& txn);

// Consul's pre-check of a transaction's `lock` ops (txn_endpoint.go, preCheck): one
// error "failed to lock key \"<key>\" due to lock delay" per lock op whose key is
// `delayed`, in op order; no errors when none is. Lock-delay itself is the leader's
// (docs/design/server.md, "Sessions"), which refuses the whole transaction before Raft
// when this reports any error; only the words are the store's, next to the other texts.
TxnOutcome CheckLockDelays(const Txn& txn,
                           const std::function<bool(std::string_view key)>& delayed);

}  // namespace roster::store
