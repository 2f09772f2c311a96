// Leadership transfer (thesis §3.10): the leader brings the target up to date, then
// sends TimeoutNow so the target campaigns at once; proposals wait meanwhile, and a
// transfer that does not happen within an election timeout is abandoned.
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

TEST_CASE("Transfer to a caught-up follower: TimeoutNow, and it wins the next term at once") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.Propose(1, "a");
  cluster.ClearHistory();
  REQUIRE(cluster.raw(1).TransferLeadership(2).ok());
  cluster.HandleReady(1);
  CHECK(cluster.CountSent(MessageType::kTimeoutNow, 1, 2) == 1);
  cluster.Stabilize();
  CHECK(cluster.raw(2).role() == Role::kLeader);
  CHECK(cluster.raw(2).term() == term + 1);
  CHECK(cluster.raw(1).role() == Role::kFollower);
  CHECK(cluster.raw(1).leader() == 2);
  // No pre-vote: TimeoutNow means campaign now.
  CHECK(cluster.CountSent(MessageType::kPreVote, 2, 1) == 0);
  cluster.Propose(2, "b");
  cluster.Tick(2);
  for (NodeId id : {1, 2, 3}) {
    INFO("node " << id);
    CHECK(cluster.node(id).state() == std::vector<std::string>{"a", "b"});
  }
}

TEST_CASE("Transfer to a lagging follower waits until it has caught up") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Isolate(3);
  cluster.Propose(1, "a");
  cluster.Propose(1, "b");
  cluster.Propose(1, "c");
  cluster.ClearHistory();
  REQUIRE(cluster.raw(1).TransferLeadership(3).ok());
  cluster.Stabilize();
  CHECK(cluster.CountSent(MessageType::kTimeoutNow, 1, 3) == 0);
  CHECK(cluster.raw(1).GetStatus().lead_transferee == 3);

  cluster.Heal();
  Index target_last_index_at_timeout_now = 0;
  Index leader_last_index_at_timeout_now = 0;
  cluster.set_hook([&](const Message& m) {
    if (m.type == MessageType::kTimeoutNow) {
      target_last_index_at_timeout_now = cluster.node(3).storage().LastIndex();
      leader_last_index_at_timeout_now = cluster.node(1).storage().LastIndex();
    }
    return Verdict::kDeliver;
  });
  for (int tick = 0; tick < kElectionTicks - 1 && cluster.raw(3).role() != Role::kLeader; ++tick) {
    cluster.Tick(1);
  }
  CHECK(cluster.raw(3).role() == Role::kLeader);
  CHECK(cluster.CountSent(MessageType::kTimeoutNow, 1, 3) == 1);
  CHECK(target_last_index_at_timeout_now == leader_last_index_at_timeout_now);
  CHECK(cluster.node(3).state() == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("Proposals are refused while a leadership transfer is in progress") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Isolate(3);
  cluster.Propose(1, "a");
  REQUIRE(cluster.raw(1).TransferLeadership(3).ok());
  Result<ProposalId> proposal = cluster.raw(1).Propose("during transfer");
  REQUIRE_FALSE(proposal.ok());
  CHECK(proposal.status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("A transfer to an unreachable target is abandoned after an election timeout") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.Isolate(3);
  REQUIRE(cluster.raw(1).TransferLeadership(3).ok());
  cluster.Tick(1, kElectionTicks / 2);
  CHECK(cluster.raw(1).GetStatus().lead_transferee == 3);
  cluster.Tick(1, kElectionTicks - kElectionTicks / 2);
  CHECK(cluster.raw(1).GetStatus().lead_transferee == kNoNode);
  CHECK(cluster.raw(1).role() == Role::kLeader);
  CHECK(cluster.raw(1).term() == term);
  cluster.Propose(1, "after the abort");
  CHECK(cluster.node(1).state() == std::vector<std::string>{"after the abort"});
}

TEST_CASE("A follower asked to transfer leadership forwards the request to the leader") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.ClearHistory();
  REQUIRE(cluster.raw(2).TransferLeadership(2).ok());
  cluster.Stabilize();
  CHECK(cluster.CountSent(MessageType::kTransferLeader, 2, 1) == 1);
  CHECK(cluster.raw(2).role() == Role::kLeader);
  CHECK(cluster.raw(2).term() == term + 1);
}

TEST_CASE("Transferring leadership to a node outside the membership is refused") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  CHECK_FALSE(cluster.raw(1).TransferLeadership(9).ok());
  CHECK(cluster.raw(1).GetStatus().lead_transferee == kNoNode);
  CHECK(cluster.raw(1).Propose("still accepted").ok());
}

TEST_CASE("A TimeoutNow from an earlier term does not start an election") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.Tick(1);
  Message stale;
  stale.type = MessageType::kTimeoutNow;
  stale.from = 1;
  stale.to = 2;
  stale.term = term - 1;
  (void)cluster.Deliver(stale);
  cluster.Stabilize();
  CHECK(cluster.raw(1).role() == Role::kLeader);
  CHECK(cluster.raw(2).term() == term);
}

}  // namespace
}  // namespace roster::consensus
