// EntryCache: the newest entries of the Raft log, in memory, bounded by bytes.
//
// A leader re-reads the tail of its log for every follower it replicates to, so the
// tail is served from here and only older entries cost an SQLite read. The cache holds
// one contiguous run of entries that always ends at the log's last index (or nothing):
// its owner tells it about every append (which may first cut a conflicting suffix),
// compaction and snapshot install. Eviction drops the oldest entries first.
// Thread-safety: owned by one thread, like the storage it serves.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "consensus/types.h"

namespace roster::server {

class EntryCache {
 public:
  explicit EntryCache(std::uint64_t bytes_max) : bytes_max_(bytes_max) {}

  // The log dropped every entry at or after entries.front().index and appended
  // `entries` (contiguous). REQUIRES: the cache is empty or entries.front().index is
  // at most one past its last entry.
  void Append(const std::vector<consensus::Entry>& entries);
  // The log dropped every entry up to and including `index` (compaction).
  void DropThrough(consensus::Index index);
  void Clear();

  bool Contains(consensus::Index index) const {
    return !entries_.empty() && index >= first_index() && index <= last_index();
  }
  // REQUIRES: Contains(index).
  const consensus::Entry& At(consensus::Index index) const;

  bool empty() const { return entries_.empty(); }
  // REQUIRES: !empty().
  consensus::Index first_index() const { return entries_.front().index; }
  consensus::Index last_index() const { return entries_.back().index; }
  std::size_t size() const { return entries_.size(); }
  std::uint64_t bytes() const { return bytes_; }

 private:
  void EvictOverBudget();

  const std::uint64_t bytes_max_;
  std::deque<consensus::Entry> entries_;
  std::uint64_t bytes_ = 0;  // sum of Entry::ByteSize() over entries_
};

}  // namespace roster::server
