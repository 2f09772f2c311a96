// RaftLog: the log as the consensus core sees it: the durable prefix in LogStorage,
// followed by the unstable suffix (entries and possibly a snapshot) that the
// application has been handed in a Ready but not yet acknowledged as persisted.
//
//   storage:  [first_index ......... stable_last]
//   unstable:                         [offset ........ last_index]   (may overlap
//   storage until persisted; unstable wins)
// Single-threaded; owned by Raft.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "consensus/storage.h"
#include "consensus/types.h"

namespace roster::consensus {

class RaftLog {
 public:
  explicit RaftLog(LogStorage* storage, std::uint64_t max_committed_bytes_per_ready);

  Index FirstIndex() const;
  Index LastIndex() const;
  Term LastTerm() const;
  // Term of entry i; 0 for i beyond the log; Unavailable if compacted.
  Result<Term> TermAt(Index i) const;
  // Term of entry i, or 0 if it is compacted or beyond the log.
  Term TermOrZero(Index i) const;
  bool MatchTerm(Index i, Term t) const;

  // Entries in [lo, hi) limited to max_bytes (at least one). Unavailable if compacted.
  Result<std::vector<Entry>> Slice(Index lo, Index hi, std::uint64_t max_bytes) const;

  // §5.3: appends `entries` that follow (prev_index, prev_term) if the log matches there.
  // Returns the last new index on success, nullopt if the log does not match.
  // CHECK-fails if it would truncate committed entries (that is divergence).
  std::optional<Index> MaybeAppend(Index prev_index, Term prev_term, Index leader_commit,
                                   std::vector<Entry> entries);
  // Appends at the end (the leader's own proposals). Returns the new last index.
  Index Append(std::vector<Entry> entries);
  Index Append(Entry entry);

  // §5.4.1: is a log ending at (last_index, last_term) at least as up-to-date as ours?
  bool IsUpToDate(Index last_index, Term last_term) const;

  // Advances commit to `index` if it is higher and the entry there has `term`
  // (the leader commits only entries of its own term by counting, §5.4.2).
  bool MaybeCommit(Index index, Term term);
  void CommitTo(Index index);  // REQUIRES: index <= LastIndex()

  // Fast back-off (etcd's findConflictByTerm): the largest index <= index whose term
  // is <= term, with its term. Used by followers to hint and leaders to skip a term.
  std::pair<Index, Term> FindConflictByTerm(Index index, Term term) const;

  // Replaces the log with a snapshot received from the leader (unstable until persisted).
  void Restore(const SnapshotMetadata& metadata);

  // Ready plumbing.
  bool HasUnstableEntries() const { return !unstable_entries_.empty(); }
  const std::vector<Entry>& UnstableEntries() const { return unstable_entries_; }
  const std::optional<SnapshotMetadata>& UnstableSnapshot() const { return unstable_snapshot_; }
  bool HasNextCommittedEntries() const;
  std::vector<Entry> NextCommittedEntries() const;
  // Acknowledges that entries up to (index, term) and the snapshot at snapshot_index
  // (0: none) are durable in storage.
  void StableTo(Index index, Term term);
  void StableSnapshotTo(Index snapshot_index);
  void AppliedTo(Index index);

  // Last index known durable: what a leader may count itself as holding.
  Index PersistedLastIndex() const;

  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  void set_applied(Index applied) { applied_ = applied; }
  LogStorage* storage() const { return storage_; }

 private:
  Index StableLastIndex() const;
  Index UnstableOffset() const;  // index of unstable_entries_[0] when non-empty
  void TruncateAndAppend(std::vector<Entry> entries);

  LogStorage* storage_;
  std::uint64_t max_committed_bytes_per_ready_;
  std::optional<SnapshotMetadata> unstable_snapshot_;
  std::vector<Entry> unstable_entries_;  // contiguous
  Index committed_ = 0;
  Index applied_ = 0;
};

}  // namespace roster::consensus
