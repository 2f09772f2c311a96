// Node: one running Roster server. It drives a consensus::RawNode on its own thread
// (the Raft loop), persists each Ready into SQLite with one fsync, talks to its peers
// through the Transport, applies committed entries to the store, and serves the HTTP
// front end through http::Backend.
//
// Threads: the Raft loop owns the RawNode, the log storage and every piece of loop
// state below "loop-only". HTTP workers call the Backend methods; they hand work to the
// loop through the inbox and wait for the answer, or read the store under store_mutex_
// (shared; the loop takes it exclusively to apply). Transport threads only enqueue.
// Design notes: docs/design/server.md.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/random.h"
#include "base/status.h"
#include "consensus/raw_node.h"
#include "http/backend.h"
#include "server/liveness.h"
#include "server/lock_delays.h"
#include "server/peers.h"
#include "server/deadline_timers.h"
#include "server/snapshot_file.h"
#include "server/sqlite_log_storage.h"
#include "server/tombstone_gc.h"
#include "server/transport.h"
#include "store/store.h"
#include "store/watch_set.h"

namespace roster::server {

namespace internal {

// How long a request forwarded to the leader (a write, a renewal, a batch of heartbeats)
// waits for its answer before it is sent again, to the leader of the moment.
inline constexpr std::int64_t kForwardTimeoutMs = 5000;

// The steady-clock time point of a SystemClock::NowMs() value, for condition waits.
inline std::chrono::steady_clock::time_point SteadyAt(std::int64_t ms) {
  return std::chrono::steady_clock::time_point(std::chrono::milliseconds(ms));
}

// An HTTP worker waiting for the loop. The loop fills it in and calls Finish once.
struct Waiter {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  Status status;
  http::WriteOutcome outcome;  // writes
  consensus::Index read_index = 0;  // reads: the index the store must reach
  std::int64_t deadline_ms = 0;
  std::int64_t issued_ms = 0;  // reads: when ReadIndex was last asked for
  std::string context;         // reads: the ReadIndex context
  consensus::ReadPolicy read_policy = consensus::ReadPolicy::kQuorum;  // reads
  store::Session session;      // session renewals: the session the leader holds

  void Finish(Status result) {
    std::lock_guard<std::mutex> lock(mutex);
    if (done) return;
    status = std::move(result);
    done = true;
    cv.notify_all();
  }
  // Waits until finished or deadline; false on timeout.
  bool WaitUntil(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_until(lock, deadline, [this] { return done; });
  }
};

// A command on its way through Raft, for a local caller or a follower that forwarded it.
struct Proposal {
  std::string command;
  std::shared_ptr<Waiter> waiter;  // local caller; null when forwarded
  Reply reply;                     // forwarded: where the result goes
  std::uint64_t request_id = 0;    // forwarded: the follower's id for it
  std::int64_t deadline_ms = 0;
  consensus::Term term = 0;        // set when proposed here
  std::int64_t forwarded_ms = 0;   // set when forwarded to the leader
  consensus::NodeId forwarded_to = consensus::kNoNode;
};

// A session renewal on its way to the leader's timers, for a local caller or a
// follower that forwarded it (node_sessions.cc).
struct Renewal {
  std::string session_id;
  std::shared_ptr<Waiter> waiter;  // local caller; null when forwarded
  Reply reply;                     // forwarded: where the result goes
  std::uint64_t request_id = 0;    // forwarded: the follower's id for it
  std::int64_t deadline_ms = 0;    // then "No cluster leader"
  std::int64_t forwarded_ms = 0;   // set when forwarded to the leader
  consensus::NodeId forwarded_to = consensus::kNoNode;
};

// A node heartbeat, or a graceful leave, on its way to the leader's liveness timers
// (node_liveness.cc): from a local HTTP caller, or this server's own heartbeat.
struct HeartbeatRequest {
  http::NodeHeartbeat heartbeat;   // a heartbeat, when `leave` is empty
  std::string leave;               // a leave: the node's name
  std::shared_ptr<Waiter> waiter;  // null: nobody waits (this server's own)
  std::int64_t deadline_ms = 0;    // then "No cluster leader"
};

// Work for the loop.
struct FrameWork {
  PeerInfo from;
  Frame frame;
  Reply reply;
};
struct ReadWork {
  std::shared_ptr<Waiter> waiter;
};
struct ConfChangeWork {
  consensus::ConfChange change;
  std::shared_ptr<Waiter> waiter;
};
struct StopWork {};
// The snapshot thread finished writing (and verifying) a snapshot file.
struct SnapshotWrittenWork {
  consensus::SnapshotMetadata metadata;
  Result<std::unique_ptr<SnapshotFile>> file;
  std::int64_t loop_ms = 0;   // what taking it cost the loop (a fork, or the encoding)
  std::int64_t write_ms = 0;  // the rest: encoding in the child, writing, verifying
};

struct Work {
  std::variant<FrameWork, Proposal, ReadWork, ConfChangeWork, StopWork, SnapshotWrittenWork,
               Renewal, HeartbeatRequest>
      item;
};


}  // namespace internal

struct NodeOptions {
  std::string node_name;
  std::string data_dir;
  std::string bind_address = "127.0.0.1";  // for the server (Raft/RPC) port
  int server_port = 8300;                   // 0: pick a free port
  std::string advertise_http_address;       // "host:port" peers and clients should use
  int bootstrap_expect = 1;                 // servers needed to form a new cluster
  std::vector<std::string> join;            // "host:port" server addresses to contact
  // The node's ID in the catalog and in members: the UUID of the agent the server runs
  // beside it (what GET /v1/agent/self shows as Config.NodeID). Empty: the Raft ID in
  // decimal (tests that run a Node without an agent).
  std::string node_uuid;

