// Follower progress as the leader tracks it (Raft §5.3 nextIndex/matchIndex, plus the
// replication state machine of etcd's design: probe, replicate, snapshot).
//
// Probe: one append in flight at a time, find where the logs match.
// Replicate: pipelined appends, next advanced optimistically, bounded by Inflights.
// Snapshot: a snapshot is being sent in chunks; no appends until it is installed.
// Owned by the leader's Raft; single-threaded.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "consensus/raw_node.h"
#include "consensus/types.h"

namespace roster::consensus {

// The window of appends sent but not yet acknowledged, bounded by count and bytes.
class Inflights {
 public:
  Inflights(std::uint64_t max_count, std::uint64_t max_bytes)
      : max_count_(max_count), max_bytes_(max_bytes) {}

  // Records an append whose last entry is `last_index`, carrying `bytes`.
  // REQUIRES: !Full() and last_index larger than every recorded index.
  void Add(Index last_index, std::uint64_t bytes);
  // Forgets every append whose last index is <= index (they were acknowledged).
  void FreeLE(Index index);
  // Forgets the oldest append: its acknowledgement is presumed lost.
  void FreeFirstOne();
  void Reset();

  bool Full() const;
  std::size_t count() const { return window_.size(); }
  std::uint64_t bytes() const { return bytes_; }

 private:
  struct Flight {
    Index last_index;
    std::uint64_t bytes;
  };
  std::uint64_t max_count_;
  std::uint64_t max_bytes_;
  std::deque<Flight> window_;
  std::uint64_t bytes_ = 0;
};

class Progress {
 public:
  Progress(Index next, std::uint64_t max_inflight_messages, std::uint64_t max_inflight_bytes,
           bool is_learner);

  Index match() const { return match_; }
  Index next() const { return next_; }
  ProgressState state() const { return state_; }
  bool is_learner() const { return is_learner_; }
  void set_learner(bool is_learner) { is_learner_ = is_learner; }
  bool recent_active() const { return recent_active_; }
  void set_recent_active(bool active) { recent_active_ = active; }
  Inflights& inflights() { return inflights_; }
  const Inflights& inflights() const { return inflights_; }

  void BecomeProbe();
  void BecomeReplicate();
  // Starts sending the snapshot at snapshot_index from offset 0.
  void BecomeSnapshot(Index snapshot_index);

  // The follower acknowledged entries up to index. Returns false if that is old news.
  bool MaybeUpdate(Index index);
  // After sending entries up to last_index in Replicate state.
  void OptimisticUpdate(Index last_index) { next_ = last_index + 1; }
  // The follower rejected an append at `rejected` (the prev index the leader sent);
  // `hint` is where the leader should probe next. Returns false for a stale rejection.
  bool MaybeDecreaseTo(Index rejected, Index hint);

  // True if no more appends should be sent now (probe already sent, window full, or
  // sending a snapshot).
  bool IsPaused() const;
  // Probe state sends one append, then waits for the answer or a heartbeat response.
  void SetProbeSent(bool sent) { probe_sent_ = sent; }

  // Snapshot transfer bookkeeping.
  Index pending_snapshot_index() const { return pending_snapshot_index_; }
  std::uint64_t snapshot_offset() const { return snapshot_offset_; }
  void set_snapshot_offset(std::uint64_t offset) { snapshot_offset_ = offset; }

  std::string ToString() const;

 private:
  Index match_ = 0;
  Index next_ = 1;
  ProgressState state_ = ProgressState::kProbe;
  bool probe_sent_ = false;
  bool recent_active_ = false;
  bool is_learner_ = false;
  Index pending_snapshot_index_ = 0;
  std::uint64_t snapshot_offset_ = 0;  // bytes the follower has acknowledged
  Inflights inflights_;
};

}  // namespace roster::consensus
