// Test harness for the consensus core: RawNodes over MemoryStorage, driven by hand.
//
// TestNode is one RawNode with its MemoryStorage and a tiny state machine (the data of
// every applied normal entry, in order). TestNode::HandleReady follows the durability
// contract of raw_node.h step by step: send messages, persist snapshot / entries / hard
// state, send persisted messages, apply committed entries, Advance.
//
// TestCluster wires TestNodes to a deterministic in-memory network: messages wait in one
// FIFO queue and are delivered one at a time. A test may cut links, isolate, crash and
// restart nodes, and drop, duplicate or hold back individual messages through a hook.
// Like a connection-oriented transport, the network calls RawNode::ReportUnreachable on
// the sender when a cut link or a crashed node makes a message undeliverable; a message
// the hook drops is lost silently, as a datagram would be.
// While it runs, the cluster checks Election Safety (one leader per term) and State
// Machine Safety (no two nodes apply different entries at an index), the properties of
// the paper's Figure 3.
//
// Single-threaded; no clock, no sleeps: time is Tick().
// Only for use inside Catch2 test cases (the harness reports violations through Catch2).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "consensus/message.h"
#include "consensus/raw_node.h"
#include "consensus/storage.h"
#include "consensus/types.h"

namespace roster::consensus {

// Printers, so that a failed comparison shows the values.
std::ostream& operator<<(std::ostream& out, const ConfState& conf_state);
std::ostream& operator<<(std::ostream& out, const HardState& hard_state);
std::ostream& operator<<(std::ostream& out, const Entry& entry);
std::ostream& operator<<(std::ostream& out, const SnapshotMetadata& metadata);
std::ostream& operator<<(std::ostream& out, const Message& message);

}  // namespace roster::consensus

namespace roster::consensus::testing {

struct NodeOptions {
  bool pre_vote = true;
  bool check_quorum = true;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  // Has the last word on every Config the harness builds (at creation and restart).
  std::function<void(Config&)> configure;
};

// Raft exactly as the paper describes it: no PreVote, no CheckQuorum lease.
NodeOptions PaperRaft();

// One RawNode over its own MemoryStorage. The test plays the network.
class TestNode {
 public:
  // Bootstraps the storage with `membership` unless it has no voter (a node that will
  // join an existing cluster learns the membership from the leader).
  TestNode(NodeId id, const ConfState& membership, NodeOptions options);

  NodeId id() const { return id_; }
  bool running() const { return raw_ != nullptr; }
  RawNode& raw();  // REQUIRES: running()
  const RawNode& raw() const;
  MemoryStorage& storage() { return *storage_; }
  const MemoryStorage& storage() const { return *storage_; }
  const NodeOptions& options() const { return options_; }

  // Handles one Ready, if the node has one, following the durability contract, and
  // returns it so the test can look at what was sent and persisted. Empty if none.
  Ready HandleReady();
  // The two halves of HandleReady, for a test that looks at a Ready before it is
  // persisted: TakeReady is GetReady; Finish persists, applies and calls Advance.
  Ready TakeReady();
  void Finish(const Ready& ready);
  // Handles Readies until there is none; returns every message they sent, in order
  // (each Ready's messages, then its persisted_messages).
  std::vector<Message> Drain();

  // Loses the RawNode and the application's in-memory state. Storage is durable: the
  // harness persists a Ready completely before the next step, so nothing is lost.
  void Crash();
  // Recreates the RawNode from storage. The application restores its state from the
  // storage's snapshot, so Config.applied is the snapshot index.
  void Restart();
  // Replaces the whole log with the bootstrap entries (MakeBootstrap: the membership, at
  // term 1, committed) followed by entries of the given terms, and the hard state with
  // {max(term, 1), no vote, commit = the bootstrap entries}, then restarts. For building
  // the logs of the paper's figures; entry_terms[0] lands at bootstrap_index() + 1.
  void ReplaceLog(const std::vector<Term>& entry_terms, Term term);
  // The last index of the bootstrap entries (0 for a node that joined with no membership).
  Index bootstrap_index() const;

  // The state machine: data of every applied non-empty normal entry, in log order.
  const std::vector<std::string>& state() const { return state_; }
  // Every entry applied since the node last started or restored a snapshot.
  const std::vector<Entry>& applied_entries() const { return applied_entries_; }
  Index applied_index() const { return applied_index_; }
  const std::vector<ReadState>& read_states() const { return read_states_; }
  // Every entry in storage, FirstIndex() through LastIndex().
  std::vector<Entry> LogEntries() const;
  // Term of the entry at index in storage; 0 if storage does not hold it.
  Term LogTermAt(Index index) const;

  // Takes a snapshot of the state machine at the applied index, keeping
  // `entries_to_keep` entries behind it (MemoryStorage::CreateSnapshot).
  void CompactLog(std::uint64_t entries_to_keep = 0);

 private:
  Config MakeConfig(Index applied);
  void Persist(const Ready& ready);
  void Apply(const Ready& ready);

