#include "consensus/raw_node.h"

#include "base/check.h"
#include "consensus/raft.h"

namespace roster::consensus {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "unknown";
}

bool Ready::IsEmpty() const {
  return !soft_state && !hard_state && !snapshot && entries.empty() &&
         committed_entries.empty() && messages.empty() && persisted_messages.empty() &&
         read_states.empty();
}

Result<std::unique_ptr<RawNode>> RawNode::Create(const Config& config) {
  RETURN_IF_ERROR(ValidateConfig(config));
  return std::unique_ptr<RawNode>(new RawNode(std::make_unique<Raft>(config)));
}

RawNode::RawNode(std::unique_ptr<Raft> raft) : raft_(std::move(raft)) {
  previous_soft_state_ = raft_->soft_state();
  previous_hard_state_ = raft_->hard_state();
}

RawNode::~RawNode() = default;

void RawNode::Tick() { raft_->Tick(); }
Status RawNode::Campaign() { return raft_->Campaign(); }
Result<ProposalId> RawNode::Propose(std::string data) {
  return raft_->Propose(std::move(data), EntryType::kNormal);
}
Result<ProposalId> RawNode::ProposeConfChange(const ConfChange& change) {
  return raft_->ProposeConfChange(change);
}
Status RawNode::Step(Message message) { return raft_->Step(std::move(message)); }
Status RawNode::ReadIndex(std::string context, ReadPolicy policy) {
  return raft_->ReadIndex(std::move(context), policy);
}
Status RawNode::TransferLeadership(NodeId target) { return raft_->TransferLeadership(target); }
void RawNode::ReportUnreachable(NodeId peer) { raft_->ReportUnreachable(peer); }

bool RawNode::HasReady() const {
  if (ready_outstanding_) return false;  // Advance first
  const RaftLog& log = raft_->log();
  return raft_->soft_state() != previous_soft_state_ ||
         raft_->hard_state() != previous_hard_state_ || raft_->HasPendingOutput() ||
         log.HasUnstableEntries() || log.HasNextCommittedEntries();
}

Ready RawNode::GetReady() {
  CHECK(!ready_outstanding_) << "GetReady called twice without Advance";
  raft_->FlushBatches();
  Ready ready;
  const SoftState soft = raft_->soft_state();
  if (soft != previous_soft_state_) {
    ready.soft_state = soft;
    previous_soft_state_ = soft;
  }
  const HardState hard = raft_->hard_state();
  if (hard != previous_hard_state_) {
    ready.hard_state = hard;
    previous_hard_state_ = hard;
  }
  ready.snapshot = raft_->TakeReceivedSnapshot();
  RaftLog& log = raft_->log();
  ready.entries = log.UnstableEntries();
  ready.committed_entries = log.NextCommittedEntries();
  ready.messages = raft_->TakeMessages();
  ready.persisted_messages = raft_->TakePersistedMessages();
  ready.read_states = raft_->TakeReadStates();

  ready_outstanding_ = true;
  ready_snapshot_index_ = ready.snapshot ? ready.snapshot->metadata.index : 0;
  ready_last_entry_index_ = ready.entries.empty() ? 0 : ready.entries.back().index;
  ready_last_entry_term_ = ready.entries.empty() ? 0 : ready.entries.back().term;
  ready_last_committed_index_ =
      ready.committed_entries.empty() ? 0 : ready.committed_entries.back().index;
  ready_conf_changes_.clear();
  for (const Entry& entry : ready.committed_entries) {
    if (entry.type == EntryType::kConfChange) ready_conf_changes_.push_back(entry);
  }
  return ready;
}

void RawNode::Advance() {
  CHECK(ready_outstanding_) << "Advance without GetReady";
  ready_outstanding_ = false;
  RaftLog& log = raft_->log();
  if (ready_snapshot_index_ > 0) {
    log.StableSnapshotTo(ready_snapshot_index_);
    if (log.applied() < ready_snapshot_index_) log.set_applied(ready_snapshot_index_);
  }
  if (ready_last_entry_index_ > 0) {
    log.StableTo(ready_last_entry_index_, ready_last_entry_term_);
    raft_->OnPersisted(ready_last_entry_index_, ready_last_entry_term_);
  }
  for (const Entry& entry : ready_conf_changes_) raft_->ApplyConfChangeEntry(entry);
  ready_conf_changes_.clear();
  if (ready_last_committed_index_ > 0) log.AppliedTo(ready_last_committed_index_);
}

NodeStatus RawNode::GetStatus() const { return raft_->GetStatus(); }
NodeId RawNode::id() const { return raft_->id(); }
Term RawNode::term() const { return raft_->term(); }
Role RawNode::role() const { return raft_->role(); }
NodeId RawNode::leader() const { return raft_->leader(); }
ConfState RawNode::conf_state() const { return raft_->applied_conf_state(); }
Index RawNode::applied() const { return raft_->log().applied(); }

}  // namespace roster::consensus
