// Leader election as the Raft paper states it (§5.1, §5.2, §5.4.1). Each test is named
// after the rule it checks. Most drive one RawNode by hand: the test plays its peers.
// These nodes run plain Raft (no PreVote, no CheckQuorum); pre_vote_test.cc covers those.
#include "tests/unit/consensus/test_cluster.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <set>
#include <vector>

namespace roster::consensus {
namespace {

using testing::Heartbeat;
using testing::OfType;
using testing::PaperRaft;
using testing::TestCluster;
using testing::TestNode;
using testing::VoteRequest;
using testing::VoteResponse;

const ConfState kThreeVoters{.voters = {1, 2, 3}, .learners = {}};
const ConfState kFiveVoters{.voters = {1, 2, 3, 4, 5}, .learners = {}};
constexpr int kElectionTicks = 10;
// A bootstrapped cluster starts in term 1 with its membership entries committed
// (MakeBootstrap); every term below is relative to that.
constexpr Term kBootstrapTerm = 1;

std::vector<Message> To(const std::vector<Message>& messages, MessageType type, NodeId to) {
  std::vector<Message> out;
  for (const Message& message : OfType(messages, type)) {
    if (message.to == to) out.push_back(message);
  }
  return out;
}

// The vote responses in `messages`, keyed by candidate.
bool Granted(const std::vector<Message>& messages, NodeId candidate) {
  for (const Message& message : To(messages, MessageType::kVoteResponse, candidate)) {
    if (!message.reject) return true;
  }
  return false;
}

bool Refused(const std::vector<Message>& messages, NodeId candidate) {
  for (const Message& message : To(messages, MessageType::kVoteResponse, candidate)) {
    if (message.reject) return true;
  }
  return false;
}

// A leader's empty heartbeat makes `node` a follower of `leader` in `term`.
void FollowLeader(TestNode& node, NodeId leader, Term term) {
  REQUIRE(node.raw().Step(Heartbeat(leader, node.id(), term, 0)).ok());
  node.Drain();
  REQUIRE(node.raw().term() == term);
  REQUIRE(node.raw().leader() == leader);
}

// Campaigns (no PreVote) and persists the candidacy.
void BecomeCandidate(TestNode& node) {
  REQUIRE(node.raw().Campaign().ok());
  node.Drain();
  REQUIRE(node.raw().role() == Role::kCandidate);
}

// Ticks until the node asks for votes; returns the tick count, or 0 if it never did.
int TicksUntilCampaign(TestNode& node, int ticks_max) {
  for (int tick = 1; tick <= ticks_max; ++tick) {
    node.raw().Tick();
    std::vector<Message> sent = node.Drain();
    if (!OfType(sent, MessageType::kVote).empty() || !OfType(sent, MessageType::kPreVote).empty()) {
      return tick;
    }
  }
  return 0;
}

TEST_CASE("§5.1 a server with a stale term rejects the request") {
  TestNode node(1, kThreeVoters, PaperRaft());
  const Term current = kBootstrapTerm + 2;
  const Term stale = current - 1;
  FollowLeader(node, /*leader=*/2, current);
  const Index last = node.storage().LastIndex();

  SECTION("a RequestVote from an earlier term is not granted") {
    REQUIRE(node.raw().Step(VoteRequest(3, 1, stale, /*last_index=*/last + 9, stale)).ok());
    std::vector<Message> sent = node.Drain();
    CHECK_FALSE(Granted(sent, 3));
    CHECK(node.raw().term() == current);
    CHECK(node.storage().hard_state().vote != 3);
  }
  SECTION("an AppendEntries from an earlier term appends nothing and keeps the leader") {
    REQUIRE(
        node.raw()
            .Step(testing::AppendRequest(3, 1, stale, last, kBootstrapTerm,
                                         testing::EntriesWithTerms(last + 1, {stale}), last + 1))
            .ok());
    std::vector<Message> sent = node.Drain();
    CHECK(node.storage().LastIndex() == last);
    CHECK(node.raw().leader() == 2);
    CHECK(node.raw().term() == current);
    // If the node answers at all, it tells the stale leader the newer term.
    for (const Message& response : To(sent, MessageType::kAppendResponse, 3)) {
      CHECK(response.term == current);
    }
  }
}

TEST_CASE("§5.1 a server that sees a higher term adopts it and becomes a follower") {
  TestCluster cluster({1, 2, 3}, PaperRaft());
  cluster.Elect(1);
  const Term higher = cluster.raw(1).term() + 3;
  REQUIRE(cluster.Deliver(testing::AppendResponse(2, 1, higher, 0)).ok());
  cluster.HandleReady(1);
  CHECK(cluster.raw(1).role() == Role::kFollower);
  CHECK(cluster.raw(1).term() == higher);
  CHECK(cluster.node(1).storage().hard_state().term == higher);
}

TEST_CASE("§5.2 a follower that hears from no leader for an election timeout starts an election") {
  TestNode node(1, kThreeVoters, PaperRaft());
  const int ticks = TicksUntilCampaign(node, 2 * kElectionTicks);
  CHECK(ticks >= kElectionTicks);
  CHECK(ticks < 2 * kElectionTicks);
  // It increments its term, votes for itself (durably) and asks every peer for a vote.
  CHECK(node.raw().role() == Role::kCandidate);
  CHECK(node.raw().term() == kBootstrapTerm + 1);
  CHECK(node.storage().hard_state() ==
        HardState{.term = kBootstrapTerm + 1, .vote = 1, .commit = node.bootstrap_index()});
}

TEST_CASE("§5.2 a candidate asks every other server for its vote, with its last log position") {
  TestNode node(1, kThreeVoters, PaperRaft());
  node.ReplaceLog({1, 1, 2}, 2);
  REQUIRE(node.raw().Campaign().ok());
  std::vector<Message> sent = node.Drain();
  for (NodeId peer : {2, 3}) {
    std::vector<Message> requests = To(sent, MessageType::kVote, peer);
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].term == 3);
    CHECK(requests[0].index == node.bootstrap_index() + 3);
    CHECK(requests[0].log_term == 2);
  }
  CHECK(To(sent, MessageType::kVote, 1).empty());
}

