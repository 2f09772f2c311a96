// TestBackend: an http::Backend over a real store::Store, without Raft. Apply stamps
// the next index and applies under a mutex; Read runs under the same mutex; watches
// are a store::WatchSet plus one condition variable per watch, fired after each apply.
// Knobs let a test fail writes or reads, bound the event history, and set what the
// status endpoints report.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/backend.h"
#include "store/store.h"
#include "store/watch_set.h"

namespace roster::http::testing {

class TestBackend final : public Backend {
 public:
  TestBackend();
  // A store with these options: a small history budget lets a test compact it.
  explicit TestBackend(store::StoreOptions store_options);

  Result<WriteOutcome> Apply(std::string command) override;
  Result<store::Session> RenewSession(const std::string& id) override;
  Result<ReadMeta> Read(Consistency mode,
                        const std::function<void(const store::Store&)>& read) override;
  std::unique_ptr<Watch> NewWatch(std::vector<store::WatchKey> keys) override;
  std::string LeaderAddress() override;
  std::vector<std::string> PeerAddresses() override;
  Result<RaftConfiguration> GetRaftConfiguration(Consistency mode) override;
  Status RemovePeer(const std::string& id, const std::string& address) override;
  SelfInfo Self() override;
  // Records heartbeats and leaves (failing like writes); Members returns what
  // SetMembers set.
  Result<NodeHeartbeatReply> Heartbeat(const NodeHeartbeat& heartbeat) override;
  Status LeaveNode(const std::string& node) override;
  Result<std::vector<AgentMember>> Members() override;

  // Knobs and observations.
  void FailWritesWith(Status status);  // OK status: writes succeed again
  void FailReadsWith(Status status);
  void SetLeaderAddress(std::string address);
  // false: reads other than stale fail with "No cluster leader"; stale reads say
  // KnownLeader false.
  void SetKnownLeader(bool known);
  void SetWriteBlockedReason(std::string reason);
  void SetMembers(std::vector<AgentMember> members);
  std::vector<NodeHeartbeat> heartbeats() const;
  std::vector<std::string> leaves() const;
  std::size_t apply_count() const;
  std::size_t renew_count() const;
  std::size_t watch_count() const;  // watches alive now
  std::size_t read_count() const;   // Read calls so far
  std::optional<Consistency> last_read_mode() const;
  std::vector<Consistency> read_modes() const;  // of every Read call so far, in order

  // Called by a watch as it goes away.
  void RemoveWatch(const std::vector<store::WatchId>& ids);

  struct WatchState {
    std::mutex mutex;
    std::condition_variable changed;
    bool fired = false;  // guarded by mutex
    std::function<void()> callback;  // Watch::OnFire's; guarded by mutex
  };

 private:
  mutable std::mutex mutex_;
  store::Store store_;           // guarded by mutex_
  store::Index last_index_ = 1;  // index 1 is Raft's own first entry, as in Consul
  store::WatchSet watch_set_;    // guarded by mutex_
  std::map<store::WatchId, std::shared_ptr<WatchState>> watch_states_;  // guarded by mutex_
  std::size_t watches_alive_ = 0;                                       // guarded by mutex_
  std::size_t apply_count_ = 0;                                         // guarded by mutex_
  std::size_t renew_count_ = 0;                                         // guarded by mutex_
  std::size_t read_count_ = 0;                                          // guarded by mutex_
  Status write_error_;                                                  // guarded by mutex_
  Status read_error_;                                                   // guarded by mutex_
  std::optional<Consistency> last_read_mode_;                           // guarded by mutex_
  std::vector<Consistency> read_modes_;                                 // guarded by mutex_
  bool known_leader_ = true;                                            // guarded by mutex_
  std::string leader_address_ = "127.0.0.1:8300";                       // guarded by mutex_
  RaftConfiguration configuration_;                                     // guarded by mutex_
  std::string write_blocked_reason_;                                    // guarded by mutex_
  std::vector<NodeHeartbeat> heartbeats_;                               // guarded by mutex_
  std::vector<std::string> leaves_;                                     // guarded by mutex_
  std::vector<AgentMember> members_;                                    // guarded by mutex_
};

}  // namespace roster::http::testing
