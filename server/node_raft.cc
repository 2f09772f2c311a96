// The Raft loop's work: the Ready cycle (persist, send, apply), writes (propose here
// or forward to the leader) and linearizable reads (ReadIndex).
#include <algorithm>
#include <cstdio>

#include "base/check.h"
#include "base/logging.h"
#include "server/node.h"
#include "store/command.h"

namespace roster::server {
namespace {

using internal::kForwardTimeoutMs;

}  // namespace

// ---- Inbox -------------------------------------------------------------------------------

void Node::HandleWork(Work& work) {
  std::visit(
      [this](auto& item) {
        using T = std::decay_t<decltype(item)>;
        if constexpr (std::is_same_v<T, internal::FrameWork>) {
          HandleFrame(item.from, item.frame, item.reply);
        } else if constexpr (std::is_same_v<T, Proposal>) {
          ProposeOrForward(std::move(item));
        } else if constexpr (std::is_same_v<T, internal::ReadWork>) {
          StartReadIndex(std::move(item.waiter));
        } else if constexpr (std::is_same_v<T, internal::ConfChangeWork>) {
          ProposeConfChange(item.change, std::move(item.waiter));
        } else if constexpr (std::is_same_v<T, internal::SnapshotWrittenWork>) {
          FinishSnapshot(item);
        } else if constexpr (std::is_same_v<T, Renewal>) {
          ProcessRenewal(std::move(item));
        } else if constexpr (std::is_same_v<T, HeartbeatRequest>) {
          heartbeats_waiting_.push_back(std::move(item));  // sent on at the loop's end
        }
      },
      work.item);
}

void Node::HandleFrame(const PeerInfo& from, Frame& frame, const Reply& reply) {
  if (auto* message = std::get_if<consensus::Message>(&frame)) {
    if (!raw_node_) return;
    // A server that has not yet applied the log entries naming its peers (it just joined,
    // or it restarted from an old snapshot) can still answer them: their Hello says
    // where they listen.
    const Hello& hello = from.hello;
    if (hello.node_id != consensus::kNoNode && !hello.server_address.empty() &&
        std::find(known_transport_peers_.begin(), known_transport_peers_.end(), hello.node_id) ==
            known_transport_peers_.end()) {
      transport_->AddPeer(hello.node_id, hello.server_address);
      known_transport_peers_.push_back(hello.node_id);
    }
    const bool from_leader = message->type == consensus::MessageType::kAppend ||
                             message->type == consensus::MessageType::kHeartbeat ||
                             message->type == consensus::MessageType::kSnapshot;
    Status status = raw_node_->Step(std::move(*message));
    if (!status.ok()) {
      LOG(WARNING) << "dropped a Raft message from " << from.remote_endpoint << ": "
                   << status.ToString();
    } else if (from_leader) {
      std::lock_guard<std::mutex> lock(status_mutex_);
      last_leader_contact_ms_ = clock_.NowMs();
    }
  } else if (auto* forward = std::get_if<ForwardApply>(&frame)) {
    HandleForwardApply(std::move(*forward), reply);
  } else if (auto* result = std::get_if<ForwardResult>(&frame)) {
    HandleForwardResult(*result);
  } else if (auto* join = std::get_if<Join>(&frame)) {
    HandleJoin(*join, reply);
  } else if (auto* renew = std::get_if<ForwardRenew>(&frame)) {
    HandleForwardRenew(*renew, reply);
  } else if (auto* renewed = std::get_if<ForwardRenewResult>(&frame)) {
    HandleForwardRenewResult(*renewed);
  } else if (auto* heartbeats = std::get_if<ForwardHeartbeats>(&frame)) {
    HandleForwardHeartbeats(*heartbeats, reply);
  } else if (auto* taken = std::get_if<ForwardHeartbeatsResult>(&frame)) {
    HandleForwardHeartbeatsResult(*taken);
  }
}

// ---- Writes ------------------------------------------------------------------------------

void Node::ProposeOrForward(Proposal proposal) {
  const std::int64_t now = clock_.NowMs();
  if (now >= proposal.deadline_ms) {
    CompleteProposal(proposal, Unavailable("No cluster leader"));
    return;
  }
  if (!raw_node_) {
    waiting_for_leader_.push_back(std::move(proposal));
    return;
  }
  if (raw_node_->role() == consensus::Role::kLeader) {
    if (std::optional<http::WriteOutcome> refused = LockDelayRefusal(proposal.command)) {
      // consul-api.md §3.3: refused before Raft, for local and forwarded writes alike.
      CompleteProposal(proposal, std::move(*refused));
      return;
    }
    Result<consensus::ProposalId> id = raw_node_->Propose(proposal.command);
    if (id.ok()) {
      proposal.term = id->term;
      proposals_by_index_[id->index].push_back(std::move(proposal));
      return;
    }
    // Not leader after all, or a leadership transfer: wait for the next leader.
    waiting_for_leader_.push_back(std::move(proposal));
    return;
  }
  const consensus::NodeId leader = raw_node_->leader();
  if (leader == consensus::kNoNode || leader == id_ || !proposal.waiter) {
    // No leader known, or a forwarded command reached a follower: the follower that
    // forwarded it retries, a local caller waits for a leader.
    if (!proposal.waiter) {
      CompleteProposal(proposal, Status(StatusCode::kNotLeader, "not the leader"));
      return;
    }
    waiting_for_leader_.push_back(std::move(proposal));
    return;
  }
  const std::uint64_t request_id = next_request_id_++;
  Status sent = transport_->Send(leader, ForwardApply{request_id, proposal.command});
  if (!sent.ok()) {
    waiting_for_leader_.push_back(std::move(proposal));
    return;
  }
  proposal.forwarded_ms = now;
  proposal.forwarded_to = leader;
  forwarded_.emplace(request_id, std::move(proposal));
}

void Node::CompleteProposal(Proposal& proposal, Result<http::WriteOutcome> result) {
  if (proposal.waiter) {
    {
      std::lock_guard<std::mutex> lock(proposal.waiter->mutex);
      if (result.ok()) proposal.waiter->outcome = *result;
    }
    proposal.waiter->Finish(result.ok() ? Status::Ok() : result.status());
    return;
  }
  ForwardResult reply;
  reply.request_id = proposal.request_id;
  if (result.ok()) {
    reply.ok = result->ok;
    reply.index = result->index;
    reply.entry = std::move(result->entry);
    reply.txn = std::move(result->txn);
  } else {
    reply.status_code = result.status().code();
    reply.message = result.status().message();
  }
  (void)proposal.reply.Send(reply);  // a lost reply makes the follower time out
}

void Node::CompleteApplied(Proposal& proposal, consensus::Index index,
                           const store::ApplyResult& result) {
  if (result.error.ok()) {
    CompleteProposal(proposal, http::WriteOutcome{.ok = result.ok, .index = index,
                                                  .entry = result.entry, .txn = result.txn});
    return;
  }
  // Refused at apply ("invalid session", "Missing node registration"): the caller gets
  // FailedPrecondition with the store's text, here or on the follower that forwarded it.
  if (proposal.waiter) {
    CompleteProposal(proposal, Status(StatusCode::kFailedPrecondition, result.error.message()));
    return;
  }
  ForwardResult reply;
  reply.request_id = proposal.request_id;
  reply.ok = false;
  reply.index = index;
  // A refusal always has a text: the follower tells refused from applied by it.
  reply.refused = result.error.message().empty() ? "refused at apply" : result.error.message();
  (void)proposal.reply.Send(reply);
}

void Node::HandleForwardApply(ForwardApply request, const Reply& reply) {
  Proposal proposal;
  proposal.reply = reply;
  proposal.request_id = request.request_id;
  proposal.deadline_ms = clock_.NowMs() + options_.commit_wait_ms;
  Result<store::Command> decoded = store::Decode(request.command);
  if (!decoded.ok()) {
    CompleteProposal(proposal, InvalidArgument(decoded.status().message()));
    return;
  }
  proposal.command = std::move(request.command);
  if (!raw_node_ || raw_node_->role() != consensus::Role::kLeader) {
    CompleteProposal(proposal, Status(StatusCode::kNotLeader, "not the leader"));
    return;
  }
  ProposeOrForward(std::move(proposal));
}

void Node::HandleForwardResult(const ForwardResult& result) {
  auto it = forwarded_.find(result.request_id);
  if (it == forwarded_.end()) return;  // timed out already
  Proposal proposal = std::move(it->second);
  forwarded_.erase(it);
  if (result.status_code == StatusCode::kNotLeader) {
    waiting_for_leader_.push_back(std::move(proposal));  // retried once a leader is known
    return;
  }
  if (result.status_code != StatusCode::kOk) {
    CompleteProposal(proposal, Status(result.status_code, result.message));
    return;
  }
  if (!result.refused.empty()) {
    CompleteProposal(proposal, Status(StatusCode::kFailedPrecondition, result.refused));
    return;
  }
  CompleteProposal(proposal, http::WriteOutcome{.ok = result.ok, .index = result.index,
                                                .entry = result.entry, .txn = result.txn});
}

void Node::ProposeConfChange(const consensus::ConfChange& change, std::shared_ptr<Waiter> waiter) {
  if (!raw_node_ || raw_node_->role() != consensus::Role::kLeader) {
    waiter->Finish(Status(StatusCode::kNotLeader, "not the leader"));
    return;
  }
  Result<consensus::ProposalId> id = raw_node_->ProposeConfChange(change);
  if (!id.ok()) {
    waiter->Finish(id.status());
    return;
  }
  Proposal proposal;
  proposal.waiter = std::move(waiter);
  proposal.term = id->term;
  proposal.deadline_ms = clock_.NowMs() + options_.commit_wait_ms;
  proposals_by_index_[id->index].push_back(std::move(proposal));
}

// ---- Reads -------------------------------------------------------------------------------

void Node::StartReadIndex(std::shared_ptr<Waiter> waiter) {
  if (!raw_node_) {
    reads_waiting_for_leader_.push_back(std::move(waiter));
    return;
  }
  if (waiter->context.empty()) {
    char context[32];
    std::snprintf(context, sizeof(context), "%016llx",
                  static_cast<unsigned long long>(random_.Next()));
    waiter->context = context;
  }
  Status status = raw_node_->ReadIndex(waiter->context, waiter->read_policy);
  if (!status.ok()) {
    reads_waiting_for_leader_.push_back(std::move(waiter));
    return;
  }
  waiter->issued_ms = clock_.NowMs();
  reads_by_context_[waiter->context] = std::move(waiter);
}

void Node::ReleaseReads() {
  while (!reads_by_index_.empty() && reads_by_index_.begin()->first <= applied_index_) {
    reads_by_index_.begin()->second->Finish(Status::Ok());
    reads_by_index_.erase(reads_by_index_.begin());
  }
}

// ---- Time-outs and retries -------------------------------------------------------------

void Node::ExpireWaits() {
  const std::int64_t now = clock_.NowMs();
  const bool leader_known = raw_node_ && raw_node_->leader() != consensus::kNoNode;
  if (leader_known) {
    std::deque<Proposal> waiting;
    waiting.swap(waiting_for_leader_);
    for (Proposal& proposal : waiting) ProposeOrForward(std::move(proposal));
    std::deque<std::shared_ptr<Waiter>> reads;
    reads.swap(reads_waiting_for_leader_);
    for (auto& read : reads) StartReadIndex(std::move(read));
  } else {
    for (auto it = waiting_for_leader_.begin(); it != waiting_for_leader_.end();) {
      if (now < it->deadline_ms) {
        ++it;
        continue;
      }
      CompleteProposal(*it, Unavailable("No cluster leader"));
      it = waiting_for_leader_.erase(it);
    }
    for (auto it = reads_waiting_for_leader_.begin(); it != reads_waiting_for_leader_.end();) {
      if (now < (*it)->deadline_ms) {
        ++it;
        continue;
      }
      (*it)->Finish(Unavailable("No cluster leader"));
      it = reads_waiting_for_leader_.erase(it);
    }
  }
  // A forwarded write whose leader went silent or lost leadership: its fate cannot be
  // known here, and retrying could apply it twice (a CAS, say), so say so at once.
  const consensus::NodeId leader = raw_node_ ? raw_node_->leader() : consensus::kNoNode;
  for (auto it = forwarded_.begin(); it != forwarded_.end();) {
    const bool leader_changed = leader != it->second.forwarded_to;
    if (!leader_changed && now - it->second.forwarded_ms < kForwardTimeoutMs) {
      ++it;
      continue;
    }
    CompleteProposal(it->second,
                     Unavailable(leader_changed
                                     ? "the leader changed before answering; the write may "
                                       "or may not have been applied"
                                     : "the leader did not answer in time; the write may or "
                                       "may not have been applied"));
    it = forwarded_.erase(it);
  }
  for (auto& [index, proposals] : proposals_by_index_) {
    for (auto it = proposals.begin(); it != proposals.end();) {
      if (now < it->deadline_ms) {
        ++it;
        continue;
      }
      CompleteProposal(*it, Unavailable("timed out waiting for the write to commit; it may "
                                        "or may not be applied"));
      it = proposals.erase(it);
    }
  }
  std::erase_if(proposals_by_index_, [](const auto& item) { return item.second.empty(); });
  // A ReadIndex request can be lost with a leader; ask again after an election timeout.
  const std::int64_t retry_ms = 2LL * options_.election_ticks * options_.tick_ms;
  for (auto it = reads_by_context_.begin(); it != reads_by_context_.end();) {
    std::shared_ptr<Waiter> waiter = it->second;
    if (now >= waiter->deadline_ms) {
      waiter->Finish(Unavailable("No cluster leader"));
      it = reads_by_context_.erase(it);
    } else if (now - waiter->issued_ms >= retry_ms) {
      it = reads_by_context_.erase(it);
      StartReadIndex(std::move(waiter));
    } else {
      ++it;
    }
  }
}

void Node::FailEverything(const Status& status) {
  FailRenewals(status);
  FailHeartbeats(status);
  for (Proposal& proposal : waiting_for_leader_) CompleteProposal(proposal, status);
  for (auto& [id, proposal] : forwarded_) CompleteProposal(proposal, status);
  for (auto& [index, proposals] : proposals_by_index_) {
    for (Proposal& proposal : proposals) CompleteProposal(proposal, status);
  }
  for (auto& waiter : reads_waiting_for_leader_) waiter->Finish(status);
  for (auto& [context, waiter] : reads_by_context_) waiter->Finish(status);
  for (auto& [index, waiter] : reads_by_index_) waiter->Finish(status);
  waiting_for_leader_.clear();
  forwarded_.clear();
  proposals_by_index_.clear();
  reads_waiting_for_leader_.clear();
  reads_by_context_.clear();
  reads_by_index_.clear();
}

}  // namespace roster::server
