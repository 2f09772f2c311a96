// InstallSnapshot (§7) in chunks: a follower that needs entries the leader compacted
// away receives the snapshot piece by piece, restores it, then continues with appends.
// Lost and duplicated chunks must not stop it or corrupt the result.
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
using testing::TestCluster;
using testing::Verdict;

constexpr int kElectionTicks = 10;
constexpr std::uint64_t kChunkBytes = 64;

NodeOptions SmallChunks() {
  NodeOptions options;
  options.configure = [](Config& config) { config.snapshot_chunk_bytes = kChunkBytes; };
  return options;
}

// Ten entries of 50 bytes: a state machine snapshot of about 530 bytes, nine chunks.
std::vector<std::string> ProposeTen(TestCluster& cluster, NodeId leader) {
  std::vector<std::string> proposed;
  for (int i = 0; i < 10; ++i) {
    std::string data = "entry " + std::to_string(i) + " ";
    data.resize(50, '.');
    cluster.Propose(leader, data);
    proposed.push_back(data);
  }
  return proposed;
}

// Ticks only the leader (so nobody else times out) until `follower` has the leader's
// state, for at most `ticks_max` ticks.
void TickUntilCaughtUp(TestCluster& cluster, NodeId leader, NodeId follower, int ticks_max) {
  for (int tick = 0; tick < ticks_max; ++tick) {
    if (cluster.node(follower).state() == cluster.node(leader).state()) return;
    cluster.Tick(leader);
  }
}

// Sets up: leader 1 compacted its whole log while follower 3 was away.
void FallBehindCompaction(TestCluster& cluster) {
  cluster.Elect(1);
  cluster.Isolate(3);
  ProposeTen(cluster, 1);
  cluster.node(1).CompactLog();
  REQUIRE(cluster.node(1).storage().FirstIndex() > cluster.node(3).storage().LastIndex() + 1);
  cluster.Heal();
  cluster.ClearHistory();
}

// Snapshot chunks the leader sent to `to`, in order.
std::vector<Message> ChunksSent(const TestCluster& cluster, NodeId to) {
  std::vector<Message> chunks;
  for (const testing::SentMessage& sent : cluster.sent()) {
    if (sent.message.type == MessageType::kSnapshot && sent.message.to == to) {
      chunks.push_back(sent.message);
    }
  }
  return chunks;
}

void CheckCaughtUpBySnapshot(TestCluster& cluster, NodeId follower) {
  CHECK(cluster.node(follower).state() == cluster.node(1).state());
  CHECK(cluster.node(follower).storage().GetSnapshotMetadata() ==
        cluster.node(1).storage().GetSnapshotMetadata());
  CHECK(cluster.node(follower).storage().snapshot().data ==
        cluster.node(1).storage().snapshot().data);
}

TEST_CASE("A follower behind a compacted log catches up through a snapshot sent in chunks") {
  TestCluster cluster({1, 2, 3}, SmallChunks());
  FallBehindCompaction(cluster);
  TickUntilCaughtUp(cluster, 1, 3, 3 * kElectionTicks);
  CheckCaughtUpBySnapshot(cluster, 3);

  const std::vector<Message> chunks = ChunksSent(cluster, 3);
  const std::uint64_t snapshot_bytes = cluster.node(1).storage().snapshot().data.size();
  REQUIRE(snapshot_bytes > 3 * kChunkBytes);
  CHECK(chunks.size() >= (snapshot_bytes + kChunkBytes - 1) / kChunkBytes);
  std::uint64_t expected_offset = 0;
  for (const Message& chunk : chunks) {
    CHECK(chunk.snapshot.data.size() <= kChunkBytes);
    CHECK(chunk.snapshot.metadata == cluster.node(1).storage().GetSnapshotMetadata());
    if (chunk.snapshot_offset == expected_offset) expected_offset += chunk.snapshot.data.size();
  }
  CHECK(expected_offset == snapshot_bytes);
  REQUIRE_FALSE(chunks.empty());
  CHECK(chunks.back().snapshot_done);

  // Then it continues with ordinary appends.
  cluster.ClearHistory();
  cluster.Propose(1, "after the snapshot");
  cluster.Tick(1);
  CHECK(cluster.node(3).state().back() == "after the snapshot");
  CHECK(cluster.CountSent(MessageType::kSnapshot, 1, 3) == 0);
  CHECK(cluster.CountSent(MessageType::kAppend, 1, 3) >= 1);
}