TEST_CASE("§5.2 election timeouts are random in [election_ticks, 2 * election_ticks)") {
  std::set<int> timeouts;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    testing::NodeOptions options = PaperRaft();
    options.configure = [seed](Config& config) { config.random_seed = seed; };
    TestNode node(1, kThreeVoters, options);
    const int ticks = TicksUntilCampaign(node, 2 * kElectionTicks);
    INFO("seed " << seed);
    CHECK(ticks >= kElectionTicks);
    CHECK(ticks < 2 * kElectionTicks);
    timeouts.insert(ticks);
  }
  // Randomized timeouts are what make split votes rare (§5.2).
  CHECK(timeouts.size() >= 3);
}

TEST_CASE("§5.2 the same random seed gives the same election timeout") {
  testing::NodeOptions options = PaperRaft();
  options.configure = [](Config& config) { config.random_seed = 77; };
  TestNode first(1, kThreeVoters, options);
  TestNode second(1, kThreeVoters, options);
  CHECK(TicksUntilCampaign(first, 2 * kElectionTicks) ==
        TicksUntilCampaign(second, 2 * kElectionTicks));
}

TEST_CASE("§5.2 a leader's heartbeats keep followers from starting elections") {
  TestCluster cluster({1, 2, 3}, PaperRaft());
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.ClearHistory();
  cluster.TickAll(10 * kElectionTicks);
  CHECK(cluster.raw(1).role() == Role::kLeader);
  for (NodeId id : {1, 2, 3}) CHECK(cluster.raw(id).term() == term);
  CHECK(cluster.CountSent(MessageType::kHeartbeat, 1, 2) > 0);
  CHECK(cluster.CountSent(MessageType::kVote, 2, 1) == 0);
  CHECK(cluster.CountSent(MessageType::kVote, 3, 1) == 0);
}

