// Log replication as the Raft paper states it (§5.3, §5.5, §8): each test is named after
// the rule it checks. Plain Raft (no PreVote, no CheckQuorum).
#include "tests/unit/consensus/test_cluster.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <string>
#include <vector>

namespace roster::consensus {
namespace {

using testing::AppendRequest;
using testing::EntriesWithTerms;
using testing::Heartbeat;
using testing::OfType;
using testing::PaperRaft;
using testing::TermsOf;
using testing::TestCluster;
using testing::TestNode;

const ConfState kThreeVoters{.voters = {1, 2, 3}, .learners = {}};
constexpr int kElectionTicks = 10;

Index CommitOf(RawNode& raw) { return raw.GetStatus().hard_state.commit; }

std::vector<Message> To(const std::vector<Message>& messages, MessageType type, NodeId to) {
  std::vector<Message> out;
  for (const Message& message : OfType(messages, type)) {
    if (message.to == to) out.push_back(message);
  }
  return out;
}

// Every pair of logs agrees on every entry before one they share (same index and term).
void CheckLogMatching(TestCluster& cluster) {
  const std::vector<NodeId> ids = cluster.ids();
  for (NodeId a : ids) {
    for (NodeId b : ids) {
      if (a >= b) continue;
      const std::vector<Entry> log_a = cluster.node(a).LogEntries();
      const std::vector<Entry> log_b = cluster.node(b).LogEntries();
      for (const Entry& entry : log_a) {
        if (cluster.node(b).LogTermAt(entry.index) != entry.term) continue;
        for (const Entry& earlier : log_a) {
          if (earlier.index >= entry.index) break;
          for (const Entry& other : log_b) {
            if (other.index != earlier.index) continue;
            INFO("nodes " << a << " and " << b << " share (" << entry.index << ", " << entry.term
                          << ") but differ at " << earlier.index);
            CHECK(other == earlier);
          }
        }
      }
    }
  }
}

TEST_CASE("§5.3 the leader replicates a proposal and every server applies it") {
  TestCluster cluster({1, 2, 3}, PaperRaft());
  cluster.Elect(1);
  const ProposalId proposal = cluster.Propose(1, "x");
  CHECK(proposal.term == cluster.raw(1).term());
  for (NodeId id : {1, 2, 3}) {
    INFO("node " << id);
    CHECK(cluster.node(id).state() == std::vector<std::string>{"x"});
    CHECK(cluster.node(id).LogTermAt(proposal.index) == proposal.term);
  }
}

TEST_CASE("§5.3 an entry is committed once a majority has stored it, and not before") {
  TestCluster cluster({1, 2, 3, 4, 5}, PaperRaft());
  cluster.Elect(1);
  cluster.Isolate(4);
  cluster.Isolate(5);
  cluster.Propose(1, "three of five");
  CHECK(cluster.node(1).state() == std::vector<std::string>{"three of five"});

  cluster.Isolate(3);
  const Index commit_before = CommitOf(cluster.raw(1));
  const ProposalId lonely = cluster.Propose(1, "two of five");
  CHECK(cluster.node(2).LogTermAt(lonely.index) == lonely.term);  // stored on 1 and 2
  CHECK(CommitOf(cluster.raw(1)) == commit_before);
  CHECK(cluster.node(1).state() == std::vector<std::string>{"three of five"});

  cluster.Heal();
  cluster.Tick(1, kElectionTicks - 1);  // heartbeats find 3, 4 and 5 again
  CHECK(cluster.node(1).state() == std::vector<std::string>{"three of five", "two of five"});
}

TEST_CASE("§5.3 a follower acknowledges an append only after persisting it") {
  TestNode follower(2, kThreeVoters, PaperRaft());
  follower.Drain();  // the bootstrap entries are applied at start-up
  const Index base = follower.bootstrap_index();
  const std::vector<Entry> entries = EntriesWithTerms(base + 1, {2, 2});
  REQUIRE(follower.raw().Step(AppendRequest(1, 2, /*term=*/2, base, 1, entries, base)).ok());
  Ready ready = follower.HandleReady();
  CHECK(ready.entries == entries);
  std::vector<Message> acks = To(ready.persisted_messages, MessageType::kAppendResponse, 1);
  REQUIRE(acks.size() == 1);
  CHECK_FALSE(acks[0].reject);
  CHECK(acks[0].index == base + 2);
  CHECK(To(ready.messages, MessageType::kAppendResponse, 1).empty());
}

TEST_CASE("§5.3 a follower refuses an append whose previous entry does not match") {
  TestNode follower(2, kThreeVoters, PaperRaft());
  follower.ReplaceLog({1, 1}, 1);
  const std::vector<Entry> log = follower.LogEntries();
  const Index last = follower.storage().LastIndex();
  REQUIRE(follower.raw()
              .Step(AppendRequest(1, 2, /*term=*/2, /*prev_index=*/last, /*prev_term=*/2,
                                  EntriesWithTerms(last + 1, {2}), 0))
              .ok());
  std::vector<Message> sent = follower.Drain();
  std::vector<Message> responses = To(sent, MessageType::kAppendResponse, 1);
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].reject);
  CHECK(responses[0].index == last);  // the probed index
  CHECK(responses[0].reject_hint <= last);
  CHECK(follower.LogEntries() == log);
}

