// The leader's half of Raft: log replication (§5.3) with pipelining and fast
// back-off, commitment (§5.4.2), snapshots sent in chunks (§7), check-quorum,
// ReadIndex (thesis §6.4) and leadership transfer (thesis §3.10).
#include <algorithm>

#include "base/check.h"
#include "base/logging.h"
#include "consensus/quorum.h"
#include "consensus/raft.h"

namespace roster::consensus {

// ---- Proposals ---------------------------------------------------------------------

Result<ProposalId> Raft::Propose(std::string data, EntryType type) {
  if (role_ != Role::kLeader) {
    return Status(StatusCode::kNotLeader, "not the leader; leader is node " + std::to_string(lead_));
  }
  if (lead_transferee_ != kNoNode) {
    return FailedPrecondition("leadership is being transferred to node " +
                              std::to_string(lead_transferee_));
  }
  Entry entry{term_, log_.LastIndex() + 1, type, std::move(data)};
  const ProposalId id{entry.index, entry.term};
  log_.Append(std::move(entry));
  // Appends go out once per Ready (FlushBatches), so a burst of proposals travels
  // in one message per follower instead of one message per proposal.
  broadcast_pending_ = true;
  return id;
}

Result<ProposalId> Raft::ProposeConfChange(const ConfChange& change) {
  if (role_ != Role::kLeader) {
    return Status(StatusCode::kNotLeader, "not the leader; leader is node " + std::to_string(lead_));
  }
  if (pending_conf_index_ > log_.applied()) {
    return FailedPrecondition(
        "a membership change (or this leader's first entry) is not applied yet; retry later");
  }
  Result<ConfState> next = ApplyConfChange(conf_state_, change);
  if (!next.ok()) return next.status();
  Result<ProposalId> id = Propose(EncodeConfChange(change), EntryType::kConfChange);
  if (id.ok()) pending_conf_index_ = id->index;
  return id;
}

void Raft::FlushBatches() {
  if (role_ != Role::kLeader) {
    broadcast_pending_ = false;
    return;
  }
  if (broadcast_pending_) {
    broadcast_pending_ = false;
    BroadcastAppend();
  }
  MaybeStartReadRound();
}

bool Raft::ReadRoundStartable() const {
  return role_ == Role::kLeader && read_only_.HasQueued() && !read_only_.RoundInFlight() &&
         CommittedInCurrentTerm();
}

// ---- Step -----------------------------------------------------------------------------

void Raft::StepLeader(const Message& m) {
  switch (m.type) {
    case MessageType::kReadIndex:
    case MessageType::kReadIndexLease:
      if (!IsMember(m.from)) return;
      if (m.type == MessageType::kReadIndexLease && CommittedInCurrentTerm()) {
        DeliverReads({CompletedRead{{m.context, m.from}, log_.committed()}});
        return;
      }
      read_only_.Add({m.context, m.from});  // the round starts with the next Ready
      return;
    case MessageType::kTransferLeader:
      HandleTransferLeader(static_cast<NodeId>(m.index));
      return;
    default: break;
  }
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;  // not a member (any more)
  Progress& progress = it->second;
  switch (m.type) {
    case MessageType::kAppendResponse:
      progress.set_recent_active(true);
      HandleAppendResponse(m, progress);
      break;
    case MessageType::kHeartbeatResponse:
      progress.set_recent_active(true);
      HandleHeartbeatResponse(m, progress);
      break;
    case MessageType::kSnapshotResponse:
      progress.set_recent_active(true);
      HandleSnapshotResponse(m, progress);
      break;
    default: break;  // another leader's traffic in our term cannot exist; stale replies
  }
}

void Raft::HandleAppendResponse(const Message& m, Progress& progress) {
  if (m.index > log_.LastIndex()) return;  // points beyond our log: malformed
  if (m.reject) {
    Index next_probe = m.reject_hint;
    if (m.reject_hint_term > 0) {
      next_probe = log_.FindConflictByTerm(m.reject_hint, m.reject_hint_term).first;
    }
    if (progress.MaybeDecreaseTo(m.index, next_probe)) {
      if (progress.state() == ProgressState::kReplicate) progress.BecomeProbe();
      SendAppend(m.from, /*send_if_empty=*/true);
    }
    return;
  }
  const bool was_paused = progress.IsPaused();
  if (!progress.MaybeUpdate(m.index)) {
    if (was_paused && !progress.IsPaused()) SendAppend(m.from, false);
    return;
  }
  switch (progress.state()) {
    case ProgressState::kProbe: progress.BecomeReplicate(); break;
    case ProgressState::kSnapshot:
      if (progress.match() >= progress.pending_snapshot_index()) progress.BecomeReplicate();
      break;
    case ProgressState::kReplicate: progress.inflights().FreeLE(m.index); break;
  }
  if (MaybeCommit()) {
    BroadcastAppend();
  } else {
    // Keep the pipeline full.
    while (SendAppend(m.from, false)) {
    }
  }
  if (m.from == lead_transferee_ && progress.match() == log_.LastIndex()) {
    Message timeout_now;
    timeout_now.type = MessageType::kTimeoutNow;
    timeout_now.to = m.from;
    Send(std::move(timeout_now));
  }
}

void Raft::HandleHeartbeatResponse(const Message& m, Progress& progress) {
  if (m.read_round != 0) {
    DeliverReads(read_only_.Acknowledge(m.from, m.read_round, [this](const std::set<NodeId>& acks) {
      return HasQuorum(conf_state_.voters, [&acks](NodeId id) { return acks.count(id) > 0; });
    }));
  }
  if (progress.state() == ProgressState::kSnapshot) {
    // A lost chunk or acknowledgement: resend from what the follower last confirmed.
    SendSnapshotChunk(m.from, progress);
    return;
  }
  progress.SetProbeSent(false);
  // The follower is alive, yet the window is full: acknowledgements were lost (or the
  // follower restarted and forgot what it was sent). Let one more append through; it
  // either lands or is rejected, which sends the follower back to probing.
  if (progress.state() == ProgressState::kReplicate && progress.inflights().Full()) {
    progress.inflights().FreeFirstOne();
  }
  // A lagging follower gets an append even if we believe its entries are in flight:
  // if they were lost (or rejected out of order), the empty append's prev index makes
  // it reject, and the rejection resets `next` to where it really is.
  if (progress.match() < log_.LastIndex()) SendAppend(m.from, /*send_if_empty=*/true);
}

void Raft::HandleSnapshotResponse(const Message& m, Progress& progress) {
  if (progress.state() != ProgressState::kSnapshot ||
      m.index != progress.pending_snapshot_index()) {
    return;  // stale: from an earlier transfer
  }
  // An acknowledgement that does not move the offset answers a duplicate or a resent
  // chunk; the chunk after it is already on its way. Answering it too would start a
  // second stream of chunks (lost chunks are resent on heartbeat responses instead).
  if (m.snapshot_offset == progress.snapshot_offset()) return;
  progress.set_snapshot_offset(m.snapshot_offset);  // forward, or back if the follower restarted
  SendSnapshotChunk(m.from, progress);
}

// ---- Sending -----------------------------------------------------------------------------

// Sends the entries `to` is missing (or the snapshot, if they are compacted). Returns
// whether a message went out.
bool Raft::SendAppend(NodeId to, bool send_if_empty) {
  Progress& progress = progress_.at(to);
  if (progress.IsPaused()) return false;
  const Index prev_index = progress.next() - 1;
  Result<Term> prev_term = log_.TermAt(prev_index);
  Result<std::vector<Entry>> entries =
      log_.Slice(progress.next(), log_.LastIndex() + 1, max_message_bytes_);
  if (!prev_term.ok() || !entries.ok()) {
    // §7: the follower needs entries we compacted away.
    const SnapshotMetadata snapshot = log_.storage()->GetSnapshotMetadata();
    if (snapshot.index == 0) return false;  // nothing to send yet; retried later
    progress.BecomeSnapshot(snapshot.index);
    SendSnapshotChunk(to, progress);
    return true;
  }
  if (entries->empty() && !send_if_empty) return false;
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.index = prev_index;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  m.entries = std::move(entries).value();
  if (!m.entries.empty()) {
    const Index last = m.entries.back().index;
    if (progress.state() == ProgressState::kReplicate) {
      progress.OptimisticUpdate(last);
      progress.inflights().Add(last, m.ByteSize());
    } else {
      progress.SetProbeSent(true);
    }
  }
  Send(std::move(m));
  return true;
}

void Raft::SendSnapshotChunk(NodeId to, Progress& progress) {
  Result<SnapshotChunk> chunk =
      log_.storage()->ReadSnapshotChunk(progress.snapshot_offset(), snapshot_chunk_bytes_);
  if (chunk.ok() && chunk->metadata.index != progress.pending_snapshot_index()) {
    // A newer snapshot replaced the one being sent: start over with it.
    progress.BecomeSnapshot(chunk->metadata.index);
    chunk = log_.storage()->ReadSnapshotChunk(0, snapshot_chunk_bytes_);
  }
  if (!chunk.ok()) {
    LOG(WARNING) << "node " << id_ << " cannot read the snapshot for node " << to << ": "
                 << chunk.status().ToString();
    progress.BecomeProbe();
    return;
  }
  Message m;
  m.type = MessageType::kSnapshot;
  m.to = to;
  m.snapshot.metadata = chunk->metadata;
  m.snapshot.data = std::move(chunk->data);
  m.snapshot_offset = chunk->offset;
  m.snapshot_done = chunk->done;
  Send(std::move(m));
}

void Raft::SendHeartbeat(NodeId to, std::uint64_t read_round) {
  Message m;
  m.type = MessageType::kHeartbeat;
  m.to = to;
  // Never tell a follower to commit beyond what it is known to hold.
  m.commit = std::min(progress_.at(to).match(), log_.committed());
  m.read_round = read_round;
  Send(std::move(m));
}

void Raft::BroadcastAppend() {
  for (auto& [id, progress] : progress_) {
    if (id != id_) SendAppend(id, /*send_if_empty=*/true);
  }
}

void Raft::BroadcastHeartbeat() {
  const std::uint64_t round = read_only_.CurrentRound();
  for (auto& [id, progress] : progress_) {
    if (id != id_) SendHeartbeat(id, round);
  }
}

// ---- Commitment -------------------------------------------------------------------------

// §5.4.2: the leader commits by counting replicas only entries of its own term.
bool Raft::MaybeCommit() {
  const Index index = CommittedIndex(conf_state_.voters, [this](NodeId id) -> Index {
    auto it = progress_.find(id);
    return it == progress_.end() ? 0 : it->second.match();
  });
  return log_.MaybeCommit(index, term_);
}

bool Raft::CommittedInCurrentTerm() const { return log_.TermOrZero(log_.committed()) == term_; }

void Raft::OnPersisted(Index index, Term term) {
  if (role_ != Role::kLeader) return;
  if (log_.TermOrZero(index) != term) return;
  auto it = progress_.find(id_);
  if (it == progress_.end()) return;
  if (it->second.MaybeUpdate(index) && MaybeCommit()) broadcast_pending_ = true;
}

void Raft::ResetProgress() {
  progress_.clear();
  SyncProgressWithConf();
}

// Gives every member a Progress (new ones start probing at our last index + 1) and
// drops those of removed members.
void Raft::SyncProgressWithConf() {
  for (auto it = progress_.begin(); it != progress_.end();) {
    it = IsMember(it->first) ? std::next(it) : progress_.erase(it);
  }
  auto ensure = [this](NodeId id, bool learner) {
    auto [it, inserted] = progress_.try_emplace(id, log_.LastIndex() + 1, max_inflight_messages_,
                                                max_inflight_bytes_, learner);
    it->second.set_learner(learner);
    if (inserted && id == id_) {
      it->second.MaybeUpdate(log_.PersistedLastIndex());
      it->second.BecomeReplicate();
    }
    if (inserted) it->second.set_recent_active(true);
  };
  for (NodeId id : conf_state_.voters) ensure(id, false);
  for (NodeId id : conf_state_.learners) ensure(id, true);
}

// ---- Time ---------------------------------------------------------------------------------

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= election_ticks_) {
    election_elapsed_ = 0;
    if (check_quorum_) {
      // Check-quorum: a leader that did not hear from a quorum within an election
      // timeout may be partitioned away; it steps down rather than serve stale reads.
      const bool quorum_active = HasQuorum(conf_state_.voters, [this](NodeId id) {
        auto it = progress_.find(id);
        return id == id_ || (it != progress_.end() && it->second.recent_active());
      });
      for (auto& [id, progress] : progress_) progress.set_recent_active(id == id_);
      if (!quorum_active) {
        LOG(DEBUG) << "node " << id_ << " steps down: no quorum heard at term " << term_;
        BecomeFollower(term_, kNoNode);
        return;
      }
    }
    AbortLeaderTransfer();  // a transfer that takes an election timeout has failed
  }
  if (heartbeat_elapsed_ >= heartbeat_ticks_) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat();
  }
}

