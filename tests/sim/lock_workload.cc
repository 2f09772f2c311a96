#include "tests/sim/lock_workload.h"

#include <utility>

#include "base/check.h"
#include "tests/sim/cluster.h"
#include "tests/sim/lock_client.h"
#include "tests/sim/reaper.h"

namespace roster::sim {

LockWorkload::LockWorkload(Cluster* cluster, const LockWorkloadSettings& settings)
    : cluster_(cluster),
      settings_(settings),
      model_(kLockPrefix),
      fencing_(settings.model_checks ? &model_ : nullptr) {
  CHECK_GT(settings.clients, 0);
  CHECK_GT(settings.mutexes, 0);
  LockEnv env;
  env.cluster = cluster;
  env.settings = &settings_;
  env.model = &model_;
  env.fencing = &fencing_;
  env.nodes = {"ln1", "ln2"};
  reaper_ = std::make_unique<Reaper>(env);
  env.reaper = reaper_.get();
  for (int i = 1; i <= settings.clients; ++i) {
    clients_.push_back(std::make_unique<LockClient>(i, env));
  }
}

LockWorkload::~LockWorkload() = default;

void LockWorkload::Step() {
  reaper_->Step();
  for (auto& client : clients_) client->Step();
  if (std::string problem = fencing_.Deliver(cluster_->now_ms()); !problem.empty()) {
    cluster_->Fail(problem);
  }
}

void LockWorkload::OnApplied(SimNode& node, const consensus::Entry& entry,
                             const ApplyOutcome& outcome, bool first) {
  if (first) {
    std::string problem =
        model_.OnCommitted(entry, outcome.ok, node.machine().store(), settings_.model_checks);
    if (!problem.empty()) cluster_->Fail(problem);
  }
  reaper_->OnApplied(node, entry, outcome.ok);
  for (auto& client : clients_) client->OnApplied(node, entry, outcome.ok);
}

void LockWorkload::OnReadServed(SimNode& node, const std::string& context) {
  for (auto& client : clients_) client->OnReadServed(node, context);
}

void LockWorkload::OnNodeDown(consensus::NodeId node) {
  reaper_->OnNodeDown(node);
  for (auto& client : clients_) client->OnNodeDown(node);
}

void LockWorkload::OnSnapshotInstalled(SimNode& node, consensus::Index index) {
  reaper_->OnSnapshotInstalled(node, index);
  for (auto& client : clients_) client->OnSnapshotInstalled(node, index);
}

void LockWorkload::StartFinalRound() {
  reaper_->StartFinalRound();
  for (auto& client : clients_) client->StartFinalRound();
}

bool LockWorkload::FinalRoundDone() const {
  for (const auto& client : clients_) {
    if (!client->FinalRoundDone()) return false;
  }
  return true;
}

std::string LockWorkload::Finish() { return fencing_.DeliverAll(); }

LockStats LockWorkload::stats() const {
  LockStats stats;
  for (const auto& client : clients_) {
    stats.acquired += client->acquired();
    stats.contended += client->contended();
    stats.abandoned += client->abandoned();
  }
  stats.sessions_ended = model_.sessions_ended();
  stats.ephemeral_deleted = model_.ephemeral_deleted();
  stats.fencing = fencing_.stats();
  return stats;
}

std::string LockWorkload::DescribeClients() const {
  std::string out;
  for (const auto& client : clients_) out += client->Describe();
  return out;
}

}  // namespace roster::sim
