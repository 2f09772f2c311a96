// How entries flow from the leader: pipelined appends bounded by the in-flight window,
// messages bounded in bytes, recovery from lost appends, and fast conflict back-off.
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
using testing::PaperRaft;
using testing::TestCluster;
using testing::Verdict;

constexpr int kElectionTicks = 10;

std::size_t HeldAppendsWithEntries(const TestCluster& cluster, NodeId to) {
  std::size_t count = 0;
  for (const Message& message : cluster.held()) {
    if (message.type == MessageType::kAppend && message.to == to && !message.entries.empty()) {
      ++count;
    }
  }
  return count;
}

std::size_t RejectionsSent(const TestCluster& cluster, NodeId from) {
  std::size_t count = 0;
  for (const testing::SentMessage& sent : cluster.sent()) {
    if (sent.message.type == MessageType::kAppendResponse && sent.message.from == from &&
        sent.message.reject) {
      ++count;
    }
  }
  return count;
}

Verdict HoldAppendsWithEntries(const Message& m) {
  return m.type == MessageType::kAppend && !m.entries.empty() ? Verdict::kHold : Verdict::kDeliver;
}

TEST_CASE("Pipelining: a replicating leader sends appends without waiting, up to the window") {
  NodeOptions options;
  options.configure = [](Config& config) { config.max_inflight_messages = 3; };
  TestCluster cluster({1, 2, 3}, options);
  cluster.Elect(1);
  cluster.Tick(1);
  REQUIRE(cluster.raw(1).GetStatus().peers.at(2).state == ProgressState::kReplicate);

  cluster.set_hook(HoldAppendsWithEntries);
  for (int i = 1; i <= 5; ++i) {
    REQUIRE(cluster.raw(1).Propose("p" + std::to_string(i)).ok());
    cluster.Stabilize();
  }
  // Three appends are in flight to each follower; the window is full, so 4 and 5 wait.
  CHECK(HeldAppendsWithEntries(cluster, 2) == 3);
  CHECK(HeldAppendsWithEntries(cluster, 3) == 3);

  cluster.ClearHistory();
  cluster.set_hook(nullptr);
  cluster.ReleaseHeld();
  cluster.Stabilize();
  cluster.Tick(1);
  const std::vector<std::string> all = {"p1", "p2", "p3", "p4", "p5"};
  for (NodeId id : {1, 2, 3}) {
    INFO("node " << id);
    CHECK(cluster.node(id).state() == all);
  }
  CHECK(RejectionsSent(cluster, 2) == 0);
  CHECK(RejectionsSent(cluster, 3) == 0);
}

TEST_CASE("Pipelining: a window full by bytes pauses sending") {
  NodeOptions options;
  options.configure = [](Config& config) { config.max_inflight_bytes = 2500; };
  TestCluster cluster({1, 2, 3}, options);
  cluster.Elect(1);
  cluster.Tick(1);
  cluster.set_hook(HoldAppendsWithEntries);
  for (int i = 0; i < 6; ++i) {
    REQUIRE(cluster.raw(1).Propose(std::string(1000, 'a' + i)).ok());
    cluster.Stabilize();
  }
  CHECK(HeldAppendsWithEntries(cluster, 2) == 3);  // the third one crosses 2500 bytes
  cluster.set_hook(nullptr);
  cluster.ReleaseHeld();
  cluster.Stabilize();
  cluster.Tick(1);
  CHECK(cluster.node(2).state().size() == 6);
}

TEST_CASE("§5.5 the leader retries appends that were lost in the pipeline") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Tick(1);
  REQUIRE(cluster.raw(1).GetStatus().peers.at(3).state == ProgressState::kReplicate);
  // Everything the leader sends 3 while "x" commits is lost without a trace (no
  // ReportUnreachable): only the leader's own retries can bring 3 up to date.
  cluster.set_hook([](const Message& m) {
    const bool lost = m.type == MessageType::kAppend && m.to == 3;
    return lost ? Verdict::kDrop : Verdict::kDeliver;
  });
  cluster.Propose(1, "x");
  REQUIRE(cluster.node(1).state() == std::vector<std::string>{"x"});  // 1 and 2 commit it
  cluster.set_hook(nullptr);
  for (int tick = 0; tick < kElectionTicks - 1 && cluster.node(3).state().empty(); ++tick) {
    cluster.Tick(1);
  }
  CHECK(cluster.node(3).state() == std::vector<std::string>{"x"});
}

TEST_CASE("§5.5 the leader recovers when every append in a full window was lost") {
  NodeOptions options;
  options.configure = [](Config& config) { config.max_inflight_messages = 3; };
  TestCluster cluster({1, 2, 3}, options);
  cluster.Elect(1);
  cluster.Tick(1);
  cluster.set_hook([](const Message& m) {
    const bool lost = m.type == MessageType::kAppend && m.to == 3;
    return lost ? Verdict::kDrop : Verdict::kDeliver;
  });
  for (int i = 1; i <= 5; ++i) cluster.Propose(1, "p" + std::to_string(i));
  REQUIRE(cluster.node(1).state().size() == 5);
  cluster.set_hook(nullptr);
  for (int tick = 0; tick < kElectionTicks - 1 && cluster.node(3).state().size() < 5; ++tick) {
    cluster.Tick(1);
  }
  CHECK(cluster.node(3).state().size() == 5);
}

