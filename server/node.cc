// Node lifecycle, the loop's inbox, and the http::Backend methods HTTP workers call.
#include "server/node.h"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <vector>

#include "base/check.h"
#include "base/logging.h"
#include "base/version.h"
#include "store/command.h"

namespace roster::server {
namespace {

// A small text file holding one number (the node id, the cluster id), written atomically.
Result<std::uint64_t> ReadNumberFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::uint64_t value = 0;
  if (!(in >> value) || value == 0) return Corruption("cannot read a number from " + path.string());
  return value;
}

Status WriteNumberFile(const std::filesystem::path& path, std::uint64_t value) {
  const std::filesystem::path temp = path.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << value << "\n";
    out.flush();
    if (!out) return IoError("cannot write " + temp.string());
  }
  std::error_code error;
  std::filesystem::rename(temp, path, error);
  if (error) return IoError("cannot rename " + temp.string() + ": " + error.message());
  return Status::Ok();
}

}  // namespace

// ---- Watches ---------------------------------------------------------------------------
//
// A write may wake thousands of parked watches (one per blocking query or watch stream)
// at once, and they mostly watch the same few keys. So watches of identical keys share
// one WatchGroup: one registration in the WatchSet and one condition variable, whose
// generation counts the writes that touched the keys; each watch remembers the
// generation it last saw. A write then costs the loop one notify_all per group, one
// futex call however many threads it wakes, instead of one per watch, each of which
// let a woken thread preempt the loop before it could acknowledge the write.
//
// The loop fires groups with no lock held that watchers also take: watch_mutex_ only
// guards the registrations, and a group outlives its last watch while the loop still
// holds it (firing it then wakes nobody). Firing under watch_mutex_ made every query
// that finished, and every new one, queue behind the whole burst of wake-ups.

struct Node::WatchGroup {
  std::vector<store::WatchId> ids;  // its registrations in watch_set_
  std::string keys_encoding;        // its key in watch_groups_by_keys_
  std::size_t watches = 0;          // guarded by Node::watch_mutex_

  std::mutex mutex;
  std::condition_variable cv;
  std::uint64_t generation = 0;  // guarded by mutex; one more per write that fired it
  // The callbacks of its watches that an event loop drives (Watch::OnFire), by watch.
  std::map<const void*, std::function<void()>> callbacks;  // guarded by mutex

  void Fire() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      ++generation;
      // Each only queues work for its loop; under the lock, so the watch is alive.
      for (const auto& [watch, callback] : callbacks) callback();
    }
    // After unlocking, so a woken thread does not block at once on `mutex`.
    cv.notify_all();
  }
};

namespace {

// Identical key lists encode identically (and different ones differently).
std::string EncodeWatchKeys(const std::vector<store::WatchKey>& keys) {
  std::string out;
  for (const store::WatchKey& key : keys) {
    out.push_back(static_cast<char>(key.kind));
    out.push_back(static_cast<char>(key.table));
    out += std::to_string(key.name.size());
    out.push_back(':');
    out += key.name;
  }
  return out;
}

}  // namespace

class Node::WatchImpl final : public http::Watch {
 public:
  WatchImpl(Node* node, const std::vector<store::WatchKey>& keys) : node_(node) {
    std::string encoding = EncodeWatchKeys(keys);
    std::lock_guard<std::mutex> lock(node_->watch_mutex_);
    auto existing = node_->watch_groups_by_keys_.find(encoding);
    if (existing != node_->watch_groups_by_keys_.end()) {
      group_ = node_->watch_groups_.at(existing->second->ids.at(0));
    } else {
      group_ = std::make_shared<WatchGroup>();
      for (const store::WatchKey& key : keys) {
        const store::WatchId id = node_->watch_set_.Add(key);
        group_->ids.push_back(id);
        node_->watch_groups_[id] = group_;
      }
      CHECK(!group_->ids.empty()) << "a watch on no keys";
      group_->keys_encoding = std::move(encoding);
      node_->watch_groups_by_keys_[group_->keys_encoding] = group_.get();
    }
    ++group_->watches;
    // Writes the group saw before this watch joined are in what its first run reads.
    std::lock_guard<std::mutex> group_lock(group_->mutex);
    seen_generation_ = group_->generation;
  }
  ~WatchImpl() override {
    {
      std::lock_guard<std::mutex> group_lock(group_->mutex);
      group_->callbacks.erase(this);
    }
    std::lock_guard<std::mutex> lock(node_->watch_mutex_);
    if (--group_->watches > 0) return;
    for (store::WatchId id : group_->ids) {
      node_->watch_set_.Remove(id);
      node_->watch_groups_.erase(id);
    }
    node_->watch_groups_by_keys_.erase(group_->keys_encoding);
  }
  bool WaitUntil(std::chrono::steady_clock::time_point deadline) override {
    std::unique_lock<std::mutex> lock(group_->mutex);
    group_->cv.wait_until(lock, deadline,
                          [this] { return group_->generation != seen_generation_; });
    const bool fired = group_->generation != seen_generation_;
    seen_generation_ = group_->generation;
    return fired;
  }
  void OnFire(std::function<void()> fired) override {
    std::lock_guard<std::mutex> lock(group_->mutex);
    if (group_->generation != seen_generation_) fired();
    group_->callbacks.emplace(this, std::move(fired));
  }

