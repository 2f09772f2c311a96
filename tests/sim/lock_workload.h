// LockWorkload: lock clients, a reaper and the downstream resource, on top of the
// simulated cluster (docs/design/simulator.md, "The lock workload").
//
//   lock clients  (lock_client.h) each create sessions on the catalog nodes the reaper
//                 registers, acquire mutex keys (KvLock, or a txn), do protected work on
//                 the downstream resource stamped with their fencing token, release or
//                 stop (abandon the session), create ephemeral keys (sequential keys
//                 and contender keys of behavior-delete sessions) and destroy sessions.
//   reaper        (reaper.h) the leader's TTL expiry and the operators: invalidates
//                 abandoned sessions a TTL after their client stopped, destroys live
//                 ones, turns checks critical, warning, deregistered, deregisters nodes,
//                 and puts them back.
//   checkers      the LockModel (lock_model.h), fed every committed entry once, and the
//                 FencingChecker (fencing.h), fed what clients saw and sent.
// Every key it uses lives under kLockPrefix, so it never meets the KV workload's keys.
// Single-threaded: owned by the Cluster.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "consensus/types.h"
#include "tests/sim/fencing.h"
#include "tests/sim/lock_model.h"
#include "tests/sim/store_machine.h"

namespace roster::sim {

class Cluster;
class LockClient;
class Reaper;
class SimNode;

inline constexpr char kLockPrefix[] = "lock/";

struct LockWorkloadSettings {
  int clients = 3;
  int mutexes = 2;                  // lock/m0, lock/m1, ...
  std::uint64_t think_ms_max = 40;  // pause between a client's operations
  std::uint64_t op_timeout_ms = 600;
  // false: the model only advances, without comparing itself with the store, so that
  // mutation tests can see what the client-side checks catch on their own.
  bool model_checks = true;
};

// What the lock clients and the reaper share. The pointers outlive them.
struct LockEnv {
  Cluster* cluster = nullptr;
  const LockWorkloadSettings* settings = nullptr;
  const LockModel* model = nullptr;
  FencingChecker* fencing = nullptr;
  Reaper* reaper = nullptr;
  std::vector<std::string> nodes;  // catalog nodes the sessions live on
};

struct LockStats {
  std::uint64_t acquired = 0;   // acquires that succeeded (apply or recovery read)
  std::uint64_t contended = 0;  // acquires refused: another session held the key
  std::uint64_t abandoned = 0;  // sessions whose client stopped
  std::uint64_t sessions_ended = 0;
  std::uint64_t ephemeral_deleted = 0;  // keys deleted because their session ended
  FencingStats fencing;
};

class LockWorkload {
 public:
  LockWorkload(Cluster* cluster, const LockWorkloadSettings& settings);
  ~LockWorkload();
  LockWorkload(const LockWorkload&) = delete;
  LockWorkload& operator=(const LockWorkload&) = delete;

  // Lets the reaper and every client act, and delivers due downstream requests.
  void Step();
  // `first`: no node applied this index before, so the model advances over it.
  void OnApplied(SimNode& node, const consensus::Entry& entry, const ApplyOutcome& outcome,
                 bool first);
  void OnReadServed(SimNode& node, const std::string& context);
  void OnNodeDown(consensus::NodeId node);
  void OnSnapshotInstalled(SimNode& node, consensus::Index index);

  // Liveness: the reaper strikes no more (but still expires abandoned sessions and
  // heals the catalog), and each client must acquire a mutex and release it once more.
  void StartFinalRound();
  bool FinalRoundDone() const;
  // The end of the run: delivers the downstream requests still in flight; returns the
  // first violation, or "".
  std::string Finish();

  LockStats stats() const;
  std::string DescribeClients() const;

 private:
  Cluster* cluster_;
  LockWorkloadSettings settings_;
  LockModel model_;
  FencingChecker fencing_;
  std::unique_ptr<Reaper> reaper_;
  std::vector<std::unique_ptr<LockClient>> clients_;
};

}  // namespace roster::sim