TEST_CASE("§5.3 a follower learns the commit index from the leader and applies up to it") {
  TestNode follower(2, kThreeVoters, PaperRaft());
  const Index base = follower.bootstrap_index();
  const std::vector<Entry> entries = EntriesWithTerms(base + 1, {2, 2, 2});
  REQUIRE(follower.raw().Step(AppendRequest(1, 2, 2, base, 1, entries, /*commit=*/base)).ok());
  follower.Drain();
  CHECK(follower.state().empty());
  REQUIRE(follower.raw().Step(Heartbeat(1, 2, 2, /*commit=*/base + 2)).ok());
  follower.Drain();
  CHECK(follower.applied_index() == base + 2);
  CHECK(follower.state() == std::vector<std::string>{entries[0].data, entries[1].data});
}

// Figure 7: the leader of term 8 and six possible follower logs.
struct FollowerLog {
  const char* name;
  std::vector<Term> terms;
};

TEST_CASE("§5.3 the leader brings a follower's conflicting log in line with its own") {
  const std::vector<Term> leader_log = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  const FollowerLog followers[] = {
      {"(a) missing one entry", {1, 1, 1, 4, 4, 5, 5, 6, 6}},
      {"(b) missing many entries", {1, 1, 1, 4}},
      {"(c) one extra uncommitted entry", {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}},
      {"(d) two extra entries of a later term", {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}},
      {"(e) conflicting entries of term 4", {1, 1, 1, 4, 4, 4, 4}},
      {"(f) conflicting entries of terms 2 and 3", {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}},
  };
  for (const FollowerLog& follower : followers) {
    DYNAMIC_SECTION("Figure 7 " << follower.name) {
      TestCluster cluster({1, 2, 3}, PaperRaft());
      cluster.node(1).ReplaceLog(leader_log, 7);
      Term follower_term = 0;
      for (Term term : follower.terms) follower_term = std::max(follower_term, term);
      cluster.node(2).ReplaceLog(follower.terms, follower_term);
      cluster.node(3).ReplaceLog({}, 0);  // votes for 1; 2 may refuse
      cluster.Elect(1);
      REQUIRE(cluster.raw(1).term() == 8);
      const std::vector<Entry> leader_entries = cluster.node(1).LogEntries();
      CHECK(cluster.node(2).LogEntries() == leader_entries);
      CHECK(cluster.node(3).LogEntries() == leader_entries);
      // The bootstrap entries (term 1), the figure's log, the new leader's no-op.
      std::vector<Term> expected(cluster.node(1).bootstrap_index(), 1);
      expected.insert(expected.end(), leader_log.begin(), leader_log.end());
      expected.push_back(8);
      CHECK(TermsOf(leader_entries) == expected);
      cluster.Tick(1);
      CHECK(cluster.node(2).applied_index() == expected.size());
    }
  }
}

