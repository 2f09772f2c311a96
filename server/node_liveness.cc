// Node liveness on the server (docs/design/server.md, "Node liveness"): agents'
// heartbeats and graceful leaves travel to the leader (batched by each follower into
// one ForwardHeartbeats frame per loop turn; never a Raft write on the way), where
// NodeLiveness (server/liveness.h) turns them, and the silence of nodes that stopped,
// into catalog commands. Every server also heartbeats its own node through the same
// path, so a killed server's node turns critical like any other.
//
// Threads: Heartbeat, LeaveNode and Members run on HTTP workers; the first two hand
// their work to the loop and wait. Everything else here runs on the Raft loop, the
// store's only writer, which so reads it without the lock.
#include <algorithm>
#include <string_view>

#include "base/check.h"
#include "base/logging.h"
#include "base/version.h"
#include "server/node.h"
#include "store/command.h"

namespace roster::server {
namespace {

// As for renewals: a batch the leader has not acknowledged by then is sent again
// (repeating a heartbeat or a leave is harmless).
using internal::kForwardTimeoutMs;
// This server's own heartbeats: often enough that a couple may be lost within the
// failure timeout, at most as often as the agents' ~2 s.
constexpr std::int64_t kSelfHeartbeatIntervalMsMax = 2000;
constexpr std::int64_t kSelfHeartbeatIntervalMsMin = 100;

bool IsCommandType(std::string_view data, store::CommandType type) {
  return !data.empty() && static_cast<std::uint8_t>(data[0]) == static_cast<std::uint8_t>(type);
}

}  // namespace

// ---- Backend -------------------------------------------------------------------------

// Hands a heartbeat or a leave to the loop and waits for its answer.
Status Node::RunHeartbeatRequest(HeartbeatRequest request) {
  auto waiter = std::make_shared<Waiter>();
  const std::int64_t now = clock_.NowMs();
  request.waiter = waiter;
  request.deadline_ms = now + options_.leader_wait_ms;
  Enqueue(Work{std::move(request)});
  return WaitForLoop(*waiter, now);
}

Result<http::NodeHeartbeatReply> Node::Heartbeat(const http::NodeHeartbeat& heartbeat) {
  HeartbeatRequest request;
  request.heartbeat = heartbeat;
  RETURN_IF_ERROR(RunHeartbeatRequest(std::move(request)));
  return http::NodeHeartbeatReply{.failure_timeout_ms = options_.failure_timeout_ms};
}

Status Node::LeaveNode(const std::string& node) {
  // First the leader forgets the node's timers and lists it as left, so that its
  // failure timer cannot mark it critical meanwhile; then the deregistration commits.
  HeartbeatRequest request;
  request.leave = node;
  RETURN_IF_ERROR(RunHeartbeatRequest(std::move(request)));
  Result<http::WriteOutcome> removed =
      Apply(store::Encode(store::CatalogDeregister{.node = node, .check_id = ""}));
  return removed.ok() ? Status::Ok() : removed.status();
}

Result<std::vector<http::AgentMember>> Node::Members() {
  std::vector<LeftNode> left;
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    left = left_nodes_;
  }
  std::shared_lock<std::shared_mutex> lock(store_mutex_);
  return MembersOf(store_.catalog(), left, SelfInfo{}.datacenter, std::string(kRosterVersion));
}

// ---- Loop: getting heartbeats to the leader -----------------------------------------

// Every loop turn: batches the leader did not answer go back in line; what waits goes
// to the leader's timers (here, or in one frame to the leader), or fails once its
// deadline passed without a leader.
void Node::FlushHeartbeats() {
  const std::int64_t now = clock_.NowMs();
  const consensus::NodeId leader = raw_node_ ? raw_node_->leader() : consensus::kNoNode;
  RetryForwardedHeartbeats(now, leader);
  for (auto it = heartbeats_waiting_.begin(); it != heartbeats_waiting_.end();) {
    if (now < it->deadline_ms) {
      ++it;
      continue;
    }
    CompleteHeartbeat(*it, Unavailable("No cluster leader"));
    it = heartbeats_waiting_.erase(it);
  }
  if (heartbeats_waiting_.empty() || leader == consensus::kNoNode) return;
  if (raw_node_->role() == consensus::Role::kLeader) {
    for (HeartbeatRequest& request : heartbeats_waiting_) {
      HeartbeatOnLeader(request, now);
      CompleteHeartbeat(request, Status::Ok());
    }
    heartbeats_waiting_.clear();
    return;
  }
  ForwardHeartbeats batch;
  batch.request_id = next_request_id_;
  for (const HeartbeatRequest& request : heartbeats_waiting_) {
    if (request.leave.empty()) {
      batch.heartbeats.push_back(request.heartbeat);
    } else {
      batch.leaves.push_back(request.leave);
    }
  }
  if (leader == id_ || !transport_->Send(leader, batch).ok()) return;  // next turn
  ++next_request_id_;
  HeartbeatBatch& forwarded = heartbeats_forwarded_[batch.request_id];
  forwarded.requests.assign(std::make_move_iterator(heartbeats_waiting_.begin()),
                            std::make_move_iterator(heartbeats_waiting_.end()));
  forwarded.forwarded_to = leader;
  forwarded.forwarded_ms = now;
  heartbeats_waiting_.clear();
}

