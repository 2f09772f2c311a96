#include "server/entry_cache.h"

#include "base/check.h"

namespace roster::server {

void EntryCache::Append(const std::vector<consensus::Entry>& entries) {
  if (entries.empty()) return;
  const consensus::Index first_new = entries.front().index;
  if (!entries_.empty()) {
    CHECK_LE(first_new, last_index() + 1) << "append leaves a gap in the entry cache";
    if (first_new <= first_index()) {
      Clear();
    } else {
      while (last_index() >= first_new) {  // the conflicting suffix
        bytes_ -= entries_.back().ByteSize();
        entries_.pop_back();
      }
    }
  }
  for (const consensus::Entry& entry : entries) {
    CHECK(entries_.empty() || entry.index == last_index() + 1) << "non-contiguous append";
    bytes_ += entry.ByteSize();
    entries_.push_back(entry);
  }
  EvictOverBudget();
}

void EntryCache::DropThrough(consensus::Index index) {
  while (!entries_.empty() && first_index() <= index) {
    bytes_ -= entries_.front().ByteSize();
    entries_.pop_front();
  }
}

void EntryCache::Clear() {
  entries_.clear();
  bytes_ = 0;
}

const consensus::Entry& EntryCache::At(consensus::Index index) const {
  CHECK(Contains(index)) << "entry " << index << " is not cached";
  return entries_[index - first_index()];
}

void EntryCache::EvictOverBudget() {
  while (bytes_ > bytes_max_) {
    bytes_ -= entries_.front().ByteSize();
    entries_.pop_front();
  }
}

}  // namespace roster::server
