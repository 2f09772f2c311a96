#include "consensus/raft_log.h"

#include <algorithm>
#include <iterator>

#include "base/check.h"

namespace roster::consensus {

RaftLog::RaftLog(LogStorage* storage, std::uint64_t max_committed_bytes_per_ready)
    : storage_(storage), max_committed_bytes_per_ready_(max_committed_bytes_per_ready) {
  const Index first = storage_->FirstIndex();
  committed_ = first - 1;
  applied_ = first - 1;
}

Index RaftLog::UnstableOffset() const {
  CHECK(!unstable_entries_.empty());
  return unstable_entries_.front().index;
}

Index RaftLog::StableLastIndex() const {
  if (unstable_snapshot_) return unstable_snapshot_->index;
  return storage_->LastIndex();
}

Index RaftLog::FirstIndex() const {
  if (unstable_snapshot_) return unstable_snapshot_->index + 1;
  return storage_->FirstIndex();
}

Index RaftLog::LastIndex() const {
  if (!unstable_entries_.empty()) return unstable_entries_.back().index;
  return StableLastIndex();
}

Term RaftLog::LastTerm() const { return TermOrZero(LastIndex()); }

Result<Term> RaftLog::TermAt(Index i) const {
  if (i > LastIndex()) return Term{0};
  if (!unstable_entries_.empty() && i >= UnstableOffset()) {
    return unstable_entries_[i - UnstableOffset()].term;
  }
  if (unstable_snapshot_) {
    if (i == unstable_snapshot_->index) return unstable_snapshot_->term;
    if (i < unstable_snapshot_->index) return Unavailable("entry compacted");
  }
  if (i + 1 < storage_->FirstIndex()) return Unavailable("entry compacted");
  return storage_->TermAt(i);
}

Term RaftLog::TermOrZero(Index i) const {
  Result<Term> term = TermAt(i);
  return term.ok() ? *term : 0;
}

bool RaftLog::MatchTerm(Index i, Term t) const {
  Result<Term> term = TermAt(i);
  return term.ok() && *term == t;
}

Result<std::vector<Entry>> RaftLog::Slice(Index lo, Index hi, std::uint64_t max_bytes) const {
  CHECK_LE(lo, hi);
  CHECK_LE(hi, LastIndex() + 1);
  std::vector<Entry> out;
  if (lo == hi) return out;
  if (lo < FirstIndex()) return Unavailable("entries compacted");
  std::uint64_t bytes = 0;
  const Index unstable_from =
      unstable_entries_.empty() ? LastIndex() + 1 : UnstableOffset();
  if (lo < unstable_from) {
    Result<std::vector<Entry>> stable =
        storage_->Entries(lo, std::min(hi, unstable_from), max_bytes);
    if (!stable.ok()) return stable.status();
    out = std::move(stable).value();
    for (const Entry& entry : out) bytes += entry.ByteSize();
    // Storage stopped early because of the byte limit: so do we.
    if (out.empty() || out.back().index + 1 < std::min(hi, unstable_from)) return out;
  }
  for (Index i = std::max(lo, unstable_from); i < hi; ++i) {
    const Entry& entry = unstable_entries_[i - unstable_from];
    if (!out.empty() && bytes + entry.ByteSize() > max_bytes) break;
    bytes += entry.ByteSize();
    out.push_back(entry);
  }
  return out;
}

std::optional<Index> RaftLog::MaybeAppend(Index prev_index, Term prev_term, Index leader_commit,
                                          std::vector<Entry> entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  const Index last_new = prev_index + entries.size();
  // Skip the entries we already have; the first conflicting one and after are replaced.
  std::size_t first_conflict = entries.size();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& entry = entries[i];
    CHECK_EQ(entry.index, prev_index + 1 + i) << "non-contiguous entries in an append";
    if (!MatchTerm(entry.index, entry.term)) {
      first_conflict = i;
      break;
    }
  }
  if (first_conflict < entries.size()) {
    CHECK_GT(entries[first_conflict].index, committed_)
        << "a leader tried to overwrite a committed entry: the logs have diverged";
    entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(first_conflict));
    TruncateAndAppend(std::move(entries));
  }
  CommitTo(std::min(leader_commit, last_new));
  return last_new;
}