  int tick_ms = 50;
  int election_ticks = 10;  // 500-1000 ms election timeout at the default tick
  int heartbeat_ticks = 1;
  std::uint64_t snapshot_interval_entries = 16384;
  std::uint64_t snapshot_trailing_entries = 4096;
  // The streaming watch's event history (GET /v1/watch): how far back a watcher can
  // resume before it must re-list.
  store::HistoryLimits watch_history;
  // Encode snapshots in a forked child (server/forked_encoder.h) rather than on the loop.
  bool snapshot_encode_in_child = true;
  std::int64_t leader_wait_ms = 7000;  // Consul's rpc_hold_timeout
  std::int64_t commit_wait_ms = 30000; // after that, a write's fate is reported unknown
  std::int64_t tombstone_ttl_ms = 15 * 60 * 1000;  // Consul's tombstone_ttl (see TombstoneGc)
  // Session TTL expiry on the leader (SessionTimers): at most this many invalidations
  // are proposed per tick, and one not applied after the retry time is proposed again.
  int session_invalidations_per_tick_max = 32;
  std::int64_t session_invalidate_retry_ms = 5000;
  // Node liveness on the leader (server/liveness.h): a node whose heartbeats stop for
  // failure_timeout_ms turns critical; one critical for reconnect_timeout_ms is reaped.
  // At most liveness_commands_per_tick_max such commands are proposed per tick.
  std::int64_t failure_timeout_ms = 10'000;
  std::int64_t reconnect_timeout_ms = 72LL * 60 * 60 * 1000;
  int liveness_commands_per_tick_max = 64;
  std::int64_t liveness_retry_ms = 5000;
};

class Node final : public http::Backend {
 public:
  // Opens (or creates) the data dir, restores the store from the newest valid snapshot
  // plus the log, and starts the transport and the Raft loop.
  static Result<std::unique_ptr<Node>> Start(NodeOptions options);
  ~Node() override;  // Stop()
  void Stop();

  consensus::NodeId id() const { return id_; }
  // The node's ID as the catalog shows it (NodeOptions::node_uuid).
  std::string catalog_node_id() const {
    return options_.node_uuid.empty() ? std::to_string(id_) : options_.node_uuid;
  }
  std::string server_address() const;  // "host:port" of the server (Raft) port

  // http::Backend
  Result<http::WriteOutcome> Apply(std::string command) override;
  Result<store::Session> RenewSession(const std::string& id) override;
  Result<http::ReadMeta> Read(http::Consistency mode,
                              const std::function<void(const store::Store&)>& read) override;
  std::unique_ptr<http::Watch> NewWatch(std::vector<store::WatchKey> keys) override;
  bool ReadsLocally(http::Consistency mode) override;
  std::string LeaderAddress() override;
  std::vector<std::string> PeerAddresses() override;
  Result<http::RaftConfiguration> GetRaftConfiguration(http::Consistency mode) override;
  Status RemovePeer(const std::string& id, const std::string& address) override;
  SelfInfo Self() override;
  Result<http::NodeHeartbeatReply> Heartbeat(const http::NodeHeartbeat& heartbeat) override;
  Status LeaveNode(const std::string& node) override;
  Result<std::vector<http::AgentMember>> Members() override;

 private:
  class WatchImpl;
  struct WatchGroup;
  using Waiter = internal::Waiter;
  using Proposal = internal::Proposal;
  using Work = internal::Work;
  using Renewal = internal::Renewal;
  using HeartbeatRequest = internal::HeartbeatRequest;
  // Heartbeats forwarded to the leader in one ForwardHeartbeats frame.
  struct HeartbeatBatch {
    std::vector<HeartbeatRequest> requests;
    consensus::NodeId forwarded_to = consensus::kNoNode;
    std::int64_t forwarded_ms = 0;
  };

