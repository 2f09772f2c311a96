// What simulated nodes report while handling a Ready (the NodeEnvironment), and the
// checks the Cluster runs on it: safety as it happens, log checks periodically,
// convergence for liveness, linearizability at the end.
#include <algorithm>
#include <sstream>
#include <utility>

#include "base/check.h"
#include "tests/sim/cluster.h"
#include "tests/sim/linearizability.h"
#include "tests/sim/membership.h"
#include "tests/sim/workload.h"

namespace roster::sim {
namespace {

using consensus::NodeId;

// Search budget per key for the linearizability checker; a key that needs more is
// reported as undecided, not passed silently.
constexpr std::uint64_t kLinearizabilityStepsPerKey = 2'000'000;

std::string N(NodeId id) { return "n" + std::to_string(id); }

}  // namespace

void Cluster::SendMessage(SimNode& node, consensus::Message message) {
  if (message.type == consensus::MessageType::kSnapshot) ++stats_.snapshot_chunks;
  switch (network_.Admit(message.from, message.to)) {
    case SendOutcome::kBlocked:
      ++stats_.messages_dropped;
      trace_->RecordMessage(now_ms_, TraceKind::kDrop, message, "partitioned");
      // A real transport notices a dead connection; tell the sender now and then.
      if (random_.OneIn(4)) unreachable_reports_.push_back({node.id(), message.to});
      return;
    case SendOutcome::kDropped:
      ++stats_.messages_dropped;
      trace_->RecordMessage(now_ms_, TraceKind::kDrop, message, "lost");
      return;
    case SendOutcome::kDuplicated:
      trace_->RecordMessage(now_ms_, TraceKind::kDuplicate, message, nullptr);
      network_.Enqueue(now_ms_, message);
      break;
    case SendOutcome::kQueued:
      break;
  }
  network_.Enqueue(now_ms_, std::move(message));
}

void Cluster::OnSoftState(SimNode& node, const consensus::SoftState& state) {
  const consensus::Term term = node.raw().term();
  trace_->Record(now_ms_, TraceKind::kRole, node.id(),
                 std::string(consensus::RoleName(state.role)) + " term " + std::to_string(term) +
                     " leader " + N(state.leader));
  if (state.role != consensus::Role::kLeader) return;
  if (std::string problem = checker_.OnLeader(node.id(), term); !problem.empty()) Fail(problem);
  new_leaders_.push_back(node.id());
  if (last_leader_ != consensus::kNoNode && last_leader_ != node.id()) ++stats_.leader_changes;
  last_leader_ = node.id();
}

void Cluster::OnApplied(SimNode& node, const consensus::Entry& entry, const ApplyOutcome& outcome) {
  trace_->RecordApply(now_ms_, node.id(), entry, outcome.op_id);
  const bool first = !checker_.IsApplied(entry.index);
  const StoreMachine& machine = node.machine();
  std::string problem = checker_.OnApplied(node.id(), node.raw().term(), entry, machine.digest(),
                                           machine.StateHash(), outcome.op_id);
  if (!problem.empty()) {
    Fail(problem);
    return;
  }
  // The bootstrap's conf changes (the founding membership) are not membership changes.
  if (first && entry.type == consensus::EntryType::kConfChange &&
      entry.index > bootstrap_last_index_) {
    Result<consensus::ConfChange> change = consensus::DecodeConfChange(entry.data);
    CHECK(change.ok()) << change.status().ToString();
    membership_->OnCommitted(*change);
  }
  workload_->OnApplied(node, entry, outcome);
  if (locks_ != nullptr && !failed()) locks_->OnApplied(node, entry, outcome, first);
}

void Cluster::OnSnapshotInstalled(SimNode& node, const consensus::SnapshotMetadata& metadata) {
  ++stats_.snapshots_installed;
  trace_->Record(now_ms_, TraceKind::kSnapshot, node.id(),
                 "installed snapshot " + std::to_string(metadata.index) + "@" +
                     std::to_string(metadata.term) + " from the leader");
  const StoreMachine& machine = node.machine();
  std::string problem =
      checker_.OnSnapshotInstalled(node.id(), metadata, machine.digest(), machine.StateHash());
  if (!problem.empty()) Fail(problem);
  workload_->OnSnapshotInstalled(node, metadata.index);
  if (locks_ != nullptr) locks_->OnSnapshotInstalled(node, metadata.index);
}

void Cluster::OnSnapshotTaken(SimNode& node, consensus::Index index) {
  ++stats_.snapshots_taken;
  trace_->Record(now_ms_, TraceKind::kSnapshot, node.id(),
                 "took snapshot at " + std::to_string(index));
}

void Cluster::OnReadServed(SimNode& node, const std::string& context) {
  workload_->OnReadServed(node, context);
  if (locks_ != nullptr) locks_->OnReadServed(node, context);
}

void Cluster::OnViolation(SimNode& node, std::string what) { Fail(N(node.id()) + ": " + what); }

void Cluster::CheckLeaderLogs() {
  for (NodeId id : new_leaders_) {
    SimNode* node = FindNode(id);
    if (failed() || node == nullptr || !node->up() ||
        node->raw().role() != consensus::Role::kLeader) {
      continue;
    }
    std::string problem = checker_.CheckLeaderLog(id, node->raw().term(), node->disk().live_view());
    if (!problem.empty()) Fail(problem);
  }
  new_leaders_.clear();
}

void Cluster::CheckLogsNow() {
  std::vector<LogView> views;
  for (const auto& [id, node] : nodes_) {
    const consensus::MemoryStorage& storage = node->disk().live_view();
    views.push_back({id, &storage, storage.hard_state().commit});
  }
  if (std::string problem = checker_.CheckLogs(views); !problem.empty()) Fail(problem);
}

// Liveness: a leader, all client work done, and every member caught up with the
// leader's commit index in the same state.
bool Cluster::Converged() {
  if (!workload_->FinalRoundDone()) return false;
  if (locks_ != nullptr && !locks_->FinalRoundDone()) return false;
  SimNode* leader = Leader();
  if (leader == nullptr) return false;
  const consensus::Index commit = leader->raw().GetStatus().hard_state.commit;
  if (leader->machine().applied() != commit) return false;
  const consensus::ConfState conf = leader->raw().conf_state();
  std::vector<NodeId> members = conf.voters;
  members.insert(members.end(), conf.learners.begin(), conf.learners.end());
  for (NodeId id : members) {
    SimNode* node = ReachableNode(id);
    if (node == nullptr || node->machine().applied() != commit ||
        node->machine().digest() != leader->machine().digest()) {
      return false;
    }
  }
  return true;
}

std::string Cluster::DescribeState() {
  std::ostringstream out;
  for (auto& [id, node] : nodes_) {
    out << "\n  " << N(id) << ": ";
    if (!node->up()) {
      out << "down";
      continue;
    }
    const consensus::NodeStatus status = node->raw().GetStatus();
    out << consensus::RoleName(status.soft_state.role) << " term " << status.hard_state.term
        << " leader " << N(status.soft_state.leader) << " commit " << status.hard_state.commit
        << " applied " << node->machine().applied() << " last " << status.last_index << " voters";
    for (NodeId voter : status.conf_state.voters) out << ' ' << N(voter);
    if (!status.conf_state.learners.empty()) out << " learners";
    for (NodeId learner : status.conf_state.learners) out << ' ' << N(learner);
  }
  out << "\n  clients:" << workload_->DescribeClients();
  if (locks_ != nullptr) out << "\n  lock clients:" << locks_->DescribeClients();
  return out.str();
}

void Cluster::CheckHistory() {
  const std::vector<Operation> history = workload_->History();
  const CheckResult result = roster::sim::CheckHistory(history, kLinearizabilityStepsPerKey);
  if (result.timed_out) {
    stats_.linearizability_timed_out = true;
    trace_->Record(now_ms_, TraceKind::kPhase, consensus::kNoNode,
                   "linearizability undecided for key " + result.key + " (search budget spent)");
  }
  if (!result.linearizable) {
    Fail("linearizability: key \"" + result.key + "\" (" + std::to_string(history.size()) +
         " ops in the history):\n" + result.explanation);
  }
}

}  // namespace roster::sim