void Raft::ReportUnreachable(NodeId peer) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(peer);
  if (it == progress_.end()) return;
  if (it->second.state() == ProgressState::kReplicate) it->second.BecomeProbe();
}

// ---- ReadIndex -----------------------------------------------------------------------------

Status Raft::ReadIndex(std::string context, ReadPolicy policy) {
  if (role_ == Role::kLeader) {
    if (policy == ReadPolicy::kLeaderLease && CommittedInCurrentTerm()) {
      read_states_.push_back({log_.committed(), std::move(context)});
      return Status::Ok();
    }
    // Queued; the round starts when the next Ready is built, so every read issued
    // before then shares it.
    read_only_.Add({std::move(context), id_});
    return Status::Ok();
  }
  if (lead_ == kNoNode) return Status(StatusCode::kNotLeader, "no leader known");
  Message m;
  m.type = policy == ReadPolicy::kLeaderLease ? MessageType::kReadIndexLease
                                              : MessageType::kReadIndex;
  m.to = lead_;
  m.context = std::move(context);
  Send(std::move(m));
  return Status::Ok();
}

void Raft::MaybeStartReadRound() {
  // §8: until it commits an entry of its term, a new leader does not know the commit index.
  if (!ReadRoundStartable()) return;
  const std::uint64_t round = read_only_.StartRound(log_.committed(), id_);
  if (conf_state_.voters.size() == 1) {
    DeliverReads(read_only_.Acknowledge(id_, round, [](const std::set<NodeId>&) { return true; }));
    return;
  }
  for (auto& [id, progress] : progress_) {
    if (id != id_) SendHeartbeat(id, round);
  }
}

