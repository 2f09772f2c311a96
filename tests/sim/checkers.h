// SafetyChecker: the Raft safety properties (Raft paper, Figure 3), checked against
// what the simulated nodes do, across crashes:
//   Election Safety      at most one leader per term (OnLeader).
//   Log Matching         two logs with an entry of the same index and term are identical
//                        up to it (CheckLogs, over what every node's storage holds).
//   Leader Completeness  a leader holds every entry committed in an earlier term
//                        (CheckLeaderLog).
//   State Machine Safety every node applies the same entry at an index, in order, with no
//                        gaps; snapshots carry exactly the state the log produced
//                        (OnApplied, OnSnapshotInstalled).
// plus what the clients were told: an operation reported failed never applies, and no
// operation applies twice. Linearizability of the client history is checked separately
// (linearizability.h). Each check returns the first violation it finds, "" if none.
// Single-threaded: owned by the Cluster.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "consensus/storage.h"
#include "consensus/types.h"

namespace roster::sim {

// What a node held in its storage at one moment, for CheckLogs.
struct LogView {
  consensus::NodeId node = consensus::kNoNode;
  const consensus::LogStorage* storage = nullptr;
  consensus::Index commit = 0;  // the hard state's commit stored alongside
};

class SafetyChecker {
 public:
  // `node` became leader in `term`.
  std::string OnLeader(consensus::NodeId node, consensus::Term term);

  // `node`, at current term `node_term`, applied `entry`; its machine then had `digest`
  // and `state_hash`; op_id is the client operation in the entry (0: none).
  std::string OnApplied(consensus::NodeId node, consensus::Term node_term,
                        const consensus::Entry& entry, std::uint64_t digest,
                        std::uint64_t state_hash, std::uint64_t op_id);

  // `node` restored its machine from a snapshot received from the leader.
  std::string OnSnapshotInstalled(consensus::NodeId node,
                                  const consensus::SnapshotMetadata& metadata, std::uint64_t digest,
                                  std::uint64_t state_hash) const;

  // A client was told its operation failed (a different entry committed at its index).
  std::string OnOperationFailed(std::uint64_t op_id);

  // Leader Completeness for `node`, leader of `term`, whose storage is `storage`.
  std::string CheckLeaderLog(consensus::NodeId node, consensus::Term term,
                             const consensus::LogStorage& storage) const;

  // Log Matching between every pair, and every committed entry against what was applied.
  std::string CheckLogs(const std::vector<LogView>& logs) const;

  // True if some node has applied an entry at `index` (it is committed).
  bool IsApplied(consensus::Index index) const {
    return index >= 1 && index <= applied_.size() && applied_[index - 1].known;
  }
  // The entry some node applied at `index`, or null if none has.
  const consensus::Entry* AppliedAt(consensus::Index index) const {
    return IsApplied(index) ? &applied_[index - 1].entry : nullptr;
  }
  consensus::Index max_applied() const { return applied_.size(); }
  // Terms in which some node became leader.
  std::size_t elections() const { return leaders_.size(); }

 private:
  struct AppliedEntry {
    bool known = false;
    consensus::Entry entry;
    std::uint64_t digest = 0;
    std::uint64_t state_hash = 0;
    // The entry was committed in a term no later than this: the lowest current term of
    // any node when it applied the entry (Leader Completeness applies to later terms).
    consensus::Term commit_term_bound = 0;
  };

  std::string CheckCommittedPrefix(const LogView& log,
                                   const std::vector<consensus::Entry>& entries) const;

  std::map<consensus::Term, consensus::NodeId> leaders_;
  std::vector<AppliedEntry> applied_;  // applied_[i - 1] is index i
  std::map<std::uint64_t, consensus::Index> op_index_;
  std::set<std::uint64_t> failed_ops_;
};

std::string DescribeEntry(const consensus::Entry& entry);

}  // namespace roster::sim
