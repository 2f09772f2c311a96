// The run's phases, its millisecond loop, and the life cycle of nodes (start, crash,
// restart, pause, join, retire). What nodes report while handling a Ready, and the
// checks run on it, are in cluster_events.cc.
#include "tests/sim/cluster.h"

#include <algorithm>
#include <utility>

#include "base/check.h"
#include "tests/sim/faults.h"
#include "tests/sim/membership.h"
#include "tests/sim/workload.h"

namespace roster::sim {
namespace {

using consensus::NodeId;

constexpr int kElectionTicks = 10;
// Liveness bound for the heal phase: generous (a healthy cluster needs a few election
// timeouts), fixed, and still far below forever.
constexpr std::uint64_t kLivenessBoundTicks = 200 * kElectionTicks;
// An armed crash point that the node has not reached in this long strikes at once.
constexpr std::uint64_t kArmedCrashMaxTicks = 50;
constexpr std::uint64_t kLogCheckEveryMs = 250;

template <typename T, std::size_t N>
T Pick(Random& random, const T (&choices)[N]) {
  return choices[random.Uniform(N)];
}

}  // namespace

const char* WorkloadModeName(WorkloadMode mode) {
  switch (mode) {
    case WorkloadMode::kAuto:
      return "auto";
    case WorkloadMode::kKv:
      return "kv";
    case WorkloadMode::kLocks:
      return "locks";
    case WorkloadMode::kMixed:
      return "mixed";
  }
  return "?";
}

const char* FaultModeName(FaultMode mode) {
  switch (mode) {
    case FaultMode::kNone:
      return "none";
    case FaultMode::kNet:
      return "net";
    case FaultMode::kCrash:
      return "crash";
    case FaultMode::kAll:
      return "all";
  }
  return "?";
}

Cluster::Cluster(const SimOptions& options, Trace* trace)
    : options_(options), trace_(trace), random_(options.seed), network_(&random_) {
  CHECK(trace != nullptr);
}

Cluster::~Cluster() = default;

// Draws the run's parameters from the seed: small messages, windows, chunks and
// snapshot intervals, so that batching, flow control and chunked InstallSnapshot all
// happen in a short run.
void Cluster::Setup() {
  stats_.nodes = options_.nodes != 0 ? options_.nodes : Pick(random_, {3, 3, 3, 5, 5, 5, 7});
  consensus::Config& raft = settings_.raft;
  raft.election_ticks = kElectionTicks;
  raft.heartbeat_ticks = 1;
  raft.pre_vote = !random_.OneIn(5);
  raft.check_quorum = !random_.OneIn(5);
  raft.max_message_bytes = Pick<std::uint64_t>(random_, {150, 600, 4096, 1 << 20});
  raft.max_inflight_messages = Pick<std::uint64_t>(random_, {1, 4, 16, 256});
  raft.snapshot_chunk_bytes = Pick<std::uint64_t>(random_, {16, 40, 100, 1 << 20});
  raft.max_committed_bytes_per_ready = Pick<std::uint64_t>(random_, {100, 1000, 64 << 20});
  settings_.snapshot_interval_entries = random_.Range(4, 32);
  settings_.snapshot_keep_entries = random_.Range(0, 6);

  const std::string clients = SetupWorkloads();
  membership_ = std::make_unique<MembershipDriver>(this);
  faults_ = std::make_unique<FaultInjector>(this, options_.faults, membership_.get());

  consensus::ConfState conf;
  for (int i = 0; i < stats_.nodes; ++i) conf.voters.push_back(next_node_id_ + i);
  for (int i = 0; i < stats_.nodes; ++i) {
    const NodeId id = next_node_id_++;
    auto node = std::make_unique<SimNode>(id, settings_, &random_);
    node->Bootstrap(conf);
    bootstrap_last_index_ = node->disk().durable().LastIndex();
    nodes_.emplace(id, std::move(node));
    Restart(*nodes_.at(id));
  }
  trace_->Record(0, TraceKind::kPhase, consensus::kNoNode,
                 "seed " + std::to_string(options_.seed) + ": " + std::to_string(stats_.nodes) +
                     " nodes, faults " + FaultModeName(options_.faults) + ", pre_vote " +
                     std::to_string(raft.pre_vote) + ", check_quorum " +
                     std::to_string(raft.check_quorum) + ", max_message_bytes " +
                     std::to_string(raft.max_message_bytes) + ", inflight " +
                     std::to_string(raft.max_inflight_messages) + ", chunk " +
                     std::to_string(raft.snapshot_chunk_bytes) + " B, snapshot every " +
                     std::to_string(settings_.snapshot_interval_entries) + " keeping " +
                     std::to_string(settings_.snapshot_keep_entries) + ", " + clients);
}

// The KV clients and, unless the run is KV only, the lock clients. A KV-only run draws
// exactly what runs before the lock workload existed drew, so --workload kv replays
// their seeds. Returns what runs, for the trace.
std::string Cluster::SetupWorkloads() {
  WorkloadMode mode = options_.workload;
  if (mode == WorkloadMode::kAuto) {
    mode = Pick(random_,
                {WorkloadMode::kKv, WorkloadMode::kKv, WorkloadMode::kMixed, WorkloadMode::kLocks});
  }
  stats_.workload = mode;
  WorkloadSettings workload;
  workload.clients = static_cast<int>(random_.Range(2, 5));
  workload.keys = static_cast<int>(random_.Range(1, 4));
  workload.think_ms_max = random_.Range(0, 40);
  workload.op_timeout_ms = 60 * kTickMs;
  if (mode == WorkloadMode::kLocks) workload.clients = 0;
  if (mode == WorkloadMode::kMixed) workload.clients = std::min(workload.clients, 2);
  workload_ = std::make_unique<Workload>(this, workload);
  std::string what = std::to_string(workload.clients) + " KV clients on " +
                     std::to_string(workload.keys) + " keys";
  if (mode == WorkloadMode::kKv) return what;
  LockWorkloadSettings locks;
  locks.clients = static_cast<int>(random_.Range(2, 4));
  locks.mutexes = static_cast<int>(random_.Range(1, 2));
  locks.think_ms_max = random_.Range(5, 40);
  locks.op_timeout_ms = 60 * kTickMs;
  locks.model_checks = options_.lock_model_checks;
  locks_ = std::make_unique<LockWorkload>(this, locks);
  stats_.lock_clients = locks.clients;
  return what + ", " + std::to_string(locks.clients) + " lock clients on " +
         std::to_string(locks.mutexes) + " mutexes";
}

SimResult Cluster::Run() {
  Setup();
  const std::uint64_t fault_end_ms = options_.fault_ticks * kTickMs;
  for (; now_ms_ < fault_end_ms && !failed(); ++now_ms_) Step(/*faults_on=*/true);
  if (!failed()) {
    Heal();
    const std::uint64_t heal_start_ms = now_ms_;
    const std::uint64_t deadline_ms = heal_start_ms + kLivenessBoundTicks * kTickMs;
    for (;; ++now_ms_) {
      Step(/*faults_on=*/false);
      if (failed()) break;
      if (now_ms_ % kTickMs == 0 && Converged()) break;
      if (now_ms_ >= deadline_ms) {
        Fail("liveness: " + std::to_string(kLivenessBoundTicks) +
             " ticks after healing, not converged:" + DescribeState());
        break;
      }
    }
    stats_.heal_ms = now_ms_ - heal_start_ms;
  }
  if (!failed()) CheckLogsNow();
  if (!failed()) CheckHistory();
  if (!failed() && locks_ != nullptr) {
    if (std::string problem = locks_->Finish(); !problem.empty()) Fail(problem);
  }
  if (locks_ != nullptr) stats_.locks = locks_->stats();
  stats_.end_ms = now_ms_;
  stats_.ops_completed = workload_->completed();
  stats_.ops_incomplete = workload_->incomplete();
  stats_.ops_failed = workload_->failed();
  stats_.elections = checker_.elections();
  return SimResult{!failed(), violation_, stats_};
}

void Cluster::Step(bool faults_on) {
  DeliverDue();
  TickNodes();
  workload_->Step();
  if (locks_ != nullptr) locks_->Step();
  if (faults_on && now_ms_ % kTickMs == 0) faults_->Step();
  membership_->Step();
  RestartDue();
  for (auto [from, to] : unreachable_reports_) {
    if (SimNode* node = ReachableNode(from)) node->raw().ReportUnreachable(to);
  }
  unreachable_reports_.clear();
  ProcessReadies();
  CheckLeaderLogs();
  CrashOverdueNodes();
  if (now_ms_ % kLogCheckEveryMs == 0 && !failed()) CheckLogsNow();
}

// An armed crash point the node has not reached for a while strikes between Readies.
void Cluster::CrashOverdueNodes() {
  for (auto it = armed_at_ms_.begin(); it != armed_at_ms_.end();) {
    SimNode* node = FindNode(it->first);
    if (node == nullptr || !node->up() || now_ms_ < it->second + kArmedCrashMaxTicks * kTickMs) {
      ++it;
      continue;
    }
    node->ArmCrash(CrashPoint::kNone);
    node->Crash();
    it = armed_at_ms_.erase(it);
    AfterCrash(*node);
  }
}

void Cluster::DeliverDue() {
  due_.clear();
  network_.TakeDue(now_ms_, &due_);
  for (consensus::Message& message : due_) Deliver(std::move(message));
}

void Cluster::Deliver(consensus::Message message) {
  SimNode* node = FindNode(message.to);
  const char* lost = node == nullptr                                ? "no such node"
                     : !node->up()                                  ? "receiver down"
                     : network_.IsBlocked(message.from, message.to) ? "partitioned in flight"
                                                                    : nullptr;
  if (lost != nullptr) {
    ++stats_.messages_dropped;
    trace_->RecordMessage(now_ms_, TraceKind::kDrop, message, lost);
    return;
  }
  if (node->clock().paused(now_ms_)) {  // held in the socket until the process resumes
    network_.EnqueueAfter(now_ms_, node->clock().paused_until_ms - now_ms_, std::move(message));
    return;
  }
  ++stats_.messages_delivered;
  trace_->RecordMessage(now_ms_, TraceKind::kDeliver, message, nullptr);
  Status status = node->raw().Step(message);
  if (!status.ok())
    Fail("n" + std::to_string(node->id()) +
         " refused a message its peer sent: " + status.ToString());
}

void Cluster::TickNodes() {
  for (auto& [id, node] : nodes_) {
    if (!node->up() || node->clock().paused(now_ms_)) continue;
    while (node->clock().next_tick_ms <= now_ms_) {
      node->raw().Tick();
      node->clock().next_tick_ms += node->clock().tick_period_ms;
    }
  }
}

void Cluster::ProcessReadies() {
  for (auto& [id, node] : nodes_) {
    if (failed()) return;
    if (!node->up() || node->clock().paused(now_ms_)) continue;
    if (!node->ProcessReadies(*this)) {
      armed_at_ms_.erase(id);
      AfterCrash(*node);
    }
  }
}

void Cluster::Crash(NodeId id, CrashPoint point, CrashTrigger trigger, std::uint64_t downtime_ms) {
  SimNode* node = FindNode(id);
  CHECK(node != nullptr && node->up());
  restart_at_ms_[id] = now_ms_ + downtime_ms;  // counted from now, for simplicity
  if (point == CrashPoint::kIdle) {
    node->Crash();
    AfterCrash(*node);
    return;
  }
  node->ArmCrash(point, trigger);
  armed_at_ms_[id] = now_ms_;
  trace_->Record(now_ms_, TraceKind::kFault, id,
                 std::string("will crash at ") + CrashPointName(point) + " of the next " +
                     CrashTriggerName(trigger));
}

void Cluster::AfterCrash(SimNode& node) {
  ++stats_.crashes;
  ++stats_.crashes_at[static_cast<int>(node.last_crash_point())];
  const consensus::MemoryStorage& durable = node.disk().durable();
  trace_->Record(now_ms_, TraceKind::kCrash, node.id(),
                 std::string("at ") + CrashPointName(node.last_crash_point()) + "; durable: term " +
                     std::to_string(durable.hard_state().term) + " vote " +
                     std::to_string(durable.hard_state().vote) + " commit " +
                     std::to_string(durable.hard_state().commit) + " log " +
                     std::to_string(durable.FirstIndex()) + ".." +
                     std::to_string(durable.LastIndex()) + " snapshot " +
                     std::to_string(durable.snapshot().metadata.index));
  workload_->OnNodeDown(node.id());
  if (locks_ != nullptr) locks_->OnNodeDown(node.id());
  if (restart_at_ms_.count(node.id()) == 0) restart_at_ms_[node.id()] = now_ms_ + 20 * kTickMs;
}

void Cluster::RestartDue() {
  for (auto it = restart_at_ms_.begin(); it != restart_at_ms_.end();) {
    SimNode* node = FindNode(it->first);
    if (node != nullptr && it->second > now_ms_) {
      ++it;
      continue;
    }
    if (node != nullptr && !node->up()) Restart(*node);
    it = restart_at_ms_.erase(it);
  }
}

void Cluster::Restart(SimNode& node) {
  Status status = node.Start(random_.Next());
  if (!status.ok()) {
    Fail("n" + std::to_string(node.id()) + " cannot start: " + status.ToString());
    return;
  }
  node.clock().tick_period_ms = random_.Range(kTickMs * 8 / 10, kTickMs * 12 / 10);
  node.clock().next_tick_ms = now_ms_ + 1 + random_.Uniform(node.clock().tick_period_ms);
  const consensus::MemoryStorage& live = node.disk().live_view();
  trace_->Record(now_ms_, TraceKind::kRestart, node.id(),
                 "incarnation " + std::to_string(node.incarnation()) + ": term " +
                     std::to_string(live.hard_state().term) + " vote " +
                     std::to_string(live.hard_state().vote) + " commit " +
                     std::to_string(live.hard_state().commit) + " log " +
                     std::to_string(live.FirstIndex()) + ".." + std::to_string(live.LastIndex()) +
                     " applied " + std::to_string(node.machine().applied()) + ", ticks every " +
                     std::to_string(node.clock().tick_period_ms) + " ms");
}

void Cluster::Pause(NodeId id, std::uint64_t duration_ms) {
  SimNode* node = FindNode(id);
  CHECK(node != nullptr);
  node->clock().paused_until_ms = now_ms_ + duration_ms;
  node->clock().next_tick_ms = std::max(node->clock().next_tick_ms, node->clock().paused_until_ms);
  trace_->Record(now_ms_, TraceKind::kFault, id,
                 "paused for " + std::to_string(duration_ms) + " ms");
}

NodeId Cluster::AddNode() {
  const NodeId id = next_node_id_++;
  nodes_.emplace(id, std::make_unique<SimNode>(id, settings_, &random_));
  trace_->Record(now_ms_, TraceKind::kFault, id, "new node with an empty disk");
  Restart(*nodes_.at(id));
  return id;
}

void Cluster::RetireNode(NodeId id) {
  CHECK(nodes_.count(id) > 0);
  nodes_.erase(id);
  restart_at_ms_.erase(id);
  armed_at_ms_.erase(id);
  workload_->OnNodeDown(id);
  if (locks_ != nullptr) locks_->OnNodeDown(id);
  trace_->Record(now_ms_, TraceKind::kFault, id, "retired (removed from the cluster)");
}

void Cluster::Heal() {
  trace_->Record(now_ms_, TraceKind::kPhase, consensus::kNoNode,
                 "heal: faults stop; a leader must emerge and every client op complete");
  faults_->HealNetwork();
  armed_at_ms_.clear();
  restart_at_ms_.clear();
  for (auto& [id, node] : nodes_) {
    node->ArmCrash(CrashPoint::kNone);
    node->clock().paused_until_ms = 0;
    if (!node->up()) Restart(*node);
  }
  workload_->StartFinalRound();
  if (locks_ != nullptr) locks_->StartFinalRound();
}

std::vector<NodeId> Cluster::NodeIds() const {
  std::vector<NodeId> ids;
  ids.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) ids.push_back(id);
  return ids;
}

SimNode* Cluster::FindNode(NodeId id) {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second.get();
}

SimNode* Cluster::ReachableNode(NodeId id) {
  SimNode* node = FindNode(id);
  if (node == nullptr || !node->up() || node->clock().paused(now_ms_)) return nullptr;
  return node;
}

SimNode* Cluster::Leader() {
  SimNode* best = nullptr;
  for (auto& [id, node] : nodes_) {
    if (ReachableNode(id) == nullptr || node->raw().role() != consensus::Role::kLeader) continue;
    if (best == nullptr || node->raw().term() > best->raw().term()) best = node.get();
  }
  return best;
}

void Cluster::Fail(std::string violation) {
  if (!violation_.empty()) return;
  trace_->Record(now_ms_, TraceKind::kCheck, consensus::kNoNode, violation);
  violation_ = std::move(violation);
}

}  // namespace roster::sim
