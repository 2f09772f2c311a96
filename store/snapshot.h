// Snapshots: the whole store state as one versioned, checksummed byte string.
//
// WriteSnapshot and ReadSnapshot round-trip a StoreState exactly: every entry,
// tombstone, session, node, service and check, every index and the last applied index.
// ReadSnapshot treats its input as untrusted: it bounds-checks every read and returns
// Corruption for a bad checksum, an unknown version or section, truncation, or
// contents that break a store invariant (within a table or across tables: a lock held
// by a missing session, a session on a missing node or bound to a missing or critical
// check); it never crashes. It also reads versions 1 to 3. The layout is in
// docs/design/store.md.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/state.h"
#include "store/types.h"

namespace roster::store {

// The version WriteSnapshot writes. 1: KV only. 2: KV, sessions and catalog (nodes and
// checks). 3: the same, sealed with CRC-32C. 4: services, check definitions and the
// catalog's per-name and extinction indexes.
inline constexpr std::uint8_t kSnapshotVersion = 4;

std::string WriteSnapshot(const StoreState& state);
Result<StoreState> ReadSnapshot(std::string_view bytes);

}  // namespace roster::store
