#include "tests/sim/reaper.h"

#include <utility>
#include <vector>

#include "base/check.h"
#include "tests/sim/cluster.h"

namespace roster::sim {
namespace {

constexpr const char* kCheckIds[] = {"serfHealth", "app"};

// A session's TTL as the reaper applies it (TTL x 2 in Consul's terms, scaled down).
constexpr std::int64_t kTtlMsMin = 100;
constexpr std::int64_t kTtlMsMax = 800;
constexpr std::int64_t kFinalTtlMsMax = 50;

}  // namespace

Reaper::Reaper(const LockEnv& env) : env_(env), request_(env.cluster, "reaper") {
  for (const std::string& node : env_.nodes) wishes_.emplace(node, Healthy());
}

Reaper::NodeWish Reaper::Healthy() const {
  NodeWish wish;
  for (const char* check : kCheckIds) wish.checks[check] = store::HealthStatus::kPassing;
  return wish;
}

void Reaper::Abandon(const std::string& session) {
  const std::int64_t ttl_ms = env_.cluster->random().Range(
      kTtlMsMin, final_round_ ? kFinalTtlMsMax + kTtlMsMin : kTtlMsMax);
  abandoned_[session] = env_.cluster->now_ms() + static_cast<std::uint64_t>(ttl_ms);
}

void Reaper::StartFinalRound() {
  final_round_ = true;
  const std::uint64_t now = env_.cluster->now_ms();
  for (auto& [session, expires_ms] : abandoned_) expires_ms = std::min(expires_ms, now);
}

void Reaper::Step() {
  if (request_.active()) {
    request_.Step();
    return;
  }
  if (env_.cluster->now_ms() >= next_action_ms_) Act();
}

void Reaper::Act() {
  RestoreDue();
  next_action_ms_ = env_.cluster->now_ms() + env_.cluster->random().Range(20, 150);
  SimNode* leader = env_.cluster->Leader();
  if (leader == nullptr) return;
  const store::Store& store = leader->machine().store();
  if (SyncCatalog(store) || ExpireAbandoned(store)) return;
  if (!final_round_) Strike(store);
}

// One command that brings the catalog closer to the wishes, if it differs.
bool Reaper::SyncCatalog(const store::Store& store) {
  for (const auto& [node, wish] : wishes_) {
    if (SyncNode(node, wish, store)) return true;
  }
  return false;
}

bool Reaper::SyncNode(const std::string& node, const NodeWish& wish, const store::Store& store) {
  const bool present = store.catalog().FindNode(node) != nullptr;
  if (!wish.registered) {
    if (present) Propose(store::CatalogDeregister{node, ""});
    return present;
  }
  bool same = present;
  for (const store::HealthCheck& check : store.catalog().ListChecks(node)) {
    auto wished = wish.checks.find(check.check_id);
    if (wished == wish.checks.end()) {
      Propose(store::CatalogDeregister{node, check.check_id});
      return true;
    }
    same = same && wished->second == check.status;
  }
  for (const auto& [check_id, status] : wish.checks) {
    same = same && store.catalog().FindCheck(node, check_id) != nullptr;
  }
  if (same) return false;
  store::CatalogRegister reg{node, "", "10.0.0.1", {}};
  for (const auto& [check_id, status] : wish.checks) {
    store::HealthCheck check;
    check.check_id = check_id;
    check.name = check_id;
    check.status = status;
    reg.checks.push_back(std::move(check));
  }
  Propose(reg);
  return true;
}

// The leader's TTL timer of an abandoned session fired: invalidate it.
bool Reaper::ExpireAbandoned(const store::Store& store) {
  const std::uint64_t now = env_.cluster->now_ms();
  for (auto it = abandoned_.begin(); it != abandoned_.end(); ++it) {
    if (now < it->second) continue;
    if (store.sessions().Find(it->first) != nullptr) {
      Propose(store::SessionInvalidate{it->first});
      return true;
    }
    if (env_.model->SessionEndIndex(it->first) != 0) {  // ended: nothing left to expire
      abandoned_.erase(it);
      return false;
    }
  }
  return false;
}

void Reaper::Strike(const store::Store& store) {
  Random& random = env_.cluster->random();
  const std::uint64_t dice = random.Uniform(100);
  if (dice < 14) {
    const std::vector<store::Session> sessions = store.sessions().List();
    if (sessions.empty()) return;
    const std::string& id = sessions[random.Uniform(sessions.size())].id;
    Note("strikes: ends live session " + id);
    if (random.OneIn(2)) return Propose(store::SessionDestroy{id});
    return Propose(store::SessionInvalidate{id});
  }
  if (dice < 28) Harm(env_.nodes[random.Uniform(env_.nodes.size())], dice);
}

// Makes a node unhealthy in one of several ways, until restore_at_ms.
void Reaper::Harm(const std::string& node, std::uint64_t dice) {
  Random& random = env_.cluster->random();
  NodeWish& wish = wishes_.at(node);
  const std::string check = kCheckIds[random.Uniform(std::size(kCheckIds))];
  std::string what;
  if (dice < 19) {
    what = check + " critical";
    if (wish.checks.contains(check)) wish.checks[check] = store::HealthStatus::kCritical;
  } else if (dice < 23) {
    what = check + " warning";
    if (wish.checks.contains(check)) wish.checks[check] = store::HealthStatus::kWarning;
  } else if (dice < 26) {
    what = check + " deregistered";
    wish.checks.erase(check);
  } else {
    what = "node deregistered";
    wish.registered = false;
  }
  wish.restore_at_ms = env_.cluster->now_ms() + static_cast<std::uint64_t>(random.Range(100, 1000));
  Note("strikes: " + node + " " + what);
}

void Reaper::RestoreDue() {
  const std::uint64_t now = env_.cluster->now_ms();
  for (auto& [node, wish] : wishes_) {
    if (wish.restore_at_ms == 0 || (now < wish.restore_at_ms && !final_round_)) continue;
    wish = Healthy();
  }
}

void Reaper::Propose(const store::Command& command) {
  request_.Propose(store::Encode(command), env_.settings->op_timeout_ms);
}

void Reaper::OnApplied(SimNode& node, const consensus::Entry& entry, bool ok) {
  request_.OnApplied(node, entry, ok);
}

void Reaper::OnNodeDown(consensus::NodeId node) { request_.OnNodeDown(node); }

void Reaper::OnSnapshotInstalled(SimNode& node, consensus::Index index) {
  request_.OnSnapshotInstalled(node, index);
}

void Reaper::Note(const std::string& text) const {
  env_.cluster->trace().Record(env_.cluster->now_ms(), TraceKind::kFault, consensus::kNoNode,
                               "reaper " + text);
}

}  // namespace roster::sim
