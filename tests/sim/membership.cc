#include "tests/sim/membership.h"

#include <algorithm>
#include <string>

#include "tests/sim/cluster.h"

namespace roster::sim {
namespace {

using consensus::ConfChange;
using consensus::ConfChangeType;
using consensus::NodeId;

bool Contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

const char* ChangeName(ConfChangeType type) {
  switch (type) {
    case ConfChangeType::kAddVoter:
      return "add-voter";
    case ConfChangeType::kAddLearner:
      return "add-learner";
    case ConfChangeType::kRemoveNode:
      return "remove";
  }
  return "?";
}

// Ticks a removed node keeps running, so it can learn that it was removed.
constexpr std::uint64_t kRetireAfterTicks = 30;

}  // namespace

void MembershipDriver::Act() {
  SimNode* leader = cluster_->Leader();
  if (leader == nullptr) return;
  const consensus::ConfState conf = leader->raw().conf_state();
  if (!conf.learners.empty()) {
    // Promote a learner once it holds everything the leader has committed.
    const NodeId learner = conf.learners.front();
    const consensus::NodeStatus status = leader->raw().GetStatus();
    auto peer = status.peers.find(learner);
    if (peer != status.peers.end() && peer->second.match >= status.hard_state.commit) {
      Propose({ConfChangeType::kAddVoter, learner, ""});
    }
    return;
  }
  const bool can_add = cluster_->NodeIds().size() < kMaxNodes || SpareOrNewNode(conf) != 0;
  const bool can_remove = conf.voters.size() > kMinNodes;
  if (can_add && (!can_remove || cluster_->random().OneIn(2))) {
    const NodeId id = SpareOrNewNode(conf);
    Propose({ConfChangeType::kAddLearner, id != 0 ? id : cluster_->AddNode(), ""});
  } else if (can_remove) {
    const NodeId victim = conf.voters[cluster_->random().Uniform(conf.voters.size())];
    Propose({ConfChangeType::kRemoveNode, victim, ""});
  }
}

// A running node that is not a member and was never removed (a learner whose joining
// was lost), or 0.
NodeId MembershipDriver::SpareOrNewNode(const consensus::ConfState& conf) {
  for (NodeId id : cluster_->NodeIds()) {
    if (!Contains(conf.voters, id) && !Contains(conf.learners, id) && !IsRetiring(id)) return id;
  }
  return 0;
}

void MembershipDriver::Propose(const ConfChange& change) {
  SimNode* leader = cluster_->Leader();
  Result<consensus::ProposalId> proposal = leader->raw().ProposeConfChange(change);
  cluster_->trace().Record(cluster_->now_ms(), TraceKind::kFault, leader->id(),
                           std::string("membership: propose ") + ChangeName(change.type) + " n" +
                               std::to_string(change.node_id) + ": " +
                               (proposal.ok() ? "at " + std::to_string(proposal->index) + "@" +
                                                    std::to_string(proposal->term)
                                              : proposal.status().ToString()));
}

void MembershipDriver::OnCommitted(const ConfChange& change) {
  ++cluster_->stats().membership_changes;
  cluster_->trace().Record(cluster_->now_ms(), TraceKind::kFault, change.node_id,
                           std::string("membership: committed ") + ChangeName(change.type));
  if (change.type == ConfChangeType::kRemoveNode && !IsRetiring(change.node_id)) {
    retire_at_ms_[change.node_id] = cluster_->now_ms() + kRetireAfterTicks * cluster_->tick_ms();
  }
}

void MembershipDriver::Step() {
  for (auto it = retire_at_ms_.begin(); it != retire_at_ms_.end();) {
    if (it->second <= cluster_->now_ms() && cluster_->FindNode(it->first) != nullptr) {
      cluster_->RetireNode(it->first);
    }
    ++it;
  }
}

}  // namespace roster::sim