 private:
  Node* node_;
  std::shared_ptr<WatchGroup> group_;
  std::uint64_t seen_generation_ = 0;  // the group's generation this watch has seen
};

namespace {

// Each group once, whatever number of its keys a write touched.
template <typename Group>
void FireAll(std::vector<std::shared_ptr<Group>>& groups) {
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  for (const std::shared_ptr<Group>& group : groups) group->Fire();
}

}  // namespace

void Node::WakeWatchers(const store::ChangeSet& changes) {
  if (changes.empty()) return;
  std::vector<std::shared_ptr<WatchGroup>> to_fire;
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    for (store::WatchId id : watch_set_.Fired(changes)) {
      auto it = watch_groups_.find(id);
      if (it != watch_groups_.end()) to_fire.push_back(it->second);
    }
  }
  FireAll(to_fire);
}

void Node::WakeAllWatchers() {
  std::vector<std::shared_ptr<WatchGroup>> to_fire;
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    for (const auto& [id, group] : watch_groups_) to_fire.push_back(group);
  }
  FireAll(to_fire);
}

std::unique_ptr<http::Watch> Node::NewWatch(std::vector<store::WatchKey> keys) {
  return std::make_unique<WatchImpl>(this, keys);
}

// ---- Lifecycle -------------------------------------------------------------------------

Node::Node(NodeOptions options)
    : options_(std::move(options)),
      store_(store::StoreOptions{options_.watch_history}),
      tombstone_gc_(options_.tombstone_ttl_ms,
                    TombstoneGc::GranularityFor(options_.tombstone_ttl_ms)),
      session_timers_(options_.session_invalidate_retry_ms),
      liveness_(LivenessOptions{.failure_timeout_ms = options_.failure_timeout_ms,
                                .reconnect_timeout_ms = options_.reconnect_timeout_ms,
                                .retry_ms = options_.liveness_retry_ms,
                                .datacenter = SelfInfo{}.datacenter}),
      join_targets_(options_.join) {}

Node::~Node() { Stop(); }

Result<std::unique_ptr<Node>> Node::Start(NodeOptions options) {
  if (options.data_dir.empty()) return InvalidArgument("a data dir is required (-data-dir)");
  if (options.node_name.empty()) return InvalidArgument("a node name is required (-node)");
  std::unique_ptr<Node> node(new Node(std::move(options)));
  RETURN_IF_ERROR(node->Open());
  node->loop_thread_ = std::thread([raw = node.get()] { raw->Loop(); });
  return node;
}

void Node::Stop() {
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  inbox_cv_.notify_all();
  if (loop_thread_.joinable()) loop_thread_.join();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  if (transport_) transport_->Stop();
}

Status Node::Open() {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::create_directories(options_.data_dir, error);
  if (error) return IoError("cannot create data dir " + options_.data_dir + ": " + error.message());
  const fs::path id_path = fs::path(options_.data_dir) / "node-id";
  if (fs::exists(id_path)) {
    Result<std::uint64_t> id = ReadNumberFile(id_path);
    if (!id.ok()) return id.status();
    id_ = *id;
  } else {
    do {
      id_ = random_.Next() >> 1;  // positive when printed as a signed JSON number too
    } while (id_ == consensus::kNoNode);
    RETURN_IF_ERROR(WriteNumberFile(id_path, id_));
  }
  const fs::path cluster_path = fs::path(options_.data_dir) / "cluster-id";
  if (fs::exists(cluster_path)) {
    Result<std::uint64_t> cluster = ReadNumberFile(cluster_path);
    if (cluster.ok()) cluster_id_ = *cluster;
  }

  Result<std::unique_ptr<SqliteLogStorage>> storage = SqliteLogStorage::Open(options_.data_dir);
  if (!storage.ok()) return storage.status();
  storage_ = std::move(storage).value();
  RETURN_IF_ERROR(RestoreFromStorage());

  TransportOptions transport_options;
  transport_options.listen_address =
      options_.bind_address + ":" + std::to_string(options_.server_port);
  transport_options.self.cluster_id = cluster_id_;
  transport_options.self.node_id = id_;
  transport_options.self.node_name = options_.node_name;
  transport_options.self.http_address = options_.advertise_http_address;
  // Peers dial back the address in our Hello (a port of 0 is resolved only after the
  // listener starts; such a node is reachable only by the address others were given).
  transport_options.self.server_address = transport_options.listen_address;
  transport_ = std::make_unique<Transport>(
      transport_options,
      [this](const PeerInfo& from, Frame frame, Reply reply) {
        Enqueue(Work{internal::FrameWork{from, std::move(frame), std::move(reply)}});
      },
      [](consensus::NodeId) {});
  RETURN_IF_ERROR(transport_->Start());
  // The advertised address is known only once the port is (it may have been 0).
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    self_address_ = options_.bind_address + ":" + std::to_string(transport_->port());
  }
  const bool has_log = storage_->LastIndex() > 0 || storage_->GetSnapshotMetadata().index > 0;
  if (has_log) return StartRaft();
  LOG(INFO) << "node " << options_.node_name << " (" << id_ << ") has no log yet: waiting for "
            << options_.bootstrap_expect << " servers to bootstrap, or to join a cluster";
  return Status::Ok();
}