  NodeId id_;
  NodeOptions options_;
  ConfState membership_;
  std::unique_ptr<MemoryStorage> storage_;  // declared before raw_: outlives it
  std::unique_ptr<RawNode> raw_;
  std::vector<std::string> state_;
  std::vector<Entry> applied_entries_;
  Index applied_index_ = 0;
  std::vector<ReadState> read_states_;
};

// What the network does with one message.
enum class Verdict { kDeliver, kDrop, kDuplicate, kHold };

struct SentMessage {
  Message message;
  bool persisted = false;  // came from Ready::persisted_messages
};

class TestCluster {
 public:
  // Voters 1..n bootstrapped with the same membership.
  explicit TestCluster(std::vector<NodeId> voters, NodeOptions options = {});
  TestCluster(const ConfState& membership, NodeOptions options);

  TestNode& node(NodeId id);
  RawNode& raw(NodeId id) { return node(id).raw(); }
  std::vector<NodeId> ids() const;

  // A new, empty node (no membership) that the leader can add and replicate to.
  TestNode& AddNode(NodeId id);

  // Handles every Ready and delivers every message until nothing moves.
  void Stabilize();
  // Handles the readies of one node, sending its messages into the network.
  void HandleReady(NodeId id);
  // Ticks one node `ticks` times, stabilizing after each tick.
  void Tick(NodeId id, int ticks = 1);
  // Ticks every running node `ticks` times, stabilizing after each round.
  void TickAll(int ticks = 1);
  // Campaign() on `id`, then Stabilize(); REQUIREs that it won.
  void Elect(NodeId id);
  // Proposes on `id` and stabilizes; REQUIREs that the proposal was accepted.
  ProposalId Propose(NodeId id, std::string data);

  // Faults.
  void Cut(NodeId from, NodeId to);  // one direction
  void Isolate(NodeId id);           // cut from every node, present and future
  void Partition(const std::vector<NodeId>& side_a, const std::vector<NodeId>& side_b);
  void Heal();  // restores every link and removes the hook
  void set_hook(std::function<Verdict(const Message&)> hook) { hook_ = std::move(hook); }
  void Crash(NodeId id);
  void Restart(NodeId id);
  // Messages the hook held back, in order; ReleaseHeld() queues them for delivery.
  const std::vector<Message>& held() const { return held_; }
  void ReleaseHeld();
  // Delivers one message now, bypassing the network (the test plays the sender).
  Status Deliver(const Message& message);

  // Observation.
  const std::vector<SentMessage>& sent() const { return sent_; }
  const std::vector<Message>& delivered() const { return delivered_; }
  void ClearHistory();
  std::size_t CountSent(MessageType type, NodeId from, NodeId to) const;
  std::size_t CountDelivered(MessageType type, NodeId from, NodeId to) const;
  // The running leader with the highest term, if any.
  std::optional<NodeId> Leader() const;

 private:
  void Send(const Message& message, bool persisted);
  bool LinkUp(NodeId from, NodeId to) const;
  bool Reachable(NodeId id) const;
  void ReportUnreachable(NodeId from, NodeId to);
  void CheckSafety(TestNode& node, const Ready& ready);

  NodeOptions options_;
  std::map<NodeId, std::unique_ptr<TestNode>> nodes_;
  std::deque<Message> queue_;
  std::vector<Message> held_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::set<NodeId> isolated_;
  std::function<Verdict(const Message&)> hook_;
  std::vector<SentMessage> sent_;
  std::vector<Message> delivered_;
  std::map<Term, NodeId> leader_of_term_;
  std::map<Index, Entry> applied_at_;
};

// Message builders for tests that play a peer by hand.
Message VoteRequest(NodeId from, NodeId to, Term term, Index last_index, Term last_term);
Message VoteResponse(NodeId from, NodeId to, Term term, bool granted);
Message PreVoteResponse(NodeId from, NodeId to, Term term, bool granted);
Message AppendRequest(NodeId from, NodeId to, Term term, Index prev_index, Term prev_term,
                      std::vector<Entry> entries, Index commit);
Message AppendResponse(NodeId from, NodeId to, Term term, Index index);
Message Heartbeat(NodeId from, NodeId to, Term term, Index commit);

// Entries first_index, first_index+1, ... with the given terms and data "i<index>t<term>".
std::vector<Entry> EntriesWithTerms(Index first_index, const std::vector<Term>& terms);
// Messages of `type` in `messages`.
std::vector<Message> OfType(const std::vector<Message>& messages, MessageType type);
// The terms of `entries`, in order (logs compare by terms, as the paper draws them).
std::vector<Term> TermsOf(const std::vector<Entry>& entries);
// The state machine's snapshot encoding (length-prefixed items) and its inverse.
std::string EncodeState(const std::vector<std::string>& state);
std::vector<std::string> DecodeState(const std::string& data);

}  // namespace roster::consensus::testing
