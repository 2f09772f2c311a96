#include "tests/unit/http/test_backend.h"

#include <utility>

namespace roster::http::testing {
namespace {

class TestWatch final : public Watch {
 public:
  TestWatch(TestBackend& backend, std::vector<store::WatchId> ids,
            std::shared_ptr<TestBackend::WatchState> state)
      : backend_(backend), ids_(std::move(ids)), state_(std::move(state)) {}
  ~TestWatch() override { backend_.RemoveWatch(ids_); }

  bool WaitUntil(std::chrono::steady_clock::time_point deadline) override {
    std::unique_lock<std::mutex> lock(state_->mutex);
    if (!state_->changed.wait_until(lock, deadline, [this] { return state_->fired; })) {
      return false;
    }
    state_->fired = false;
    return true;
  }
  void OnFire(std::function<void()> fired) override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->fired) fired();
    state_->callback = std::move(fired);
  }

 private:
  TestBackend& backend_;
  const std::vector<store::WatchId> ids_;
  const std::shared_ptr<TestBackend::WatchState> state_;
};

}  // namespace

TestBackend::TestBackend() : TestBackend(store::StoreOptions{}) {}

TestBackend::TestBackend(store::StoreOptions store_options) : store_(store_options) {
  configuration_.index = 1;
  configuration_.servers = {
      RaftServer{"id-1", "node-1", "127.0.0.1:8300", true, true},
      RaftServer{"id-2", "node-2", "127.0.0.2:8300", false, true},
  };
}

Result<WriteOutcome> TestBackend::Apply(std::string command) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!write_error_.ok()) return write_error_;
  ++apply_count_;
  const store::Index index = ++last_index_;
  store::ApplyResult result = store_.Apply(index, command);
  for (store::WatchId id : watch_set_.Fired(result.changes)) {
    WatchState& state = *watch_states_.at(id);
    std::lock_guard<std::mutex> state_lock(state.mutex);
    state.fired = true;
    if (state.callback) state.callback();
    state.changed.notify_one();
  }
  if (!result.error.ok()) {
    return Status(StatusCode::kFailedPrecondition, result.error.message());
  }
  return WriteOutcome{result.ok, index, std::move(result.entry), std::move(result.txn)};
}

Result<store::Session> TestBackend::RenewSession(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!write_error_.ok()) return write_error_;
  const store::Session* session = store_.sessions().Find(id);
  if (session == nullptr) return NotFound("Session id '" + id + "' not found");
  ++renew_count_;
  return *session;
}

std::size_t TestBackend::renew_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return renew_count_;
}

Result<ReadMeta> TestBackend::Read(Consistency mode,
                                   const std::function<void(const store::Store&)>& read) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!read_error_.ok()) return read_error_;
  last_read_mode_ = mode;
  read_modes_.push_back(mode);
  ++read_count_;
  // As a server without a leader: its own replica only (stale), with KnownLeader false.
  if (!known_leader_ && mode != Consistency::kStale) return Unavailable("No cluster leader");
  read(store_);
  return ReadMeta{known_leader_, 0, mode};
}

std::unique_ptr<Watch> TestBackend::NewWatch(std::vector<store::WatchKey> keys) {
  auto state = std::make_shared<WatchState>();
  std::vector<store::WatchId> ids;
  std::lock_guard<std::mutex> lock(mutex_);
  for (store::WatchKey& key : keys) {
    const store::WatchId id = watch_set_.Add(std::move(key));
    watch_states_.emplace(id, state);
    ids.push_back(id);
  }
  ++watches_alive_;
  return std::make_unique<TestWatch>(*this, std::move(ids), std::move(state));
}

void TestBackend::RemoveWatch(const std::vector<store::WatchId>& ids) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (store::WatchId id : ids) {
    watch_set_.Remove(id);
    watch_states_.erase(id);
  }
  --watches_alive_;
}

std::string TestBackend::LeaderAddress() {
  std::lock_guard<std::mutex> lock(mutex_);
  return leader_address_;
}

std::vector<std::string> TestBackend::PeerAddresses() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> peers;
  for (const RaftServer& server : configuration_.servers) peers.push_back(server.address);
  return peers;
}

Result<RaftConfiguration> TestBackend::GetRaftConfiguration(Consistency mode) {
  std::lock_guard<std::mutex> lock(mutex_);
  last_read_mode_ = mode;
  if (!read_error_.ok()) return read_error_;
  return configuration_;
}

Status TestBackend::RemovePeer(const std::string& id, const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& servers = configuration_.servers;
  for (auto it = servers.begin(); it != servers.end(); ++it) {
    if ((!id.empty() && it->id == id) || (!address.empty() && it->address == address)) {
      servers.erase(it);
      ++configuration_.index;
      return Status::Ok();
    }
  }
  return NotFound(id.empty() ? "address \"" + address + "\" was not found in the Raft configuration"
                             : "id \"" + id + "\" was not found in the Raft configuration");
}

Backend::SelfInfo TestBackend::Self() {
  std::lock_guard<std::mutex> lock(mutex_);
  SelfInfo self;
  self.node_name = "node-1";
  self.node_id = "id-1";
  self.server_address = "127.0.0.1:8300";
  self.http_address = "127.0.0.1:8500";
  self.version = "0.1.0";
  self.write_blocked_reason = write_blocked_reason_;
  self.last_applied_index = last_index_;
  self.commit_index = last_index_;
  self.raft_state = "Leader";
  return self;
}

void TestBackend::FailWritesWith(Status status) {
  std::lock_guard<std::mutex> lock(mutex_);
  write_error_ = std::move(status);
}

void TestBackend::FailReadsWith(Status status) {
  std::lock_guard<std::mutex> lock(mutex_);
  read_error_ = std::move(status);
}

void TestBackend::SetLeaderAddress(std::string address) {
  std::lock_guard<std::mutex> lock(mutex_);
  leader_address_ = std::move(address);
}

void TestBackend::SetKnownLeader(bool known) {
  std::lock_guard<std::mutex> lock(mutex_);
  known_leader_ = known;
}

void TestBackend::SetWriteBlockedReason(std::string reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  write_blocked_reason_ = std::move(reason);
}

std::size_t TestBackend::apply_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return apply_count_;
}

std::size_t TestBackend::read_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return read_count_;
}

std::size_t TestBackend::watch_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return watches_alive_;
}

std::vector<Consistency> TestBackend::read_modes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return read_modes_;
}

std::optional<Consistency> TestBackend::last_read_mode() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_read_mode_;
}

Result<NodeHeartbeatReply> TestBackend::Heartbeat(const NodeHeartbeat& heartbeat) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!write_error_.ok()) return write_error_;
  heartbeats_.push_back(heartbeat);
  return NodeHeartbeatReply{.failure_timeout_ms = 10'000};
}

Status TestBackend::LeaveNode(const std::string& node) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!write_error_.ok()) return write_error_;
  leaves_.push_back(node);
  return Status::Ok();
}

Result<std::vector<AgentMember>> TestBackend::Members() {
  std::lock_guard<std::mutex> lock(mutex_);
  return members_;
}

void TestBackend::SetMembers(std::vector<AgentMember> members) {
  std::lock_guard<std::mutex> lock(mutex_);
  members_ = std::move(members);
}

std::vector<NodeHeartbeat> TestBackend::heartbeats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return heartbeats_;
}

std::vector<std::string> TestBackend::leaves() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return leaves_;
}

}  // namespace roster::http::testing
