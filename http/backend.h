// Backend: what the HTTP front end needs from whoever serves it. A server implements
// it over its local replica and Raft (server/); later an agent implements it by
// forwarding to servers (agent/). http/ never sees Raft, sockets to peers or SQLite.
//
// Thread-safety: every method may be called from any HTTP worker thread, concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "http/local_agent.h"
#include "store/apply_result.h"
#include "store/session.h"
#include "store/store.h"
#include "store/watch_set.h"

namespace roster::http {

// Consul's consistency modes (reference/consul-api.md §2.3).
enum class Consistency {
  kDefault,     // the leader's state
  kStale,       // this server's state, whatever its lag
  kConsistent,  // confirmed by a quorum (ReadIndex) before reading
};

// What a read response reports in X-Consul-KnownLeader, X-Consul-LastContact and
// X-Consul-Effective-Consistency.
struct ReadMeta {
  bool known_leader = false;
  std::int64_t last_contact_ms = 0;  // 0 on the leader
  Consistency effective = Consistency::kDefault;
};

// The result of a write that went through Raft (store::ApplyResult, as far as a client
// sees it). A command the store refused at apply ("invalid session", "Missing node
// registration") is not an outcome: Apply returns FailedPrecondition with the store's
// text, which the handlers answer with Consul's 500.
struct WriteOutcome {
  bool ok = true;           // false when a condition did not hold (CAS, lock, txn)
  std::uint64_t index = 0;  // the log index the command was applied at
  std::optional<store::DirEntry> entry;  // kv-create-sequential: the entry it created
  store::TxnOutcome txn;                 // txn: its results, or its errors (ok == false)
};

// Interest in part of the store (store::WatchKey). Register it BEFORE running the
// query it guards: a write that lands between the query and WaitUntil is not missed.
class Watch {
 public:
  virtual ~Watch() = default;
  // Blocks until a write touched a watched key (or the store was replaced by a
  // snapshot) since the watch was created or since the last WaitUntil returned true,
  // or until `deadline`. Returns true if woken by a write.
  virtual bool WaitUntil(std::chrono::steady_clock::time_point deadline) = 0;
  // For an event loop instead of a waiting thread: calls `fired` after every write that
  // touches a watched key (or replaces the store), from now until the watch is
  // destroyed, and once at once if such a write came since the watch was created. It
  // runs on the thread that applied the write, with the watch's own lock held: it must
  // only queue work and must not touch this watch. Call it at most once per watch.
  virtual void OnFire(std::function<void()> fired) = 0;
};

// PUT /v1/internal/node/heartbeat: an agent says its node is alive (docs/api.md,
// "Node liveness"). The leader drives the node's serfHealth check from these.
struct NodeHeartbeat {
  std::string node;     // required
  std::string id;       // the node's ID; empty: keep the catalog's
  std::string address;  // required
  std::optional<store::StringMap> meta;  // nullopt: keep the catalog's node meta

  bool operator==(const NodeHeartbeat&) const = default;
};

struct NodeHeartbeatReply {
  // Heartbeats must come more often than this, or the node turns critical.
  std::int64_t failure_timeout_ms = 0;
};

struct RaftServer {
  std::string id;       // node id as a string
  std::string node;     // node name
  std::string address;  // "host:port" of its server (RPC) port
  bool leader = false;
  bool voter = true;
};

struct RaftConfiguration {
  std::vector<RaftServer> servers;
  std::uint64_t index = 0;  // index of the configuration
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Commits a store command (store/command.h encoding) through Raft and returns how it
  // applied. Waits for a leader up to the configured hold time (7 s), then
  // Unavailable("No cluster leader"). IoError/ResourceExhausted if the cluster cannot
  // persist it. The caller validated the command; it is never half-applied.
  // Lock-delay (consul-api.md §3.3) is enforced here, on the leader, before Raft: a
  // KvLock on a key whose holder's session ended less than its lock-delay ago comes
  // back ok == false without being proposed; so does a Txn with a `lock` op on such a
  // key, with txn.errors naming each of those ops (store::CheckLockDelays).
  virtual Result<WriteOutcome> Apply(std::string command) = 0;

  // PUT /v1/session/renew: restarts the session's TTL timer on the leader (forwarded
  // there; not a Raft write) and returns the session as the leader's store holds it.
  // NotFound when there is no such session; Unavailable without a leader.
  virtual Result<store::Session> RenewSession(const std::string& id) = 0;

  // Node liveness (docs/design/server.md, "Node liveness"). A heartbeat goes to the
  // leader (forwarded, batched; not a Raft write unless the catalog must change: an
  // unknown node, a serfHealth check that is not passing, a new address, ID or meta)
  // and restarts the node's failure timer. Unavailable("No cluster leader") when no
  // leader takes it within the hold time. The caller validated node and address.
  virtual Result<NodeHeartbeatReply> Heartbeat(const NodeHeartbeat& heartbeat) = 0;
  // A graceful leave: the leader stops the node's timers and remembers it as left for
  // the reconnect timeout, then the node is deregistered from the catalog (its
  // services, checks and sessions go with it). Done once this returns Ok.
  virtual Status LeaveNode(const std::string& node) = 0;
  // GET /v1/internal/members (and /v1/agent/members on a server): one member per node
  // with a serfHealth check in the local replica (alive when passing, failed when
  // critical), plus the nodes that left recently, as far as this server knows them.
  virtual Result<std::vector<AgentMember>> Members() = 0;

  // Brings the local replica to a point fit for `mode`, then runs `read` with the store
  // held still (no apply runs during it). `read` must not block.
  virtual Result<ReadMeta> Read(Consistency mode,
                                const std::function<void(const store::Store&)>& read) = 0;

  virtual std::unique_ptr<Watch> NewWatch(std::vector<store::WatchKey> keys) = 0;

  // Whether Read(mode, ...) runs at once on the local replica, without waiting for the
  // leader (a ReadIndex round): stale reads always; default ones on a leader. The
  // event loop runs such reads itself and hands the others to a worker thread.
  virtual bool ReadsLocally(Consistency mode) { return mode == Consistency::kStale; }

  // /v1/status and /v1/operator/raft.
  virtual std::string LeaderAddress() = 0;  // "host:port" of the leader's server port, or ""
  virtual std::vector<std::string> PeerAddresses() = 0;
  virtual Result<RaftConfiguration> GetRaftConfiguration(Consistency mode) = 0;
  // Removes a server by id or by address; NotFound if no such server.
  virtual Status RemovePeer(const std::string& id, const std::string& address) = 0;

  // /v1/agent/self: facts about this process, including why it cannot accept writes
  // (e.g. a full disk). A JSON object rendered by the backend's owner is not used here:
  // http/ maps these fields.
  struct SelfInfo {
    std::string node_name;
    std::string node_id;
    std::string datacenter = "dc1";
    std::string server_address;  // RPC "host:port"
    std::string http_address;
    bool server = true;
    std::string version;
    std::string write_blocked_reason;  // empty when writes are accepted
    std::uint64_t last_applied_index = 0;
    std::uint64_t commit_index = 0;
    std::string raft_state;  // "Leader", "Follower", "Candidate"
  };
  virtual SelfInfo Self() = 0;
};

}  // namespace roster::http
