// Bad input never crashes a node (message.h): stale terms, unknown senders, messages
// pointing beyond the log, nonsense types and misaddressed messages are ignored,
// answered as the protocol says, or refused with InvalidArgument.
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
using testing::AppendResponse;
using testing::EntriesWithTerms;
using testing::Heartbeat;
using testing::TestCluster;

Index CommitOf(RawNode& raw) { return raw.GetStatus().hard_state.commit; }

// A three-node cluster led by 1 in term 1, with "a" committed everywhere.
struct LedCluster {
  LedCluster() : cluster({1, 2, 3}) {
    cluster.Elect(1);
    term = cluster.raw(1).term();
    cluster.Propose(1, "a");
    cluster.Tick(1);
  }

  // The cluster still works: a new proposal commits and is applied everywhere.
  void CheckStillWorks() {
    cluster.Propose(1, "still works");
    cluster.Tick(1);
    for (NodeId id : {1, 2, 3}) {
      INFO("node " << id);
      CHECK(cluster.node(id).state() == std::vector<std::string>{"a", "still works"});
    }
  }

  TestCluster cluster;
  Term term = 0;  // the leader's
};

Message Typed(MessageType type, NodeId from, NodeId to, Term term) {
  Message message;
  message.type = type;
  message.from = from;
  message.to = to;
  message.term = term;
  return message;
}

TEST_CASE("A message addressed to another node is InvalidArgument") {
  LedCluster c;
  const Status status = c.cluster.raw(1).Step(Heartbeat(2, /*to=*/3, c.term, 0));
  CHECK(status.code() == StatusCode::kInvalidArgument);
  CHECK(c.cluster.raw(1).role() == Role::kLeader);
}

TEST_CASE("A stale-term append changes neither the leader nor its log") {
  LedCluster c;
  REQUIRE(c.cluster.raw(1).TransferLeadership(2).ok());
  c.cluster.Stabilize();
  REQUIRE(c.cluster.raw(2).role() == Role::kLeader);
  REQUIRE(c.cluster.raw(2).term() == c.term + 1);
  const std::vector<Entry> log = c.cluster.node(2).LogEntries();
  const Index last = log.back().index;
  (void)c.cluster.Deliver(
      AppendRequest(3, 2, c.term, last, c.term, EntriesWithTerms(last + 1, {c.term}), last + 1));
  c.cluster.Stabilize();
  CHECK(c.cluster.raw(2).role() == Role::kLeader);
  CHECK(c.cluster.raw(2).term() == c.term + 1);
  CHECK(c.cluster.node(2).LogEntries() == log);
}

TEST_CASE("Responses from a node outside the membership are ignored") {
  LedCluster c;
  const Index commit = CommitOf(c.cluster.raw(1));
  for (MessageType type : {MessageType::kAppendResponse, MessageType::kHeartbeatResponse,
                           MessageType::kSnapshotResponse, MessageType::kVoteResponse}) {
    INFO(MessageTypeName(type));
    Message message = Typed(type, /*from=*/9, 1, c.term);
    message.index = 1000;
    (void)c.cluster.Deliver(message);
    c.cluster.Stabilize();
    CHECK(c.cluster.raw(1).role() == Role::kLeader);
    CHECK(CommitOf(c.cluster.raw(1)) == commit);
  }
  CHECK(c.cluster.raw(1).GetStatus().peers.count(9) == 0);
  c.CheckStillWorks();
}

TEST_CASE("An append whose previous entry lies beyond the follower's log is refused") {
  LedCluster c;
  const std::vector<Entry> log = c.cluster.node(2).LogEntries();
  const Index last = c.cluster.node(2).storage().LastIndex();
  c.cluster.ClearHistory();
  (void)c.cluster.Deliver(AppendRequest(1, 2, c.term, /*prev_index=*/last + 50, c.term,
                                        EntriesWithTerms(last + 51, {c.term}), last + 51));
  c.cluster.HandleReady(2);
  CHECK(c.cluster.node(2).LogEntries() == log);
  CHECK(CommitOf(c.cluster.raw(2)) <= last);
  bool refused = false;
  for (const testing::SentMessage& sent : c.cluster.sent()) {
    if (sent.message.type != MessageType::kAppendResponse || sent.message.from != 2) continue;
    CHECK(sent.message.reject);
    CHECK(sent.message.reject_hint <= last);
    refused = true;
  }
  CHECK(refused);
  c.cluster.Stabilize();
  c.CheckStillWorks();
}

TEST_CASE("An acknowledgement of more than the leader has does not commit beyond its log") {
  LedCluster c;
  (void)c.cluster.Deliver(AppendResponse(2, 1, c.term, /*index=*/1000));
  (void)c.cluster.Deliver(AppendResponse(3, 1, c.term, /*index=*/1000));
  c.cluster.Stabilize();
  const NodeStatus status = c.cluster.raw(1).GetStatus();
  CHECK(status.hard_state.commit <= status.last_index);
  for (const auto& [id, peer] : status.peers) CHECK(peer.match <= status.last_index);
  c.CheckStillWorks();
}

