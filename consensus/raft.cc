// The common path of Raft: term handling, elections, and the follower and candidate
// roles. The leader's half is in raft_leader.cc.
#include "consensus/raft.h"

#include <algorithm>
#include <limits>

#include "base/check.h"
#include "base/logging.h"
#include "consensus/quorum.h"

namespace roster::consensus {
namespace {

constexpr std::string_view kTransferContext = "transfer";

bool Contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Messages whose sending promises that this Ready's state is durable: a vote (for
// ourselves or another), and acknowledgements of entries or snapshots.
bool NeedsPersistence(MessageType type) {
  switch (type) {
    case MessageType::kVote:
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse:
    case MessageType::kAppendResponse:
    case MessageType::kHeartbeatResponse:
    case MessageType::kSnapshotResponse:
      return true;
    default:
      return false;
  }
}

}  // namespace

Status ValidateConfig(const Config& config) {
  if (config.id == kNoNode) return InvalidArgument("node id must be positive");
  if (config.storage == nullptr) return InvalidArgument("storage is required");
  if (config.heartbeat_ticks <= 0) return InvalidArgument("heartbeat_ticks must be positive");
  if (config.election_ticks <= config.heartbeat_ticks) {
    return InvalidArgument("election_ticks must exceed heartbeat_ticks");
  }
  if (config.max_inflight_messages == 0) {
    return InvalidArgument("max_inflight_messages must be positive");
  }
  if (config.snapshot_chunk_bytes == 0) return InvalidArgument("snapshot_chunk_bytes must be positive");
  if (config.applied < config.storage->GetSnapshotMetadata().index) {
    // Entries after `applied` would be applied to a state that lacks the snapshot.
    return InvalidArgument("applied is behind the storage's snapshot: restore it first");
  }
  return Status::Ok();
}

Raft::Raft(const Config& config)
    : id_(config.id),
      election_ticks_(config.election_ticks),
      heartbeat_ticks_(config.heartbeat_ticks),
      pre_vote_(config.pre_vote),
      check_quorum_(config.check_quorum),
      max_message_bytes_(config.max_message_bytes),
      max_inflight_messages_(config.max_inflight_messages),
      max_inflight_bytes_(config.max_inflight_bytes),
      snapshot_chunk_bytes_(config.snapshot_chunk_bytes),
      log_(config.storage, config.max_committed_bytes_per_ready),
      random_(config.random_seed ^ (config.id * 0x9e3779b97f4a7c15ULL)) {
  InitialState initial = config.storage->GetInitialState();
  conf_state_ = initial.conf_state;
  term_ = initial.hard_state.term;
  vote_ = initial.hard_state.vote;
  CHECK_LE(initial.hard_state.commit, log_.LastIndex())
      << "persisted commit index is beyond the persisted log";
  log_.CommitTo(initial.hard_state.commit);
  if (config.applied > 0) {
    CHECK_LE(config.applied, log_.committed()) << "applied beyond the commit index";
    log_.set_applied(std::max(config.applied, log_.applied()));
  }
  conf_index_ = config.storage->GetSnapshotMetadata().index;
  applied_conf_state_ = conf_state_;
  applied_conf_index_ = conf_index_;
  ReplayCommittedConfChanges();
  BecomeFollower(term_, kNoNode);
}

// Committed membership changes are durable facts: take them into account now rather
// than when the application re-applies them, so a restarted (or just bootstrapped)
// node never campaigns or counts votes on a stale membership.
void Raft::ReplayCommittedConfChanges() {
  if (log_.committed() <= conf_index_) return;
  Result<std::vector<Entry>> entries =
      log_.Slice(conf_index_ + 1, log_.committed() + 1, std::numeric_limits<std::uint64_t>::max());
  CHECK(entries.ok()) << "committed entries after the snapshot are missing: "
                      << entries.status().ToString();
  for (const Entry& entry : *entries) {
    if (entry.type != EntryType::kConfChange) continue;
    SwitchConf(entry);
    if (entry.index <= log_.applied()) {
      applied_conf_state_ = conf_state_;
      applied_conf_index_ = entry.index;
    }
  }
  conf_index_ = log_.committed();
}

// ---- Output ----------------------------------------------------------------

void Raft::Send(Message message) {
  message.from = id_;
  // Every message carries our term unless it names one: a pre-vote request and a granted
  // pre-vote response carry the term of the election they are about.
  if (message.term == 0) message.term = term_;
  if (NeedsPersistence(message.type)) {
    persisted_messages_.push_back(std::move(message));
  } else {
    messages_.push_back(std::move(message));
  }
}

bool Raft::HasPendingOutput() const {
  return !messages_.empty() || !persisted_messages_.empty() || !read_states_.empty() ||
         received_snapshot_.has_value() || broadcast_pending_ || ReadRoundStartable();
}

// ---- Roles -----------------------------------------------------------------

void Raft::ResetTerm(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetElectionTimeout();
  AbortLeaderTransfer();
  votes_.clear();
  broadcast_pending_ = false;
}

void Raft::ResetElectionTimeout() {
  randomized_election_ticks_ =
      election_ticks_ + static_cast<int>(random_.Uniform(static_cast<std::uint64_t>(election_ticks_)));
}

void Raft::BecomeFollower(Term term, NodeId lead) {
  if (role_ == Role::kLeader) FailPendingReads();
  ResetTerm(term);
  role_ = Role::kFollower;
  lead_ = lead;
  progress_.clear();
}

void Raft::BecomePreCandidate() {
  CHECK(role_ != Role::kLeader) << "a leader cannot become a pre-candidate";
  // Pre-vote changes neither the term nor the vote (thesis §9.6).
  votes_.clear();
  role_ = Role::kPreCandidate;
  lead_ = kNoNode;
}

void Raft::BecomeCandidate() {
  CHECK(role_ != Role::kLeader) << "a leader cannot become a candidate";
  ResetTerm(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  CHECK(role_ == Role::kCandidate) << "only a candidate can become leader";
  ResetTerm(term_);
  role_ = Role::kLeader;
  lead_ = id_;
  ResetProgress();
  // §8: a new leader appends a no-op of its own term; committing it commits everything
  // before it, and until then it serves no ReadIndex and accepts no membership change.
  Entry noop{term_, log_.LastIndex() + 1, EntryType::kNormal, ""};
  log_.Append(noop);
  pending_conf_index_ = noop.index;
  broadcast_pending_ = true;
  LOG(DEBUG) << "node " << id_ << " became leader at term " << term_;
}

bool Raft::IsVoter(NodeId id) const { return Contains(conf_state_.voters, id); }

bool Raft::IsMember(NodeId id) const {
  return IsVoter(id) || Contains(conf_state_.learners, id);
}

// ---- Elections ---------------------------------------------------------------

bool Raft::HasUnappliedConfChange() const {
  if (log_.committed() <= conf_index_) return false;
  Result<std::vector<Entry>> entries =
      log_.Slice(std::max(conf_index_ + 1, log_.FirstIndex()), log_.committed() + 1,
                 std::numeric_limits<std::uint64_t>::max());
  if (!entries.ok()) return true;  // cannot tell: be conservative
  return std::any_of(entries->begin(), entries->end(),
                     [](const Entry& e) { return e.type == EntryType::kConfChange; });
}

Status Raft::Campaign() {
  if (role_ == Role::kLeader) return Status::Ok();
  if (!Promotable()) return FailedPrecondition("this node is not a voter");
  // A committed but unapplied membership change means our view of the voters may be
  // stale; campaigning on it could elect a leader by the wrong majority.
  if (HasUnappliedConfChange()) return FailedPrecondition("a membership change is not applied yet");
  StartCampaign(pre_vote_, /*transfer=*/false);
  return Status::Ok();
}

void Raft::StartCampaign(bool pre_vote, bool transfer) {
  if (pre_vote) {
    BecomePreCandidate();
  } else {
    BecomeCandidate();
  }
  const MessageType type = pre_vote ? MessageType::kPreVote : MessageType::kVote;
  const Term campaign_term = pre_vote ? term_ + 1 : term_;
  votes_[id_] = true;
  if (CountVotes(conf_state_.voters, votes_) == VoteResult::kWon) {
    // A single voter wins at once.
    if (pre_vote) {
      StartCampaign(false, transfer);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (NodeId voter : conf_state_.voters) {
    if (voter == id_) continue;
    Message m;
    m.type = type;
    m.to = voter;
    m.term = campaign_term;
    m.index = log_.LastIndex();
    m.log_term = log_.LastTerm();
    if (transfer) m.context = std::string(kTransferContext);
    Send(std::move(m));
  }
}

void Raft::StepVoteRequest(const Message& m) {
  const bool pre = m.type == MessageType::kPreVote;
  // §5.2: one vote per term (first come, first served). A repeated request from the
  // node we voted for is answered again. A pre-vote for a later term binds nothing.
  const bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) ||
                        (pre && m.term > term_);
  // §5.4.1: only for a candidate whose log is at least as up-to-date as ours.
  const bool grant = can_vote && log_.IsUpToDate(m.index, m.log_term);
  Message response;
  response.type = pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  response.to = m.from;
  response.reject = !grant;
  // A granted pre-vote answers in the pre-vote's term so the pre-candidate can count it;
  // a refusal carries our term.
  response.term = (grant && pre) ? m.term : term_;
  if (grant && !pre) {
    election_elapsed_ = 0;
    vote_ = m.from;
  }
  Send(std::move(response));
}

// Applies the term rules every message goes through (§5.1). Returns false if the
// message is fully handled (ignored or answered) here.
bool Raft::StepStaleOrNewerTerm(const Message& m) {
  const bool is_vote_request = m.type == MessageType::kVote || m.type == MessageType::kPreVote;
  if (m.term > term_) {
    if (is_vote_request) {
      const bool forced = m.context == kTransferContext;
      // Leader lease (thesis §4.2.3): while we heard from a leader within the minimum
      // election timeout, a vote request from a removed or partitioned node is ignored.
      const bool in_lease =
          check_quorum_ && lead_ != kNoNode && election_elapsed_ < election_ticks_;
      if (!forced && in_lease) return false;
    }
    if (m.type == MessageType::kPreVote) {
      // Never change term for a pre-vote.
    } else if (m.type == MessageType::kPreVoteResponse && !m.reject) {
      // A grant in the term we would campaign at; counted by StepCandidate.
    } else {
      const bool from_leader = m.type == MessageType::kAppend ||
                               m.type == MessageType::kHeartbeat ||
                               m.type == MessageType::kSnapshot;
      BecomeFollower(m.term, from_leader ? m.from : kNoNode);
    }
    return true;
  }
  if (m.term < term_) {
    if ((check_quorum_ || pre_vote_) &&
        (m.type == MessageType::kHeartbeat || m.type == MessageType::kAppend)) {
      // A stale leader (e.g. back from a partition) learns our term and steps down;
      // without this, pre-vote and check-quorum could leave it isolated forever.
      Message response;
      response.type = MessageType::kAppendResponse;
      response.to = m.from;
      Send(std::move(response));
    } else if (m.type == MessageType::kPreVote) {
      Message response;
      response.type = MessageType::kPreVoteResponse;
      response.to = m.from;
      response.reject = true;
      Send(std::move(response));
    }
    return false;
  }
  return true;
}

Status Raft::ValidateMessage(const Message& m) const {
  if (m.to != id_) return InvalidArgument("message addressed to another node");
  if (m.from == kNoNode || m.from == id_) return InvalidArgument("message from an invalid sender");
  for (std::size_t i = 0; i < m.entries.size(); ++i) {
    const Entry& e = m.entries[i];
    if (e.index != m.index + 1 + i) return InvalidArgument("entries are not contiguous");
    if (e.term > m.term || e.term < (i == 0 ? m.log_term : m.entries[i - 1].term)) {
      return InvalidArgument("entry terms are out of order");
    }
  }
  return Status::Ok();
}

Status Raft::Step(Message m) {
  RETURN_IF_ERROR(ValidateMessage(m));
  if (!StepStaleOrNewerTerm(m)) return Status::Ok();
  if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
    StepVoteRequest(m);
    return Status::Ok();
  }
  switch (role_) {
    case Role::kLeader: StepLeader(m); break;
    case Role::kCandidate:
    case Role::kPreCandidate: StepCandidate(m); break;
    case Role::kFollower: StepFollower(m); break;
  }
  return Status::Ok();
}

// ---- Follower and candidate ---------------------------------------------------

void Raft::StepCandidate(Message& m) {
  const MessageType vote_response =
      role_ == Role::kPreCandidate ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // §5.2: a leader of our term exists; return to follower and obey it.
      BecomeFollower(m.term, m.from);
      StepFollower(m);
      return;
    default: break;
  }
  if (m.type != vote_response) return;
  votes_.emplace(m.from, !m.reject);  // the first answer from a node counts
  switch (CountVotes(conf_state_.voters, votes_)) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        StartCampaign(/*pre_vote=*/false, /*transfer=*/false);
      } else {
        BecomeLeader();
      }
      break;
    case VoteResult::kLost:
      BecomeFollower(term_, kNoNode);
      break;
    case VoteResult::kPending: break;
  }
}

