// Agent: the local agent of a Roster process (docs/agent.md). Every process runs one:
// `roster agent` with the servers of its -join list upstream, and `roster server` /
// `roster dev` with their own HTTP address upstream. It implements http::LocalAgent
// (the /v1/agent/* endpoints) and owns:
//  - LocalState: this node's services and checks, persisted in <data-dir>/agent.db;
//  - CheckRunner on a Scheduler thread and a few WorkerPool threads;
//  - a sync thread running AntiEntropy: SyncChanges as soon as something changed,
//    SyncFull every full_sync_interval_ms plus up to 10% random stagger (and soon after
//    the upstream server changed);
//  - a heartbeat thread: PUT /v1/internal/node/heartbeat every heartbeat_interval_ms
//    (±10%) to the current server, which keeps the node's serfHealth passing (not on a
//    server's own agent: the server's node is the servers' business);
//  - the Upstream link and the UpstreamForwarder (agent cache) for the HTTP server.
//
// Lifecycle: Open (restores agent.db), Reload (the -config-dir definitions), Start,
// serve, then Leave (deregisters the node; calls on_leave) or just Stop. Reload again on
// SIGHUP or PUT /v1/agent/reload.
// Thread-safety: the LocalAgent methods from any thread; Open/Start/Stop from one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "agent/anti_entropy.h"
#include "agent/check_runner.h"
#include "agent/config_dir.h"
#include "agent/forwarder.h"
#include "agent/local_state.h"
#include "agent/scheduler.h"
#include "agent/upstream.h"
#include "base/clock.h"
#include "base/version.h"
#include "http/local_agent.h"

namespace roster::agent {

struct AgentOptions {
  std::string node_name;
  std::string data_dir;                       // holds agent.db
  std::string advertise_address = "127.0.0.1";  // the node's Address in the catalog
  std::vector<std::string> servers;           // HTTP addresses ("host:port") upstream
  std::string config_dir;  // service and check definitions (agent/config_dir.h); may be ""
  std::string datacenter = "dc1";
  store::StringMap node_meta;
  bool server = false;  // a server's own agent
  bool enable_script_checks = false;
  std::string version = std::string(kRosterVersion);
  std::int64_t heartbeat_interval_ms = 2'000;
  std::int64_t full_sync_interval_ms = 60'000;
  std::int64_t output_sync_interval_ms = 300'000;  // Consul's check_update_interval
  std::int64_t sync_retry_ms = 3'000;              // after a failed sync
  std::int64_t reap_interval_ms = 1'000;           // DeregisterCriticalServiceAfter checks
  int probe_threads = 4;
  // Called (on the caller's thread) once Leave has deregistered the node: the process
  // should exit.
  std::function<void()> on_leave;
};

// The text Consul answers when script checks are off.
inline constexpr const char* kScriptChecksDisabled =
    "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or "
    "'enable_local_script_checks' to true";

class Agent final : public http::LocalAgent {
 public:
  // Opens <data_dir>/agent.db (creating the node ID on first start) and restores the
  // services and checks in it. `clock` must be a real clock once Start is called.
  static Result<std::unique_ptr<Agent>> Open(AgentOptions options, const Clock& clock);
  ~Agent() override;

  // Starts the checks, the sync and the heartbeat.
  void Start();
  // Stops every thread and aborts requests in flight. Idempotent.
  void Stop();

  http::Forwarder& forwarder() { return forwarder_; }
  Upstream& upstream() { return upstream_; }
  LocalState& state() { return *state_; }
  const NodeIdentity& identity() const { return identity_; }
  bool left() const { return left_.load(); }