TEST_CASE("A heartbeat with a commit index beyond the follower's log commits only what it has") {
  LedCluster c;
  (void)c.cluster.Deliver(Heartbeat(1, 2, c.term, /*commit=*/1000));
  c.cluster.Stabilize();
  CHECK(CommitOf(c.cluster.raw(2)) <= c.cluster.node(2).storage().LastIndex());
  c.CheckStillWorks();
}

TEST_CASE("A message of an unknown type is ignored") {
  LedCluster c;
  (void)c.cluster.Deliver(Typed(static_cast<MessageType>(200), 2, 1, c.term));
  (void)c.cluster.Deliver(Typed(static_cast<MessageType>(200), 1, 2, c.term));
  c.cluster.Stabilize();
  CHECK(c.cluster.raw(1).role() == Role::kLeader);
  c.CheckStillWorks();
}

TEST_CASE("Messages a node should never receive in its role are ignored") {
  LedCluster c;
  // A follower receives leader-bound traffic; the leader receives follower-bound traffic.
  for (MessageType type : {MessageType::kAppendResponse, MessageType::kHeartbeatResponse,
                           MessageType::kSnapshotResponse, MessageType::kReadIndexResponse}) {
    (void)c.cluster.Deliver(Typed(type, 3, 2, c.term));
  }
  for (MessageType type : {MessageType::kReadIndexResponse, MessageType::kTimeoutNow,
                           MessageType::kVoteResponse, MessageType::kPreVoteResponse}) {
    (void)c.cluster.Deliver(Typed(type, 2, 1, c.term));
  }
  c.cluster.Stabilize();
  CHECK(c.cluster.raw(1).role() == Role::kLeader);
  CHECK(c.cluster.raw(1).term() == c.term);
  c.CheckStillWorks();
}

TEST_CASE("A message claiming to come from the receiver itself does no harm") {
  LedCluster c;
  (void)c.cluster.Deliver(AppendResponse(1, 1, c.term, 1000));
  (void)c.cluster.Deliver(Heartbeat(2, 2, c.term + 4, 1000));
  c.cluster.Stabilize();
  CHECK(c.cluster.raw(1).role() == Role::kLeader);
  CHECK(c.cluster.raw(2).term() == c.term);
  c.CheckStillWorks();
}

TEST_CASE("An append whose entries do not follow its previous index is not stored") {
  LedCluster c;
  const std::vector<Entry> log = c.cluster.node(2).LogEntries();
  const Index last = c.cluster.node(2).storage().LastIndex();
  // Claims to follow `last`, but carries entries for indexes last + 5 and last + 7.
  std::vector<Entry> entries = EntriesWithTerms(last + 5, {c.term});
  entries.push_back(EntriesWithTerms(last + 7, {c.term})[0]);
  (void)c.cluster.Deliver(AppendRequest(1, 2, c.term, last, c.term, entries, last));
  c.cluster.Stabilize();
  for (const Entry& entry : c.cluster.node(2).LogEntries()) CHECK(entry.index <= last);
  CHECK(c.cluster.node(2).LogEntries() == log);
  c.CheckStillWorks();
}

TEST_CASE("A snapshot chunk that starts in the middle of nowhere is not installed") {
  LedCluster c;
  const std::vector<Entry> log = c.cluster.node(2).LogEntries();
  Message chunk = Typed(MessageType::kSnapshot, 1, 2, c.term);
  chunk.snapshot.metadata = SnapshotMetadata{
      .index = 100, .term = c.term, .conf_state = {.voters = {1, 2, 3}, .learners = {}}};
  chunk.snapshot.data = "tail";
  chunk.snapshot_offset = 5000;
  chunk.snapshot_done = true;
  (void)c.cluster.Deliver(chunk);
  c.cluster.Stabilize();
  CHECK(c.cluster.node(2).storage().GetSnapshotMetadata().index == 0);
  CHECK(c.cluster.node(2).LogEntries() == log);
  c.CheckStillWorks();
}

TEST_CASE("A vote request from a node outside the membership cannot disrupt the leader") {
  LedCluster c;
  // A removed server that keeps campaigning (thesis §4.2.3): the lease ignores it.
  (void)c.cluster.Deliver(testing::VoteRequest(9, 2, c.term + 5, 1000, c.term + 5));
  (void)c.cluster.Deliver(testing::VoteRequest(9, 3, c.term + 5, 1000, c.term + 5));
  c.cluster.Stabilize();
  CHECK(c.cluster.raw(1).role() == Role::kLeader);
  CHECK(c.cluster.raw(2).term() == c.term);
  c.CheckStillWorks();
}

TEST_CASE("RawNode::Create refuses a bad config with InvalidArgument") {
  MemoryStorage storage;
  storage.Bootstrap(ConfState{.voters = {1}, .learners = {}});
  Config good;
  good.id = 1;
  good.storage = &storage;
  REQUIRE(RawNode::Create(good).ok());

  Config no_id = good;
  no_id.id = kNoNode;
  CHECK(RawNode::Create(no_id).status().code() == StatusCode::kInvalidArgument);
  Config no_storage = good;
  no_storage.storage = nullptr;
  CHECK(RawNode::Create(no_storage).status().code() == StatusCode::kInvalidArgument);
  Config slow_election = good;
  slow_election.election_ticks = slow_election.heartbeat_ticks;
  CHECK(RawNode::Create(slow_election).status().code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace roster::consensus