void Raft::StepFollower(Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleAppend(m);
      break;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleHeartbeat(m);
      break;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleSnapshotChunk(m);
      break;
    case MessageType::kTimeoutNow:
      // Thesis §3.10: the leader asks us to take over; skip pre-vote and the lease.
      if (Promotable() && !HasUnappliedConfChange()) StartCampaign(false, /*transfer=*/true);
      break;
    case MessageType::kReadIndexResponse:
      if (!m.reject) read_states_.push_back({m.index, m.context});
      break;
    default: break;  // responses meant for a leader we no longer are, etc.
  }
}

void Raft::HandleAppend(Message& m) {
  Message response;
  response.type = MessageType::kAppendResponse;
  response.to = m.from;
  if (m.index < log_.committed()) {
    // Everything up to commit already matches; tell the leader where we are.
    response.index = log_.committed();
    Send(std::move(response));
    return;
  }
  if (std::optional<Index> last = log_.MaybeAppend(m.index, m.log_term, m.commit, std::move(m.entries))) {
    response.index = *last;
    Send(std::move(response));
    return;
  }
  // §5.3 with fast back-off: point the leader at the last entry we hold whose term
  // is at most the term it probed with, so it skips a whole conflicting term at once.
  auto [hint_index, hint_term] =
      log_.FindConflictByTerm(std::min(m.index, log_.LastIndex()), m.log_term);
  response.index = m.index;
  response.reject = true;
  response.reject_hint = hint_index;
  response.reject_hint_term = hint_term;
  Send(std::move(response));
}

