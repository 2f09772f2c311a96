// Cluster: one deterministic simulation run. It owns the simulated nodes, the network,
// the clients, the fault injector and the checkers, and drives them on a simulated
// clock of whole milliseconds:
//   fault phase  clients run while faults strike, for options.fault_ticks ticks;
//   heal phase   every fault is lifted and crashed nodes restart; a leader must emerge,
//                every KV client must complete a write and a read, every lock client
//                acquire and release a lock, and every member must apply the same log,
//                within a fixed bound (liveness);
//   final checks log matching over every storage, linearizability of the KV history,
//                the downstream requests still in flight.
// The run is a function of options alone: every random choice comes from one
// DeterministicRandom seeded from options.seed, and every container that is iterated
// is ordered. Single-threaded; one Cluster per run. Design notes:
// docs/design/simulator.md.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "base/random.h"
#include "tests/sim/checkers.h"
#include "tests/sim/lock_workload.h"
#include "tests/sim/network.h"
#include "tests/sim/sim_node.h"
#include "tests/sim/trace.h"

namespace roster::sim {

class FaultInjector;
class MembershipDriver;
class Workload;

enum class FaultMode : std::uint8_t { kNone, kNet, kCrash, kAll };
const char* FaultModeName(FaultMode mode);

// Which clients run: KV clients (linearizability), lock clients (lock_workload.h), or
// both; kAuto lets each seed choose.
enum class WorkloadMode : std::uint8_t { kAuto, kKv, kLocks, kMixed };
const char* WorkloadModeName(WorkloadMode mode);

struct SimOptions {
  std::uint64_t seed = 1;
  int nodes = 0;  // 3, 5 or 7; 0 lets the seed choose
  FaultMode faults = FaultMode::kAll;
  std::uint64_t fault_ticks = 3000;  // length of the fault phase, in (unskewed) ticks
  WorkloadMode workload = WorkloadMode::kAuto;
  // false: the lock model does not compare itself with the store (mutation tests of
  // the client-side lock checks; see LockWorkloadSettings::model_checks).
  bool lock_model_checks = true;
};

struct SimStats {
  int nodes = 0;
  std::uint64_t ops_completed = 0;
  std::uint64_t ops_incomplete = 0;  // writes with unknown outcome (timeouts, crashes)
  std::uint64_t ops_failed = 0;      // definitely not applied; retried as new ops
  std::uint64_t elections = 0;       // terms in which a leader was elected
  std::uint64_t leader_changes = 0;
  std::uint64_t crashes = 0;
  std::array<std::uint64_t, kCrashPointCount> crashes_at{};
  std::uint64_t snapshots_taken = 0;
  std::uint64_t snapshots_installed = 0;  // complete InstallSnapshot transfers
  std::uint64_t snapshot_chunks = 0;
  std::uint64_t membership_changes = 0;
  std::uint64_t messages_delivered = 0;
  std::uint64_t messages_dropped = 0;
  std::uint64_t end_ms = 0;
  std::uint64_t heal_ms = 0;  // how long the heal phase took to satisfy liveness
  bool linearizability_timed_out = false;
  WorkloadMode workload = WorkloadMode::kKv;  // what the seed ran (never kAuto)
  int lock_clients = 0;
  LockStats locks;
};

struct SimResult {
  bool ok = true;
  std::string violation;  // the first one found
  SimStats stats;
};

class Cluster : private NodeEnvironment {
 public:
  // Trace events go to `trace`, which the caller prints when the run fails.
  Cluster(const SimOptions& options, Trace* trace);
  ~Cluster() override;
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  SimResult Run();

  // ---- For the workload, the fault injector and the membership driver. ----
  std::uint64_t now_ms() const { return now_ms_; }
  Random& random() { return random_; }
  Trace& trace() { return *trace_; }
  SimNetwork& network() { return network_; }
  SafetyChecker& checker() { return checker_; }
  SimStats& stats() { return stats_; }
  const consensus::Config& raft_config() const { return settings_.raft; }
  std::uint64_t tick_ms() const { return kTickMs; }

  // Nodes that exist and were not retired, in id order (up or not).
  std::vector<consensus::NodeId> NodeIds() const;
  SimNode* FindNode(consensus::NodeId id);
  // The node if it is up and not paused (a client or an operator can reach it now).
  SimNode* ReachableNode(consensus::NodeId id);
  // The reachable node that leads the highest term, if any.
  SimNode* Leader();

  // Crashes `id` at `point` of the next Ready matching `trigger` (kIdle: now), and
  // restarts it downtime_ms later.
  void Crash(consensus::NodeId id, CrashPoint point, CrashTrigger trigger,
             std::uint64_t downtime_ms);
  void Pause(consensus::NodeId id, std::uint64_t duration_ms);
  // Starts a brand-new node with an empty disk (a future learner).
  consensus::NodeId AddNode();
  // Stops `id` for good; its id is never used again.
  void RetireNode(consensus::NodeId id);

  void Fail(std::string violation);
  bool failed() const { return !violation_.empty(); }

 private:
  static constexpr std::uint64_t kTickMs = 10;

  void Setup();
  std::string SetupWorkloads();
  void Step(bool faults_on);
  void DeliverDue();
  void Deliver(consensus::Message message);
  void TickNodes();
  void ProcessReadies();
  void AfterCrash(SimNode& node);
  void CrashOverdueNodes();
  void RestartDue();
  void Restart(SimNode& node);
  void Heal();
  bool Converged();
  std::string DescribeState();
  void CheckLogsNow();
  void CheckLeaderLogs();
  void CheckHistory();

  // NodeEnvironment.
  void SendMessage(SimNode& node, consensus::Message message) override;
  void OnSoftState(SimNode& node, const consensus::SoftState& state) override;
  void OnApplied(SimNode& node, const consensus::Entry& entry,
                 const ApplyOutcome& outcome) override;
  void OnSnapshotInstalled(SimNode& node, const consensus::SnapshotMetadata& metadata) override;
  void OnSnapshotTaken(SimNode& node, consensus::Index index) override;
  void OnReadServed(SimNode& node, const std::string& context) override;
  void OnViolation(SimNode& node, std::string what) override;

  SimOptions options_;
  Trace* trace_;
  DeterministicRandom random_;
  SimNetwork network_;
  NodeSettings settings_;
  SafetyChecker checker_;
  SimStats stats_;
  std::map<consensus::NodeId, std::unique_ptr<SimNode>> nodes_;
  consensus::NodeId next_node_id_ = 1;
  std::map<consensus::NodeId, std::uint64_t> restart_at_ms_;
  std::map<consensus::NodeId, std::uint64_t> armed_at_ms_;
  std::vector<std::pair<consensus::NodeId, consensus::NodeId>> unreachable_reports_;
  std::vector<consensus::NodeId> new_leaders_;  // leader completeness is checked after Ready
  std::vector<consensus::Message> due_;
  consensus::NodeId last_leader_ = consensus::kNoNode;
  consensus::Index bootstrap_last_index_ = 0;  // the founding membership's log
  std::unique_ptr<Workload> workload_;
  std::unique_ptr<LockWorkload> locks_;  // null when the seed runs no lock clients
  std::unique_ptr<FaultInjector> faults_;
  std::unique_ptr<MembershipDriver> membership_;
  std::uint64_t now_ms_ = 0;
  std::string violation_;
};

}  // namespace roster::sim
