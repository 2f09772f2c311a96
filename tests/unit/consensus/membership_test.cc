// Membership changes one server at a time (thesis §4.1-§4.3): learners, promotion,
// adding and removing voters, removing the leader itself, and the rules that keep
// changes from overlapping.
#include "tests/unit/consensus/test_cluster.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <string>
#include <vector>

namespace roster::consensus {
namespace {

using testing::TestCluster;
using testing::Verdict;

constexpr int kElectionTicks = 10;

ConfChange Change(ConfChangeType type, NodeId node) {
  return ConfChange{.type = type, .node_id = node, .context = ""};
}

// Proposes a change on the leader, lets it commit and apply, and lets a heartbeat carry
// the commit index to every follower.
void ChangeMembership(TestCluster& cluster, NodeId leader, const ConfChange& change) {
  Result<ProposalId> proposal = cluster.raw(leader).ProposeConfChange(change);
  INFO(proposal.status().ToString());
  REQUIRE(proposal.ok());
  cluster.Stabilize();
  cluster.Tick(leader);
}

// Gives an idle leader something to replicate (an empty entry, which the state machine
// ignores), so that new members are contacted whatever the leader does when idle.
void Nudge(TestCluster& cluster, NodeId leader) {
  cluster.Propose(leader, "");
  cluster.Tick(leader);
}

Index CommitOf(RawNode& raw) { return raw.GetStatus().hard_state.commit; }

TEST_CASE("A new member is brought up to date even when no proposals arrive") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  cluster.AddNode(4);
  ChangeMembership(cluster, 1, Change(ConfChangeType::kAddLearner, 4));
  // The leader is idle from here on: only its heartbeats can find out what 4 lacks.
  for (int tick = 0; tick < kElectionTicks - 1 && cluster.node(4).state().empty(); ++tick) {
    cluster.Tick(1);
  }
  CHECK(cluster.node(4).state() == std::vector<std::string>{"a"});
}

TEST_CASE("A node that joins by replaying the log learns the whole membership") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.AddNode(4);
  ChangeMembership(cluster, 1, Change(ConfChangeType::kAddLearner, 4));
  Nudge(cluster, 1);
  CHECK(cluster.raw(4).conf_state() == ConfState{.voters = {1, 2, 3}, .learners = {4}});
  ChangeMembership(cluster, 1, Change(ConfChangeType::kAddVoter, 4));
  Nudge(cluster, 1);
  CHECK(cluster.raw(4).conf_state() == ConfState{.voters = {1, 2, 3, 4}, .learners = {}});
}

TEST_CASE("A node that joined by replaying the log cannot elect itself on its own") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.AddNode(4);
  ChangeMembership(cluster, 1, Change(ConfChangeType::kAddLearner, 4));
  Nudge(cluster, 1);
  ChangeMembership(cluster, 1, Change(ConfChangeType::kAddVoter, 4));
  Nudge(cluster, 1);
  REQUIRE(cluster.raw(1).conf_state().voters == std::vector<NodeId>{1, 2, 3, 4});
  // Cut off, 4 may campaign, but one vote of four is not a majority.
  cluster.Isolate(4);
  cluster.Tick(4, 5 * kElectionTicks);
  CHECK(cluster.raw(4).role() != Role::kLeader);
}

TEST_CASE("A learner receives the log but does not count toward commitment") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  cluster.AddNode(4);
  ChangeMembership(cluster, 1, Change(ConfChangeType::kAddLearner, 4));
  Nudge(cluster, 1);
  CHECK(cluster.raw(1).conf_state() == ConfState{.voters = {1, 2, 3}, .learners = {4}});
  CHECK(cluster.node(4).state() == std::vector<std::string>{"a"});
  CHECK(cluster.raw(4).conf_state().learners == std::vector<NodeId>{4});

  // With 2 and 3 away, the leader and the learner hold the entry: not a majority of voters.
  cluster.Isolate(2);
  cluster.Isolate(3);
  const Index commit_before = CommitOf(cluster.raw(1));
  Result<ProposalId> b = cluster.raw(1).Propose("b");
  REQUIRE(b.ok());
  cluster.Stabilize();
  CHECK(cluster.node(4).LogTermAt(b->index) == b->term);
  CHECK(CommitOf(cluster.raw(1)) == commit_before);
  CHECK(cluster.node(1).state() == std::vector<std::string>{"a"});
}

