// PreVote (thesis §9.6) and CheckQuorum with the leader lease (thesis §6.2, §4.2.3):
// servers cut off from the cluster must not disrupt it when they come back, and a leader
// cut off from a quorum must stop acting as leader.
#include "tests/unit/consensus/test_cluster.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <string>
#include <vector>

namespace roster::consensus {
namespace {

using testing::NodeOptions;
using testing::OfType;
using testing::TestCluster;
using testing::TestNode;

const ConfState kThreeVoters{.voters = {1, 2, 3}, .learners = {}};
constexpr int kElectionTicks = 10;

NodeOptions Options(bool pre_vote, bool check_quorum) {
  NodeOptions options;
  options.pre_vote = pre_vote;
  options.check_quorum = check_quorum;
  return options;
}

Message PreVoteRequest(NodeId from, NodeId to, Term term, Index last_index, Term last_term) {
  Message message = testing::VoteRequest(from, to, term, last_index, last_term);
  message.type = MessageType::kPreVote;
  return message;
}

// The pre-vote response `messages` hold for `to`: true granted, false refused.
std::optional<bool> PreVoteAnswer(const std::vector<Message>& messages, NodeId to) {
  for (const Message& message : OfType(messages, MessageType::kPreVoteResponse)) {
    if (message.to == to) return !message.reject;
  }
  return std::nullopt;
}

TEST_CASE("PreVote: a pre-candidate asks at term + 1 without changing its own term") {
  TestNode node(1, kThreeVoters, Options(true, true));
  const Term term = node.raw().term();
  REQUIRE(node.raw().Campaign().ok());
  std::vector<Message> sent = node.Drain();
  CHECK(node.raw().role() == Role::kPreCandidate);
  CHECK(node.raw().term() == term);
  CHECK(node.storage().hard_state().term == term);
  CHECK(node.storage().hard_state().vote == kNoNode);
  std::vector<Message> requests = OfType(sent, MessageType::kPreVote);
  REQUIRE(requests.size() == 2);
  for (const Message& request : requests) CHECK(request.term == term + 1);
  CHECK(OfType(sent, MessageType::kVote).empty());
}

TEST_CASE("PreVote: a pre-candidate that wins the pre-vote starts the real election") {
  TestNode node(1, kThreeVoters, Options(true, true));
  const Term term = node.raw().term();
  REQUIRE(node.raw().Campaign().ok());
  node.Drain();
  REQUIRE(node.raw().Step(testing::PreVoteResponse(2, 1, term + 1, /*granted=*/true)).ok());
  std::vector<Message> sent = node.Drain();
  CHECK(node.raw().role() == Role::kCandidate);
  CHECK(node.raw().term() == term + 1);
  CHECK(OfType(sent, MessageType::kVote).size() == 2);
}

TEST_CASE("PreVote: a pre-candidate refused by a majority keeps its term") {
  TestNode node(1, kThreeVoters, Options(true, true));
  node.ReplaceLog({1, 2}, 2);
  REQUIRE(node.raw().Campaign().ok());
  node.Drain();
  // The voters are still in term 2; a refusal carries the voter's term.
  REQUIRE(node.raw().Step(testing::PreVoteResponse(2, 1, 2, /*granted=*/false)).ok());
  REQUIRE(node.raw().Step(testing::PreVoteResponse(3, 1, 2, /*granted=*/false)).ok());
  node.Drain();
  CHECK(node.raw().role() == Role::kFollower);
  CHECK(node.raw().term() == 2);
  CHECK(node.storage().hard_state().term == 2);
}

TEST_CASE("PreVote: a voter answers a pre-vote without changing its term or vote") {
  TestNode node(1, kThreeVoters, Options(true, true));
  node.ReplaceLog({1, 1, 2}, 2);

  const Index last = node.storage().LastIndex();
  SECTION("a pre-candidate with an up-to-date log is granted") {
    REQUIRE(node.raw().Step(PreVoteRequest(2, 1, /*term=*/3, last, 2)).ok());
    CHECK(PreVoteAnswer(node.Drain(), 2) == std::optional<bool>(true));
  }
  SECTION("a pre-candidate whose log is behind is refused (§5.4.1 applies to pre-votes)") {
    REQUIRE(node.raw().Step(PreVoteRequest(2, 1, /*term=*/3, last - 1, 2)).ok());
    CHECK(PreVoteAnswer(node.Drain(), 2) == std::optional<bool>(false));
  }
  CHECK(node.raw().term() == 2);
  CHECK(node.storage().hard_state().term == 2);
  CHECK(node.storage().hard_state().vote == kNoNode);
}

TEST_CASE(
    "PreVote: a partitioned node that rejoins neither disrupts the leader nor bumps the "
    "term") {
  TestCluster cluster({1, 2, 3}, Options(/*pre_vote=*/true, /*check_quorum=*/true));
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.Isolate(3);
  cluster.Propose(1, "while 3 was away");
  // 3 times out again and again, but never wins a pre-vote, so never raises its term.
  for (int tick = 0; tick < 5 * kElectionTicks; ++tick) {
    cluster.Tick(3);
    cluster.Tick(1);
  }
  CHECK(cluster.raw(3).term() == term);
  CHECK(cluster.CountSent(MessageType::kVote, 3, 1) == 0);

  cluster.Heal();
  cluster.TickAll(3 * kElectionTicks);
  CHECK(cluster.raw(1).role() == Role::kLeader);
  for (NodeId id : {1, 2, 3}) {
    INFO("node " << id);
    CHECK(cluster.raw(id).term() == term);
    CHECK(cluster.node(id).state() == std::vector<std::string>{"while 3 was away"});
  }
}

TEST_CASE("Without PreVote, the same rejoining node forces an election at a higher term") {
  TestCluster cluster({1, 2, 3}, Options(/*pre_vote=*/false, /*check_quorum=*/false));
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.Isolate(3);
  cluster.Propose(1, "while 3 was away");
  for (int tick = 0; tick < 5 * kElectionTicks; ++tick) {
    cluster.Tick(3);
    cluster.Tick(1);
  }
  CHECK(cluster.raw(3).term() > term);  // each timeout started a real election

  cluster.Heal();
  cluster.TickAll(5 * kElectionTicks);
  REQUIRE(cluster.Leader().has_value());
  // Leader 1 was deposed: whoever leads now does so in a later term.
  CHECK(cluster.raw(*cluster.Leader()).term() > term);
  CHECK(cluster.raw(1).term() > term);
}

TEST_CASE(
    "CheckQuorum: a leader cut off from a quorum steps down within an election timeout "
    "or two") {
  TestCluster cluster({1, 2, 3}, Options(true, true));
  cluster.Elect(1);
  cluster.Isolate(1);
  int ticks = 0;
  while (ticks < 2 * kElectionTicks && cluster.raw(1).role() == Role::kLeader) {
    cluster.Tick(1);
    ++ticks;
  }
  CHECK(cluster.raw(1).role() == Role::kFollower);
  CHECK(ticks >= kElectionTicks);  // not before it could have heard from anyone
  Result<ProposalId> proposal = cluster.raw(1).Propose("x");
  REQUIRE_FALSE(proposal.ok());
  CHECK(proposal.status().code() == StatusCode::kNotLeader);
}

TEST_CASE("CheckQuorum: a leader that hears from a quorum keeps leading") {
  TestCluster cluster({1, 2, 3, 4, 5}, Options(true, true));
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.Isolate(4);
  cluster.Isolate(5);
  for (int tick = 0; tick < 10 * kElectionTicks; ++tick) {
    cluster.Tick(1);
    cluster.Tick(2);
    cluster.Tick(3);
  }
  CHECK(cluster.raw(1).role() == Role::kLeader);
  CHECK(cluster.raw(1).term() == term);
}

TEST_CASE("CheckQuorum: voters within the leader lease ignore a disruptive candidate") {
  TestCluster cluster({1, 2, 3}, Options(/*pre_vote=*/false, /*check_quorum=*/true));
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.Tick(1);
  cluster.ClearHistory();
  // 3 has a spurious timeout (say, a long GC pause) and campaigns in the next term.
  REQUIRE(cluster.raw(3).Campaign().ok());
  cluster.Stabilize();
  CHECK(cluster.raw(1).role() == Role::kLeader);
  CHECK(cluster.raw(1).term() == term);
  CHECK(cluster.raw(2).term() == term);
  for (const testing::SentMessage& sent : cluster.sent()) {
    const bool grant = sent.message.type == MessageType::kVoteResponse && !sent.message.reject;
    CHECK_FALSE(grant);
  }
}

TEST_CASE("CheckQuorum: once the lease has run out, the remaining voters elect a new leader") {
  TestCluster cluster({1, 2, 3}, Options(true, true));
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.Isolate(1);
  for (int tick = 0; tick < 5 * kElectionTicks; ++tick) {
    cluster.Tick(2);
    cluster.Tick(3);
    if (cluster.raw(2).role() == Role::kLeader || cluster.raw(3).role() == Role::kLeader) break;
  }
  const bool new_leader =
      cluster.raw(2).role() == Role::kLeader || cluster.raw(3).role() == Role::kLeader;
  CHECK(new_leader);
  CHECK(cluster.raw(2).term() > term);
}

TEST_CASE("A leadership transfer's election bypasses the lease of the other voters") {
  TestCluster cluster({1, 2, 3}, Options(true, true));
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.Tick(1);
  REQUIRE(cluster.raw(1).TransferLeadership(2).ok());
  cluster.Stabilize();
  CHECK(cluster.raw(2).role() == Role::kLeader);
  CHECK(cluster.raw(2).term() == term + 1);
  for (const testing::SentMessage& sent : cluster.sent()) {
    if (sent.message.type == MessageType::kVote && sent.message.from == 2) {
      CHECK(sent.message.context == "transfer");
    }
  }
}

}  // namespace
}  // namespace roster::consensus