TEST_CASE("§5.3 log matching: logs that share an entry agree on everything before it") {
  TestCluster cluster({1, 2, 3, 4, 5}, PaperRaft());
  cluster.Elect(1);
  cluster.Propose(1, "a");
  // Leader 1 keeps accepting proposals on the minority side.
  cluster.Partition({1, 2}, {3, 4, 5});
  (void)cluster.raw(1).Propose("lost 1");
  (void)cluster.raw(1).Propose("lost 2");
  cluster.Stabilize();
  // The majority elects 3 and moves on.
  cluster.Elect(3);
  cluster.Propose(3, "b");
  cluster.Propose(3, "c");
  CheckLogMatching(cluster);
  // After the partition heals, one history wins everywhere.
  cluster.Heal();
  cluster.Propose(3, "d");
  cluster.Tick(3, kElectionTicks - 1);
  CheckLogMatching(cluster);
  const std::vector<Entry> leader_log = cluster.node(3).LogEntries();
  for (NodeId id : cluster.ids()) {
    INFO("node " << id);
    CHECK(cluster.node(id).LogEntries() == leader_log);
    CHECK(cluster.node(id).state() == std::vector<std::string>{"a", "b", "c", "d"});
  }
}

TEST_CASE("§5.5 a follower that crashes is brought up to date by retries once it restarts") {
  TestCluster cluster({1, 2, 3}, PaperRaft());
  cluster.Elect(1);
  cluster.Crash(3);
  cluster.Propose(1, "a");
  cluster.Propose(1, "b");
  REQUIRE(cluster.node(1).state() == std::vector<std::string>{"a", "b"});
  cluster.Restart(3);
  // Only the leader's clock runs: it retries until 3 answers.
  for (int tick = 0; tick < kElectionTicks && cluster.node(3).state().size() < 2; ++tick) {
    cluster.Tick(1);
  }
  CHECK(cluster.node(3).state() == std::vector<std::string>{"a", "b"});
}

TEST_CASE("§5.5 a candidate that crashes keeps its term and vote, and retries") {
  TestCluster cluster({1, 2, 3}, PaperRaft());
  cluster.Crash(2);
  cluster.Crash(3);
  REQUIRE(cluster.raw(1).Campaign().ok());
  cluster.Stabilize();
  REQUIRE(cluster.raw(1).role() == Role::kCandidate);
  const Term campaign_term = cluster.raw(1).term();
  cluster.Crash(1);
  cluster.Restart(1);
  CHECK(cluster.raw(1).term() == campaign_term);
  CHECK(cluster.node(1).storage().hard_state().vote == 1);
  // Once its peers are back, a later election succeeds.
  cluster.Restart(2);
  cluster.Restart(3);
  for (int tick = 0; tick < 10 * kElectionTicks && !cluster.Leader(); ++tick) {
    cluster.TickAll();
  }
  REQUIRE(cluster.Leader().has_value());
  CHECK(cluster.raw(*cluster.Leader()).term() > campaign_term);
}

TEST_CASE("§5.5 AppendEntries is idempotent: a repeated request changes nothing") {
  TestNode follower(2, kThreeVoters, PaperRaft());
  const Index base = follower.bootstrap_index();
  const Message append =
      AppendRequest(1, 2, 2, base, 1, EntriesWithTerms(base + 1, {2, 2}), base + 1);
  REQUIRE(follower.raw().Step(append).ok());
  follower.Drain();
  REQUIRE(follower.raw()
              .Step(AppendRequest(1, 2, 2, base + 2, 2, EntriesWithTerms(base + 3, {2}), base + 1))
              .ok());
  follower.Drain();
  const std::vector<Entry> log = follower.LogEntries();
  REQUIRE(log.size() == base + 3);

  REQUIRE(follower.raw().Step(append).ok());  // the first request, delivered again late
  std::vector<Message> sent = follower.Drain();
  CHECK(follower.LogEntries() == log);
  for (const Message& ack : To(sent, MessageType::kAppendResponse, 1)) {
    CHECK_FALSE(ack.reject);
  }
  CHECK(follower.state() == std::vector<std::string>{EntriesWithTerms(base + 1, {2})[0].data});
}

