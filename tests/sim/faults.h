// FaultInjector: decides, once per tick of the fault phase, which fault strikes next.
//   net    network conditions (loss, duplication, delay, delay spikes that reorder);
//          partitions: a symmetric split, the leader isolated, one-way cuts.
//   crash  node crashes at any step of the durability contract (restarting later),
//          process pauses, clock skew changes.
//   all    both, plus membership changes and leadership transfers.
// Every choice comes from the Cluster's DeterministicRandom.
// Single-threaded: owned by the Cluster.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "consensus/types.h"

namespace roster::sim {

class Cluster;
class MembershipDriver;
enum class FaultMode : std::uint8_t;
enum class CrashPoint : std::uint8_t;

class FaultInjector {
 public:
  FaultInjector(Cluster* cluster, FaultMode mode, MembershipDriver* membership);

  // Call once per tick while the fault phase lasts.
  void Step();
  // Ends partitions and restores a calm network (the heal phase).
  void HealNetwork();

 private:
  bool NetworkFaults() const;
  bool ProcessFaults() const;
  void ChangeConditions();
  void StartPartition();
  void Isolate(consensus::NodeId node, bool inbound, bool outbound);
  void SplitNetwork();
  void CutRandomLinks();
  void CrashSomeNode();
  void PowerFailure();
  CrashPoint RandomCrashPoint();
  void CrashAt(consensus::NodeId victim, CrashPoint point);
  void PauseSomeNode();
  void SkewSomeClock();
  void TransferLeadership();
  void Note(consensus::NodeId node, std::string text);

  Cluster* cluster_;
  FaultMode mode_;
  MembershipDriver* membership_;
  std::uint64_t partition_until_ms_ = 0;
};

}  // namespace roster::sim
