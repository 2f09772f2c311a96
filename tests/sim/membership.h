// MembershipDriver: single-server membership changes during the fault phase of the
// `all` mode: a brand-new node (fresh id, empty disk) joins as a learner, is promoted
// to voter once it has caught up, and voters are removed; a removed node is retired a
// little later and its id is never used again. The cluster stays within 3..7 nodes.
// The driver reads the membership from the leader, so a change whose proposal was lost
// is simply attempted again; the core allows one unapplied change at a time.
// Single-threaded: owned by the Cluster.
#pragma once

#include <cstdint>
#include <map>

#include "consensus/types.h"

namespace roster::sim {

class Cluster;

class MembershipDriver {
 public:
  static constexpr std::size_t kMinNodes = 3;
  static constexpr std::size_t kMaxNodes = 7;

  explicit MembershipDriver(Cluster* cluster) : cluster_(cluster) {}

  // Takes one step towards a membership change, if there is a leader to ask.
  void Act();
  // A conf change was committed (some node applied it for the first time).
  void OnCommitted(const consensus::ConfChange& change);
  // Retires removed nodes whose grace period has passed. Call every millisecond.
  void Step();

  bool IsRetiring(consensus::NodeId id) const { return retire_at_ms_.count(id) > 0; }

 private:
  void Propose(const consensus::ConfChange& change);
  consensus::NodeId SpareOrNewNode(const consensus::ConfState& conf);

  Cluster* cluster_;
  std::map<consensus::NodeId, std::uint64_t> retire_at_ms_;
};

}  // namespace roster::sim
