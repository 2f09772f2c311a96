// A node recreated from its storage (a process restart) comes back with the term, vote
// and log it persisted, and with Config.applied it does not apply anything twice.
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

constexpr int kElectionTicks = 10;

TEST_CASE("A node restarted from storage keeps its term, vote and log") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  cluster.Propose(1, "b");
  cluster.Tick(1);
  const std::vector<Entry> log = cluster.node(2).LogEntries();
  const HardState hard_state = cluster.node(2).storage().hard_state();
  REQUIRE(hard_state.vote == 1);

  cluster.Crash(2);
  cluster.Restart(2);
  CHECK(cluster.raw(2).term() == hard_state.term);
  CHECK(cluster.raw(2).GetStatus().hard_state == hard_state);
  CHECK(cluster.raw(2).GetStatus().last_index == log.back().index);
  CHECK(cluster.raw(2).role() == Role::kFollower);
  // Committed membership changes are in force at once (so it never campaigns on a stale
  // membership), while conf_state() is the membership as of applied (0 here): what a
  // snapshot at that index must record.
  const ConfState founders{.voters = {1, 2, 3}, .learners = {}};
  CHECK(cluster.raw(2).GetStatus().conf_state == founders);
  CHECK(cluster.raw(2).conf_state() == ConfState{});
  // Committed entries after Config.applied (0 here) are handed out again.
  cluster.HandleReady(2);
  CHECK(cluster.node(2).state() == std::vector<std::string>{"a", "b"});
  CHECK(cluster.raw(2).conf_state() == founders);
  CHECK(cluster.node(2).LogEntries() == log);
}

TEST_CASE("A restarted leader comes back as a follower and the cluster carries on") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.Propose(1, "a");
  cluster.Crash(1);
  cluster.Restart(1);
  CHECK(cluster.raw(1).role() == Role::kFollower);
  CHECK(cluster.raw(1).term() == term);
  for (int tick = 0; tick < 10 * kElectionTicks && !cluster.Leader(); ++tick) cluster.TickAll();
  const std::optional<NodeId> leader = cluster.Leader();
  REQUIRE(leader.has_value());
  cluster.Propose(*leader, "b");
  cluster.Tick(*leader);
  for (NodeId id : {1, 2, 3}) {
    INFO("node " << id);
    CHECK(cluster.node(id).state() == std::vector<std::string>{"a", "b"});
  }
}

TEST_CASE("A node restarted from a snapshot applies only the entries after it") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  cluster.Propose(1, "b");
  cluster.Tick(1);
  cluster.node(2).CompactLog();
  const Index snapshot_index = cluster.node(2).storage().GetSnapshotMetadata().index;
  REQUIRE(snapshot_index > 0);
  cluster.Propose(1, "c");
  cluster.Tick(1);

  cluster.Crash(2);
  cluster.Restart(2);  // Config.applied = the snapshot's index
  cluster.HandleReady(2);
  CHECK(cluster.node(2).state() == std::vector<std::string>{"a", "b", "c"});
  REQUIRE_FALSE(cluster.node(2).applied_entries().empty());
  CHECK(cluster.node(2).applied_entries().front().index == snapshot_index + 1);
}

TEST_CASE("A restart rebuilds the membership from the snapshot and the entries after it") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.AddNode(4);
  REQUIRE(cluster.raw(1)
              .ProposeConfChange(
                  ConfChange{.type = ConfChangeType::kAddLearner, .node_id = 4, .context = ""})
              .ok());
  cluster.Stabilize();
  cluster.Tick(1);
  cluster.node(2).CompactLog();  // the snapshot holds {1,2,3} + learner 4
  REQUIRE(cluster.raw(1)
              .ProposeConfChange(
                  ConfChange{.type = ConfChangeType::kAddVoter, .node_id = 4, .context = ""})
              .ok());
  cluster.Stabilize();
  cluster.Tick(1);
  const ConfState expected{.voters = {1, 2, 3, 4}, .learners = {}};
  REQUIRE(cluster.raw(2).conf_state() == expected);

  cluster.Crash(2);
  cluster.Restart(2);
  cluster.HandleReady(2);
  CHECK(cluster.raw(2).conf_state() == expected);
}

TEST_CASE("A restart with applied behind the storage's snapshot is refused") {
  MemoryStorage storage;
  storage.Bootstrap(ConfState{.voters = {1}, .learners = {}});  // index 1
  storage.Append(testing::EntriesWithTerms(2, {1, 1}));
  storage.SetHardState(HardState{.term = 1, .vote = 1, .commit = 3});
  storage.CreateSnapshot(2, ConfState{.voters = {1}, .learners = {}}, "", 0);
  Config config;
  config.id = 1;
  config.storage = &storage;
  config.applied = 1;
  CHECK(RawNode::Create(config).status().code() == StatusCode::kInvalidArgument);
  config.applied = 2;
  CHECK(RawNode::Create(config).ok());
}

TEST_CASE("A single-node cluster restarted from storage leads again and keeps its data") {
  TestCluster cluster({1});
  cluster.Elect(1);
  const Term term = cluster.raw(1).term();
  cluster.Propose(1, "a");
  cluster.Crash(1);
  cluster.Restart(1);
  cluster.Stabilize();
  CHECK(cluster.node(1).state() == std::vector<std::string>{"a"});
  cluster.Elect(1);
  CHECK(cluster.raw(1).term() == term + 1);
  cluster.Propose(1, "b");
  CHECK(cluster.node(1).state() == std::vector<std::string>{"a", "b"});
}

}  // namespace
}  // namespace roster::consensus
