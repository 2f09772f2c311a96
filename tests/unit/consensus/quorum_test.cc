#include "consensus/quorum.h"

#include <catch2/catch.hpp>
#include <limits>
#include <map>
#include <set>
#include <vector>

namespace roster::consensus {
namespace {

std::vector<NodeId> Voters(int count) {
  std::vector<NodeId> voters;
  for (int i = 1; i <= count; ++i) voters.push_back(static_cast<NodeId>(i));
  return voters;
}

// `acked` as a function: voters missing from the map acknowledged nothing.
Index Committed(const std::vector<NodeId>& voters, const std::map<NodeId, Index>& acked) {
  return CommittedIndex(voters, [&](NodeId id) {
    auto it = acked.find(id);
    return it == acked.end() ? Index{0} : it->second;
  });
}

bool Quorum(const std::vector<NodeId>& voters, const std::set<NodeId>& active) {
  return HasQuorum(voters, [&](NodeId id) { return active.count(id) > 0; });
}

TEST_CASE("A majority is more than half of the voters") {
  CHECK(MajoritySize(1) == 1);
  CHECK(MajoritySize(2) == 2);
  CHECK(MajoritySize(3) == 2);
  CHECK(MajoritySize(4) == 3);
  CHECK(MajoritySize(5) == 3);
  CHECK(MajoritySize(7) == 4);
}

TEST_CASE("A single voter wins with its own vote and loses with its own refusal") {
  const std::vector<NodeId> voters = Voters(1);
  CHECK(CountVotes(voters, {}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{1, true}}) == VoteResult::kWon);
  CHECK(CountVotes(voters, {{1, false}}) == VoteResult::kLost);
}

TEST_CASE("Two voters need both votes; one refusal loses") {
  const std::vector<NodeId> voters = Voters(2);
  CHECK(CountVotes(voters, {{1, true}}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{1, true}, {2, true}}) == VoteResult::kWon);
  CHECK(CountVotes(voters, {{1, true}, {2, false}}) == VoteResult::kLost);
}

TEST_CASE("Three voters: two grants win, two refusals lose, one of each is pending") {
  const std::vector<NodeId> voters = Voters(3);
  CHECK(CountVotes(voters, {{1, true}}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{1, true}, {3, true}}) == VoteResult::kWon);
  CHECK(CountVotes(voters, {{1, true}, {2, false}}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{2, false}, {3, false}}) == VoteResult::kLost);
  CHECK(CountVotes(voters, {{1, true}, {2, false}, {3, false}}) == VoteResult::kLost);
}

TEST_CASE("Four voters: an even split is not a win, three grants are") {
  const std::vector<NodeId> voters = Voters(4);
  CHECK(CountVotes(voters, {{1, true}, {2, true}}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{1, true}, {2, true}, {3, false}}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{1, true}, {2, true}, {3, false}, {4, false}}) == VoteResult::kLost);
  CHECK(CountVotes(voters, {{1, true}, {2, true}, {4, true}}) == VoteResult::kWon);
  // Two refusals out of four already make a majority of grants impossible.
  CHECK(CountVotes(voters, {{3, false}, {4, false}}) == VoteResult::kLost);
}

TEST_CASE("Five voters: three grants win, three refusals lose") {
  const std::vector<NodeId> voters = Voters(5);
  CHECK(CountVotes(voters, {{1, true}, {2, true}}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{1, true}, {2, true}, {5, true}}) == VoteResult::kWon);
  CHECK(CountVotes(voters, {{1, true}, {2, false}, {3, false}}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{2, false}, {3, false}, {4, false}}) == VoteResult::kLost);
}

TEST_CASE("Seven voters: four grants win, four refusals lose") {
  const std::vector<NodeId> voters = Voters(7);
  CHECK(CountVotes(voters, {{1, true}, {2, true}, {3, true}}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{1, true}, {2, true}, {3, true}, {7, true}}) == VoteResult::kWon);
  CHECK(CountVotes(voters, {{1, false}, {2, false}, {3, false}}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{1, false}, {2, false}, {3, false}, {4, false}}) == VoteResult::kLost);
}

TEST_CASE("Votes from nodes outside the voter set do not count") {
  const std::vector<NodeId> voters = Voters(3);
  CHECK(CountVotes(voters, {{1, true}, {9, true}}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{1, true}, {8, true}, {9, true}}) == VoteResult::kPending);
  CHECK(CountVotes(voters, {{8, false}, {9, false}}) == VoteResult::kPending);
}