void Raft::HandleHeartbeat(const Message& m) {
  log_.CommitTo(std::min(m.commit, log_.LastIndex()));
  Message response;
  response.type = MessageType::kHeartbeatResponse;
  response.to = m.from;
  response.read_round = m.read_round;
  Send(std::move(response));
}

void Raft::HandleSnapshotChunk(const Message& m) {
  const SnapshotMetadata& metadata = m.snapshot.metadata;
  Message response;
  response.to = m.from;
  if (metadata.index <= log_.committed()) {
    // Nothing to learn from it: we are already past it.
    receiving_snapshot_.reset();
    response.type = MessageType::kAppendResponse;
    response.index = log_.committed();
    Send(std::move(response));
    return;
  }
  response.type = MessageType::kSnapshotResponse;
  response.index = metadata.index;
  const bool same_snapshot = receiving_snapshot_ && receiving_snapshot_->metadata == metadata;
  if (m.snapshot_offset == 0 && !same_snapshot) receiving_snapshot_ = Snapshot{metadata, ""};
  if (!receiving_snapshot_ || receiving_snapshot_->metadata != metadata ||
      m.snapshot_offset != receiving_snapshot_->data.size()) {
    // Out of order, duplicated, or for another snapshot: say what we have.
    const bool same = receiving_snapshot_ && receiving_snapshot_->metadata == metadata;
    response.snapshot_offset = same ? receiving_snapshot_->data.size() : 0;
    Send(std::move(response));
    return;
  }
  receiving_snapshot_->data += m.snapshot.data;
  response.snapshot_offset = receiving_snapshot_->data.size();
  if (!m.snapshot_done) {
    Send(std::move(response));
    return;
  }
  Snapshot complete = std::move(*receiving_snapshot_);
  receiving_snapshot_.reset();
  response.type = MessageType::kAppendResponse;
  response.snapshot_offset = 0;
  response.index = RestoreSnapshot(std::move(complete)) ? log_.LastIndex() : log_.committed();
  Send(std::move(response));
}

