// Sessions and liveness on the server: the leader's session TTL timers and lock-delays
// (consul-api.md §3.2, §3.3), session renewals (forwarded to the leader over the peer
// transport, never a Raft write), and this server's own registration in the catalog
// with a passing serfHealth check, so that sessions created through it have a node, and
// as service "consul".
//
// Threads: RenewSession runs on HTTP workers and hands its work to the loop; everything
// else here runs on the Raft loop, which is the store's only writer and so reads it
// without the lock. Design notes: docs/design/server.md ("Sessions").
#include <algorithm>
#include <optional>
#include <string_view>

#include "base/check.h"
#include "base/logging.h"
#include "server/node.h"
#include "store/command.h"
#include "store/txn.h"

namespace roster::server {
namespace {

// As for forwarded writes (node_raft.cc): a leader that has not answered by then is
// asked again (a renewal, unlike a write, is safe to repeat).
using internal::kForwardTimeoutMs;
constexpr std::int64_t kRegistrationRetryMs = 1000;

// Consul's SessionTTLMultiplier: a session never ends before its TTL, and a renewal
// that is a little late is forgiven (consul-api.md §3.2).
constexpr std::int64_t kSessionTtlMultiplier = 2;

std::int64_t SessionDeadlineMs(std::uint64_t ttl_ms, std::int64_t now_ms) {
  return now_ms + kSessionTtlMultiplier * static_cast<std::int64_t>(ttl_ms);
}

bool IsCommandType(std::string_view data, store::CommandType type) {
  return !data.empty() && static_cast<std::uint8_t>(data[0]) == static_cast<std::uint8_t>(type);
}

}  // namespace

// ---- Backend: renewals ---------------------------------------------------------------

Result<store::Session> Node::RenewSession(const std::string& id) {
  auto waiter = std::make_shared<Waiter>();
  const std::int64_t now = clock_.NowMs();
  Renewal renewal;
  renewal.session_id = id;
  renewal.waiter = waiter;
  renewal.deadline_ms = now + options_.leader_wait_ms;
  Enqueue(Work{std::move(renewal)});
  RETURN_IF_ERROR(WaitForLoop(*waiter, now));
  std::lock_guard<std::mutex> lock(waiter->mutex);
  return waiter->session;
}

// The loop answers a request queued at `queued_ms` by its deadline (leader_wait_ms), or
// once a request forwarded just before it has had its answer or its time-out.
Status Node::WaitForLoop(Waiter& waiter, std::int64_t queued_ms) {
  if (!waiter.WaitUntil(internal::SteadyAt(queued_ms + options_.leader_wait_ms +
                                           kForwardTimeoutMs + 1000))) {
    return Unavailable("No cluster leader");
  }
  std::lock_guard<std::mutex> lock(waiter.mutex);
  return waiter.status;
}

// ---- Loop: renewals --------------------------------------------------------------------

void Node::ProcessRenewal(Renewal renewal) {
  if (clock_.NowMs() >= renewal.deadline_ms) {
    CompleteRenewal(renewal, Unavailable("No cluster leader"));
    return;
  }
  if (!raw_node_) {
    renewals_waiting_.push_back(std::move(renewal));
    return;
  }
  if (raw_node_->role() == consensus::Role::kLeader) {
    // A new leader answers once it has applied its own first entry: before that its
    // store may lack a session the previous leader created.
    if (!leader_ready_for_reads_) {
      renewals_waiting_.push_back(std::move(renewal));
      return;
    }
    CompleteRenewal(renewal, RenewOnLeader(renewal.session_id));
    return;
  }
  if (!renewal.waiter) {  // forwarded here, but this node no longer leads
    CompleteRenewal(renewal, Status(StatusCode::kNotLeader, "not the leader"));
    return;
  }
  const consensus::NodeId leader = raw_node_->leader();
  const std::uint64_t request_id = next_request_id_;
  if (leader == consensus::kNoNode || leader == id_ ||
      !transport_->Send(leader, ForwardRenew{request_id, renewal.session_id}).ok()) {
    renewals_waiting_.push_back(std::move(renewal));
    return;
  }
  ++next_request_id_;
  renewal.forwarded_ms = clock_.NowMs();
  renewal.forwarded_to = leader;
  renewals_forwarded_.emplace(request_id, std::move(renewal));
}

Result<store::Session> Node::RenewOnLeader(const std::string& session_id) {
  const store::Session* session = store_.sessions().Find(session_id);
  if (session == nullptr) return NotFound("Session id '" + session_id + "' not found");
  if (session->ttl_ms > 0) {
    session_timers_.Set(session_id, SessionDeadlineMs(session->ttl_ms, clock_.NowMs()));
  }
  return *session;
}

void Node::CompleteRenewal(Renewal& renewal, Result<store::Session> result) {
  if (renewal.waiter) {
    {
      std::lock_guard<std::mutex> lock(renewal.waiter->mutex);
      if (result.ok()) renewal.waiter->session = *result;
    }
    renewal.waiter->Finish(result.ok() ? Status::Ok() : result.status());
    return;
  }
  ForwardRenewResult reply;
  reply.request_id = renewal.request_id;
  if (result.ok()) {
    reply.session = std::move(result).value();
  } else {
    reply.status_code = result.status().code();
    reply.message = result.status().message();
  }
  (void)renewal.reply.Send(reply);  // a lost reply makes the follower ask again
}

void Node::HandleForwardRenew(const ForwardRenew& request, const Reply& reply) {
  Renewal renewal;
  renewal.session_id = request.session_id;
  renewal.reply = reply;
  renewal.request_id = request.request_id;
  renewal.deadline_ms = clock_.NowMs() + options_.leader_wait_ms;
  if (!raw_node_ || raw_node_->role() != consensus::Role::kLeader) {
    CompleteRenewal(renewal, Status(StatusCode::kNotLeader, "not the leader"));
    return;
  }
  ProcessRenewal(std::move(renewal));
}

void Node::HandleForwardRenewResult(const ForwardRenewResult& result) {
  auto it = renewals_forwarded_.find(result.request_id);
  if (it == renewals_forwarded_.end()) return;  // asked again already, or timed out
  Renewal renewal = std::move(it->second);
  renewals_forwarded_.erase(it);
  if (result.status_code == StatusCode::kNotLeader) {
    renewals_waiting_.push_back(std::move(renewal));  // asked again once a leader is known
  } else if (result.status_code != StatusCode::kOk) {
    CompleteRenewal(renewal, Status(result.status_code, result.message));
  } else {
    CompleteRenewal(renewal, result.session);
  }
}

// Every loop: renewals waiting for a leader go on once one is known; renewals whose
// leader changed or went silent are asked again (repeating one is harmless).
void Node::RetryRenewals() {
  const std::int64_t now = clock_.NowMs();
  const consensus::NodeId leader = raw_node_ ? raw_node_->leader() : consensus::kNoNode;
  std::vector<Renewal> retry;
  for (auto it = renewals_forwarded_.begin(); it != renewals_forwarded_.end();) {
    if (leader == it->second.forwarded_to && now - it->second.forwarded_ms < kForwardTimeoutMs) {
      ++it;
      continue;
    }
    retry.push_back(std::move(it->second));
    it = renewals_forwarded_.erase(it);
  }
  std::deque<Renewal> waiting;
  waiting.swap(renewals_waiting_);
  for (Renewal& renewal : waiting) {
    if (leader == consensus::kNoNode && now < renewal.deadline_ms) {
      renewals_waiting_.push_back(std::move(renewal));
    } else {
      retry.push_back(std::move(renewal));
    }
  }
  for (Renewal& renewal : retry) ProcessRenewal(std::move(renewal));
}

void Node::FailRenewals(const Status& status) {
  for (Renewal& renewal : renewals_waiting_) CompleteRenewal(renewal, status);
  for (auto& [id, renewal] : renewals_forwarded_) CompleteRenewal(renewal, status);
  renewals_waiting_.clear();
  renewals_forwarded_.clear();
}

// ---- Loop: TTL timers and lock-delay on the leader --------------------------------------

// What an applied entry means for the leader's timers and lock-delays.
void Node::TrackSessions(const consensus::Entry& entry, const store::ApplyResult& result) {
  if (raw_node_->role() != consensus::Role::kLeader) return;
  const std::int64_t now = clock_.NowMs();
  for (const store::InvalidatedSession& ended : result.invalidated_sessions) {
    session_timers_.Remove(ended.id);
    const auto delay_ms = static_cast<std::int64_t>(
        std::min<std::uint64_t>(ended.lock_delay_ms, LockDelays::kDelayMsMax));
    for (const std::string& key : ended.keys) lock_delays_.Start(key, delay_ms, now);
  }
  if (entry.type != consensus::EntryType::kNormal || !result.error.ok() ||
      !IsCommandType(entry.data, store::CommandType::kSessionCreate)) {
    return;
  }
  Result<store::Command> command = store::Decode(entry.data);
  CHECK(command.ok()) << "an applied entry does not decode at " << entry.index;
  const store::Session& session = std::get<store::SessionCreate>(*command).session;
  if (session.ttl_ms > 0) {
    session_timers_.Set(session.id, SessionDeadlineMs(session.ttl_ms, now));
  }
}

// A KV acquire, or a transaction with `lock` ops, on a key under lock-delay: refused
// before Raft (consul-api.md §3.3), with the answer Consul gives. An acquire is a soft
// `false`; a transaction fails whole, one error per delayed lock op (Consul's preCheck),
// so the HTTP side answers 409. nullopt when the command may be proposed.
std::optional<http::WriteOutcome> Node::LockDelayRefusal(const std::string& command) {
  if (lock_delays_.size() == 0 || !(IsCommandType(command, store::CommandType::kKvLock) ||
                                    IsCommandType(command, store::CommandType::kTxn))) {
    return std::nullopt;
  }
  Result<store::Command> decoded = store::Decode(command);
  if (!decoded.ok()) return std::nullopt;  // Apply and HandleForwardApply decoded it already
  const std::int64_t now = clock_.NowMs();
  const auto delayed = [&](std::string_view key) { return lock_delays_.Active(key, now); };
  http::WriteOutcome refused{
      .ok = false, .index = applied_index_, .entry = std::nullopt, .txn = {}};
  if (const auto* lock = std::get_if<store::KvLock>(&*decoded)) {
    if (!delayed(lock->key)) return std::nullopt;
    return refused;
  }
  refused.txn = store::CheckLockDelays(std::get<store::Txn>(*decoded), delayed);
  if (refused.txn.ok()) return std::nullopt;
  return refused;
}

// Every loop: timers exist only while leading; each new term starts them all afresh;
// once per tick, sessions whose timer lapsed are invalidated, a bounded number at once.
void Node::MaybeExpireSessions() {
  if (raw_node_->role() != consensus::Role::kLeader) {
    // Cheap when empty; unconditional, as an entry applied in a term that ended before
    // this ran may have left some.
    session_timers_.Clear();
    lock_delays_.Clear();
    session_timers_term_ = 0;
    return;
  }
  const std::int64_t now = clock_.NowMs();
  if (session_timers_term_ != raw_node_->term()) {
    RestartSessionTimers(now);
    session_timers_term_ = raw_node_->term();
  }
  if (now < next_session_expiry_ms_) return;
  next_session_expiry_ms_ = now + options_.tick_ms;
  lock_delays_.Prune(now);
  const std::vector<std::string> expired = session_timers_.TakeExpired(
      now, static_cast<std::size_t>(options_.session_invalidations_per_tick_max));
  for (const std::string& id : expired) {
    if (store_.sessions().Find(id) == nullptr) {
      session_timers_.Remove(id);  // ended meanwhile; nothing to invalidate
      continue;
    }
    // Nobody waits on the result. If it is lost, the timer hands the session out
    // again after the retry time; once it applies, TrackSessions drops the timer.
    Result<consensus::ProposalId> proposed =
        raw_node_->Propose(store::Encode(store::SessionInvalidate{id}));
    if (proposed.ok()) {
      LOG(INFO) << "session " << id << " missed its TTL: invalidating it at index "
                << proposed->index;
    } else {
      LOG(WARNING) << "cannot propose the invalidation of session " << id << " yet ("
                   << proposed.status().ToString() << "); will retry";
    }
  }
}

// Leadership begins: the previous leader's deadlines are unknown, so every session
// with a TTL gets a full TTL × 2 from now (consul-api.md §3.2).
void Node::RestartSessionTimers(std::int64_t now_ms) {
  session_timers_.Clear();
  for (const auto& [id, session] : store_.sessions().sessions()) {
    if (session.ttl_ms > 0) {
      session_timers_.Set(id, SessionDeadlineMs(session.ttl_ms, now_ms));
    }
  }
  LOG(INFO) << "leading in term " << raw_node_->term() << ": restarted the TTL timers of "
            << session_timers_.size() << " session(s)";
}

// ---- Loop: registering this server in the catalog ------------------------------------

// Once a leader is known, commits this server's node with a passing serfHealth check and
// its service "consul" through the write path, retrying until it applies. Done once per
// process: an identical registration after a restart changes nothing in the store.
void Node::MaybeRegisterSelf() {
  if (registered_) return;
  const std::int64_t now = clock_.NowMs();
  if (registration_) {
    Status status;
    {
      std::lock_guard<std::mutex> lock(registration_->mutex);
      if (!registration_->done) return;
      status = registration_->status;
    }
    registration_.reset();
    if (status.ok()) {
      registered_ = true;
      LOG(INFO) << "registered node " << options_.node_name << " in the catalog";
      return;
    }
    LOG(WARNING) << "cannot register node " << options_.node_name
                 << " in the catalog yet: " << status.ToString() << "; retrying";
    next_registration_ms_ = now + kRegistrationRetryMs;
    return;
  }
  if (now < next_registration_ms_ || raw_node_->leader() == consensus::kNoNode) return;
  store::HealthCheck serf_health;
  serf_health.node = options_.node_name;
  serf_health.check_id = "serfHealth";
  serf_health.name = "Serf Health Status";
  serf_health.status = store::HealthStatus::kPassing;
  serf_health.output = "Agent alive and reachable";
  // Consul's servers appear as service "consul" on their server port, which clients
  // (and DNS's consul.service names) look for.
  store::NodeService consul;
  consul.id = "consul";
  consul.service = "consul";
  consul.address = options_.bind_address;
  consul.port = static_cast<std::uint64_t>(transport_->port());
  // Consul's own, plus -bootstrap-expect, which members shows as the "expect" tag.
  consul.meta = {{"expect", std::to_string(options_.bootstrap_expect)},
                 {"raft_version", "3"},
                 {"serf_protocol_current", "2"},
                 {"serf_protocol_max", "5"},
                 {"serf_protocol_min", "1"},
                 {"version", "0.1.0"}};
  store::CatalogRegister command{
      .node = options_.node_name,
      .id = catalog_node_id(),
      .address = options_.bind_address,
      .checks = {std::move(serf_health)},
      .service = std::move(consul),
      // The datacenter a server serves (there is no other yet).
      .datacenter = SelfInfo{}.datacenter,
      .tagged_addresses = store::AgentTaggedAddresses(options_.bind_address)};
  registration_ = std::make_shared<Waiter>();
  Proposal proposal;
  proposal.command = store::Encode(command);
  proposal.waiter = registration_;
  proposal.deadline_ms = now + options_.leader_wait_ms + options_.commit_wait_ms;
  ProposeOrForward(std::move(proposal));
}

}  // namespace roster::server
