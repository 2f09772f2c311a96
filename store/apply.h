// How each command changes the StoreState: one ApplyCommand overload per command type,
// grouped by domain (kv_apply.cc, session.cc, catalog_apply.cc, txn.cc). Store::Apply
// decodes an entry and dispatches here; these functions never see undecodable bytes.
//
// Contract of every overload: a refused command (ApplyContext::Refuse) or a condition
// that does not hold (result.ok = false) changes nothing; everything a command changes
// is stamped with context.index and recorded in context.result.changes.
// Internal to store/. Thread-safety: none (the apply loop only).
#pragma once

#include <string_view>

#include "base/status.h"
#include "store/apply_result.h"
#include "store/command.h"
#include "store/state.h"

namespace roster::store::internal {

struct ApplyContext {
  StoreState& state;
  Index index;
  ApplyResult& result;

  // Marks the command refused: ok = false and the error. REQUIRES: nothing changed yet.
  void Refuse(Status status) {
    CHECK(result.changes.empty()) << "a command refused after it changed the store";
    result.ok = false;
    result.error = std::move(status);
  }
};

// kv_apply.cc
void ApplyCommand(ApplyContext& context, Noop&& command);
void ApplyCommand(ApplyContext& context, KvSet&& command);
void ApplyCommand(ApplyContext& context, KvCas&& command);
void ApplyCommand(ApplyContext& context, KvDelete&& command);
void ApplyCommand(ApplyContext& context, KvDeleteCas&& command);
void ApplyCommand(ApplyContext& context, KvDeleteTree&& command);
void ApplyCommand(ApplyContext& context, KvReapTombstones&& command);
void ApplyCommand(ApplyContext& context, KvLock&& command);
void ApplyCommand(ApplyContext& context, KvUnlock&& command);
void ApplyCommand(ApplyContext& context, KvCreateSequential&& command);
// Why session may not acquire a lock: Consul's "missing session" (empty) or
// "invalid session \"<id>\"" (unknown). Shared with the transaction's lock verb.
Status CheckLockSession(const SessionTable& sessions, std::string_view session);

// session.cc
void ApplyCommand(ApplyContext& context, SessionCreate&& command);
void ApplyCommand(ApplyContext& context, SessionDestroy&& command);
void ApplyCommand(ApplyContext& context, SessionInvalidate&& command);
// Ends a session at context.index: releases or deletes the keys it holds (by its
// behavior), removes it, and reports it in result.invalidated_sessions. An absent
// session changes nothing. Also what the catalog commands call.
void InvalidateSession(ApplyContext& context, std::string_view id);

// catalog_apply.cc
void ApplyCommand(ApplyContext& context, CatalogRegister&& command);
void ApplyCommand(ApplyContext& context, CatalogDeregister&& command);

// txn.cc
void ApplyCommand(ApplyContext& context, Txn&& command);

}  // namespace roster::store::internal