TEST_CASE("§8 a new leader commits a no-op entry of its own term") {
  TestCluster cluster({1, 2, 3}, PaperRaft());
  cluster.Elect(1);
  const std::vector<Entry> log = cluster.node(1).LogEntries();
  REQUIRE_FALSE(log.empty());
  const Entry& no_op = log.back();
  CHECK(no_op.term == cluster.raw(1).term());
  CHECK(no_op.type == EntryType::kNormal);
  CHECK(no_op.data.empty());
  cluster.Tick(1);  // a heartbeat tells every follower the commit index
  for (NodeId id : {1, 2, 3}) {
    INFO("node " << id);
    CHECK(cluster.node(id).applied_index() == no_op.index);
    REQUIRE_FALSE(cluster.node(id).applied_entries().empty());
    CHECK(cluster.node(id).applied_entries().back() == no_op);
  }
}

TEST_CASE("§8 a new leader's no-op commits the entries it inherited from earlier terms") {
  TestCluster cluster({1, 2, 3}, PaperRaft());
  for (NodeId id : {1, 2, 3}) cluster.node(id).ReplaceLog({1, 1, 2}, 2);
  const Index base = cluster.node(1).bootstrap_index();
  cluster.Elect(2);
  CHECK(cluster.raw(2).term() == 3);
  cluster.Tick(2);  // a heartbeat tells every follower the commit index
  std::vector<std::string> inherited;
  for (const Entry& entry : EntriesWithTerms(base + 1, {1, 1, 2})) inherited.push_back(entry.data);
  for (NodeId id : {1, 2, 3}) {
    INFO("node " << id);
    CHECK(cluster.node(id).state() == inherited);
  }
}

TEST_CASE("A leader counts its own entry toward commitment only once it is persisted") {
  TestNode node(1, ConfState{.voters = {1}, .learners = {}}, PaperRaft());
  REQUIRE(node.raw().Campaign().ok());
  node.Drain();
  REQUIRE(node.raw().role() == Role::kLeader);
  REQUIRE(node.raw().Propose("x").ok());

  Ready ready = node.TakeReady();
  REQUIRE(ready.entries.size() == 1);
  CHECK(ready.entries[0].data == "x");
  for (const Entry& entry : ready.committed_entries) CHECK(entry.data != "x");
  node.Finish(ready);

  node.Drain();
  CHECK(node.state() == std::vector<std::string>{"x"});
}

TEST_CASE("A follower's proposal is refused with NotLeader so the caller can forward it") {
  TestCluster cluster({1, 2, 3}, PaperRaft());
  cluster.Elect(1);
  Result<ProposalId> proposal = cluster.raw(2).Propose("x");
  REQUIRE_FALSE(proposal.ok());
  CHECK(proposal.status().code() == StatusCode::kNotLeader);
  CHECK(cluster.raw(2).leader() == 1);
}

TEST_CASE("A proposal's id tells whether it was committed or lost") {
  TestCluster cluster({1, 2, 3}, PaperRaft());
  cluster.Elect(1);
  cluster.Isolate(1);
  Result<ProposalId> lost = cluster.raw(1).Propose("lost");
  REQUIRE(lost.ok());
  cluster.Stabilize();
  cluster.Elect(2);
  cluster.Propose(2, "kept");
  cluster.Heal();
  cluster.Tick(2, kElectionTicks - 1);
  // The entry at the lost proposal's index now has another term.
  CHECK(cluster.node(1).LogTermAt(lost->index) != lost->term);
  CHECK(cluster.node(1).state() == std::vector<std::string>{"kept"});
}

}  // namespace
}  // namespace roster::consensus
