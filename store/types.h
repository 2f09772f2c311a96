// Plain value types shared by the store's domains: the Raft index, the table names,
// and ChangeSet (what one applied command changed, which drives the WatchSet).
// Thread-safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roster::store {

// The Raft log index: the one clock of the system (DESIGN.md, "The global clock").
using Index = std::uint64_t;

// The store's tables. Watchers name a table, a key in it or a key prefix in it.
// Keys: kKvs by KV key, kSessions by session id, kNodes by node name (Consul's per-node
// index "node.<name>"), kServices by service name (Consul's per-service index
// "service.<name>"), kChecks by the check's node name.
enum class Table : std::uint8_t {
  kKvs = 0,
  kSessions = 1,
  kNodes = 2,
  kServices = 3,
  kChecks = 4,
};
inline constexpr std::size_t kTableCount = 5;

// Consul's name for the table ("kvs", "sessions", ...).
std::string_view TableName(Table table);

struct ChangedKey {
  Table table = Table::kKvs;
  std::string key;

  bool operator==(const ChangedKey&) const = default;
};

// What one applied command changed: the tables whose table index it moved and the keys
// whose own index it moved. Usually a key's table moves with it; the catalog is the
// exception, where a check change moves its service's per-name index but not the
// services table's (AddKeyOnly). Empty when the command changed nothing (a CAS mismatch,
// a set that wrote the same value, a delete of an absent key, a tombstone reap).
struct ChangeSet {
  Index index = 0;               // the Raft index of the command
  std::vector<Table> tables;     // each table at most once
  std::vector<ChangedKey> keys;  // in the order the command touched them

  // Records a changed key and its table.
  void AddKey(Table table, std::string key);
  // Records a key whose own index moved while its table's did not: it wakes the key's
  // watchers, not the table's.
  void AddKeyOnly(Table table, std::string key);
  // Records a table-wide change (for commands that change a table but no one key).
  void AddTable(Table table);
  bool empty() const { return tables.empty() && keys.empty(); }

  bool operator==(const ChangeSet&) const = default;
};

}  // namespace roster::store
