// Majority quorum math: the smallest leaf of the consensus core.
// Pure functions over a voter set; no state.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "consensus/types.h"

namespace roster::consensus {

enum class VoteResult { kPending, kLost, kWon };

// Votes counted so far: granted[id] = true for a granted vote, false for a refusal.
// kWon once a majority of voters granted; kLost once a majority can no longer grant.
// An empty voter set wins (a cluster of no voters cannot be blocked).
VoteResult CountVotes(const std::vector<NodeId>& voters, const std::map<NodeId, bool>& granted);

// The highest index acknowledged by a majority of voters, given each voter's
// acknowledged index (voters missing from `acked` count as 0). Empty voter set: max().
Index CommittedIndex(const std::vector<NodeId>& voters,
                     const std::function<Index(NodeId)>& acked);

// True if the voters for which `active(id)` holds form a majority.
bool HasQuorum(const std::vector<NodeId>& voters, const std::function<bool(NodeId)>& active);

inline std::size_t MajoritySize(std::size_t voters) { return voters / 2 + 1; }

}  // namespace roster::consensus
