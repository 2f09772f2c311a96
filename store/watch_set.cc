#include "store/watch_set.h"

#include <algorithm>

#include "base/check.h"

namespace roster::store {
namespace {

// Removes one occurrence of id; watchers of one key are few (the server shares one
// registration among identical blocking queries), so a scan is enough.
bool EraseId(std::vector<WatchId>& ids, WatchId id) {
  auto it = std::find(ids.begin(), ids.end(), id);
  if (it == ids.end()) return false;
  *it = ids.back();
  ids.pop_back();
  return true;
}

}  // namespace

void WatchSet::PrefixTrie::Add(std::string_view prefix, WatchId id) {
  NodeId node = 0;
  ++nodes_[node].watchers_below;
  for (char byte : prefix) {
    auto [edge, inserted] = edges_.try_emplace(Edge(node, byte), next_node_id_);
    if (inserted) {
      CHECK_LT(next_node_id_, std::uint64_t{1} << 56) << "watch trie node ids exhausted";
      ++next_node_id_;
    }
    node = edge->second;
    ++nodes_[node].watchers_below;
  }
  nodes_[node].watchers.push_back(id);
}

void WatchSet::PrefixTrie::Remove(std::string_view prefix, WatchId id) {
  // The path from the root; every node on it exists because `prefix` was added.
  std::vector<std::pair<std::uint64_t, NodeId>> path;  // (edge into node, node)
  path.reserve(prefix.size());
  NodeId node = 0;
  for (char byte : prefix) {
    auto edge = edges_.find(Edge(node, byte));
    CHECK(edge != edges_.end()) << "removing an unregistered prefix watcher";
    node = edge->second;
    path.emplace_back(edge->first, node);
  }
  const bool erased = EraseId(nodes_.at(node).watchers, id);
  CHECK(erased) << "prefix watcher " << id << " not found";
  --nodes_.at(0).watchers_below;
  for (const auto& [edge, path_node] : path) {
    if (--nodes_.at(path_node).watchers_below > 0) continue;
    // Nothing is watched through this node any more, nor below it: drop it.
    edges_.erase(edge);
    nodes_.erase(path_node);
  }
}

void WatchSet::PrefixTrie::Match(std::string_view key, std::vector<WatchId>& out) const {
  auto root = nodes_.find(0);
  if (root == nodes_.end()) return;
  out.insert(out.end(), root->second.watchers.begin(), root->second.watchers.end());
  NodeId node = 0;
  for (char byte : key) {
    auto edge = edges_.find(Edge(node, byte));
    if (edge == edges_.end()) return;
    node = edge->second;
    const Node& found = nodes_.at(node);
    out.insert(out.end(), found.watchers.begin(), found.watchers.end());
  }
}

WatchSet::TableWatchers& WatchSet::For(Table table) {
  const auto slot = static_cast<std::size_t>(table);
  CHECK_LT(slot, kTableCount) << "unknown table";
  return tables_[slot];
}

const WatchSet::TableWatchers& WatchSet::For(Table table) const {
  const auto slot = static_cast<std::size_t>(table);
  CHECK_LT(slot, kTableCount) << "unknown table";
  return tables_[slot];
}

WatchId WatchSet::Add(WatchKey key) {
  const WatchId id = next_id_++;
  TableWatchers& table = For(key.table);
  switch (key.kind) {
    case WatchKey::Kind::kTable:
      table.whole_table.push_back(id);
      break;
    case WatchKey::Kind::kKey:
      table.keys[key.name].push_back(id);
      break;
    case WatchKey::Kind::kPrefix:
      table.prefixes.Add(key.name, id);
      break;
  }
  watches_.emplace(id, std::move(key));
  return id;
}

bool WatchSet::Remove(WatchId id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return false;
  const WatchKey& key = it->second;
  TableWatchers& table = For(key.table);
  switch (key.kind) {
    case WatchKey::Kind::kTable: {
      const bool erased = EraseId(table.whole_table, id);
      CHECK(erased) << "table watcher " << id << " not found";
      break;
    }
    case WatchKey::Kind::kKey: {
      auto watchers = table.keys.find(key.name);
      CHECK(watchers != table.keys.end()) << "key watcher " << id << " not found";
      const bool erased = EraseId(watchers->second, id);
      CHECK(erased) << "key watcher " << id << " not found";
      if (watchers->second.empty()) table.keys.erase(watchers);
      break;
    }
    case WatchKey::Kind::kPrefix:
      table.prefixes.Remove(key.name, id);
      break;
  }
  watches_.erase(it);
  return true;
}

std::vector<WatchId> WatchSet::Fired(const ChangeSet& changes) const {
  std::vector<WatchId> fired;
  for (Table table : changes.tables) {
    const std::vector<WatchId>& whole = For(table).whole_table;
    fired.insert(fired.end(), whole.begin(), whole.end());
  }
  for (const ChangedKey& changed : changes.keys) {
    const TableWatchers& table = For(changed.table);
    auto watchers = table.keys.find(std::string_view(changed.key));
    if (watchers != table.keys.end()) {
      fired.insert(fired.end(), watchers->second.begin(), watchers->second.end());
    }
    table.prefixes.Match(changed.key, fired);
  }
  std::sort(fired.begin(), fired.end());
  fired.erase(std::unique(fired.begin(), fired.end()), fired.end());
  return fired;
}

}  // namespace roster::store