TEST_CASE("A learner never campaigns") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.AddNode(4);
  ChangeMembership(cluster, 1, Change(ConfChangeType::kAddLearner, 4));
  Nudge(cluster, 1);
  REQUIRE(cluster.raw(4).conf_state().learners == std::vector<NodeId>{4});
  const Term term = cluster.raw(4).term();
  cluster.Isolate(4);
  cluster.Tick(4, 5 * kElectionTicks);
  CHECK(cluster.raw(4).role() == Role::kFollower);
  CHECK(cluster.raw(4).term() == term);
  CHECK(cluster.CountSent(MessageType::kVote, 4, 1) == 0);
  CHECK(cluster.CountSent(MessageType::kPreVote, 4, 1) == 0);
  Status campaign = cluster.raw(4).Campaign();
  CHECK(campaign.code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("A promoted learner votes and counts toward commitment") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.AddNode(4);
  ChangeMembership(cluster, 1, Change(ConfChangeType::kAddLearner, 4));
  Nudge(cluster, 1);
  ChangeMembership(cluster, 1, Change(ConfChangeType::kAddVoter, 4));
  Nudge(cluster, 1);
  CHECK(cluster.raw(1).conf_state() == ConfState{.voters = {1, 2, 3, 4}, .learners = {}});

  SECTION("two of four voters cannot commit") {
    cluster.Isolate(2);
    cluster.Isolate(3);
    const Index commit_before = CommitOf(cluster.raw(1));
    REQUIRE(cluster.raw(1).Propose("c").ok());
    cluster.Stabilize();
    CHECK(CommitOf(cluster.raw(1)) == commit_before);
  }
  SECTION("three of four voters, the new one included, commit") {
    cluster.Isolate(3);
    cluster.Propose(1, "c");
    CHECK(cluster.node(1).state() == std::vector<std::string>{"c"});
    cluster.Isolate(2);
    REQUIRE(cluster.raw(1).Propose("d").ok());
    cluster.Stabilize();
    CHECK(cluster.node(1).state() == std::vector<std::string>{"c"});  // 1 and 4 only
  }
}

TEST_CASE("A voter can be added directly and raises the majority") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.AddNode(4);
  ChangeMembership(cluster, 1, Change(ConfChangeType::kAddVoter, 4));
  REQUIRE(cluster.raw(1).conf_state().voters == std::vector<NodeId>{1, 2, 3, 4});
  cluster.Propose(1, "with four");
  CHECK(cluster.node(4).state() == std::vector<std::string>{"with four"});

  // Two of four (1 and 2) is no longer a majority.
  cluster.Crash(3);
  cluster.Crash(4);
  const Index commit_before = CommitOf(cluster.raw(1));
  REQUIRE(cluster.raw(1).Propose("two of four").ok());
  cluster.Stabilize();
  CHECK(CommitOf(cluster.raw(1)) == commit_before);
}

TEST_CASE("Removing a follower lowers the majority and stops replication to it") {
  TestCluster cluster({1, 2, 3, 4});
  cluster.Elect(1);
  ChangeMembership(cluster, 1, Change(ConfChangeType::kRemoveNode, 4));
  REQUIRE(cluster.raw(1).conf_state().voters == std::vector<NodeId>{1, 2, 3});
  CHECK(cluster.raw(2).conf_state().voters == std::vector<NodeId>{1, 2, 3});
  cluster.ClearHistory();
  // Two of the three remaining voters are a majority now (two of four were not).
  cluster.Crash(3);
  cluster.Crash(4);
  cluster.Propose(1, "two of three");
  CHECK(cluster.node(1).state() == std::vector<std::string>{"two of three"});
  CHECK(cluster.CountSent(MessageType::kAppend, 1, 4) == 0);
  CHECK(cluster.raw(1).GetStatus().peers.count(4) == 0);
}

TEST_CASE("Removing the leader: it steps down and the rest elect a new leader and go on") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "before");
  ChangeMembership(cluster, 1, Change(ConfChangeType::kRemoveNode, 1));
  for (int tick = 0; tick < 10 * kElectionTicks; ++tick) {
    const std::optional<NodeId> leader = cluster.Leader();
    if (leader && *leader != 1) break;
    cluster.TickAll();
  }
  const std::optional<NodeId> leader = cluster.Leader();
  REQUIRE(leader.has_value());
  REQUIRE(*leader != 1);
  CHECK(cluster.raw(1).role() != Role::kLeader);
  CHECK(cluster.raw(*leader).conf_state().voters == std::vector<NodeId>{2, 3});
  cluster.Propose(*leader, "after");
  cluster.Tick(*leader);
  for (NodeId id : {2, 3}) {
    INFO("node " << id);
    CHECK(cluster.node(id).state() == std::vector<std::string>{"before", "after"});
  }
}

