// ReadIndex (thesis §6.4): a linearizable read point without writing to the log. The
// leader records its commit index, confirms it still leads with one heartbeat round
// (shared by every read that arrived meanwhile), and only then answers.
#include "tests/unit/consensus/test_cluster.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <optional>
#include <string>
#include <vector>

namespace roster::consensus {
namespace {

using testing::PaperRaft;
using testing::TestCluster;
using testing::Verdict;

constexpr int kElectionTicks = 10;

Index CommitOf(RawNode& raw) { return raw.GetStatus().hard_state.commit; }

std::optional<ReadState> ReadFor(TestCluster& cluster, NodeId id, const std::string& context) {
  for (const ReadState& read : cluster.node(id).read_states()) {
    if (read.context == context) return read;
  }
  return std::nullopt;
}

TEST_CASE("ReadIndex on the leader answers with its commit index after one heartbeat round") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  const Index commit = CommitOf(cluster.raw(1));
  cluster.ClearHistory();
  REQUIRE(cluster.raw(1).ReadIndex("r1").ok());
  cluster.Stabilize();
  const std::optional<ReadState> read = ReadFor(cluster, 1, "r1");
  REQUIRE(read.has_value());
  CHECK(read->index >= commit);
  CHECK(read->index <= cluster.raw(1).GetStatus().last_index);
  CHECK(cluster.CountSent(MessageType::kHeartbeat, 1, 2) == 1);
  CHECK(cluster.CountSent(MessageType::kHeartbeat, 1, 3) == 1);
  CHECK(cluster.node(1).applied_index() >= read->index);
}

TEST_CASE("ReadIndex waits for a quorum to confirm the leadership") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Tick(1);
  cluster.Isolate(2);
  cluster.Isolate(3);
  REQUIRE(cluster.raw(1).ReadIndex("r").ok());
  cluster.Stabilize();
  CHECK_FALSE(ReadFor(cluster, 1, "r").has_value());
  cluster.Heal();
  cluster.Tick(1);
  CHECK(ReadFor(cluster, 1, "r").has_value());
}

TEST_CASE("Several ReadIndex calls before the quorum answers share one heartbeat round") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  const Index commit = CommitOf(cluster.raw(1));
  cluster.ClearHistory();
  REQUIRE(cluster.raw(1).ReadIndex("r1").ok());
  REQUIRE(cluster.raw(1).ReadIndex("r2").ok());
  REQUIRE(cluster.raw(1).ReadIndex("r3").ok());
  cluster.Stabilize();
  for (const char* context : {"r1", "r2", "r3"}) {
    INFO(context);
    const std::optional<ReadState> read = ReadFor(cluster, 1, context);
    REQUIRE(read.has_value());
    CHECK(read->index >= commit);
  }
  CHECK(cluster.CountSent(MessageType::kHeartbeat, 1, 2) == 1);
  CHECK(cluster.CountSent(MessageType::kHeartbeat, 1, 3) == 1);
}

TEST_CASE("Reads that arrive while a round is in flight wait for a later round") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  cluster.set_hook([](const Message& m) {
    return m.type == MessageType::kHeartbeat ? Verdict::kHold : Verdict::kDeliver;
  });
  REQUIRE(cluster.raw(1).ReadIndex("first").ok());
  cluster.Stabilize();  // the first round's heartbeats are on the wire, held
  REQUIRE_FALSE(cluster.held().empty());
  const ProposalId later = cluster.Propose(1, "b");
  REQUIRE(cluster.node(1).state() == std::vector<std::string>{"a", "b"});
  REQUIRE(cluster.raw(1).ReadIndex("second").ok());
  cluster.Stabilize();
  cluster.set_hook(nullptr);
  cluster.ReleaseHeld();
  cluster.Stabilize();
  const std::optional<ReadState> first = ReadFor(cluster, 1, "first");
  const std::optional<ReadState> second = ReadFor(cluster, 1, "second");
  REQUIRE(first.has_value());
  CHECK(first->index < later.index);
  // "b" committed before "second" was asked: the first round's answer is too old for it.
  REQUIRE(second.has_value());
  CHECK(second->index >= later.index);
}

TEST_CASE("A new leader serves no read until it has committed an entry of its term (§8)") {
  // Lease reads too: until then the leader does not know the commit index to answer.
  const ReadPolicy policy = GENERATE(ReadPolicy::kQuorum, ReadPolicy::kLeaderLease);
  INFO("policy " << static_cast<int>(policy));
  TestCluster cluster({1, 2, 3});
  cluster.set_hook([](const Message& m) {
    return m.type == MessageType::kAppend ? Verdict::kDrop : Verdict::kDeliver;
  });
  cluster.Elect(1);
  const Index no_op_index = cluster.raw(1).GetStatus().last_index;
  REQUIRE(CommitOf(cluster.raw(1)) < no_op_index);
  const Status status = cluster.raw(1).ReadIndex("early", policy);
  cluster.Stabilize();
  CHECK_FALSE(ReadFor(cluster, 1, "early").has_value());

  cluster.Heal();
  for (int tick = 0; tick < kElectionTicks - 1 && CommitOf(cluster.raw(1)) < no_op_index; ++tick) {
    cluster.Tick(1);
  }
  REQUIRE(CommitOf(cluster.raw(1)) == no_op_index);
  cluster.Tick(1);
  if (status.ok()) {
    // Deferred, not refused: answered once the no-op committed, never below it.
    const std::optional<ReadState> read = ReadFor(cluster, 1, "early");
    REQUIRE(read.has_value());
    CHECK(read->index >= no_op_index);
  }
  for (const ReadState& read : cluster.node(1).read_states()) CHECK(read.index >= no_op_index);
}

