// Snapshots: the whole store state as one versioned, checksummed byte string.
//
// WriteSnapshot and ReadSnapshot round-trip a StoreState exactly: every entry, every
// tombstone, every index and the last applied index. ReadSnapshot treats its input as
// untrusted: it bounds-checks every read and returns Corruption for a bad checksum, an
// unknown version or section, truncation, or contents that break a store invariant;
// it never crashes. The layout is in docs/design/store.md.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/kv.h"
#include "store/types.h"

namespace roster::store {

// Everything a snapshot captures. The Store owns one.
struct StoreState {
  Index last_applied_index = 0;
  KvTable kv;

  bool operator==(const StoreState&) const = default;
};

inline constexpr std::uint8_t kSnapshotVersion = 1;

std::string WriteSnapshot(const StoreState& state);
Result<StoreState> ReadSnapshot(std::string_view bytes);

}  // namespace roster::store
