#include "consensus/quorum.h"

#include <algorithm>
#include <limits>

namespace roster::consensus {

VoteResult CountVotes(const std::vector<NodeId>& voters, const std::map<NodeId, bool>& granted) {
  if (voters.empty()) return VoteResult::kWon;
  std::size_t yes = 0, no = 0;
  for (NodeId id : voters) {
    auto it = granted.find(id);
    if (it == granted.end()) continue;
    (it->second ? yes : no)++;
  }
  const std::size_t majority = MajoritySize(voters.size());
  if (yes >= majority) return VoteResult::kWon;
  if (voters.size() - no < majority) return VoteResult::kLost;
  return VoteResult::kPending;
}

Index CommittedIndex(const std::vector<NodeId>& voters,
                     const std::function<Index(NodeId)>& acked) {
  if (voters.empty()) return std::numeric_limits<Index>::max();
  std::vector<Index> indexes;
  indexes.reserve(voters.size());
  for (NodeId id : voters) indexes.push_back(acked(id));
  // The majority-th largest acknowledged index is held by a majority.
  const std::size_t pos = voters.size() - MajoritySize(voters.size());
  std::nth_element(indexes.begin(), indexes.begin() + pos, indexes.end());
  return indexes[pos];
}

bool HasQuorum(const std::vector<NodeId>& voters, const std::function<bool(NodeId)>& active) {
  std::size_t count = 0;
  for (NodeId id : voters) count += active(id) ? 1 : 0;
  return count >= MajoritySize(voters.size());
}

}  // namespace roster::consensus