std::string Node::server_address() const {
  std::lock_guard<std::mutex> lock(status_mutex_);
  return self_address_;
}

Status Node::SaveClusterId(std::uint64_t cluster_id) {
  cluster_id_ = cluster_id;
  transport_->SetClusterId(cluster_id);
  return WriteNumberFile(std::filesystem::path(options_.data_dir) / "cluster-id", cluster_id);
}

// ---- The loop --------------------------------------------------------------------------

void Node::Enqueue(Work work) {
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    inbox_.push_back(std::make_unique<Work>(std::move(work)));
  }
  inbox_cv_.notify_one();
}

void Node::Loop() {
  next_tick_ms_ = clock_.NowMs() + options_.tick_ms;
  while (true) {
    std::deque<std::unique_ptr<Work>> batch;
    {
      std::unique_lock<std::mutex> lock(inbox_mutex_);
      const std::int64_t wake_ms = raw_node_ ? next_tick_ms_ : next_discovery_ms_;
      inbox_cv_.wait_until(lock, internal::SteadyAt(wake_ms), [this] { return stopping_ || !inbox_.empty(); });
      if (stopping_) break;
      batch.swap(inbox_);
    }
    for (std::unique_ptr<Work>& work : batch) HandleWork(*work);
    if (!raw_node_) {
      if (clock_.NowMs() >= next_discovery_ms_) {
        TryBootstrapOrJoin();
        next_discovery_ms_ = clock_.NowMs() + 500;
      }
      ExpireWaits();
      RetryRenewals();
      FlushHeartbeats();
      continue;
    }
    TickIfDue();
    HandleReadies();
    ExpireWaits();
    RetryRenewals();
    MaybePromoteLearners();
    MaybeTakeSnapshot();
    MaybeReapTombstones();
    MaybeExpireSessions();
    MaybeRegisterSelf();
    MaybeDriveLiveness();
    MaybeHeartbeatSelf();
    FlushHeartbeats();
  }
  FailEverything(Unavailable("the server is shutting down"));
}

void Node::TickIfDue() {
  const std::int64_t now = clock_.NowMs();
  while (now >= next_tick_ms_) {
    raw_node_->Tick();
    next_tick_ms_ += options_.tick_ms;
  }
}

// ---- Backend: writes and reads --------------------------------------------------------

Result<http::WriteOutcome> Node::Apply(std::string command) {
  // Never propose what cannot apply: a command that fails to decode at apply is a crash.
  Result<store::Command> decoded = store::Decode(command);
  if (!decoded.ok()) return InvalidArgument(decoded.status().message());
  {
    // The loop is stuck retrying a batch its disk refused: a new write would only wait
    // behind it. Say why at once; the writes already in the batch keep waiting.
    std::lock_guard<std::mutex> lock(status_mutex_);
    if (!write_blocked_.ok()) return write_blocked_;
  }
  auto waiter = std::make_shared<Waiter>();
  const std::int64_t now = clock_.NowMs();
  Proposal proposal;
  proposal.command = std::move(command);
  proposal.waiter = waiter;
  proposal.deadline_ms = now + options_.leader_wait_ms + options_.commit_wait_ms;
  Enqueue(Work{std::move(proposal)});
  if (!waiter->WaitUntil(internal::SteadyAt(now + options_.leader_wait_ms + options_.commit_wait_ms + 1000))) {
    return Unavailable("timed out waiting for the write to commit; it may or may not be applied");
  }
  std::lock_guard<std::mutex> lock(waiter->mutex);
  if (!waiter->status.ok()) return waiter->status;
  return waiter->outcome;
}