void Raft::DeliverReads(std::vector<CompletedRead> reads) {
  if (reads.empty()) return;
  for (CompletedRead& read : reads) {
    if (read.request.from == id_) {
      read_states_.push_back({read.index, std::move(read.request.context)});
      continue;
    }
    Message m;
    m.type = MessageType::kReadIndexResponse;
    m.to = read.request.from;
    m.index = read.index;
    m.context = std::move(read.request.context);
    Send(std::move(m));
  }
}

void Raft::FailPendingReads() {
  for (ReadRequest& request : read_only_.Reset()) {
    if (request.from == id_) continue;  // local callers time out and retry
    Message m;
    m.type = MessageType::kReadIndexResponse;
    m.to = request.from;
    m.reject = true;
    m.context = std::move(request.context);
    Send(std::move(m));
  }
}

// ---- Leadership transfer and self-removal ---------------------------------------------------

Status Raft::TransferLeadership(NodeId target) {
  if (role_ != Role::kLeader) {
    if (lead_ == kNoNode) return Status(StatusCode::kNotLeader, "no leader known");
    Message m;
    m.type = MessageType::kTransferLeader;
    m.to = lead_;
    m.index = target;
    Send(std::move(m));
    return Status::Ok();
  }
  if (!IsVoter(target)) return InvalidArgument("transfer target is not a voter");
  HandleTransferLeader(target);
  return Status::Ok();
}