TEST_CASE("Duplicated snapshot chunks are harmless") {
  TestCluster cluster({1, 2, 3}, SmallChunks());
  FallBehindCompaction(cluster);
  cluster.set_hook([](const Message& m) {
    return m.type == MessageType::kSnapshot ? Verdict::kDuplicate : Verdict::kDeliver;
  });
  TickUntilCaughtUp(cluster, 1, 3, 3 * kElectionTicks);
  CheckCaughtUpBySnapshot(cluster, 3);
  // Duplicates must not snowball into ever more chunks.
  const std::uint64_t snapshot_bytes = cluster.node(1).storage().snapshot().data.size();
  const std::uint64_t chunks_needed = (snapshot_bytes + kChunkBytes - 1) / kChunkBytes;
  INFO(chunks_needed << " chunks needed");
  CHECK(ChunksSent(cluster, 3).size() <= 4 * chunks_needed);
}

TEST_CASE("Heartbeats during a slow snapshot transfer do not multiply the chunks sent") {
  TestCluster cluster({1, 2, 3}, SmallChunks());
  FallBehindCompaction(cluster);
  // The first chunk is slow to arrive; meanwhile the leader keeps sending heartbeats.
  cluster.set_hook([](const Message& m) {
    return m.type == MessageType::kSnapshot ? Verdict::kHold : Verdict::kDeliver;
  });
  constexpr int kHeartbeats = 4;
  for (int tick = 0; tick < kHeartbeats; ++tick) cluster.Tick(1);
  REQUIRE_FALSE(cluster.held().empty());
  cluster.set_hook(nullptr);
  cluster.ReleaseHeld();
  cluster.Stabilize();
  CheckCaughtUpBySnapshot(cluster, 3);
  const std::uint64_t snapshot_bytes = cluster.node(1).storage().snapshot().data.size();
  const std::uint64_t chunks_needed = (snapshot_bytes + kChunkBytes - 1) / kChunkBytes;
  INFO(chunks_needed << " chunks needed");
  // Each heartbeat may resend the chunk it thinks is lost, but the transfer must then go
  // on as one stream, not one stream per resend.
  CHECK(ChunksSent(cluster, 3).size() <= chunks_needed + 2 * kHeartbeats);
}

TEST_CASE("A lost snapshot chunk is sent again") {
  TestCluster cluster({1, 2, 3}, SmallChunks());
  FallBehindCompaction(cluster);
  int chunks_seen = 0;
  cluster.set_hook([&chunks_seen](const Message& m) {
    if (m.type != MessageType::kSnapshot) return Verdict::kDeliver;
    ++chunks_seen;
    return chunks_seen == 2 ? Verdict::kDrop : Verdict::kDeliver;
  });
  TickUntilCaughtUp(cluster, 1, 3, 5 * kElectionTicks);
  CHECK(chunks_seen > 2);
  CheckCaughtUpBySnapshot(cluster, 3);
}

TEST_CASE("A lost last snapshot chunk is sent again") {
  TestCluster cluster({1, 2, 3}, SmallChunks());
  FallBehindCompaction(cluster);
  bool dropped = false;
  cluster.set_hook([&dropped](const Message& m) {
    if (m.type != MessageType::kSnapshot || !m.snapshot_done || dropped) {
      return Verdict::kDeliver;
    }
    dropped = true;
    return Verdict::kDrop;
  });
  TickUntilCaughtUp(cluster, 1, 3, 5 * kElectionTicks);
  CHECK(dropped);
  CheckCaughtUpBySnapshot(cluster, 3);
}