TEST_CASE("ReportUnreachable makes the leader find the follower's position again") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Tick(1);
  cluster.set_hook([](const Message& m) {
    const bool lost = m.type == MessageType::kAppend && m.to == 3;
    return lost ? Verdict::kDrop : Verdict::kDeliver;
  });
  cluster.Propose(1, "x");
  cluster.raw(1).ReportUnreachable(3);
  CHECK(cluster.raw(1).GetStatus().peers.at(3).state == ProgressState::kProbe);
  cluster.set_hook(nullptr);
  for (int tick = 0; tick < kElectionTicks - 1 && cluster.node(3).state().empty(); ++tick) {
    cluster.Tick(1);
  }
  CHECK(cluster.node(3).state() == std::vector<std::string>{"x"});
}

TEST_CASE("Proposals made between two Readies travel in one append per follower") {
  TestCluster cluster({1, 2, 3});
  cluster.Elect(1);
  cluster.Tick(1);
  REQUIRE(cluster.raw(1).Propose("a").ok());
  REQUIRE(cluster.raw(1).Propose("b").ok());
  REQUIRE(cluster.raw(1).Propose("c").ok());
  Ready ready = cluster.node(1).HandleReady();
  CHECK(ready.entries.size() == 3);
  for (NodeId follower : {2, 3}) {
    INFO("follower " << follower);
    std::size_t appends = 0;
    for (const Message& message : testing::OfType(ready.messages, MessageType::kAppend)) {
      if (message.to != follower) continue;
      ++appends;
      CHECK(message.entries.size() == 3);
    }
    CHECK(appends == 1);
  }
}

TEST_CASE("Committed entries are handed out in Readies of bounded size, in order") {
  const std::uint64_t limit_bytes = 300;  // two entries of 124 bytes
  testing::NodeOptions options;
  options.configure = [limit_bytes](Config& config) {
    config.max_committed_bytes_per_ready = limit_bytes;
  };
  testing::TestNode node(1, ConfState{.voters = {1}, .learners = {}}, options);
  REQUIRE(node.raw().Campaign().ok());
  node.Drain();
  REQUIRE(node.raw().role() == Role::kLeader);
  for (int i = 0; i < 10; ++i) REQUIRE(node.raw().Propose(std::string(100, 'a' + i)).ok());
  int readies_with_entries = 0;
  while (node.raw().HasReady()) {
    Ready ready = node.HandleReady();
    std::uint64_t bytes = 0;
    for (const Entry& entry : ready.committed_entries) bytes += entry.ByteSize();
    if (ready.committed_entries.size() > 1) CHECK(bytes <= limit_bytes);
    if (!ready.committed_entries.empty()) ++readies_with_entries;
  }
  CHECK(node.state().size() == 10);  // the harness checked they came in order, once each
  CHECK(readies_with_entries >= 5);
}

TEST_CASE("An append carries at most max_message_bytes of entries (or a single entry)") {
  NodeOptions options;
  options.configure = [](Config& config) { config.max_message_bytes = 300; };
  TestCluster cluster({1, 2, 3}, options);
  cluster.Elect(1);
  cluster.Isolate(3);
  for (int i = 0; i < 10; ++i) cluster.Propose(1, std::string(100, 'a' + i));
  cluster.Heal();
  cluster.ClearHistory();
  for (int tick = 0; tick < kElectionTicks - 1 && cluster.node(3).state().size() < 10; ++tick) {
    cluster.Tick(1);
  }
  CHECK(cluster.node(3).state().size() == 10);
  std::size_t appends = 0;
  for (const testing::SentMessage& sent : cluster.sent()) {
    if (sent.message.type != MessageType::kAppend || sent.message.to != 3) continue;
    std::uint64_t bytes = 0;
    for (const Entry& entry : sent.message.entries) bytes += entry.ByteSize();
    if (sent.message.entries.size() > 1) CHECK(bytes <= 300);
    if (!sent.message.entries.empty()) ++appends;
  }
  CHECK(appends >= 5);  // 10 entries of 124 bytes, at most 2 per append
}

// A follower whose log diverged over two old terms, far beyond the common prefix.
TEST_CASE(
    "Fast back-off: a follower far behind with conflicting terms converges in a few "
    "round trips") {
  std::vector<Term> leader_log = {1, 1, 1};
  leader_log.insert(leader_log.end(), 100, 4);
  std::vector<Term> follower_log = {1, 1, 1};
  follower_log.insert(follower_log.end(), 50, 2);
  follower_log.insert(follower_log.end(), 100, 3);

  TestCluster cluster({1, 2, 3}, PaperRaft());
  cluster.node(1).ReplaceLog(leader_log, 4);
  cluster.node(2).ReplaceLog(follower_log, 3);
  cluster.node(3).ReplaceLog(leader_log, 4);
  cluster.Elect(1);
  REQUIRE(cluster.raw(1).term() == 5);
  cluster.Tick(1);

  CHECK(cluster.node(2).LogEntries() == cluster.node(1).LogEntries());
  // Naive decrement would take ~150 rejections; skipping by term takes one or two.
  CHECK(RejectionsSent(cluster, 2) <= 3);
  CHECK(cluster.CountSent(MessageType::kAppend, 1, 2) <= 6);
}

TEST_CASE("Fast back-off: a follower that is merely short is found in one round trip") {
  std::vector<Term> leader_log(100, 1);
  TestCluster cluster({1, 2, 3}, PaperRaft());
  cluster.node(1).ReplaceLog(leader_log, 1);
  cluster.node(2).ReplaceLog({1, 1, 1}, 1);
  cluster.node(3).ReplaceLog(leader_log, 1);
  cluster.Elect(1);
  cluster.Tick(1);
  CHECK(cluster.node(2).LogEntries() == cluster.node(1).LogEntries());
  CHECK(RejectionsSent(cluster, 2) <= 1);
}

}  // namespace
}  // namespace roster::consensus
