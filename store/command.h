// Commands: the replicated writes of the store, and their binary encoding.
//
// A command is one Raft log entry's data: a type byte followed by the type's fields
// (store/encoding.h). The leader encodes a command after validating the request,
// Raft replicates the bytes, and every replica's Store::Apply decodes and applies them
// in log order. The type byte is the key of the command table in command.cc, like
// Consul's fsm.go. Design notes: docs/design/store.md.
//
// Decode checks structure only (a known type, every field present, no bytes left
// over). It does not check limits: they are configurable, and an entry that was
// valid when proposed must stay appliable after a config change.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "base/status.h"
#include "store/types.h"

namespace roster::store {

// The type byte. Values are part of the log format: never renumber or reuse one.
enum class CommandType : std::uint8_t {
  kNoop = 0,  // applies as nothing; an empty entry (a new leader's no-op) also decodes to it

  // KV, 1-15.
  kKvSet = 1,
  kKvCas = 2,
  kKvDelete = 3,
  kKvDeleteCas = 4,
  kKvDeleteTree = 5,
  kKvReapTombstones = 6,
  kKvLock = 7,    // reserved: acquire=<session>
  kKvUnlock = 8,  // reserved: release=<session>

  // Sessions, 16-31 (reserved).
  kSessionCreate = 16,
  kSessionDestroy = 17,
  kSessionInvalidate = 18,

  // Transactions, 32-47 (reserved).
  kTxn = 32,

  // Catalog, 48-63 (reserved).
  kCatalogRegister = 48,
  kCatalogDeregister = 49,
};

// A readable name ("kv-set"), or "unknown".
std::string_view CommandTypeName(CommandType type);

struct Noop {
  static constexpr CommandType kType = CommandType::kNoop;
  bool operator==(const Noop&) const = default;
};

// PUT /v1/kv/<key>
struct KvSet {
  static constexpr CommandType kType = CommandType::kKvSet;
  std::string key;
  std::string value;
  std::uint64_t flags = 0;
  bool operator==(const KvSet&) const = default;
};

// PUT /v1/kv/<key>?cas=<cas_index>; 0 means "create only if absent".
struct KvCas {
  static constexpr CommandType kType = CommandType::kKvCas;
  std::string key;
  std::string value;
  std::uint64_t flags = 0;
  Index cas_index = 0;
  bool operator==(const KvCas&) const = default;
};

// DELETE /v1/kv/<key>
struct KvDelete {
  static constexpr CommandType kType = CommandType::kKvDelete;
  std::string key;
  bool operator==(const KvDelete&) const = default;
};

// DELETE /v1/kv/<key>?cas=<cas_index>. As in Consul, cas=0 fails on a present key and
// succeeds on an absent one.
struct KvDeleteCas {
  static constexpr CommandType kType = CommandType::kKvDeleteCas;
  std::string key;
  Index cas_index = 0;
  bool operator==(const KvDeleteCas&) const = default;
};

// DELETE /v1/kv/<prefix>?recurse; an empty prefix deletes everything.
struct KvDeleteTree {
  static constexpr CommandType kType = CommandType::kKvDeleteTree;
  std::string prefix;
  bool operator==(const KvDeleteTree&) const = default;
};

// Proposed periodically by the leader (which owns the clock): drop the tombstones
// written at or before up_to_index.
struct KvReapTombstones {
  static constexpr CommandType kType = CommandType::kKvReapTombstones;
  Index up_to_index = 0;
  bool operator==(const KvReapTombstones&) const = default;
};

using Command =
    std::variant<Noop, KvSet, KvCas, KvDelete, KvDeleteCas, KvDeleteTree, KvReapTombstones>;

std::string Encode(const Noop& command);
std::string Encode(const KvSet& command);
std::string Encode(const KvCas& command);
std::string Encode(const KvDelete& command);
std::string Encode(const KvDeleteCas& command);
std::string Encode(const KvDeleteTree& command);
std::string Encode(const KvReapTombstones& command);
std::string Encode(const Command& command);

// Decodes a command. Empty bytes are a Noop. Fails with InvalidArgument on an unknown
// or reserved type, a truncated field, or trailing bytes.
Result<Command> Decode(std::string_view bytes);

}  // namespace roster::store
