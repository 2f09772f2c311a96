// Forming and changing the cluster: -bootstrap-expect discovery, joining a running
// cluster (added as a learner, promoted once caught up), and removing a server.
#include <algorithm>

#include <httplib.h>

#include "base/check.h"
#include "base/logging.h"
#include "server/node.h"

namespace roster::server {
namespace {

constexpr std::int64_t kJoinCallTimeoutMs = 1000;

// Every founding server must derive the same cluster id from the same member set.
std::uint64_t ClusterIdOf(const std::vector<consensus::NodeId>& voters) {
  std::uint64_t hash = 1469598103934665603ULL;  // FNV-1a
  for (consensus::NodeId id : voters) {
    for (int i = 0; i < 8; ++i) {
      hash ^= (id >> (8 * i)) & 0xff;
      hash *= 1099511628211ULL;
    }
  }
  return hash == 0 ? 1 : hash;
}

}  // namespace

Join Node::SelfJoin() const {
  Join self;
  self.node_id = id_;
  self.node_name = options_.node_name;
  self.server_address = server_address();
  self.http_address = options_.advertise_http_address;
  return self;
}

Status Node::StartRaft() {
  consensus::Config config;
  config.id = id_;
  config.storage = storage_.get();
  config.applied = snapshot_index_;
  config.election_ticks = options_.election_ticks;
  config.heartbeat_ticks = options_.heartbeat_ticks;
  config.random_seed = random_.Next();
  Result<std::unique_ptr<consensus::RawNode>> raw_node = consensus::RawNode::Create(config);
  if (!raw_node.ok()) return raw_node.status();
  raw_node_ = std::move(raw_node).value();
  transport_->SetClusterId(cluster_id_);
  UpdateTransportPeers();
  next_tick_ms_ = clock_.NowMs() + options_.tick_ms;
  return Status::Ok();
}

Status Node::Bootstrap(const std::vector<Join>& servers) {
  consensus::ConfState conf_state;
  std::map<consensus::NodeId, std::string> contexts;
  for (const Join& server : servers) {
    conf_state.voters.push_back(server.node_id);
    contexts[server.node_id] =
        EncodePeerAddress({server.node_name, server.server_address, server.http_address});
  }
  std::sort(conf_state.voters.begin(), conf_state.voters.end());
  RETURN_IF_ERROR(storage_->Bootstrap(conf_state, contexts));
  RETURN_IF_ERROR(SaveClusterId(ClusterIdOf(conf_state.voters)));
  LOG(INFO) << "bootstrapped a cluster of " << servers.size() << " server(s)";
  return StartRaft();
}

// Called by the loop every half second until this server has a log.
void Node::TryBootstrapOrJoin() {
  const Join self = SelfJoin();
  std::vector<std::string> own_addresses;
  std::vector<std::string> leaders;
  for (const std::string& address : join_targets_) {
    Result<Frame> answer = transport_->Call(address, Frame(self), kJoinCallTimeoutMs);
    if (IsDialedItself(answer.status())) {
      own_addresses.push_back(address);
      continue;
    }
    if (!answer.ok()) continue;
    const JoinResult* result = std::get_if<JoinResult>(&*answer);
    if (result == nullptr) continue;
    if (result->status_code == StatusCode::kOk) {
      LOG(INFO) << "joined the cluster through " << address;
      Status status = SaveClusterId(result->cluster_id);
      if (status.ok()) status = StartRaft();
      if (!status.ok()) LOG(ERROR) << "cannot start after joining: " << status.ToString();
      return;
    }
    if (result->status_code == StatusCode::kNotLeader && !result->message.empty()) {
      leaders.push_back(result->message);  // the leader's address: ask it next time
    }
  }
  for (const std::string& leader : leaders) {
    if (std::find(join_targets_.begin(), join_targets_.end(), leader) == join_targets_.end()) {
      join_targets_.push_back(leader);  // not while the loop above walks the vector
    }
  }
  // A -join list may name this server too (one list for every server's config): it
  // answers with our own id, so it is no one to join or wait for.
  for (const std::string& address : own_addresses) {
    LOG(INFO) << "-join " << address << " is this server itself; not calling it again";
    std::erase(join_targets_, address);
  }
  std::vector<Join> servers = discovered_;
  servers.push_back(self);
  // A lone server (-bootstrap-expect 1) founds a cluster only when there is no one to
  // join: with other -join addresses it may be meant to join a running cluster.
  if (static_cast<int>(servers.size()) >= options_.bootstrap_expect &&
      (options_.bootstrap_expect > 1 || join_targets_.empty())) {
    Status status = Bootstrap(servers);
    if (!status.ok()) LOG(ERROR) << "bootstrap failed: " << status.ToString();
  }
}

void Node::HandleJoin(const Join& join, const Reply& reply) {
  JoinResult result;
  if (!raw_node_) {
    // Still discovering: remember who else is out there for -bootstrap-expect.
    const bool known = std::any_of(discovered_.begin(), discovered_.end(),
                                   [&](const Join& j) { return j.node_id == join.node_id; });
    if (!known && join.node_id != id_ && join.node_id != consensus::kNoNode) {
      discovered_.push_back(join);
    }
    result.status_code = StatusCode::kUnavailable;
    result.message = "not bootstrapped yet";
    (void)reply.Send(Frame(result));
    return;
  }
  result.cluster_id = cluster_id_;
  const consensus::NodeStatus status = raw_node_->GetStatus();
  const auto& voters = status.conf_state.voters;
  const auto& learners = status.conf_state.learners;
  const bool member = std::count(voters.begin(), voters.end(), join.node_id) > 0 ||
                      std::count(learners.begin(), learners.end(), join.node_id) > 0;
  if (member) {
    (void)reply.Send(Frame(result));  // already in: it only has to start
    return;
  }
  if (raw_node_->role() != consensus::Role::kLeader) {
    result.status_code = StatusCode::kNotLeader;
    result.message = LeaderAddress();
    (void)reply.Send(Frame(result));
    return;
  }
  consensus::ConfChange change;
  change.type = consensus::ConfChangeType::kAddLearner;
  change.node_id = join.node_id;
  change.context = EncodePeerAddress({join.node_name, join.server_address, join.http_address});
  Result<consensus::ProposalId> id = raw_node_->ProposeConfChange(change);
  if (!id.ok()) {
    result.status_code = id.status().code();
    result.message = id.status().message();
  } else {
    LOG(INFO) << "adding server " << join.node_name << " (" << join.node_id << ") as a learner";
  }
  (void)reply.Send(Frame(result));
}

// The leader promotes a learner to voter once it holds everything committed.
void Node::MaybePromoteLearners() {
  if (raw_node_->role() != consensus::Role::kLeader) return;
  const consensus::NodeStatus status = raw_node_->GetStatus();
  for (consensus::NodeId learner : status.conf_state.learners) {
    auto peer = status.peers.find(learner);
    if (peer == status.peers.end() || peer->second.match < status.hard_state.commit) continue;
    consensus::ConfChange change;
    change.type = consensus::ConfChangeType::kAddVoter;
    change.node_id = learner;
    {
      std::lock_guard<std::mutex> lock(status_mutex_);
      auto it = directory_.find(learner);
      if (it != directory_.end()) change.context = EncodePeerAddress(it->second);
    }
    if (raw_node_->ProposeConfChange(change).ok()) {
      LOG(INFO) << "promoting server " << learner << " to voter";
    }
    return;  // one change at a time
  }
}

Status Node::RemovePeer(const std::string& id_text, const std::string& address) {
  consensus::NodeId target = consensus::kNoNode;
  std::string leader_http;
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    for (const auto& [id, peer] : directory_) {
      if ((!id_text.empty() && std::to_string(id) == id_text) ||
          (!address.empty() && peer.server_address == address)) {
        target = id;
      }
    }
    if (leader_ != consensus::kNoNode && leader_ != id_) {
      auto it = directory_.find(leader_);
      if (it != directory_.end()) leader_http = it->second.http_address;
    }
  }
  if (target == consensus::kNoNode) {
    return NotFound("no server with " + (id_text.empty() ? "address " + address : "id " + id_text));
  }
  if (!leader_http.empty()) {
    // Membership changes are proposed by the leader: hand the request to it.
    httplib::Client client("http://" + leader_http);
    client.set_read_timeout(std::chrono::seconds(30));
    auto response = client.Delete("/v1/operator/raft/peer?id=" + std::to_string(target));
    if (!response) return Unavailable("cannot reach the leader at " + leader_http);
    if (response->status != 200) return Internal(response->body);
    return Status::Ok();
  }
  auto waiter = std::make_shared<Waiter>();
  consensus::ConfChange change;
  change.type = consensus::ConfChangeType::kRemoveNode;
  change.node_id = target;
  Enqueue(Work{internal::ConfChangeWork{change, waiter}});
  if (!waiter->WaitUntil(std::chrono::steady_clock::now() + std::chrono::seconds(30))) {
    return Unavailable("timed out removing the server");
  }
  std::lock_guard<std::mutex> lock(waiter->mutex);
  return waiter->status;
}

}  // namespace roster::server
