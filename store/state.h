// StoreState: the whole replicated state, which a snapshot captures and Apply changes.
// The Store owns one (store/store.h). The event history is not part of it: it is a
// local, bounded cache of recent changes (store/history.h).
// Thread-safety: plain value; see Store.
#pragma once

#include "store/catalog.h"
#include "store/kv.h"
#include "store/session.h"
#include "store/types.h"

namespace roster::store {

struct StoreState {
  Index last_applied_index = 0;
  KvTable kv;
  SessionTable sessions;
  CatalogTable catalog;

  bool operator==(const StoreState&) const = default;
};

}  // namespace roster::store