  // http::LocalAgent
  http::AgentInfo Info() override;
  std::vector<store::NodeService> Services() override;
  std::vector<store::HealthCheck> Checks() override;
  Status RegisterService(http::AgentServiceRegistration registration) override;
  Status DeregisterService(const std::string& service_id) override;
  Status RegisterCheck(http::AgentCheck check) override;
  Status DeregisterCheck(const std::string& check_id) override;
  Status UpdateTtlCheck(const std::string& check_id, store::HealthStatus status,
                        const std::string& output) override;
  Status SetNodeMaintenance(bool enable, const std::string& reason) override;
  Status SetServiceMaintenance(const std::string& service_id, bool enable,
                               const std::string& reason) override;
  Result<std::vector<http::AgentMember>> Members() override;
  Status Leave() override;
  // Reads the -config-dir files again and makes the agent hold what they define: new and
  // changed definitions are registered (a check registered again keeps its status), and
  // services and checks (those of a service's definition too) that came from the files
  // and are gone from them are removed. What was registered through the API is left
  // alone, unless the files define the same id (they then own it, until the API
  // registers it again). FailedPrecondition naming
  // the file when a file is bad or a definition cannot be applied; nothing changes then.
  // Without a -config-dir the files define nothing, so what they defined before goes.
  Status Reload() override;
  std::uint64_t LocalChanges() override;
  void WaitForLocalChange(std::uint64_t seen, std::chrono::steady_clock::time_point deadline,
                          std::stop_token stop) override;

 private:
  Agent(AgentOptions options, const Clock& clock, NodeIdentity identity,
        std::unique_ptr<LocalState> state);

  Status CheckAllowed(const http::AgentCheck& check) const;
  Status AddCheck(http::AgentCheck check);
  // The registrations themselves. REQUIRES: registration_mutex_.
  Status RegisterServiceLocked(http::AgentServiceRegistration registration);
  Status DeregisterServiceLocked(const std::string& service_id);
  Status RegisterCheckLocked(http::AgentCheck check);
  Status DeregisterCheckLocked(const std::string& check_id);
  // An id registered or removed through the API is no longer the files'.
  // REQUIRES: registration_mutex_.
  Status ReleaseFromConfig(std::set<std::string>& owned, const std::string& id);
  // Removes what the files owned and no longer define (`wanted`), and the checks they
  // move to another owner; returns how many services and checks went.
  // REQUIRES: registration_mutex_.
  Result<int> RemoveConfigLeftovers(const LocalState::ConfigIds& wanted,
                                    const std::map<std::string, std::string>& check_owners);
  // Why `definitions` cannot be applied over what the agent holds, or OK; fills `owners`
  // with each check id the files define and its service id ("" for the node).
  // REQUIRES: registration_mutex_.
  Status CheckConfigApplies(const ConfigDefinitions& definitions,
                            std::map<std::string, std::string>* owners) const;
  void RequestSync(bool full);
  void SyncLoop();
  void HeartbeatLoop();
  void Reap();

  const AgentOptions options_;
  const Clock& clock_;
  const NodeIdentity identity_;
  std::unique_ptr<LocalState> state_;
  Upstream upstream_;
  UpstreamForwarder forwarder_;
  AntiEntropy anti_entropy_;
  Scheduler scheduler_;
  std::unique_ptr<WorkerPool> probe_pool_;
  std::unique_ptr<CheckRunner> runner_;

  std::mutex registration_mutex_;  // one registration at a time, so checks follow services
  LocalState::ConfigIds config_ids_;  // guarded by registration_mutex_: what the files own

  std::mutex changes_mutex_;
  std::condition_variable changes_cv_;
  std::uint64_t changes_ = 0;  // guarded by changes_mutex_: LocalChanges()

  std::mutex loop_mutex_;
  std::condition_variable loop_wake_;
  bool stopping_ = false;       // guarded by loop_mutex_
  bool sync_requested_ = false;  // guarded by loop_mutex_
  bool full_sync_soon_ = false;  // guarded by loop_mutex_
  std::atomic<bool> left_{false};
  std::atomic<bool> started_{false};
  std::thread sync_thread_;
  std::thread heartbeat_thread_;
};

}  // namespace roster::agent