Index RaftLog::Append(std::vector<Entry> entries) {
  if (entries.empty()) return LastIndex();
  CHECK_GT(entries.front().index, committed_) << "appending over committed entries";
  TruncateAndAppend(std::move(entries));
  return LastIndex();
}

Index RaftLog::Append(Entry entry) {
  CHECK_GT(entry.index, committed_) << "appending over committed entries";
  if (entry.index == LastIndex() + 1 && !unstable_entries_.empty()) {
    unstable_entries_.push_back(std::move(entry));  // the leader's common case
    return LastIndex();
  }
  std::vector<Entry> entries;
  entries.push_back(std::move(entry));
  TruncateAndAppend(std::move(entries));
  return LastIndex();
}

void RaftLog::TruncateAndAppend(std::vector<Entry> entries) {
  const Index first = entries.front().index;
  CHECK_LE(first, LastIndex() + 1) << "append would leave a gap";
  if (unstable_entries_.empty() || first <= UnstableOffset()) {
    // Everything unstable from `first` on is replaced, and so is anything in storage
    // from `first` on once these are persisted (storage truncates on append).
    unstable_entries_ = std::move(entries);
    return;
  }
  unstable_entries_.resize(first - UnstableOffset());
  std::move(entries.begin(), entries.end(), std::back_inserter(unstable_entries_));
}

bool RaftLog::IsUpToDate(Index last_index, Term last_term) const {
  const Term our_term = LastTerm();
  return last_term > our_term || (last_term == our_term && last_index >= LastIndex());
}

bool RaftLog::MaybeCommit(Index index, Term term) {
  if (index > committed_ && TermOrZero(index) == term) {
    CommitTo(index);
    return true;
  }
  return false;
}

void RaftLog::CommitTo(Index index) {
  if (index <= committed_) return;
  CHECK_LE(index, LastIndex()) << "commit beyond the log";
  committed_ = index;
}

std::pair<Index, Term> RaftLog::FindConflictByTerm(Index index, Term term) const {
  index = std::min(index, LastIndex());
  while (true) {
    Result<Term> our = TermAt(index);
    if (!our.ok()) return {index, 0};  // compacted: nothing better to offer
    if (*our <= term) return {index, *our};
    if (index == 0) return {0, 0};
    --index;
  }
}

void RaftLog::Restore(const SnapshotMetadata& metadata) {
  committed_ = metadata.index;
  unstable_entries_.clear();
  unstable_snapshot_ = metadata;
}

bool RaftLog::HasNextCommittedEntries() const {
  return committed_ >= std::max(applied_ + 1, FirstIndex());
}

Index RaftLog::PersistedLastIndex() const {
  if (unstable_snapshot_) return 0;
  if (!unstable_entries_.empty()) return std::min(storage_->LastIndex(), UnstableOffset() - 1);
  return storage_->LastIndex();
}

std::vector<Entry> RaftLog::NextCommittedEntries() const {
  if (committed_ <= applied_) return {};
  const Index lo = std::max(applied_ + 1, FirstIndex());
  Result<std::vector<Entry>> entries = Slice(lo, committed_ + 1, max_committed_bytes_per_ready_);
  CHECK(entries.ok()) << "committed entries unavailable: " << entries.status().ToString();
  return std::move(entries).value();
}

void RaftLog::StableTo(Index index, Term term) {
  if (unstable_entries_.empty()) return;
  // Only if the entry is still the one that was handed out (not replaced meanwhile).
  if (index < UnstableOffset() || index > LastIndex()) return;
  if (TermOrZero(index) != term) return;
  unstable_entries_.erase(unstable_entries_.begin(),
                          unstable_entries_.begin() +
                              static_cast<std::ptrdiff_t>(index - UnstableOffset() + 1));
}

void RaftLog::StableSnapshotTo(Index snapshot_index) {
  if (unstable_snapshot_ && unstable_snapshot_->index == snapshot_index) {
    unstable_snapshot_.reset();
  }
}

void RaftLog::AppliedTo(Index index) {
  if (index == 0) return;
  CHECK_LE(index, committed_) << "applied beyond commit";
  CHECK_GE(index, applied_) << "applied went backwards";
  applied_ = index;
}

}  // namespace roster::consensus
