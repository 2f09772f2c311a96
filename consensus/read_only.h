// ReadOnly: the leader's batching of ReadIndex requests (thesis §6.4).
//
// Requests queue until a round starts; a round records the commit index at its start
// and completes when a quorum of voters acknowledges a heartbeat carrying its number.
// One round is in flight at a time, so every read that arrives while it flies joins
// the next one: N concurrent reads cost one heartbeat round, not N. Owned by Raft.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "consensus/types.h"

namespace roster::consensus {

struct ReadRequest {
  std::string context;
  NodeId from = kNoNode;  // the follower that forwarded it; this node's id if local
};

struct CompletedRead {
  ReadRequest request;
  Index index = 0;
};

class ReadOnly {
 public:
  void Add(ReadRequest request) { queued_.push_back(std::move(request)); }

  bool HasQueued() const { return !queued_.empty(); }
  bool RoundInFlight() const { return in_flight_; }
  // The number heartbeats should carry (0 when no round flies).
  std::uint64_t CurrentRound() const { return in_flight_ ? round_ : 0; }

  // Starts a round with every queued request at read index `commit`; returns its number.
  // REQUIRES: !RoundInFlight() and HasQueued().
  std::uint64_t StartRound(Index commit, NodeId self);

  // Records that `from` acknowledged round `round`. Returns the round's reads once a
  // quorum (per `has_quorum` over the acknowledging ids) is reached, else nothing.
  std::vector<CompletedRead> Acknowledge(
      NodeId from, std::uint64_t round,
      const std::function<bool(const std::set<NodeId>&)>& has_quorum);

  // Forgets every request (leadership lost); returns them so remote ones can be told.
  std::vector<ReadRequest> Reset();

 private:
  std::vector<ReadRequest> queued_;
  std::vector<ReadRequest> round_requests_;
  std::set<NodeId> acks_;
  Index round_index_ = 0;
  std::uint64_t round_ = 0;
  bool in_flight_ = false;
};

}  // namespace roster::consensus