TEST_CASE("§5.2 a candidate wins with votes from a majority and asserts its authority") {
  TestNode node(1, kFiveVoters, PaperRaft());
  BecomeCandidate(node);
  const Term term = node.raw().term();
  REQUIRE(node.raw().Step(VoteResponse(2, 1, term, /*granted=*/true)).ok());
  node.Drain();
  CHECK(node.raw().role() == Role::kCandidate);  // 2 of 5 is not a majority
  REQUIRE(node.raw().Step(VoteResponse(3, 1, term, /*granted=*/true)).ok());
  std::vector<Message> sent = node.Drain();
  CHECK(node.raw().role() == Role::kLeader);
  CHECK(node.raw().leader() == 1);
  // It then sends AppendEntries (or heartbeats) to every other server.
  for (NodeId peer : {2, 3, 4, 5}) {
    INFO("peer " << peer);
    CHECK(To(sent, MessageType::kAppend, peer).size() +
              To(sent, MessageType::kHeartbeat, peer).size() >=
          1);
  }
}

TEST_CASE("§5.2 a candidate refused by a majority does not become leader") {
  TestNode node(1, kThreeVoters, PaperRaft());
  BecomeCandidate(node);
  const Term term = node.raw().term();
  REQUIRE(node.raw().Step(VoteResponse(2, 1, term, /*granted=*/false)).ok());
  REQUIRE(node.raw().Step(VoteResponse(3, 1, term, /*granted=*/false)).ok());
  node.Drain();
  CHECK(node.raw().role() != Role::kLeader);
  CHECK(node.raw().term() == term);
}

TEST_CASE("§5.2 votes granted in an earlier election do not count in a later one") {
  TestNode node(1, kThreeVoters, PaperRaft());
  BecomeCandidate(node);
  const Term first = node.raw().term();
  BecomeCandidate(node);  // timed out: the next term
  REQUIRE(node.raw().term() == first + 1);
  REQUIRE(node.raw().Step(VoteResponse(2, 1, first, /*granted=*/true)).ok());
  node.Drain();
  CHECK(node.raw().role() == Role::kCandidate);
  REQUIRE(node.raw().Step(VoteResponse(2, 1, first + 1, /*granted=*/true)).ok());
  node.Drain();
  CHECK(node.raw().role() == Role::kLeader);
}

TEST_CASE("§5.2 each server votes for at most one candidate per term") {
  TestNode node(1, kThreeVoters, PaperRaft());
  // Candidates whose logs are as up-to-date as the voter's (the bootstrap entries).
  const Index last = node.bootstrap_index();
  const Term term = kBootstrapTerm + 1;
  REQUIRE(node.raw().Step(VoteRequest(2, 1, term, last, kBootstrapTerm)).ok());
  CHECK(Granted(node.Drain(), 2));
  CHECK(node.storage().hard_state().vote == 2);

  SECTION("a second candidate in the same term is refused") {
    REQUIRE(node.raw().Step(VoteRequest(3, 1, term, last, kBootstrapTerm)).ok());
    std::vector<Message> sent = node.Drain();
    CHECK_FALSE(Granted(sent, 3));
    CHECK(node.storage().hard_state().vote == 2);
  }
  SECTION("the same candidate asking again gets the same answer") {
    REQUIRE(node.raw().Step(VoteRequest(2, 1, term, last, kBootstrapTerm)).ok());
    CHECK(Granted(node.Drain(), 2));
  }
  SECTION("the vote survives a crash: after a restart the second candidate is still refused") {
    node.Crash();
    node.Restart();
    REQUIRE(node.raw().Step(VoteRequest(3, 1, term, last, kBootstrapTerm)).ok());
    CHECK_FALSE(Granted(node.Drain(), 3));
  }
  SECTION("in a later term the server may vote again") {
    REQUIRE(node.raw().Step(VoteRequest(3, 1, term + 1, last, kBootstrapTerm)).ok());
    CHECK(Granted(node.Drain(), 3));
    CHECK(node.storage().hard_state().term == term + 1);
    CHECK(node.storage().hard_state().vote == 3);
  }
}

TEST_CASE("§5.2 a vote is sent only after it is persisted") {
  TestNode node(1, kThreeVoters, PaperRaft());
  node.Drain();  // the bootstrap entries are applied at start-up
  REQUIRE(
      node.raw().Step(VoteRequest(2, 1, /*term=*/4, node.bootstrap_index(), kBootstrapTerm)).ok());
  Ready ready = node.HandleReady();
  // The grant promises that term 4 and the vote are on disk: it must wait for the fsync.
  REQUIRE(ready.hard_state.has_value());
  CHECK(ready.hard_state->term == 4);
  CHECK(ready.hard_state->vote == 2);
  CHECK(Granted(ready.persisted_messages, 2));
  CHECK_FALSE(Granted(ready.messages, 2));
  CHECK(OfType(ready.messages, MessageType::kVoteResponse).empty());
}