TEST_CASE("A follower's ReadIndex is forwarded to the leader and answered to the follower") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  const Index commit = CommitOf(cluster.raw(1));
  cluster.ClearHistory();
  REQUIRE(cluster.raw(2).ReadIndex("from 2").ok());
  cluster.Stabilize();
  CHECK(cluster.CountSent(MessageType::kReadIndex, 2, 1) == 1);
  CHECK(cluster.CountSent(MessageType::kReadIndexResponse, 1, 2) == 1);
  const std::optional<ReadState> read = ReadFor(cluster, 2, "from 2");
  REQUIRE(read.has_value());
  CHECK(read->index >= commit);
  CHECK_FALSE(ReadFor(cluster, 1, "from 2").has_value());
  cluster.Tick(1);
  CHECK(cluster.node(2).applied_index() >= read->index);
}

TEST_CASE("A leader that steps down refuses the reads it forwarded for followers") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  cluster.set_hook([](const Message& m) {
    return m.type == MessageType::kHeartbeat ? Verdict::kDrop : Verdict::kDeliver;
  });
  REQUIRE(cluster.raw(2).ReadIndex("from 2").ok());
  cluster.Stabilize();  // the read reached 1; its round of heartbeats was lost
  cluster.ClearHistory();
  // 1 learns of a later term and steps down with the read still pending.
  (void)cluster.Deliver(testing::AppendResponse(3, 1, cluster.raw(1).term() + 1, 0));
  cluster.Stabilize();
  REQUIRE(cluster.raw(1).role() == Role::kFollower);
  bool refused = false;
  for (const testing::SentMessage& sent : cluster.sent()) {
    if (sent.message.type == MessageType::kReadIndexResponse && sent.message.to == 2) {
      CHECK(sent.message.reject);
      refused = true;
    }
  }
  CHECK(refused);
  CHECK_FALSE(ReadFor(cluster, 2, "from 2").has_value());
}

TEST_CASE("A follower that knows no leader answers ReadIndex with NotLeader") {
  TestCluster cluster({1, 2, 3});
  const Status status = cluster.raw(2).ReadIndex("nobody leads");
  CHECK(status.code() == StatusCode::kNotLeader);
}

TEST_CASE("A deposed leader does not serve reads") {
  TestCluster cluster({1, 2, 3}, PaperRaft());
  cluster.Elect(1);
  cluster.Propose(1, "a");
  cluster.Isolate(1);
  cluster.Elect(2);  // the majority moves on without telling 1
  cluster.Propose(2, "b");
  REQUIRE(cluster.raw(1).role() == Role::kLeader);  // 1 does not know yet

  (void)cluster.raw(1).ReadIndex("stale");
  cluster.Stabilize();
  cluster.Tick(1, kElectionTicks);
  cluster.Heal();
  cluster.TickAll(2 * kElectionTicks);
  // Had 1 answered, the read would have missed "b", which committed before it was asked.
  CHECK_FALSE(ReadFor(cluster, 1, "stale").has_value());
}

TEST_CASE("A lease read on the leader is answered at once with its commit index") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  cluster.ClearHistory();
  REQUIRE(cluster.raw(1).ReadIndex("lease", ReadPolicy::kLeaderLease).ok());
  cluster.Stabilize();
  const std::optional<ReadState> read = ReadFor(cluster, 1, "lease");
  REQUIRE(read.has_value());
  CHECK(read->index == CommitOf(cluster.raw(1)));
  CHECK(cluster.sent().empty());  // no heartbeat round
}

TEST_CASE("A follower's lease read costs one trip to the leader, not a heartbeat round") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  const Index commit = CommitOf(cluster.raw(1));
  cluster.ClearHistory();
  REQUIRE(cluster.raw(2).ReadIndex("from 2", ReadPolicy::kLeaderLease).ok());
  cluster.Stabilize();
  CHECK(cluster.CountSent(MessageType::kReadIndexLease, 2, 1) == 1);
  CHECK(cluster.CountSent(MessageType::kReadIndex, 2, 1) == 0);
  CHECK(cluster.CountSent(MessageType::kReadIndexResponse, 1, 2) == 1);
  CHECK(cluster.CountSent(MessageType::kHeartbeat, 1, 2) == 0);
  CHECK(cluster.CountSent(MessageType::kHeartbeat, 1, 3) == 0);
  const std::optional<ReadState> read = ReadFor(cluster, 2, "from 2");
  REQUIRE(read.has_value());
  CHECK(read->index == commit);
  CHECK_FALSE(ReadFor(cluster, 1, "from 2").has_value());
}

TEST_CASE("A single-voter leader serves reads without messages") {
  TestCluster cluster({1});
  cluster.Elect(1);
  cluster.Propose(1, "a");
  cluster.ClearHistory();
  REQUIRE(cluster.raw(1).ReadIndex("alone").ok());
  cluster.Stabilize();
  const std::optional<ReadState> read = ReadFor(cluster, 1, "alone");
  REQUIRE(read.has_value());
  CHECK(read->index == CommitOf(cluster.raw(1)));
  CHECK(cluster.sent().empty());
}

}  // namespace
}  // namespace roster::consensus