// §7: install a snapshot unless our log already holds its last entry.
bool Raft::RestoreSnapshot(Snapshot snapshot) {
  const SnapshotMetadata& metadata = snapshot.metadata;
  if (log_.MatchTerm(metadata.index, metadata.term)) {
    // Our log contains it: keep the entries after it and just commit up to it.
    log_.CommitTo(metadata.index);
    return false;
  }
  log_.Restore(metadata);
  conf_state_ = metadata.conf_state;
  conf_index_ = metadata.index;
  applied_conf_state_ = metadata.conf_state;
  applied_conf_index_ = metadata.index;
  received_snapshot_ = std::move(snapshot);
  return true;
}

// ---- Time ---------------------------------------------------------------------------

void Raft::Tick() {
  if (role_ == Role::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (Promotable() && election_elapsed_ >= randomized_election_ticks_) {
    election_elapsed_ = 0;
    ResetElectionTimeout();
    (void)Campaign();
  }
}

// ---- Membership ---------------------------------------------------------------------

void Raft::ApplyConfChangeEntry(const Entry& entry) {
  if (entry.index > conf_index_) {
    conf_index_ = entry.index;
    SwitchConf(entry);
  }
  if (entry.index > applied_conf_index_) {
    // Replay the change on the applied membership (it may be behind conf_state_).
    Result<ConfChange> change = DecodeConfChange(entry.data);
    CHECK(change.ok());
    Result<ConfState> next = consensus::ApplyConfChange(applied_conf_state_, *change);
    CHECK(next.ok()) << "applied membership diverged at " << entry.index;
    applied_conf_state_ = std::move(next).value();
    applied_conf_index_ = entry.index;
  }
}

void Raft::SwitchConf(const Entry& entry) {
  // The leader validated the change against the membership of the log before it, and
  // proposes one change at a time, so a committed change always applies. If it does
  // not, this node's membership has diverged and continuing could elect two leaders.
  Result<ConfChange> change = DecodeConfChange(entry.data);
  CHECK(change.ok()) << "node " << id_ << ": undecodable conf change at " << entry.index;
  Result<ConfState> next = ApplyConfChange(conf_state_, *change);
  CHECK(next.ok()) << "node " << id_ << ": conf change at " << entry.index
                   << " does not apply, membership diverged: " << next.status().ToString();
  conf_state_ = std::move(next).value();
  if (role_ != Role::kLeader) return;
  SyncProgressWithConf();
  if (!IsVoter(id_)) {
    StepDownAfterSelfRemoval();
    return;
  }
  if (lead_transferee_ != kNoNode && !IsVoter(lead_transferee_)) AbortLeaderTransfer();
  // The quorum changed: the commit index may move, and reads may complete.
  if (MaybeCommit()) broadcast_pending_ = true;
}

NodeStatus Raft::GetStatus() const {
  NodeStatus status;
  status.id = id_;
  status.hard_state = hard_state();
  status.soft_state = soft_state();
  status.applied = log_.applied();
  status.last_index = log_.LastIndex();
  status.conf_state = conf_state_;
  status.lead_transferee = lead_transferee_;
  for (const auto& [id, progress] : progress_) {
    status.peers[id] = {progress.match(), progress.next(), progress.state(),
                        progress.is_learner(), progress.recent_active()};
  }
  return status;
}

}  // namespace roster::consensus
