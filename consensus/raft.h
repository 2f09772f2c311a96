// Raft: the protocol logic behind RawNode. Internal to consensus/; callers use RawNode.
//
// Role behaviour is one step function per role (StepLeader, StepCandidate,
// StepFollower); a role change is BecomeX. raft.cc holds the common path, elections
// and the follower; raft_leader.cc holds replication, snapshots sending, ReadIndex and
// leadership transfer. Single-threaded, deterministic: the only randomness is the
// election timeout, drawn from a DeterministicRandom seeded by Config.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/random.h"
#include "consensus/message.h"
#include "consensus/progress.h"
#include "consensus/raft_log.h"
#include "consensus/raw_node.h"
#include "consensus/read_only.h"

namespace roster::consensus {

Status ValidateConfig(const Config& config);

class Raft {
 public:
  explicit Raft(const Config& config);  // REQUIRES: ValidateConfig(config).ok()

  // Inputs (see RawNode for their contracts).
  void Tick();
  Status Step(Message message);
  Status Campaign();
  Result<ProposalId> Propose(std::string data, EntryType type);
  Result<ProposalId> ProposeConfChange(const ConfChange& change);
  Status ReadIndex(std::string context, ReadPolicy policy);
  Status TransferLeadership(NodeId target);
  void ReportUnreachable(NodeId peer);

  // Ready plumbing, used by RawNode.
  // Sends what calls since the last Ready batched up: appends for new proposals, and a
  // ReadIndex round for queued reads.
  void FlushBatches();
  bool HasPendingOutput() const;
  std::vector<Message> TakeMessages() { return std::exchange(messages_, {}); }
  std::vector<Message> TakePersistedMessages() { return std::exchange(persisted_messages_, {}); }
  std::vector<ReadState> TakeReadStates() { return std::exchange(read_states_, {}); }
  std::optional<Snapshot> TakeReceivedSnapshot() { return std::exchange(received_snapshot_, {}); }
  bool HasReceivedSnapshot() const { return received_snapshot_.has_value(); }
  // Entries up to (index, term) are durable: the leader may now count itself.
  void OnPersisted(Index index, Term term);
  // A committed kConfChange entry was handed to the application: switch membership.
  void ApplyConfChangeEntry(const Entry& entry);

  HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  SoftState soft_state() const { return {lead_, role_}; }
  RaftLog& log() { return log_; }
  const RaftLog& log() const { return log_; }
  NodeId id() const { return id_; }
  Term term() const { return term_; }
  Role role() const { return role_; }
  NodeId leader() const { return lead_; }
  const ConfState& conf_state() const { return conf_state_; }
  const ConfState& applied_conf_state() const { return applied_conf_state_; }
  NodeStatus GetStatus() const;

 private:
  // raft.cc: common
  void Send(Message message);
  void BecomeFollower(Term term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void ResetTerm(Term term);
  void ResetElectionTimeout();
  bool IsVoter(NodeId id) const;
  bool IsMember(NodeId id) const;
  bool Promotable() const { return IsVoter(id_); }
  bool HasUnappliedConfChange() const;
  void ReplayCommittedConfChanges();
  void SwitchConf(const Entry& entry);
  void StartCampaign(bool pre_vote, bool transfer);
  void StepVoteRequest(const Message& message);
  bool StepStaleOrNewerTerm(const Message& message);  // false: message consumed
  Status ValidateMessage(const Message& message) const;

  // raft.cc: follower and candidate
  void StepFollower(Message& message);
  void StepCandidate(Message& message);
  void HandleAppend(Message& message);
  void HandleHeartbeat(const Message& message);
  void HandleSnapshotChunk(const Message& message);
  bool RestoreSnapshot(Snapshot snapshot);
  void TickElection();

  // raft_leader.cc
  void StepLeader(const Message& message);
  void HandleAppendResponse(const Message& message, Progress& progress);
  void HandleHeartbeatResponse(const Message& message, Progress& progress);
  void HandleSnapshotResponse(const Message& message, Progress& progress);
  void HandleTransferLeader(NodeId target);
  void TickHeartbeat();
  bool SendAppend(NodeId to, bool send_if_empty);
  void SendSnapshotChunk(NodeId to, Progress& progress);
  void SendHeartbeat(NodeId to, std::uint64_t read_round);
  void BroadcastAppend();
  void BroadcastHeartbeat();
  bool MaybeCommit();
  void ResetProgress();
  void SyncProgressWithConf();
  void MaybeStartReadRound();
  bool ReadRoundStartable() const;
  void DeliverReads(std::vector<CompletedRead> reads);
  void FailPendingReads();
  void AbortLeaderTransfer() { lead_transferee_ = kNoNode; }
  void StepDownAfterSelfRemoval();
  bool CommittedInCurrentTerm() const;

  const NodeId id_;
  const int election_ticks_;
  const int heartbeat_ticks_;
  const bool pre_vote_;
  const bool check_quorum_;
  const std::uint64_t max_message_bytes_;
  const std::uint64_t max_inflight_messages_;
  const std::uint64_t max_inflight_bytes_;
  const std::uint64_t snapshot_chunk_bytes_;

  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  Role role_ = Role::kFollower;
  RaftLog log_;
  // The membership in force: every committed conf change up to conf_index_ (committed
  // changes count from start-up on, before the application re-applies them).
  ConfState conf_state_;
  Index conf_index_ = 0;
  // The membership as of the applied index: what a snapshot taken there must record.
  ConfState applied_conf_state_;
  Index applied_conf_index_ = 0;
  DeterministicRandom random_;

  int election_elapsed_ = 0;  // ticks since the last election timeout or valid leader contact
  int heartbeat_elapsed_ = 0;
  int randomized_election_ticks_ = 0;

  std::map<NodeId, bool> votes_;                 // candidate / pre-candidate
  std::map<NodeId, Progress> progress_;          // leader: every member, itself included
  Index pending_conf_index_ = 0;                 // leader: last conf change proposed
  NodeId lead_transferee_ = kNoNode;             // leader: transfer in progress to
  bool broadcast_pending_ = false;               // leader: proposals wait for FlushBatches
  ReadOnly read_only_;                           // leader: ReadIndex batching

  std::optional<Snapshot> receiving_snapshot_;   // follower: chunks gathered so far
  std::optional<Snapshot> received_snapshot_;    // follower: complete, for the next Ready

  std::vector<Message> messages_;
  std::vector<Message> persisted_messages_;
  std::vector<ReadState> read_states_;
};

}  // namespace roster::consensus