Result<http::ReadMeta> Node::Read(http::Consistency mode,
                                  const std::function<void(const store::Store&)>& read) {
  http::ReadMeta meta;
  bool local = mode == http::Consistency::kStale;
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    meta.known_leader = leader_ != consensus::kNoNode;
    meta.last_contact_ms =
        role_ == consensus::Role::kLeader || last_leader_contact_ms_ == 0
            ? 0
            : clock_.NowMs() - last_leader_contact_ms_;
    // Default mode on a leader that has applied its own first entry: its state is the
    // leader's state (Consul's default, without a quorum round).
    if (mode == http::Consistency::kDefault && leader_ready_for_reads_) local = true;
  }
  meta.effective = mode;
  if (!local) {
    auto waiter = std::make_shared<Waiter>();
    const std::int64_t now = clock_.NowMs();
    waiter->deadline_ms = now + options_.leader_wait_ms;
    // Default mode trusts the leader's word, here as on the leader itself: its commit
    // index without a quorum round. Consistent mode pays for the round.
    if (mode == http::Consistency::kDefault) {
      waiter->read_policy = consensus::ReadPolicy::kLeaderLease;
    }
    Enqueue(Work{internal::ReadWork{waiter}});
    if (!waiter->WaitUntil(internal::SteadyAt(waiter->deadline_ms + 1000))) {
      return Unavailable("No cluster leader");
    }
    std::lock_guard<std::mutex> lock(waiter->mutex);
    if (!waiter->status.ok()) return waiter->status;
    meta.known_leader = true;
  }
  std::shared_lock<std::shared_mutex> lock(store_mutex_);
  read(store_);
  return meta;
}

bool Node::ReadsLocally(http::Consistency mode) {
  if (mode == http::Consistency::kStale) return true;
  std::lock_guard<std::mutex> lock(status_mutex_);
  return mode == http::Consistency::kDefault && leader_ready_for_reads_;
}

// ---- Backend: status -------------------------------------------------------------------

std::string Node::LeaderAddress() {
  std::lock_guard<std::mutex> lock(status_mutex_);
  if (leader_ == consensus::kNoNode) return "";
  if (leader_ == id_) return self_address_;
  auto it = directory_.find(leader_);
  return it == directory_.end() ? "" : it->second.server_address;
}

std::vector<std::string> Node::PeerAddresses() {
  std::lock_guard<std::mutex> lock(status_mutex_);
  std::vector<std::string> addresses;
  for (consensus::NodeId id : conf_state_.voters) {
    auto it = directory_.find(id);
    if (it != directory_.end()) addresses.push_back(it->second.server_address);
  }
  return addresses;
}

Result<http::RaftConfiguration> Node::GetRaftConfiguration(http::Consistency mode) {
  if (mode != http::Consistency::kStale) {
    Result<http::ReadMeta> barrier = Read(mode, [](const store::Store&) {});
    if (!barrier.ok()) return barrier.status();
  }
  std::lock_guard<std::mutex> lock(status_mutex_);
  http::RaftConfiguration configuration;
  configuration.index = conf_index_;
  auto add = [&](consensus::NodeId id, bool voter) {
    http::RaftServer server;
    server.id = std::to_string(id);
    auto it = directory_.find(id);
    if (it != directory_.end()) {
      server.node = it->second.name;
      server.address = it->second.server_address;
    }
    server.leader = id == leader_;
    server.voter = voter;
    configuration.servers.push_back(std::move(server));
  };
  for (consensus::NodeId id : conf_state_.voters) add(id, true);
  for (consensus::NodeId id : conf_state_.learners) add(id, false);
  return configuration;
}

http::Backend::SelfInfo Node::Self() {
  std::lock_guard<std::mutex> lock(status_mutex_);
  SelfInfo info;
  info.node_name = options_.node_name;
  info.node_id = catalog_node_id();
  info.server_address = self_address_;
  info.http_address = options_.advertise_http_address;
  info.version = std::string(kRosterVersion);
  if (!write_blocked_.ok()) info.write_blocked_reason = write_blocked_.message();
  info.last_applied_index = applied_index_;
  info.commit_index = commit_index_;
  switch (role_) {
    case consensus::Role::kLeader: info.raft_state = "Leader"; break;
    case consensus::Role::kCandidate:
    case consensus::Role::kPreCandidate: info.raft_state = "Candidate"; break;
    case consensus::Role::kFollower: info.raft_state = "Follower"; break;
  }
  return info;
}

}  // namespace roster::server