  explicit Node(NodeOptions options);
  Status Open();
  Status RestoreFromStorage();
  Status StartRaft();
  void Loop();

  // Loop: inbox and time.
  void Enqueue(Work work);
  void HandleWork(Work& work);
  void HandleFrame(const PeerInfo& from, Frame& frame, const Reply& reply);
  void TickIfDue();
  void ExpireWaits();

  // Loop: writes.
  void ProposeOrForward(Proposal proposal);
  void CompleteProposal(Proposal& proposal, Result<http::WriteOutcome> result);
  // The proposal's entry applied at index with result (refused or not).
  void CompleteApplied(Proposal& proposal, consensus::Index index,
                       const store::ApplyResult& result);
  void HandleForwardApply(ForwardApply request, const Reply& reply);
  void ProposeConfChange(const consensus::ConfChange& change, std::shared_ptr<Waiter> waiter);
  void HandleForwardResult(const ForwardResult& result);

  // Loop: reads.
  void StartReadIndex(std::shared_ptr<Waiter> waiter);
  void ReleaseReads();

  // Loop: the Ready cycle.
  void HandleReadies();
  bool PersistReady(consensus::Ready& ready);
  void ApplyCommitted(std::vector<consensus::Entry>& entries);
  void ApplyConfChange(const consensus::Entry& entry);
  std::vector<consensus::Entry> TakeDurableCommitted(consensus::Ready& ready);
  void InstallSnapshot(const consensus::Snapshot& snapshot);
  void MaybeTakeSnapshot();
  void FinishSnapshot(internal::SnapshotWrittenWork& written);
  void MaybeReapTombstones();
  void SendMessages(std::vector<consensus::Message>& messages);
  void PublishStatus(const consensus::Ready& ready);
  void FailProposalsOnLostLeadership();

  // Loop: sessions and liveness (node_sessions.cc).
  // A KvLock or Txn refused by lock-delay, with its outcome; nullopt to propose it.
  std::optional<http::WriteOutcome> LockDelayRefusal(const std::string& command);
  void TrackSessions(const consensus::Entry& entry, const store::ApplyResult& result);
  void MaybeExpireSessions();
  void RestartSessionTimers(std::int64_t now_ms);
  void ProcessRenewal(Renewal renewal);
  Result<store::Session> RenewOnLeader(const std::string& session_id);
  void CompleteRenewal(Renewal& renewal, Result<store::Session> result);
  void HandleForwardRenew(const ForwardRenew& request, const Reply& reply);
  void HandleForwardRenewResult(const ForwardRenewResult& result);
  void RetryRenewals();
  void FailRenewals(const Status& status);
  void MaybeRegisterSelf();

  // Loop: node liveness (node_liveness.cc).
  void FlushHeartbeats();
  // Heartbeat and LeaveNode: enqueue `request` for the loop and wait for its status.
  Status RunHeartbeatRequest(HeartbeatRequest request);
  // A backend call's wait for the loop to answer what it queued at `queued_ms`.
  Status WaitForLoop(Waiter& waiter, std::int64_t queued_ms);
  void RetryForwardedHeartbeats(std::int64_t now_ms, consensus::NodeId leader);
  void HeartbeatOnLeader(const HeartbeatRequest& request, std::int64_t now_ms);
  void CompleteHeartbeat(HeartbeatRequest& request, const Status& status);
  void HandleForwardHeartbeats(const ForwardHeartbeats& batch, const Reply& reply);
  void HandleForwardHeartbeatsResult(const ForwardHeartbeatsResult& result);
  void TrackLiveness(const consensus::Entry& entry, const store::ApplyResult& result);
  void MaybeDriveLiveness();
  void MaybeHeartbeatSelf();
  void PublishLeftNodes();
  void FailHeartbeats(const Status& status);

  // Loop: membership.
  Status Bootstrap(const std::vector<Join>& servers);
  void TryBootstrapOrJoin();
  Join SelfJoin() const;
  void HandleJoin(const Join& join, const Reply& reply);
  void MaybePromoteLearners();
  void UpdateTransportPeers();

  Status SaveClusterId(std::uint64_t cluster_id);
  void FailEverything(const Status& status);
  void WakeWatchers(const store::ChangeSet& changes);
  void WakeAllWatchers();

  const NodeOptions options_;
  SystemClock clock_;
  SystemRandom random_;
  consensus::NodeId id_ = consensus::kNoNode;
  std::uint64_t cluster_id_ = 0;