TEST_CASE("§5.2 a candidate persists its own vote before it can win") {
  TestNode node(1, kThreeVoters, PaperRaft());
  REQUIRE(node.raw().Campaign().ok());
  Ready ready = node.TakeReady();
  REQUIRE(ready.hard_state.has_value());
  CHECK(ready.hard_state->term == kBootstrapTerm + 1);
  CHECK(ready.hard_state->vote == 1);
  node.Finish(ready);
}

TEST_CASE("A Ready reports a change of role or leader in its soft state") {
  TestNode node(1, kThreeVoters, PaperRaft());
  REQUIRE(node.raw().Campaign().ok());
  Ready campaign = node.HandleReady();
  REQUIRE(campaign.soft_state.has_value());
  CHECK(campaign.soft_state->role == Role::kCandidate);
  const Term term = node.raw().term();
  REQUIRE(node.raw().Step(VoteResponse(2, 1, term, /*granted=*/true)).ok());
  Ready won = node.HandleReady();
  REQUIRE(won.soft_state.has_value());
  CHECK(*won.soft_state == SoftState{.leader = 1, .role = Role::kLeader});
  node.Drain();
  CHECK_FALSE(node.raw().HasReady());
  REQUIRE(node.raw().Step(Heartbeat(3, 1, term + 1, 0)).ok());
  Ready deposed = node.HandleReady();
  REQUIRE(deposed.soft_state.has_value());
  CHECK(*deposed.soft_state == SoftState{.leader = 3, .role = Role::kFollower});
}

TEST_CASE("§5.2 a candidate steps down on AppendEntries from a leader of its term") {
  TestNode node(1, kThreeVoters, PaperRaft());
  BecomeCandidate(node);
  const Term term = node.raw().term();
  const Index last = node.storage().LastIndex();
  REQUIRE(node.raw().Step(testing::AppendRequest(2, 1, term, last, kBootstrapTerm, {}, last)).ok());
  node.Drain();
  CHECK(node.raw().role() == Role::kFollower);
  CHECK(node.raw().leader() == 2);
  CHECK(node.raw().term() == term);
}

TEST_CASE("§5.2 a candidate steps down on a heartbeat from a leader of a later term") {
  TestNode node(1, kThreeVoters, PaperRaft());
  BecomeCandidate(node);
  const Term later = node.raw().term() + 1;
  REQUIRE(node.raw().Step(Heartbeat(3, 1, later, 0)).ok());
  node.Drain();
  CHECK(node.raw().role() == Role::kFollower);
  CHECK(node.raw().leader() == 3);
  CHECK(node.raw().term() == later);
}

TEST_CASE("§5.2 a candidate ignores AppendEntries from an earlier term") {
  TestNode node(1, kThreeVoters, PaperRaft());
  BecomeCandidate(node);
  const Term earlier = node.raw().term();
  BecomeCandidate(node);
  const Index last = node.storage().LastIndex();
  REQUIRE(
      node.raw().Step(testing::AppendRequest(2, 1, earlier, last, kBootstrapTerm, {}, last)).ok());
  node.Drain();
  CHECK(node.raw().role() == Role::kCandidate);
  CHECK(node.raw().term() == earlier + 1);
}

TEST_CASE("§5.2 after a split vote, a later election elects exactly one leader") {
  TestCluster cluster({1, 2, 3, 4}, PaperRaft());
  // 1 and 3 campaign at once; 2 hears only 1 and 4 hears only 3: two votes each of four.
  cluster.Partition({1, 2}, {3, 4});
  REQUIRE(cluster.raw(1).Campaign().ok());
  REQUIRE(cluster.raw(3).Campaign().ok());
  cluster.Stabilize();
  cluster.Heal();
  REQUIRE(cluster.raw(1).role() == Role::kCandidate);
  REQUIRE(cluster.raw(3).role() == Role::kCandidate);
  REQUIRE(cluster.raw(1).term() == cluster.raw(3).term());
  const Term split_term = cluster.raw(1).term();

  for (int tick = 0; tick < 10 * kElectionTicks && !cluster.Leader(); ++tick) {
    cluster.TickAll();
  }
  REQUIRE(cluster.Leader().has_value());
  CHECK(cluster.raw(*cluster.Leader()).term() > split_term);
  int leaders = 0;
  for (NodeId id : cluster.ids()) leaders += cluster.raw(id).role() == Role::kLeader ? 1 : 0;
  CHECK(leaders == 1);
}