TEST_CASE("Voter ids need not be contiguous") {
  const std::vector<NodeId> voters = {3, 17, 42};
  CHECK(CountVotes(voters, {{17, true}, {42, true}}) == VoteResult::kWon);
  CHECK(CountVotes(voters, {{3, false}, {42, false}}) == VoteResult::kLost);
  CHECK(Committed(voters, {{3, 5}, {17, 9}, {42, 7}}) == 7);
}

TEST_CASE("An empty voter set wins every election") {
  CHECK(CountVotes({}, {}) == VoteResult::kWon);
  CHECK(CountVotes({}, {{1, false}}) == VoteResult::kWon);
}

TEST_CASE("The committed index is the highest index a majority has acknowledged") {
  SECTION("one voter: its own index") {
    CHECK(Committed(Voters(1), {{1, 7}}) == 7);
    CHECK(Committed(Voters(1), {}) == 0);
  }
  SECTION("two voters: the smaller index") { CHECK(Committed(Voters(2), {{1, 7}, {2, 4}}) == 4); }
  SECTION("three voters: the median") {
    CHECK(Committed(Voters(3), {{1, 9}, {2, 3}, {3, 5}}) == 5);
    CHECK(Committed(Voters(3), {{1, 5}, {2, 5}, {3, 1}}) == 5);
  }
  SECTION("four voters: the third highest, not the average or the second") {
    CHECK(Committed(Voters(4), {{1, 10}, {2, 8}, {3, 6}, {4, 4}}) == 6);
    CHECK(Committed(Voters(4), {{1, 10}, {2, 10}, {3, 1}, {4, 1}}) == 1);
  }
  SECTION("five voters: the third highest") {
    CHECK(Committed(Voters(5), {{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}}) == 3);
    CHECK(Committed(Voters(5), {{1, 100}, {2, 100}, {3, 2}, {4, 1}, {5, 0}}) == 2);
  }
  SECTION("seven voters: the fourth highest") {
    CHECK(Committed(Voters(7), {{1, 7}, {2, 6}, {3, 5}, {4, 4}, {5, 3}, {6, 2}, {7, 1}}) == 4);
  }
}

TEST_CASE("Voters missing from the acknowledgements count as having acknowledged nothing") {
  CHECK(Committed(Voters(3), {{1, 9}}) == 0);
  CHECK(Committed(Voters(3), {{1, 9}, {2, 4}}) == 4);
  CHECK(Committed(Voters(5), {{1, 9}, {2, 9}}) == 0);
  CHECK(Committed(Voters(5), {{1, 9}, {2, 9}, {4, 6}}) == 6);
}

TEST_CASE("Acknowledgements from non-voters do not commit") {
  // Node 4 is, say, a learner: its high index must not lift the commit point.
  CHECK(Committed(Voters(3), {{1, 9}, {2, 1}, {3, 1}, {4, 9}}) == 1);
}

TEST_CASE("An empty voter set never holds the commit index back") {
  CHECK(CommittedIndex({}, [](NodeId) { return Index{0}; }) == std::numeric_limits<Index>::max());
}

TEST_CASE("A quorum is a majority of voters being active") {
  CHECK(Quorum(Voters(1), {1}));
  CHECK_FALSE(Quorum(Voters(1), {}));
  CHECK_FALSE(Quorum(Voters(2), {1}));
  CHECK(Quorum(Voters(2), {1, 2}));
  CHECK_FALSE(Quorum(Voters(3), {3}));
  CHECK(Quorum(Voters(3), {1, 3}));
  CHECK_FALSE(Quorum(Voters(4), {1, 2}));
  CHECK(Quorum(Voters(4), {1, 2, 4}));
  CHECK_FALSE(Quorum(Voters(5), {1, 2}));
  CHECK(Quorum(Voters(5), {2, 4, 5}));
  CHECK_FALSE(Quorum(Voters(7), {1, 2, 3}));
  CHECK(Quorum(Voters(7), {1, 2, 3, 7}));
}

TEST_CASE("Active non-voters do not make a quorum") { CHECK_FALSE(Quorum(Voters(3), {1, 8, 9})); }

}  // namespace
}  // namespace roster::consensus