void Raft::HandleTransferLeader(NodeId target) {
  if (target == id_ || !IsVoter(target) || lead_transferee_ == target) return;
  lead_transferee_ = target;
  election_elapsed_ = 0;  // the transfer must complete within one election timeout
  const Progress& progress = progress_.at(target);
  if (progress.match() == log_.LastIndex()) {
    Message m;
    m.type = MessageType::kTimeoutNow;
    m.to = target;
    Send(std::move(m));
  } else {
    SendAppend(target, /*send_if_empty=*/true);
  }
}

// The leader applied its own removal. Hand over to the most caught-up voter so the
// cluster does not wait out an election timeout, then stop leading.
void Raft::StepDownAfterSelfRemoval() {
  NodeId best = kNoNode;
  Index best_match = 0;
  for (NodeId voter : conf_state_.voters) {
    const Index match = progress_.at(voter).match();
    if (best == kNoNode || match > best_match) {
      best = voter;
      best_match = match;
    }
  }
  BroadcastAppend();  // tell everyone the commit index that includes our removal
  if (best != kNoNode && best_match == log_.LastIndex()) {
    Message m;
    m.type = MessageType::kTimeoutNow;
    m.to = best;
    Send(std::move(m));
  }
  BecomeFollower(term_, kNoNode);
}

}  // namespace roster::consensus
