#include "store/kv.h"

#include <algorithm>
#include <iterator>
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
  for (const auto& [key, entry] : table.entries_) {
    if (!entry.session.empty()) table.keys_by_session_[entry.session].insert(key);
  }
  return table;
}

void KvTable::CheckOrder(Index index) const {
  CHECK(index > 0) << "kv write at index 0";
  CHECK_GE(index, table_index_) << "kv write out of log order";
}

void KvTable::Set(Index index, std::string key, std::string value, std::uint64_t flags,
                  ChangeSet& changes) {
  CheckOrder(index);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.value == value && it->second.flags == flags) {
    return;  // Consul: a write that changes nothing does not bump ModifyIndex
  }
  SaveForUndo(key);
  if (it == entries_.end()) {
    it = entries_.try_emplace(std::move(key)).first;
    it->second.key = it->first;
    it->second.create_index = index;
  }
  DirEntry& entry = it->second;
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
  SaveForUndo(key);
  MarkDeleted(index, EraseEntry(it), changes);
}

bool KvTable::DeleteCas(Index index, std::string_view key, Index cas_index, ChangeSet& changes) {
  CheckOrder(index);
  auto it = entries_.find(key);
  if (it == entries_.end()) return true;  // already gone: what the caller wanted
  if (cas_index == 0 || it->second.modify_index != cas_index) return false;
  SaveForUndo(key);
  MarkDeleted(index, EraseEntry(it), changes);
  return true;
}

void KvTable::DeleteTree(Index index, std::string_view prefix, ChangeSet& changes) {
  CheckOrder(index);
  auto it = entries_.lower_bound(prefix);
  if (it == entries_.end() || !it->first.starts_with(prefix)) return;
  while (it != entries_.end() && it->first.starts_with(prefix)) {
    SaveForUndo(it->first);
    auto next = std::next(it);
    changes.AddKey(Table::kKvs, EraseEntry(it));
    it = next;
  }
  // The root needs no tombstone: the table index already covers every prefix.
  if (!prefix.empty()) {
    SaveForUndo(prefix);
    tombstones_.insert_or_assign(std::string(prefix), index);
  }
  table_index_ = index;
}

void KvTable::ReapTombstones(Index up_to_index) {
  CHECK(!undo_.has_value()) << "tombstone reap inside a transaction";
  std::erase_if(tombstones_,
                [up_to_index](const auto& tombstone) { return tombstone.second <= up_to_index; });
}

bool KvTable::Lock(Index index, std::string key, std::string value, std::uint64_t flags,
                   std::string session, ChangeSet& changes) {
  CheckOrder(index);
  CHECK(!session.empty()) << "kv lock without a session";
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    const DirEntry& held = it->second;
    if (!held.session.empty() && held.session != session) return false;
    if (held.session == session && held.value == value && held.flags == flags) return true;
  }
  SaveForUndo(key);
  if (it == entries_.end()) {
    it = entries_.try_emplace(std::move(key)).first;
    it->second.key = it->first;
    it->second.create_index = index;
  }
  DirEntry& entry = it->second;
  if (entry.session != session) {
    ++entry.lock_index;  // a new holder: the fencing token moves on
    SetSession(entry, std::move(session));
  }
  entry.value = std::move(value);
  entry.flags = flags;
  entry.modify_index = index;
  table_index_ = index;
  changes.AddKey(Table::kKvs, entry.key);
  return true;
}

bool KvTable::Unlock(Index index, std::string_view key, std::string value, std::uint64_t flags,
                     std::string_view session, ChangeSet& changes) {
  CheckOrder(index);
  auto it = entries_.find(key);
  if (it == entries_.end() || session.empty() || it->second.session != session) return false;
  SaveForUndo(key);
  DirEntry& entry = it->second;
  SetSession(entry, "");
  entry.value = std::move(value);
  entry.flags = flags;
  entry.modify_index = index;
  table_index_ = index;
  changes.AddKey(Table::kKvs, entry.key);
  return true;
}

std::vector<std::string> KvTable::ReleaseAll(Index index, std::string_view session,
                                             ChangeSet& changes) {
  CheckOrder(index);
  std::vector<std::string> keys = KeysHeldBy(session);
  for (const std::string& key : keys) {
    SaveForUndo(key);
    DirEntry& entry = entries_.find(key)->second;
    SetSession(entry, "");
    entry.modify_index = index;
    table_index_ = index;
    changes.AddKey(Table::kKvs, key);
  }
  return keys;
}

std::vector<std::string> KvTable::DeleteAll(Index index, std::string_view session,
                                            ChangeSet& changes) {
  CheckOrder(index);
  std::vector<std::string> keys = KeysHeldBy(session);
  for (const std::string& key : keys) {
    SaveForUndo(key);
    MarkDeleted(index, EraseEntry(entries_.find(key)), changes);
  }
  return keys;
}

void KvTable::OpenUndo() {
  CHECK(!undo_.has_value()) << "nested kv undo log";
  // Not emplace(): clang 14 cannot yet see UndoLog as default-constructible here.
  undo_ = UndoLog{.table_index = table_index_, .records = {}, .saved_keys = {}};
}

void KvTable::RollBack() {
  CHECK(undo_.has_value()) << "kv rollback without an undo log";
  UndoLog log = std::move(*undo_);
  undo_.reset();
  for (UndoRecord& record : log.records) {
    auto it = entries_.find(record.key);
    if (it != entries_.end()) EraseEntry(it);
    if (record.entry.has_value()) {
      std::string session = std::move(record.entry->session);
      record.entry->session.clear();
      DirEntry& entry = entries_.try_emplace(record.key, std::move(*record.entry)).first->second;
      SetSession(entry, std::move(session));
    }
    if (record.tombstone.has_value()) {
      tombstones_.insert_or_assign(record.key, *record.tombstone);
    } else {
      tombstones_.erase(record.key);
    }
  }
  table_index_ = log.table_index;
}

void KvTable::CloseUndo() {
  CHECK(undo_.has_value()) << "kv commit without an undo log";
  undo_.reset();
}

void KvTable::SaveForUndo(std::string_view key) {
  if (!undo_.has_value() || undo_->saved_keys.contains(key)) return;
  UndoRecord record{std::string(key), std::nullopt, std::nullopt};
  if (auto it = entries_.find(key); it != entries_.end()) record.entry = it->second;
  if (auto it = tombstones_.find(key); it != tombstones_.end()) record.tombstone = it->second;
  undo_->saved_keys.insert(record.key);
  undo_->records.push_back(std::move(record));
}

void KvTable::SetSession(DirEntry& entry, std::string session) {
  if (!entry.session.empty()) {
    auto held = keys_by_session_.find(entry.session);
    CHECK(held != keys_by_session_.end()) << "kv session index lost " << entry.key;
    held->second.erase(entry.key);
    if (held->second.empty()) keys_by_session_.erase(held);
  }
  entry.session = std::move(session);
  if (!entry.session.empty()) keys_by_session_[entry.session].insert(entry.key);
}

std::string KvTable::EraseEntry(Entries::iterator it) {
  SetSession(it->second, "");
  return std::move(entries_.extract(it).key());
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

const DirEntry* KvTable::Find(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
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

std::vector<std::string> KvTable::KeysHeldBy(std::string_view session) const {
  auto it = keys_by_session_.find(session);
  if (it == keys_by_session_.end()) return {};
  return std::vector<std::string>(it->second.begin(), it->second.end());
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