// A voter whose log ends with [1, 1, 2] after its bootstrap entries hears a candidate in
// term 3. Candidate positions count from the bootstrap entries too (0 stays 0: empty).
struct UpToDateCase {
  Index candidate_last_position;
  Term candidate_last_term;
  bool granted;
};

TEST_CASE("§5.4.1 a voter refuses a candidate whose log is less up-to-date than its own") {
  const UpToDateCase cases[] = {
      {3, 2, true},   // identical logs
      {4, 2, true},   // same last term, longer
      {2, 2, false},  // same last term, shorter
      {9, 1, false},  // longer, but an older last term
      {1, 3, true},   // shorter, but a newer last term
      {0, 0, false},  // empty
  };
  for (const UpToDateCase& c : cases) {
    DYNAMIC_SECTION("candidate log ends at position " << c.candidate_last_position << ", term "
                                                      << c.candidate_last_term) {
      TestNode node(1, kThreeVoters, PaperRaft());
      node.ReplaceLog({1, 1, 2}, 2);
      const Index last_index =
          c.candidate_last_position == 0 ? 0 : node.bootstrap_index() + c.candidate_last_position;
      REQUIRE(
          node.raw().Step(VoteRequest(2, 1, /*term=*/3, last_index, c.candidate_last_term)).ok());
      std::vector<Message> sent = node.Drain();
      CHECK(Granted(sent, 2) == c.granted);
      CHECK(Refused(sent, 2) == !c.granted);
      // Granted or not, the voter has seen term 3 (§5.1).
      CHECK(node.raw().term() == 3);
      CHECK(node.storage().hard_state().term == 3);
    }
  }
}

TEST_CASE("§5.4.1 a server that misses a committed entry cannot be elected") {
  TestCluster cluster({1, 2, 3, 4, 5}, PaperRaft());
  cluster.Elect(1);
  cluster.Isolate(5);
  cluster.Propose(1, "committed");
  REQUIRE(cluster.node(1).state() == std::vector<std::string>{"committed"});
  cluster.Heal();
  cluster.Isolate(1);
  REQUIRE(cluster.raw(5).Campaign().ok());
  cluster.Stabilize();
  CHECK(cluster.raw(5).role() != Role::kLeader);
  // Any server that has the entry can still win, and the entry stays.
  cluster.Elect(2);
  cluster.Propose(2, "next");
  CHECK(cluster.node(2).state() == std::vector<std::string>{"committed", "next"});
}

TEST_CASE("§5.4.3 every later leader's log contains the entries committed before it") {
  TestCluster cluster({1, 2, 3, 4, 5}, PaperRaft());
  cluster.Elect(1);
  // Committed on exactly a majority: 1, 2 and 3.
  cluster.Isolate(4);
  cluster.Isolate(5);
  const ProposalId committed = cluster.Propose(1, "x");
  REQUIRE(cluster.node(1).state() == std::vector<std::string>{"x"});
  cluster.Heal();
  int elections_won = 0;
  for (NodeId candidate : {4, 5, 2, 3}) {
    REQUIRE(cluster.raw(candidate).Campaign().ok());
    cluster.Stabilize();
    if (cluster.raw(candidate).role() != Role::kLeader) continue;
    ++elections_won;
    INFO("leader " << candidate << " in term " << cluster.raw(candidate).term());
    CHECK(cluster.node(candidate).LogTermAt(committed.index) == committed.term);
  }
  CHECK(cluster.raw(4).role() != Role::kLeader);
  CHECK(elections_won >= 2);  // 2 and 3 have the entry and can win
}

}  // namespace
}  // namespace roster::consensus
