// §5.4.2, Figure 8 of the Raft paper, built step by step: five servers S1..S5, terms 2, 3
// and 4. An entry of term 2 stored on a majority is still not committed by the leader of
// term 4; it may be overwritten by S5 unless an entry of term 4 is replicated first.
//
// Appends carry one entry each (max_message_bytes = 1) so the network can stop exactly
// the entries the figure says never arrived. The network drops only messages; it never
// rewrites one.
#include "tests/unit/consensus/test_cluster.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <algorithm>
#include <string>
#include <vector>

namespace roster::consensus {
namespace {

using testing::PaperRaft;
using testing::TestCluster;
using testing::Verdict;

constexpr int kElectionTicks = 10;

Index CommitOf(RawNode& raw) { return raw.GetStatus().hard_state.commit; }

bool Applied(TestCluster& cluster, NodeId id, const std::string& data) {
  const std::vector<std::string>& state = cluster.node(id).state();
  return std::find(state.begin(), state.end(), data) != state.end();
}

// Campaigns until `id` leads (an election may first fail on votes already cast in that
// term); REQUIREs it to win within three attempts.
void CampaignUntilLeader(TestCluster& cluster, NodeId id) {
  for (int attempt = 0; attempt < 3 && cluster.raw(id).role() != Role::kLeader; ++attempt) {
    REQUIRE(cluster.raw(id).Campaign().ok());
    cluster.Stabilize();
  }
  REQUIRE(cluster.raw(id).role() == Role::kLeader);
}

bool CarriesIndexAtLeast(const Message& message, Index index) {
  for (const Entry& entry : message.entries) {
    if (entry.index >= index) return true;
  }
  return false;
}

TEST_CASE(
    "§5.4.2 Figure 8: a leader does not commit an entry from a previous term by counting "
    "replicas") {
  testing::NodeOptions options = PaperRaft();
  options.configure = [](Config& config) { config.max_message_bytes = 1; };
  TestCluster cluster({1, 2, 3, 4, 5}, options);
  for (NodeId id : cluster.ids()) cluster.node(id).ReplaceLog({}, /*term=*/1);
  // Indexes below count from the bootstrap entries: "index 2" of the figure is base + 2.
  const Index base = cluster.node(1).bootstrap_index();

  // (a) S1 leads term 2. Its no-op (index 1) commits everywhere; the entry at index 2
  // reaches only S2.
  cluster.Elect(1);
  REQUIRE(cluster.raw(1).term() == 2);
  REQUIRE(CommitOf(cluster.raw(1)) == base + 1);
  cluster.set_hook([](const Message& m) {
    const bool lost = m.type == MessageType::kAppend && m.from == 1 && m.to != 2;
    return lost ? Verdict::kDrop : Verdict::kDeliver;
  });
  const ProposalId x = cluster.Propose(1, "x");
  REQUIRE(x.index == base + 2);
  REQUIRE(x.term == 2);
  REQUIRE(cluster.node(2).LogTermAt(base + 2) == 2);
  REQUIRE(CommitOf(cluster.raw(1)) == base + 1);

  // (b) S1 crashes. S5 is elected in term 3 by S3, S4 and itself, and accepts a different
  // entry at index 2 (its no-op), which reaches nobody.
  cluster.Crash(1);
  cluster.set_hook([](const Message& m) {
    const bool lost = m.type == MessageType::kAppend && m.from == 5;
    return lost ? Verdict::kDrop : Verdict::kDeliver;
  });
  cluster.Elect(5);
  REQUIRE(cluster.raw(5).term() == 3);
  REQUIRE(cluster.node(5).LogTermAt(base + 2) == 3);

  // (c) S5 crashes; S1 restarts and is elected in term 4 by S1, S2, S3 (and S4). It
  // replicates index 2 (term 2) to S3, so that entry is on S1, S2, S3: a majority. Its own
  // term 4 entry at index 3 does not get out, and S4 hears no appends at all.
  cluster.Crash(5);
  cluster.Restart(1);
  cluster.set_hook([&cluster, base](const Message& m) {
    if (m.type != MessageType::kAppend || m.from != 1) return Verdict::kDeliver;
    if (m.to == 4) return Verdict::kDrop;
    // Lost exactly when the receiver would accept it and store index 3.
    const bool would_match = cluster.node(m.to).LogTermAt(m.index) == m.log_term;
    return would_match && CarriesIndexAtLeast(m, base + 3) ? Verdict::kDrop : Verdict::kDeliver;
  });
  CampaignUntilLeader(cluster, 1);
  REQUIRE(cluster.raw(1).term() == 4);
  REQUIRE(cluster.node(1).LogTermAt(base + 3) == 4);
  for (NodeId id : {1, 2, 3}) {
    INFO("S" << id << " stores the term 2 entry at index 2");
    REQUIRE(cluster.node(id).LogTermAt(base + 2) == 2);
  }
  REQUIRE(cluster.node(4).LogTermAt(base + 2) == 0);
  // Stored on a majority, yet not committed: its term is not the leader's.
  CHECK(CommitOf(cluster.raw(1)) == base + 1);
  for (NodeId id : {1, 2, 3, 4}) CHECK_FALSE(Applied(cluster, id, "x"));

  SECTION(
      "(d) if S1 crashes now, S5 can be elected and overwrite index 2 with its term 3 "
      "entry") {
    cluster.Crash(1);
    cluster.Heal();
    cluster.Restart(5);
    CampaignUntilLeader(cluster, 5);  // votes from S2, S3, S4
    CHECK(cluster.raw(5).term() == 5);
    cluster.Tick(5);  // a heartbeat carries the commit index to every follower
    for (NodeId id : {2, 3, 4, 5}) {
      INFO("S" << id);
      CHECK(cluster.node(id).LogTermAt(base + 2) == 3);
      CHECK(cluster.node(id).applied_index() >= base + 3);
      CHECK_FALSE(Applied(cluster, id, "x"));
    }
  }

  SECTION(
      "(e) if S1 first replicates an entry of term 4 to a majority, both are committed "
      "and S5 cannot be elected") {
    cluster.set_hook([](const Message& m) {
      const bool lost = m.type == MessageType::kAppend && m.from == 1 && m.to == 4;
      return lost ? Verdict::kDrop : Verdict::kDeliver;
    });
    for (int tick = 0; tick < 3 * kElectionTicks && CommitOf(cluster.raw(1)) < base + 3; ++tick) {
      cluster.Tick(1);  // only the leader's clock runs
    }
    REQUIRE(cluster.node(2).LogTermAt(base + 3) == 4);
    REQUIRE(cluster.node(3).LogTermAt(base + 3) == 4);
    CHECK(CommitOf(cluster.raw(1)) == base + 3);
    CHECK(Applied(cluster, 1, "x"));

    cluster.Crash(1);
    cluster.Heal();
    cluster.Restart(5);
    for (int attempt = 0; attempt < 3; ++attempt) {
      REQUIRE(cluster.raw(5).Campaign().ok());
      cluster.Stabilize();
      CHECK(cluster.raw(5).role() != Role::kLeader);  // S2 and S3 refuse: their logs are newer
    }
    for (NodeId id : {2, 3}) {
      INFO("S" << id);
      CHECK(cluster.node(id).LogTermAt(base + 2) == 2);
    }
  }
}

}  // namespace
}  // namespace roster::consensus