TEST_CASE("A lost snapshot acknowledgement does not stall the transfer") {
  TestCluster cluster({1, 2, 3}, SmallChunks());
  FallBehindCompaction(cluster);
  int responses_seen = 0;
  cluster.set_hook([&responses_seen](const Message& m) {
    if (m.type != MessageType::kSnapshotResponse) return Verdict::kDeliver;
    ++responses_seen;
    return responses_seen == 3 ? Verdict::kDrop : Verdict::kDeliver;
  });
  TickUntilCaughtUp(cluster, 1, 3, 5 * kElectionTicks);
  CheckCaughtUpBySnapshot(cluster, 3);
}

TEST_CASE("A newer snapshot taken during a transfer replaces the one being sent") {
  TestCluster cluster({1, 2, 3}, SmallChunks());
  FallBehindCompaction(cluster);
  const Index first_snapshot = cluster.node(1).storage().GetSnapshotMetadata().index;
  cluster.set_hook([](const Message& m) {
    return m.type == MessageType::kSnapshot ? Verdict::kHold : Verdict::kDeliver;
  });
  for (int tick = 0; tick < kElectionTicks - 1 && cluster.held().empty(); ++tick) {
    cluster.Tick(1);
  }
  REQUIRE_FALSE(cluster.held().empty());  // the first chunk of the first snapshot
  cluster.Propose(1, "after the first snapshot");
  cluster.node(1).CompactLog();
  REQUIRE(cluster.node(1).storage().GetSnapshotMetadata().index > first_snapshot);

  cluster.set_hook(nullptr);
  cluster.ReleaseHeld();
  cluster.Stabilize();
  TickUntilCaughtUp(cluster, 1, 3, 3 * kElectionTicks);
  CheckCaughtUpBySnapshot(cluster, 3);
  CHECK(cluster.node(3).state().back() == "after the first snapshot");
}

TEST_CASE(
    "A node added after compaction starts from the snapshot, then learns its own "
    "addition") {
  TestCluster cluster({1, 2, 3}, SmallChunks());
  cluster.Elect(1);
  ProposeTen(cluster, 1);
  cluster.node(1).CompactLog();
  cluster.AddNode(4);
  Result<ProposalId> change = cluster.raw(1).ProposeConfChange(
      ConfChange{.type = ConfChangeType::kAddLearner, .node_id = 4, .context = ""});
  REQUIRE(change.ok());
  cluster.Stabilize();
  cluster.Propose(1, "after the change");  // traffic, so 4 is contacted at once
  TickUntilCaughtUp(cluster, 1, 4, 3 * kElectionTicks);
  CHECK(cluster.node(4).state() == cluster.node(1).state());
  CHECK(cluster.node(4).storage().GetSnapshotMetadata().index ==
        cluster.node(1).storage().GetSnapshotMetadata().index);
  CHECK(cluster.CountSent(MessageType::kSnapshot, 1, 4) >= 1);
  CHECK(cluster.raw(4).conf_state() == ConfState{.voters = {1, 2, 3}, .learners = {4}});
}

TEST_CASE("A leader that keeps entries behind its snapshot replicates them instead") {
  TestCluster cluster({1, 2, 3}, SmallChunks());
  cluster.Elect(1);
  cluster.Isolate(3);
  ProposeTen(cluster, 1);
  cluster.node(1).CompactLog(/*entries_to_keep=*/100);
  cluster.Heal();
  cluster.ClearHistory();
  TickUntilCaughtUp(cluster, 1, 3, 3 * kElectionTicks);
  CHECK(cluster.node(3).state() == cluster.node(1).state());
  CHECK(cluster.CountSent(MessageType::kSnapshot, 1, 3) == 0);
}

TEST_CASE("A restored follower's snapshot and log survive its restart") {
  TestCluster cluster({1, 2, 3}, SmallChunks());
  FallBehindCompaction(cluster);
  TickUntilCaughtUp(cluster, 1, 3, 3 * kElectionTicks);
  cluster.Propose(1, "after");
  cluster.Tick(1);
  const std::vector<std::string> state = cluster.node(3).state();
  REQUIRE(state.back() == "after");
  cluster.Crash(3);
  cluster.Restart(3);
  cluster.HandleReady(3);
  CHECK(cluster.node(3).state() == state);
}

}  // namespace
}  // namespace roster::consensus
