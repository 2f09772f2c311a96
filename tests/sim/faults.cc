#include "tests/sim/faults.h"

#include <algorithm>
#include <utility>

#include "base/check.h"
#include "tests/sim/cluster.h"
#include "tests/sim/membership.h"

namespace roster::sim {
namespace {

using consensus::NodeId;

// Chances per tick of the fault phase (a tick is about 10 ms of simulated time).
constexpr std::uint64_t kConditionsOneIn = 100;
constexpr std::uint64_t kPartitionOneIn = 50;  // while none is active
constexpr std::uint64_t kCrashOneIn = 60;
constexpr std::uint64_t kPowerFailureOneIn = 300;
constexpr std::uint64_t kPauseOneIn = 200;
constexpr std::uint64_t kSkewOneIn = 150;
constexpr std::uint64_t kMembershipOneIn = 40;
constexpr std::uint64_t kTransferOneIn = 150;

std::string Ids(const std::vector<NodeId>& ids) {
  std::string out = "{";
  for (NodeId id : ids) out += (out.size() > 1 ? ",n" : "n") + std::to_string(id);
  return out + "}";
}

}  // namespace

FaultInjector::FaultInjector(Cluster* cluster, FaultMode mode, MembershipDriver* membership)
    : cluster_(cluster), mode_(mode), membership_(membership) {}

bool FaultInjector::NetworkFaults() const {
  return mode_ == FaultMode::kNet || mode_ == FaultMode::kAll;
}

bool FaultInjector::ProcessFaults() const {
  return mode_ == FaultMode::kCrash || mode_ == FaultMode::kAll;
}

void FaultInjector::Step() {
  Random& random = cluster_->random();
  if (NetworkFaults()) {
    if (random.OneIn(kConditionsOneIn)) ChangeConditions();
    if (cluster_->network().HasPartition() && cluster_->now_ms() >= partition_until_ms_) {
      cluster_->network().UnblockAll();
      Note(consensus::kNoNode, "partition healed");
    } else if (!cluster_->network().HasPartition() && random.OneIn(kPartitionOneIn)) {
      StartPartition();
    }
  }
  if (ProcessFaults()) {
    if (random.OneIn(kCrashOneIn)) CrashSomeNode();
    if (random.OneIn(kPowerFailureOneIn)) PowerFailure();
    if (random.OneIn(kPauseOneIn)) PauseSomeNode();
    if (random.OneIn(kSkewOneIn)) SkewSomeClock();
  }
  if (mode_ == FaultMode::kAll) {
    if (random.OneIn(kMembershipOneIn)) membership_->Act();
    if (random.OneIn(kTransferOneIn)) TransferLeadership();
  }
}

void FaultInjector::HealNetwork() {
  cluster_->network().UnblockAll();
  cluster_->network().set_conditions(NetworkConditions::Calm());
  Note(consensus::kNoNode, "network healed: no partitions, no loss, 1-5 ms delays");
}

void FaultInjector::ChangeConditions() {
  static constexpr double kDrops[] = {0, 0, 0.01, 0.05, 0.15};
  static constexpr double kDuplicates[] = {0, 0, 0.02, 0.1};
  static constexpr std::uint32_t kDelayMax[] = {3, 5, 10, 30};
  static constexpr double kSpikes[] = {0, 0, 0.01, 0.05};
  Random& random = cluster_->random();
  NetworkConditions conditions;
  conditions.drop_probability = kDrops[random.Uniform(std::size(kDrops))];
  conditions.duplicate_probability = kDuplicates[random.Uniform(std::size(kDuplicates))];
  conditions.delay_ms_max = kDelayMax[random.Uniform(std::size(kDelayMax))];
  conditions.delay_ms_min = static_cast<std::uint32_t>(random.Range(1, conditions.delay_ms_max));
  conditions.spike_probability = kSpikes[random.Uniform(std::size(kSpikes))];
  conditions.spike_ms_max = static_cast<std::uint32_t>(random.Range(50, 400));
  cluster_->network().set_conditions(conditions);
  Note(consensus::kNoNode, "network: drop " + std::to_string(conditions.drop_probability) +
                               ", dup " + std::to_string(conditions.duplicate_probability) +
                               ", delay " + std::to_string(conditions.delay_ms_min) + "-" +
                               std::to_string(conditions.delay_ms_max) + " ms, spikes " +
                               std::to_string(conditions.spike_probability) + " up to " +
                               std::to_string(conditions.spike_ms_max) + " ms");
}

void FaultInjector::StartPartition() {
  Random& random = cluster_->random();
  partition_until_ms_ = cluster_->now_ms() + cluster_->tick_ms() * random.Range(20, 150);
  SimNode* leader = cluster_->Leader();
  switch (random.Uniform(5)) {
    case 0:
    case 1:
      SplitNetwork();
      break;
    case 2:
      if (leader != nullptr) {
        Isolate(leader->id(), /*inbound=*/true, /*outbound=*/true);
      } else {
        SplitNetwork();
      }
      break;
    case 3:
      if (leader != nullptr) {
        // The leader still hears everyone but cannot be heard, or the reverse.
        const bool inbound = random.OneIn(2);
        Isolate(leader->id(), inbound, !inbound);
      } else {
        CutRandomLinks();
      }
      break;
    default:
      CutRandomLinks();
      break;
  }
}

void FaultInjector::Isolate(NodeId node, bool inbound, bool outbound) {
  for (NodeId other : cluster_->NodeIds()) {
    if (other == node) continue;
    if (outbound) cluster_->network().Block(node, other);
    if (inbound) cluster_->network().Block(other, node);
  }
  Note(node, std::string("partition: isolated") + (inbound && outbound ? ""
                                                   : inbound           ? " (cannot hear)"
                                                                       : " (cannot speak)"));
}

void FaultInjector::SplitNetwork() {
  Random& random = cluster_->random();
  std::vector<NodeId> ids = cluster_->NodeIds();
  // Fisher-Yates with the run's generator, then cut off a minority-or-half prefix.
  for (std::size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[random.Uniform(i)]);
  const std::size_t side = 1 + random.Uniform(std::max<std::size_t>(1, ids.size() / 2));
  std::vector<NodeId> left(ids.begin(), ids.begin() + side);
  std::vector<NodeId> right(ids.begin() + side, ids.end());
  std::sort(left.begin(), left.end());
  std::sort(right.begin(), right.end());
  for (NodeId a : left) {
    for (NodeId b : right) {
      cluster_->network().Block(a, b);
      cluster_->network().Block(b, a);
    }
  }
  Note(consensus::kNoNode, "partition: " + Ids(left) + " | " + Ids(right));
}

void FaultInjector::CutRandomLinks() {
  Random& random = cluster_->random();
  const std::vector<NodeId> ids = cluster_->NodeIds();
  std::string cuts;
  for (std::uint64_t i = 0, n = random.Range(1, 3); i < n; ++i) {
    const NodeId from = ids[random.Uniform(ids.size())];
    const NodeId to = ids[random.Uniform(ids.size())];
    if (from == to) continue;
    cluster_->network().Block(from, to);
    cuts += " n" + std::to_string(from) + "-x->n" + std::to_string(to);
  }
  if (!cuts.empty()) Note(consensus::kNoNode, "partition: one-way cuts" + cuts);
}

void FaultInjector::CrashSomeNode() {
  Random& random = cluster_->random();
  const std::vector<NodeId> ids = cluster_->NodeIds();
  std::vector<NodeId> candidates;
  std::size_t down = 0;
  for (NodeId id : ids) {
    SimNode* node = cluster_->FindNode(id);
    if (!node->up()) {
      ++down;
    } else if (node->armed_crash() == CrashPoint::kNone) {
      candidates.push_back(id);
    }
  }
  // Mostly keep a majority up; sometimes take it down too, to test recovery from that.
  if (candidates.empty() || (down + 1 > ids.size() / 2 && !random.OneIn(6))) return;
  // The leader's crashes matter most (elections, lost proposals): favour it.
  SimNode* leader = cluster_->Leader();
  NodeId victim = candidates[random.Uniform(candidates.size())];
  if (leader != nullptr && leader->armed_crash() == CrashPoint::kNone && random.OneIn(3)) {
    victim = leader->id();
  }
  CrashAt(victim, RandomCrashPoint());
}

CrashPoint FaultInjector::RandomCrashPoint() {
  return static_cast<CrashPoint>(
      cluster_->random().Range(static_cast<int>(CrashPoint::kIdle), kCrashPointCount - 1));
}

// A crash at `point` of a random kind of Ready. A third of restarts are immediate (a
// supervisor restarting the process), so a node can come back within the same term and
// meet the same election again; the rest take up to 1.5 s.
void FaultInjector::CrashAt(NodeId victim, CrashPoint point) {
  Random& random = cluster_->random();
  const auto trigger = static_cast<CrashTrigger>(random.Uniform(kCrashTriggerCount));
  const std::uint64_t downtime_ms =
      random.OneIn(3) ? random.Range(1, 20) : cluster_->tick_ms() * random.Range(5, 150);
  cluster_->Crash(victim, point, trigger, downtime_ms);
}

// Several nodes lose power together, each at its own step of the contract: what one
// node acknowledged without persisting can then no longer be covered by the others.
void FaultInjector::PowerFailure() {
  Note(consensus::kNoNode, "power failure");
  for (NodeId id : cluster_->NodeIds()) {
    SimNode* node = cluster_->FindNode(id);
    if (node->up() && node->armed_crash() == CrashPoint::kNone && !cluster_->random().OneIn(4)) {
      CrashAt(id, RandomCrashPoint());
    }
  }
}

void FaultInjector::PauseSomeNode() {
  const std::vector<NodeId> ids = cluster_->NodeIds();
  const NodeId id = ids[cluster_->random().Uniform(ids.size())];
  if (cluster_->ReachableNode(id) == nullptr) return;
  cluster_->Pause(id, cluster_->tick_ms() * cluster_->random().Range(5, 80));
}

void FaultInjector::SkewSomeClock() {
  const std::vector<NodeId> ids = cluster_->NodeIds();
  SimNode* node = cluster_->FindNode(ids[cluster_->random().Uniform(ids.size())]);
  const std::uint64_t tick = cluster_->tick_ms();
  node->clock().tick_period_ms = cluster_->random().Range(tick * 7 / 10, tick * 13 / 10);
  Note(node->id(), "clock: ticks every " + std::to_string(node->clock().tick_period_ms) + " ms");
}

void FaultInjector::TransferLeadership() {
  SimNode* leader = cluster_->Leader();
  if (leader == nullptr) return;
  const std::vector<NodeId> voters = leader->raw().conf_state().voters;
  const NodeId target = voters[cluster_->random().Uniform(voters.size())];
  if (target == leader->id()) return;
  Status status = leader->raw().TransferLeadership(target);
  Note(leader->id(), "transfer leadership to n" + std::to_string(target) + ": " +
                         (status.ok() ? std::string("started") : status.ToString()));
}

void FaultInjector::Note(NodeId node, std::string text) {
  cluster_->trace().Record(cluster_->now_ms(), TraceKind::kFault, node, std::move(text));
}

}  // namespace roster::sim
