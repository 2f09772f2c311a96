// Size limits of what the store holds, shared by the HTTP edge (which enforces them,
// answering 413/400) and the server (which validates before proposing).
//
// The store itself does not enforce them at apply: limits are configurable, and a log
// entry that was valid when it was written must stay appliable after a config change.
#pragma once

#include <cstddef>

namespace roster::store {

inline constexpr std::size_t kKvValueBytesMax = 512 * 1024;  // Consul's kv_max_value_size
inline constexpr std::size_t kKeyBytesMax = 1024;
inline constexpr std::size_t kTxnOpsMax = 128;

}  // namespace roster::store
