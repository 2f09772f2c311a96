// WatchSet: who waits on what, so that a write wakes only the blocking queries whose
// result it may have changed (DESIGN.md, "Blocking query").
//
// A watcher registers a WatchKey (a whole table, one key, or a key prefix in a table)
// and gets a WatchId. After each apply the caller passes the command's ChangeSet to
// Fired(), which returns exactly the watchers that the change matches. Fired() costs
// O(key length) per changed key for prefix watchers (a trie whose edges live in a
// hash map) plus one hash lookup per changed key for key watchers; it never visits
// unrelated watchers. Registrations persist until Remove().
//
// A pure data structure: no threads, locks or condition variables. Thread-safety:
// none; the server wraps it with its mutex and wakes the fired waiters itself.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/types.h"

namespace roster::store {

using WatchId = std::uint64_t;

// What one watcher waits on.
struct WatchKey {
  enum class Kind : std::uint8_t {
    kTable,   // any change in the table
    kKey,     // a change to exactly `name`
    kPrefix,  // a change to any key starting with `name` ("" = the whole table)
  };

  static WatchKey WholeTable(Table table) { return {Kind::kTable, table, ""}; }
  static WatchKey Key(Table table, std::string key) { return {Kind::kKey, table, std::move(key)}; }
  static WatchKey Prefix(Table table, std::string prefix) {
    return {Kind::kPrefix, table, std::move(prefix)};
  }

  Kind kind = Kind::kTable;
  Table table = Table::kKvs;
  std::string name;  // the key or the prefix; empty for kTable

  bool operator==(const WatchKey&) const = default;
};

class WatchSet {
 public:
  // Registers a watcher; ids are never reused.
  WatchId Add(WatchKey key);
  // Unregisters a watcher. Returns false if id is not registered.
  bool Remove(WatchId id);

  // The watchers that `changes` matches, sorted, each once.
  std::vector<WatchId> Fired(const ChangeSet& changes) const;

  std::size_t size() const { return watches_.size(); }

 private:
  // Prefix watchers of one table: a trie of the watched prefixes. Node 0 is the empty
  // prefix; the child of node n along byte b is edges_[n << 8 | b]. A node lives while
  // some watched prefix passes through it, so matching a key walks at most
  // min(key length, longest watched prefix) edges.
  class PrefixTrie {
   public:
    void Add(std::string_view prefix, WatchId id);
    void Remove(std::string_view prefix, WatchId id);
    // Appends the watchers of every watched prefix of key.
    void Match(std::string_view key, std::vector<WatchId>& out) const;

   private:
    using NodeId = std::uint64_t;
    struct Node {
      std::vector<WatchId> watchers;     // of exactly this prefix
      std::uint64_t watchers_below = 0;  // of this prefix and longer ones through it
    };
    static std::uint64_t Edge(NodeId parent, char byte) {
      return parent << 8 | static_cast<std::uint8_t>(byte);
    }

    std::unordered_map<NodeId, Node> nodes_;
    std::unordered_map<std::uint64_t, NodeId> edges_;
    NodeId next_node_id_ = 1;
  };

  // Lets the key map be searched by string_view without building a std::string.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  struct TableWatchers {
    std::vector<WatchId> whole_table;
    std::unordered_map<std::string, std::vector<WatchId>, StringHash, std::equal_to<>> keys;
    PrefixTrie prefixes;
  };

  TableWatchers& For(Table table);
  const TableWatchers& For(Table table) const;

  std::array<TableWatchers, kTableCount> tables_;
  std::unordered_map<WatchId, WatchKey> watches_;
  WatchId next_id_ = 1;
};

}  // namespace roster::store