void Node::RetryForwardedHeartbeats(std::int64_t now_ms, consensus::NodeId leader) {
  for (auto it = heartbeats_forwarded_.begin(); it != heartbeats_forwarded_.end();) {
    HeartbeatBatch& batch = it->second;
    if (leader == batch.forwarded_to && now_ms - batch.forwarded_ms < kForwardTimeoutMs) {
      ++it;
      continue;
    }
    for (HeartbeatRequest& request : batch.requests) {
      heartbeats_waiting_.push_back(std::move(request));
    }
    it = heartbeats_forwarded_.erase(it);
  }
}

void Node::CompleteHeartbeat(HeartbeatRequest& request, const Status& status) {
  if (request.waiter) request.waiter->Finish(status);
}

void Node::HeartbeatOnLeader(const HeartbeatRequest& request, std::int64_t now_ms) {
  if (!request.leave.empty()) {
    liveness_.Leave(request.leave, store_.catalog(), now_ms);
    LOG(INFO) << "node " << request.leave << " leaves the cluster";
    PublishLeftNodes();
    return;
  }
  std::optional<store::CatalogRegister> registration =
      liveness_.Heartbeat(request.heartbeat, store_.catalog(), now_ms);
  if (!registration) return;
  // Nobody waits on it: if it is lost, a later heartbeat proposes it again.
  Result<consensus::ProposalId> proposed = raw_node_->Propose(store::Encode(*registration));
  if (proposed.ok()) {
    LOG(DEBUG) << "node " << registration->node << " is alive: registering it at index "
               << proposed->index;
  } else {
    LOG(WARNING) << "cannot propose the registration of node " << registration->node
                 << " yet (" << proposed.status().ToString() << ")";
  }
}

void Node::HandleForwardHeartbeats(const ForwardHeartbeats& batch, const Reply& reply) {
  ForwardHeartbeatsResult result{.request_id = batch.request_id,
                                 .status_code = StatusCode::kOk,
                                 .message = ""};
  if (!raw_node_ || raw_node_->role() != consensus::Role::kLeader) {
    result.status_code = StatusCode::kNotLeader;
    result.message = "not the leader";
    (void)reply.Send(result);
    return;
  }
  const std::int64_t now = clock_.NowMs();
  HeartbeatRequest request;
  for (const http::NodeHeartbeat& heartbeat : batch.heartbeats) {
    request.heartbeat = heartbeat;
    HeartbeatOnLeader(request, now);
  }
  request.heartbeat = {};
  for (const std::string& node : batch.leaves) {
    request.leave = node;
    HeartbeatOnLeader(request, now);
  }
  (void)reply.Send(result);  // a lost reply makes the follower send them again
}

void Node::HandleForwardHeartbeatsResult(const ForwardHeartbeatsResult& result) {
  auto it = heartbeats_forwarded_.find(result.request_id);
  if (it == heartbeats_forwarded_.end()) return;  // sent again already
  std::vector<HeartbeatRequest> requests = std::move(it->second.requests);
  heartbeats_forwarded_.erase(it);
  for (HeartbeatRequest& request : requests) {
    if (result.status_code == StatusCode::kNotLeader) {
      heartbeats_waiting_.push_back(std::move(request));  // once a leader is known
    } else {
      CompleteHeartbeat(request, Status(result.status_code, result.message));
    }
  }
}

void Node::FailHeartbeats(const Status& status) {
  for (HeartbeatRequest& request : heartbeats_waiting_) CompleteHeartbeat(request, status);
  for (auto& [id, batch] : heartbeats_forwarded_) {
    for (HeartbeatRequest& request : batch.requests) CompleteHeartbeat(request, status);
  }
  heartbeats_waiting_.clear();
  heartbeats_forwarded_.clear();
}

