#include "store/kv.h"

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace roster::store {
namespace {

// Calls visit(key, value) for each element of an ordered map whose key starts with
// prefix. Keys under a prefix are contiguous in key order, so this scans only them.
template <typename Map, typename Visit>
void ForEachUnder(const Map& map, std::string_view prefix, Visit visit) {
  for (auto it = map.lower_bound(prefix); it != map.end() && it->first.starts_with(prefix); ++it) {
    visit(it->first, it->second);
  }
}

Status CheckEntry(const std::string& map_key, const DirEntry& entry, Index table_index) {
  if (map_key != entry.key) return Corruption("kv entry stored under another key: " + map_key);
  if (entry.create_index == 0 || entry.create_index > entry.modify_index) {
    return Corruption("kv entry with invalid create/modify index: " + map_key);
  }
  if (entry.modify_index > table_index) {
    return Corruption("kv entry newer than its table index: " + map_key);
  }
  return Status::Ok();
}

}  // namespace

Result<KvTable> KvTable::FromParts(Entries entries, Tombstones tombstones, Index table_index) {
  for (const auto& [key, entry] : entries) RETURN_IF_ERROR(CheckEntry(key, entry, table_index));
  for (const auto& [key, index] : tombstones) {
    if (index == 0 || index > table_index) {
      return Corruption("kv tombstone with invalid index: " + key);
    }
  }
  KvTable table;
  table.entries_ = std::move(entries);
  table.tombstones_ = std::move(tombstones);
  table.table_index_ = table_index;
  return table;
}

void KvTable::CheckOrder(Index index) const {
  CHECK(index > 0) << "kv write at index 0";
  CHECK_GE(index, table_index_) << "kv write out of log order";
}

void KvTable::Set(Index index, std::string key, std::string value, std::uint64_t flags,
                  ChangeSet& changes) {
  CheckOrder(index);
  auto [it, inserted] = entries_.try_emplace(std::move(key));
  DirEntry& entry = it->second;
  if (inserted) {
    entry.key = it->first;
    entry.create_index = index;
  } else if (entry.value == value && entry.flags == flags) {
    return;  // Consul: a write that changes nothing does not bump ModifyIndex
  }
  entry.value = std::move(value);
  entry.flags = flags;
  entry.modify_index = index;
  table_index_ = index;
  changes.AddKey(Table::kKvs, entry.key);
}

bool KvTable::Cas(Index index, std::string key, std::string value, std::uint64_t flags,
                  Index cas_index, ChangeSet& changes) {
  CheckOrder(index);
  auto it = entries_.find(key);
  const bool matches = (it == entries_.end())
                           ? cas_index == 0
                           : cas_index != 0 && it->second.modify_index == cas_index;
  if (!matches) return false;
  Set(index, std::move(key), std::move(value), flags, changes);
  return true;
}

void KvTable::Delete(Index index, std::string_view key, ChangeSet& changes) {
  CheckOrder(index);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  std::string deleted = std::move(entries_.extract(it).key());
  MarkDeleted(index, std::move(deleted), changes);
}

bool KvTable::DeleteCas(Index index, std::string_view key, Index cas_index, ChangeSet& changes) {
  CheckOrder(index);
  auto it = entries_.find(key);
  if (it == entries_.end()) return true;  // already gone: what the caller wanted
  if (cas_index == 0 || it->second.modify_index != cas_index) return false;
  std::string deleted = std::move(entries_.extract(it).key());
  MarkDeleted(index, std::move(deleted), changes);
  return true;
}

void KvTable::DeleteTree(Index index, std::string_view prefix, ChangeSet& changes) {
  CheckOrder(index);
  auto it = entries_.lower_bound(prefix);
  if (it == entries_.end() || !it->first.starts_with(prefix)) return;
  while (it != entries_.end() && it->first.starts_with(prefix)) {
    changes.AddKey(Table::kKvs, it->first);
    it = entries_.erase(it);
  }
  // The root needs no tombstone: the table index already covers every prefix.
  if (!prefix.empty()) tombstones_.insert_or_assign(std::string(prefix), index);
  table_index_ = index;
}

void KvTable::ReapTombstones(Index up_to_index) {
  std::erase_if(tombstones_,
                [up_to_index](const auto& tombstone) { return tombstone.second <= up_to_index; });
}

void KvTable::MarkDeleted(Index index, std::string key, ChangeSet& changes) {
  tombstones_.insert_or_assign(key, index);
  table_index_ = index;
  changes.AddKey(Table::kKvs, std::move(key));
}

std::optional<DirEntry> KvTable::Get(std::string_view key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::vector<DirEntry> KvTable::List(std::string_view prefix) const {
  std::vector<DirEntry> result;
  ForEachUnder(entries_, prefix,
               [&](const std::string&, const DirEntry& entry) { result.push_back(entry); });
  return result;
}

std::vector<std::string> KvTable::Keys(std::string_view prefix, std::string_view separator) const {
  std::vector<std::string> result;
  ForEachUnder(entries_, prefix, [&](const std::string& key, const DirEntry&) {
    std::string_view rolled = key;
    if (!separator.empty()) {
      const std::size_t at = key.find(separator, prefix.size());
      if (at != std::string::npos) rolled = rolled.substr(0, at + separator.size());
    }
    // Keys come in order, so the keys that roll up to one name are adjacent.
    if (result.empty() || result.back() != rolled) result.emplace_back(rolled);
  });
  return result;
}

Index KvTable::KeyIndex(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? table_index_ : it->second.modify_index;
}

Index KvTable::PrefixIndex(std::string_view prefix) const {
  if (prefix.empty()) return table_index_;
  Index highest = 0;
  ForEachUnder(entries_, prefix, [&](const std::string&, const DirEntry& entry) {
    highest = std::max(highest, entry.modify_index);
  });
  ForEachUnder(tombstones_, prefix,
               [&](const std::string&, Index index) { highest = std::max(highest, index); });
  return highest != 0 ? highest : table_index_;
}

}  // namespace roster::store
