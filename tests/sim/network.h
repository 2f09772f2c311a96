// SimNetwork: the simulated network between Raft nodes. Each message gets a delay
// (with occasional long spikes, which reorder it behind later ones), may be dropped or
// duplicated, and never crosses a blocked link. Links are directed, so a one-way
// partition is Block(a, b) without Block(b, a).
//
// Messages wait in a timing wheel of one bucket per millisecond; within a bucket they
// leave in the order they were queued, so a seed replays exactly. Delays must stay
// below kMaxDelayMs. All randomness comes from the Random handed in.
// Single-threaded: owned by the Cluster.
#pragma once

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "base/random.h"
#include "consensus/message.h"
#include "consensus/types.h"

namespace roster::sim {

// How the network behaves now; the fault injector changes it during a run.
struct NetworkConditions {
  double drop_probability = 0;
  double duplicate_probability = 0;
  std::uint32_t delay_ms_min = 1;
  std::uint32_t delay_ms_max = 5;
  double spike_probability = 0;  // chance of a much longer delay (reordering)
  std::uint32_t spike_ms_max = 60;

  static NetworkConditions Calm() { return {}; }
};

// What the network does with the next message on a link.
enum class SendOutcome : std::uint8_t { kQueued, kDuplicated, kDropped, kBlocked };

class SimNetwork {
 public:
  static constexpr std::uint32_t kMaxDelayMs = 4000;

  explicit SimNetwork(Random* random);

  void set_conditions(const NetworkConditions& conditions);
  const NetworkConditions& conditions() const { return conditions_; }

  // Directed link control. A blocked link loses what is sent over it, and what was in
  // flight on it when it is delivered (the receiver checks IsBlocked at delivery).
  void Block(consensus::NodeId from, consensus::NodeId to);
  void Unblock(consensus::NodeId from, consensus::NodeId to);
  void UnblockAll() { blocked_.clear(); }
  bool IsBlocked(consensus::NodeId from, consensus::NodeId to) const;
  bool HasPartition() const { return !blocked_.empty(); }

  // Decides the fate of the next message from `from` to `to` under the current
  // conditions. The caller then queues it once, twice (kDuplicated) or not at all, and
  // can trace the decision before giving the message up.
  SendOutcome Admit(consensus::NodeId from, consensus::NodeId to);
  // Queues `message` for delivery after a delay drawn from the current conditions.
  void Enqueue(std::uint64_t now_ms, consensus::Message message);
  // Queues `message` for exactly `delay_ms` later (a message held for a paused node).
  void EnqueueAfter(std::uint64_t now_ms, std::uint32_t delay_ms, consensus::Message message);

  // Appends the messages due at now_ms to `out`, in queueing order. Must be called for
  // every millisecond in turn (no gaps), since the wheel wraps.
  void TakeDue(std::uint64_t now_ms, std::vector<consensus::Message>* out);

  std::uint64_t in_flight() const { return in_flight_; }

 private:
  std::uint32_t DrawDelayMs();

  Random* random_;
  NetworkConditions conditions_;
  std::set<std::pair<consensus::NodeId, consensus::NodeId>> blocked_;
  std::vector<std::vector<consensus::Message>> wheel_;
  std::uint64_t in_flight_ = 0;
  std::uint64_t last_taken_ms_ = 0;
  bool taken_any_ = false;
};

}  // namespace roster::sim
