// Reaper: the lock workload's view of everything that ends sessions besides their own
// clients: the leader's TTL timers, its liveness detector and the operators.
//   - registers the catalog nodes the sessions live on (serfHealth and app checks,
//     passing), and keeps the catalog as it wants it;
//   - expires abandoned sessions (SessionInvalidate) a TTL after their client stopped;
//   - strikes at random: destroys or invalidates a live session (an operator, a TTL that
//     lapsed during a partition), turns a check critical (a false failure report:
//     invalidates the sessions bound to it) or warning (must not), deregisters a check
//     or a whole node, and puts it back a little later.
// It reads the catalog and sessions from the current leader's store and proposes one
// command at a time (requests.h). In the final round it stops striking.
// Single-threaded: owned by the LockWorkload.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "consensus/types.h"
#include "store/catalog.h"
#include "store/command.h"
#include "tests/sim/lock_workload.h"
#include "tests/sim/requests.h"

namespace roster::sim {

class Reaper {
 public:
  explicit Reaper(const LockEnv& env);

  void Step();
  void OnApplied(SimNode& node, const consensus::Entry& entry, bool ok);
  void OnNodeDown(consensus::NodeId node);
  void OnSnapshotInstalled(SimNode& node, consensus::Index index);

  // `session`'s client stopped renewing it: it expires a TTL from now.
  void Abandon(const std::string& session);
  // No more strikes; the catalog heals and abandoned sessions expire promptly.
  void StartFinalRound();

 private:
  // What the reaper wants the catalog to say about one node.
  struct NodeWish {
    bool registered = true;
    std::map<std::string, store::HealthStatus> checks;  // by check id
    std::uint64_t restore_at_ms = 0;                    // 0: healthy, nothing to undo
  };

  void Act();
  bool SyncCatalog(const store::Store& store);
  bool SyncNode(const std::string& node, const NodeWish& wish, const store::Store& store);
  bool ExpireAbandoned(const store::Store& store);
  void Strike(const store::Store& store);
  void Harm(const std::string& node, std::uint64_t dice);
  void RestoreDue();
  NodeWish Healthy() const;
  void Propose(const store::Command& command);
  void Note(const std::string& text) const;

  LockEnv env_;
  Request request_;
  std::uint64_t next_action_ms_ = 0;
  std::map<std::string, NodeWish> wishes_;          // by node
  std::map<std::string, std::uint64_t> abandoned_;  // session -> when it expires
  bool final_round_ = false;
};

}  // namespace roster::sim
