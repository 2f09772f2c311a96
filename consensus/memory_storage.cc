#include <algorithm>
#include <iterator>

#include "base/check.h"
#include "consensus/storage.h"

namespace roster::consensus {

MemoryStorage::MemoryStorage() : entries_(1) {}  // the dummy entry at index 0, term 0

void MemoryStorage::Bootstrap(const ConfState& conf_state) {
  CHECK_EQ(LastIndex(), 0u) << "bootstrap of a storage that already holds a log";
  BootstrapLog bootstrap = MakeBootstrap(conf_state);
  Append(std::move(bootstrap.entries));
  hard_state_ = bootstrap.hard_state;
}

InitialState MemoryStorage::GetInitialState() const {
  return {hard_state_, snapshot_.metadata.conf_state};
}

Index MemoryStorage::FirstIndex() const { return entries_.front().index + 1; }

Index MemoryStorage::LastIndex() const { return entries_.front().index + entries_.size() - 1; }

SnapshotMetadata MemoryStorage::GetSnapshotMetadata() const { return snapshot_.metadata; }

Result<std::vector<Entry>> MemoryStorage::Entries(Index lo, Index hi,
                                                  std::uint64_t max_bytes) const {
  const Index offset = entries_.front().index;
  if (lo <= offset) return Unavailable("entries compacted");
  CHECK_LE(hi, LastIndex() + 1) << "entries requested beyond the last index";
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& entry = entries_[i - offset];
    if (!out.empty() && bytes + entry.ByteSize() > max_bytes) break;
    bytes += entry.ByteSize();
    out.push_back(entry);
  }
  return out;
}

Result<Term> MemoryStorage::TermAt(Index i) const {
  const Index offset = entries_.front().index;
  if (i < offset) return Unavailable("entry compacted");
  if (i > LastIndex()) return Unavailable("entry beyond the last index");
  return entries_[i - offset].term;
}

Result<SnapshotChunk> MemoryStorage::ReadSnapshotChunk(std::uint64_t offset,
                                                       std::uint64_t max_bytes) const {
  if (snapshot_.IsEmpty()) return Unavailable("no snapshot");
  if (offset > snapshot_.data.size()) return InvalidArgument("offset beyond the snapshot");
  SnapshotChunk chunk;
  chunk.metadata = snapshot_.metadata;
  chunk.offset = offset;
  chunk.data = snapshot_.data.substr(offset, max_bytes);
  chunk.done = offset + chunk.data.size() >= snapshot_.data.size();
  return chunk;
}

void MemoryStorage::Append(std::vector<Entry> entries) {
  if (entries.empty()) return;
  const Index offset = entries_.front().index;
  const Index first_new = entries.front().index;
  CHECK_GT(first_new, offset) << "append at or before the compaction point";
  CHECK_LE(first_new, LastIndex() + 1) << "append leaves a gap in the log";
  for (std::size_t i = 1; i < entries.size(); ++i) {
    CHECK_EQ(entries[i].index, entries[i - 1].index + 1) << "non-contiguous append";
  }
  entries_.resize(first_new - offset);  // drops the conflicting suffix, if any
  std::move(entries.begin(), entries.end(), std::back_inserter(entries_));
}

void MemoryStorage::ApplySnapshot(Snapshot snapshot) {
  if (snapshot.metadata.index <= snapshot_.metadata.index) return;
  entries_.assign(1, Entry{snapshot.metadata.term, snapshot.metadata.index,
                           EntryType::kNormal, ""});
  snapshot_ = std::move(snapshot);
}

void MemoryStorage::CreateSnapshot(Index index, const ConfState& conf_state, std::string data,
                                   std::uint64_t entries_to_keep) {
  if (index <= snapshot_.metadata.index) return;
  CHECK_LE(index, LastIndex()) << "snapshot beyond the log";
  CHECK_GE(index, FirstIndex() - 1);
  snapshot_.metadata.index = index;
  snapshot_.metadata.term = TermAt(index).value();
  snapshot_.metadata.conf_state = conf_state;
  snapshot_.data = std::move(data);
  const Index compact_to = index > entries_to_keep ? index - entries_to_keep : 0;
  if (compact_to > entries_.front().index) Compact(compact_to);
}

void MemoryStorage::Compact(Index index) {
  const Index offset = entries_.front().index;
  if (index <= offset) return;
  CHECK_LE(index, snapshot_.metadata.index) << "compacting past the snapshot";
  CHECK_LE(index, LastIndex());
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(index - offset));
  entries_.front().data.clear();  // the new dummy keeps only index and term
}

}  // namespace roster::consensus