// ---- Loop: the leader's timers ------------------------------------------------------

// What an applied catalog entry means for the leader's timers.
void Node::TrackLiveness(const consensus::Entry& entry, const store::ApplyResult& result) {
  if (raw_node_->role() != consensus::Role::kLeader ||
      entry.type != consensus::EntryType::kNormal || !result.error.ok() ||
      !(IsCommandType(entry.data, store::CommandType::kCatalogRegister) ||
        IsCommandType(entry.data, store::CommandType::kCatalogDeregister))) {
    return;
  }
  Result<store::Command> command = store::Decode(entry.data);
  CHECK(command.ok()) << "an applied entry does not decode at " << entry.index;
  liveness_.Applied(*command, clock_.NowMs());
}

// Every loop: timers exist only while leading; each new term restarts them all with a
// full period once this leader's state is the leader's state; once per tick, the
// commands of nodes whose timers ran out are proposed, a bounded number at once.
void Node::MaybeDriveLiveness() {
  if (raw_node_->role() != consensus::Role::kLeader) {
    if (liveness_term_ != 0) {
      liveness_.Clear();
      liveness_term_ = 0;
      PublishLeftNodes();
    }
    return;
  }
  const std::int64_t now = clock_.NowMs();
  if (liveness_term_ != raw_node_->term()) {
    // Before its own first entry applied, this leader's catalog may lack nodes.
    if (!leader_ready_for_reads_) return;
    liveness_.Restart(store_.catalog(), now);
    liveness_term_ = raw_node_->term();
    LOG(INFO) << "leading in term " << liveness_term_ << ": restarted the liveness timers of "
              << liveness_.tracked() << " node(s)";
  }
  if (now < next_liveness_ms_) return;
  next_liveness_ms_ = now + options_.tick_ms;
  const std::vector<store::Command> due = liveness_.TakeDue(
      store_.catalog(), now, static_cast<std::size_t>(options_.liveness_commands_per_tick_max));
  for (const store::Command& command : due) {
    const bool reap = std::holds_alternative<store::CatalogDeregister>(command);
    const std::string& node = reap ? std::get<store::CatalogDeregister>(command).node
                                   : std::get<store::CatalogRegister>(command).node;
    // Nobody waits: a lost command comes back from its timer after the retry time.
    Result<consensus::ProposalId> proposed = raw_node_->Propose(store::Encode(command));
    if (!proposed.ok()) {
      LOG(WARNING) << "cannot propose the " << (reap ? "reaping" : "failure") << " of node "
                   << node << " yet (" << proposed.status().ToString() << "); will retry";
    } else if (reap) {
      LOG(INFO) << "node " << node << " failed for the reconnect timeout: reaping it at index "
                << proposed->index;
    } else {
      LOG(INFO) << "node " << node << " missed its heartbeats: serfHealth critical at index "
                << proposed->index;
    }
  }
  if (!due.empty() || !left_nodes_.empty()) PublishLeftNodes();
}

void Node::PublishLeftNodes() {
  std::vector<LeftNode> left = liveness_.left();
  std::lock_guard<std::mutex> lock(status_mutex_);
  left_nodes_ = std::move(left);
}

// ---- Loop: this server's own heartbeat -----------------------------------------------

// Every interval, this server's node heartbeats through the path agents use, so the
// leader covers servers too. If its node was reaped meanwhile (a long partition), the
// service "consul" went with it: registering itself again brings it back.
void Node::MaybeHeartbeatSelf() {
  const std::int64_t now = clock_.NowMs();
  if (now < next_self_heartbeat_ms_) return;
  const std::int64_t interval_ms = std::clamp(options_.failure_timeout_ms / 4,
                                              kSelfHeartbeatIntervalMsMin,
                                              kSelfHeartbeatIntervalMsMax);
  next_self_heartbeat_ms_ = now + interval_ms;
  if (registered_ && !registration_ &&
      store_.catalog().FindService(options_.node_name, "consul") == nullptr) {
    registered_ = false;
  }
  HeartbeatRequest request;
  request.heartbeat = http::NodeHeartbeat{.node = options_.node_name,
                                          .id = catalog_node_id(),
                                          .address = options_.bind_address,
                                          .meta = std::nullopt};
  request.deadline_ms = now + interval_ms;
  heartbeats_waiting_.push_back(std::move(request));
}

}  // namespace roster::server