  std::unique_ptr<SqliteLogStorage> storage_;
  std::unique_ptr<Transport> transport_;

  // The store, applied by the loop (exclusive lock) and read by HTTP workers (shared).
  mutable std::shared_mutex store_mutex_;
  store::Store store_;

  // Watchers of blocking queries and watch streams (node.cc). Watches of identical
  // keys share one WatchGroup: one registration in watch_set_, one wake-up per write.
  std::mutex watch_mutex_;
  store::WatchSet watch_set_;
  std::map<store::WatchId, std::shared_ptr<WatchGroup>> watch_groups_;  // by each of its ids
  std::map<std::string, WatchGroup*> watch_groups_by_keys_;             // by the keys' encoding

  // The inbox.
  std::mutex inbox_mutex_;
  std::condition_variable inbox_cv_;
  std::deque<std::unique_ptr<Work>> inbox_;
  bool stopping_ = false;

  // What HTTP workers and status endpoints read without the loop: under status_mutex_.
  mutable std::mutex status_mutex_;
  PeerDirectory directory_;
  consensus::ConfState conf_state_;
  consensus::NodeId leader_ = consensus::kNoNode;
  consensus::Term term_ = 0;
  consensus::Role role_ = consensus::Role::kFollower;
  consensus::Index commit_index_ = 0;
  consensus::Index applied_index_ = 0;
  consensus::Index conf_index_ = 0;
  std::int64_t last_leader_contact_ms_ = 0;
  bool leader_ready_for_reads_ = false;  // leader that applied its own first entry
  Status write_blocked_;  // why the log cannot persist (new writes fail fast), or Ok
  std::string self_address_;
  std::vector<LeftNode> left_nodes_;  // the leader's left list (empty on a follower)

  // Loop-only.
  std::unique_ptr<consensus::RawNode> raw_node_;
  std::int64_t next_tick_ms_ = 0;
  consensus::Index leader_term_start_index_ = 0;  // our no-op's index while we lead
  consensus::Index snapshot_index_ = 0;
  bool snapshot_in_progress_ = false;  // the snapshot thread is writing one
  TombstoneGc tombstone_gc_;
  // Sessions (node_sessions.cc). Timers and lock-delays exist only while leading, for
  // the term in session_timers_term_ (0: not leading).
  DeadlineTimers session_timers_;
  LockDelays lock_delays_;
  consensus::Term session_timers_term_ = 0;
  std::int64_t next_session_expiry_ms_ = 0;
  std::deque<Renewal> renewals_waiting_;          // for a leader (or for ours to be ready)
  std::map<std::uint64_t, Renewal> renewals_forwarded_;  // request id -> at the leader
  // Node liveness (node_liveness.cc): timers only while leading, for the term in
  // liveness_term_ (0: not leading, or not restarted yet in this term).
  NodeLiveness liveness_;
  consensus::Term liveness_term_ = 0;
  std::int64_t next_liveness_ms_ = 0;
  std::int64_t next_self_heartbeat_ms_ = 0;
  std::deque<HeartbeatRequest> heartbeats_waiting_;        // for a leader, or the next flush
  std::map<std::uint64_t, HeartbeatBatch> heartbeats_forwarded_;  // request id -> at the leader
  // Self-registration in the catalog: in flight (waiter), done, or retried at a time.
  std::shared_ptr<Waiter> registration_;
  bool registered_ = false;
  std::int64_t next_registration_ms_ = 0;
  std::uint64_t next_request_id_ = 1;
  std::map<consensus::Index, std::vector<Proposal>> proposals_by_index_;
  std::map<std::uint64_t, Proposal> forwarded_;   // request id -> waiting for the leader
  std::deque<Proposal> waiting_for_leader_;
  std::map<std::string, std::shared_ptr<Waiter>> reads_by_context_;
  std::multimap<consensus::Index, std::shared_ptr<Waiter>> reads_by_index_;
  std::deque<std::shared_ptr<Waiter>> reads_waiting_for_leader_;
  std::vector<Join> discovered_;  // servers met before bootstrap
  std::vector<std::string> join_targets_;  // -join addresses, then leaders they name
  std::vector<consensus::NodeId> known_transport_peers_;  // given to the transport
  std::vector<consensus::NodeId> removed_peers_;  // removed from the cluster, to drop
  std::int64_t next_discovery_ms_ = 0;
  std::thread loop_thread_;
  // Writes and fsyncs the snapshot file the loop encoded, so the loop keeps replicating
  // meanwhile; at most one at a time. Touches only that file (SnapshotStore's writers
  // and loads are independent per snapshot id) and the inbox.
  std::thread snapshot_thread_;
};

}  // namespace roster::server