TEST_CASE("Only one membership change may be pending at a time") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.AddNode(4);
  cluster.AddNode(5);
  REQUIRE(cluster.raw(1).ProposeConfChange(Change(ConfChangeType::kAddLearner, 4)).ok());
  Result<ProposalId> second =
      cluster.raw(1).ProposeConfChange(Change(ConfChangeType::kAddLearner, 5));
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == StatusCode::kFailedPrecondition);
  cluster.Stabilize();
  // Once the first is applied, the next may go.
  CHECK(cluster.raw(1).ProposeConfChange(Change(ConfChangeType::kAddLearner, 5)).ok());
  cluster.Stabilize();
  CHECK(cluster.raw(1).conf_state().learners == std::vector<NodeId>{4, 5});
}

TEST_CASE(
    "A new leader refuses a membership change until it has committed an entry of its "
    "term") {
  TestCluster cluster({1, 2, 3});
  // The votes get through; the new leader's appends (its no-op) do not, yet.
  cluster.set_hook([](const Message& m) {
    return m.type == MessageType::kAppend ? Verdict::kDrop : Verdict::kDeliver;
  });
  cluster.Elect(1);
  REQUIRE(CommitOf(cluster.raw(1)) < cluster.raw(1).GetStatus().last_index);
  Result<ProposalId> early =
      cluster.raw(1).ProposeConfChange(Change(ConfChangeType::kRemoveNode, 3));
  REQUIRE_FALSE(early.ok());
  CHECK(early.status().code() == StatusCode::kFailedPrecondition);

  cluster.Heal();
  for (int tick = 0; tick < kElectionTicks - 1; ++tick) {
    if (CommitOf(cluster.raw(1)) == cluster.raw(1).GetStatus().last_index) break;
    cluster.Tick(1);
  }
  REQUIRE(CommitOf(cluster.raw(1)) == cluster.raw(1).GetStatus().last_index);
  CHECK(cluster.raw(1).ProposeConfChange(Change(ConfChangeType::kRemoveNode, 3)).ok());
}

TEST_CASE("A membership change that cannot apply is refused with InvalidArgument") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  Result<ProposalId> unknown =
      cluster.raw(1).ProposeConfChange(Change(ConfChangeType::kRemoveNode, 9));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == StatusCode::kInvalidArgument);
  Result<ProposalId> demotion =
      cluster.raw(1).ProposeConfChange(Change(ConfChangeType::kAddLearner, 2));
  REQUIRE_FALSE(demotion.ok());
  CHECK(demotion.status().code() == StatusCode::kInvalidArgument);
  // Neither left anything pending.
  CHECK(cluster.raw(1).ProposeConfChange(Change(ConfChangeType::kAddLearner, 4)).ok());
}

TEST_CASE("A follower refuses a membership change with NotLeader") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  Result<ProposalId> change =
      cluster.raw(2).ProposeConfChange(Change(ConfChangeType::kAddLearner, 4));
  REQUIRE_FALSE(change.ok());
  CHECK(change.status().code() == StatusCode::kNotLeader);
}

TEST_CASE("A membership change is replicated as a conf change entry every node applies") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.AddNode(4);
  const ConfChange change{
      .type = ConfChangeType::kAddLearner, .node_id = 4, .context = "10.0.0.4:8300"};
  ChangeMembership(cluster, 1, change);
  Nudge(cluster, 1);
  for (NodeId id : {1, 2, 3, 4}) {
    INFO("node " << id);
    bool found = false;
    for (const Entry& entry : cluster.node(id).LogEntries()) {
      if (entry.type != EntryType::kConfChange) continue;
      Result<ConfChange> decoded = DecodeConfChange(entry.data);
      REQUIRE(decoded.ok());
      if (*decoded == change) found = true;
    }
    CHECK(found);
    CHECK(cluster.raw(id).conf_state().learners == std::vector<NodeId>{4});
  }
}

}  // namespace
}  // namespace roster::consensus
