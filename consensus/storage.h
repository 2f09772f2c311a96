// LogStorage: the durable half of the Raft log, read by the consensus core.
//
// The core never writes storage: the application persists what a Ready hands it
// (entries, hard state, snapshot) and then calls RawNode::Advance. The core reads
// back entries it no longer holds in memory through this interface.
// MemoryStorage is the in-memory implementation used by tests, the simulator and
// the benchmark; the server implements LogStorage over SQLite.
// Thread-safety: implementations are called from the thread that drives the RawNode.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "consensus/types.h"

namespace roster::consensus {

struct InitialState {
  HardState hard_state;
  ConfState conf_state;  // membership as of the snapshot (empty if none); later changes
                         // are in the log and take effect as they are applied
};

// A piece of the current snapshot, for InstallSnapshot in chunks.
struct SnapshotChunk {
  SnapshotMetadata metadata;
  std::uint64_t offset = 0;
  std::string data;
  bool done = false;  // this chunk ends the snapshot
};

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  virtual InitialState GetInitialState() const = 0;

  // Entries in [lo, hi), at least one (if lo < hi) and otherwise at most max_bytes.
  // Unavailable if lo is compacted (lo < FirstIndex()); CHECK-fails if hi > LastIndex()+1.
  virtual Result<std::vector<Entry>> Entries(Index lo, Index hi,
                                             std::uint64_t max_bytes) const = 0;

  // Term of entry i, for FirstIndex()-1 <= i <= LastIndex() (FirstIndex()-1 is the
  // snapshot's index); Unavailable outside that range.
  virtual Result<Term> TermAt(Index i) const = 0;

  // First index still held as an entry. Entries before it were compacted; it is at most
  // the snapshot index + 1 (entries may be kept behind a snapshot for slow followers).
  virtual Index FirstIndex() const = 0;
  // Last index held (the snapshot index when no entry follows it).
  virtual Index LastIndex() const = 0;

  // Metadata of the newest snapshot (index 0 if there is none).
  virtual SnapshotMetadata GetSnapshotMetadata() const = 0;

  // Up to max_bytes of the newest snapshot starting at offset. Unavailable when there is
  // no snapshot; the caller compares the metadata to notice a newer snapshot.
  virtual Result<SnapshotChunk> ReadSnapshotChunk(std::uint64_t offset,
                                                  std::uint64_t max_bytes) const = 0;
};

// An in-memory LogStorage. Its mutators are what a durable implementation must offer
// the code that handles a Ready.
class MemoryStorage : public LogStorage {
 public:
  MemoryStorage();

  // Writes the log of a brand-new cluster (MakeBootstrap in types.h).
  void Bootstrap(const ConfState& conf_state);

  InitialState GetInitialState() const override;
  Result<std::vector<Entry>> Entries(Index lo, Index hi, std::uint64_t max_bytes) const override;
  Result<Term> TermAt(Index i) const override;
  Index FirstIndex() const override;
  Index LastIndex() const override;
  SnapshotMetadata GetSnapshotMetadata() const override;
  Result<SnapshotChunk> ReadSnapshotChunk(std::uint64_t offset,
                                          std::uint64_t max_bytes) const override;

  void SetHardState(const HardState& hard_state) { hard_state_ = hard_state; }
  const HardState& hard_state() const { return hard_state_; }

  // Appends entries, first truncating any existing entries at or after the first new
  // index (a follower overwriting a conflicting suffix). Entries must be contiguous
  // and must not start beyond LastIndex()+1 or at or before the snapshot index.
  void Append(std::vector<Entry> entries);

  // Replaces everything with the snapshot (a follower installing what the leader sent).
  // Ignored if it is older than the current snapshot.
  void ApplySnapshot(Snapshot snapshot);

  // Records a snapshot the application took at applied index `index` (<= LastIndex()),
  // then drops entries up to `index - entries_to_keep`.
  void CreateSnapshot(Index index, const ConfState& conf_state, std::string data,
                      std::uint64_t entries_to_keep);

  // Drops every entry up to and including `index` (must be <= the snapshot index).
  void Compact(Index index);

  const Snapshot& snapshot() const { return snapshot_; }

 private:
  HardState hard_state_;
  Snapshot snapshot_;
  // entries_[0] is a dummy holding the index and term of the compaction point.
  std::vector<Entry> entries_;
};

}  // namespace roster::consensus
