// RawNode: one Raft peer as a pure, deterministic state machine.
//
// Inputs: Tick() (logical time), Step() (a message from a peer), Propose(),
// ProposeConfChange(), ReadIndex(), TransferLeadership(), Campaign().
// Output: a Ready batch (what to persist, send, apply), then Advance().
// No threads, no I/O, no clock: the caller owns all three. One thread drives a RawNode.
//
// Implements: leader election with randomized timeouts, PreVote and CheckQuorum;
// pipelined, batched log replication with a bounded in-flight window and fast
// conflict back-off; snapshots sent in chunks; single-server membership changes and
// learners; leadership transfer; batched ReadIndex. Design notes: docs/design/consensus.md.
//
// THE DURABILITY CONTRACT. For each Ready, in this order:
//   1. Send ready.messages. They may go out before anything is persisted (the leader
//      replicates while it writes its own disk; it counts itself toward a commit only
//      after Advance says its entries are durable).
//   2. Persist, atomically and durably (fsync): ready.snapshot (if any; it replaces the
//      log before it), then ready.entries (appending; an entry at an index that already
//      exists replaces it and every entry after it), then ready.hard_state (if any).
//   3. Only then send ready.persisted_messages: votes and acknowledgements that promise
//      the state above is on disk.
//   4. Apply ready.committed_entries in order (they are already persisted by step 2),
//      and hand ready.read_states to their waiting reads once applied >= their index.
//   5. Call Advance().
// Sending persisted_messages before the fsync, or losing persisted state after it, can
// elect two leaders in one term or lose committed entries.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "consensus/message.h"
#include "consensus/storage.h"
#include "consensus/types.h"

namespace roster::consensus {

class Raft;

enum class Role : std::uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
std::string_view RoleName(Role role);

struct Config {
  NodeId id = kNoNode;
  // The log; must outlive the RawNode. Its InitialState gives term, vote, commit and
  // the membership (MemoryStorage::Bootstrap for a new cluster).
  LogStorage* storage = nullptr;
  // Highest index the application has already applied: after a restart, the index of
  // the snapshot it restored (at least the storage's snapshot index). Committed entries
  // after it are handed out again, membership changes included, which is how the
  // membership after the snapshot is rebuilt.
  Index applied = 0;

  // A follower that hears from no leader for a random time in
  // [election_ticks, 2 * election_ticks) campaigns. Must exceed heartbeat_ticks.
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  bool pre_vote = true;      // thesis §9.6: do not disrupt a cluster from a partition
  bool check_quorum = true;  // a leader cut off from a quorum steps down after an
                             // election timeout; voters honour a leader lease

  std::uint64_t max_message_bytes = 1 << 20;       // entries per kAppend
  std::uint64_t max_inflight_messages = 256;       // per follower, pipelined appends
  std::uint64_t max_inflight_bytes = 64ull << 20;  // per follower
  std::uint64_t snapshot_chunk_bytes = 1 << 20;    // InstallSnapshot chunk size
  std::uint64_t max_committed_bytes_per_ready = 64ull << 20;

  std::uint64_t random_seed = 0;  // randomizes election timeouts; same seed, same run
};

struct SoftState {
  NodeId leader = kNoNode;
  Role role = Role::kFollower;
  bool operator==(const SoftState&) const = default;
};

// A linearizable read point: once the application has applied `index`, a read that
// called ReadIndex(context) may be served from local state.
struct ReadState {
  Index index = 0;
  std::string context;
};

struct Ready {
  std::optional<SoftState> soft_state;  // set when leader or role changed
  std::optional<HardState> hard_state;  // set when it changed: persist it
  std::optional<Snapshot> snapshot;     // a snapshot received from the leader: persist,
                                        // then restore the application's state from it
  std::vector<Entry> entries;           // persist (append)
  std::vector<Entry> committed_entries; // apply, in order
  std::vector<Message> messages;           // send at once
  std::vector<Message> persisted_messages; // send after persisting
  std::vector<ReadState> read_states;

  bool MustSync() const { return hard_state.has_value() || snapshot || !entries.empty(); }
  bool IsEmpty() const;
};

// The position of one follower as the leader sees it.
enum class ProgressState : std::uint8_t { kProbe, kReplicate, kSnapshot };

struct PeerStatus {
  Index match = 0;
  Index next = 0;
  ProgressState state = ProgressState::kProbe;
  bool is_learner = false;
  bool recent_active = false;
};

struct NodeStatus {
  NodeId id = kNoNode;
  HardState hard_state;
  SoftState soft_state;
  Index applied = 0;
  Index last_index = 0;
  ConfState conf_state;
  NodeId lead_transferee = kNoNode;
  std::map<NodeId, PeerStatus> peers;  // leader only
};

// The index and term a proposal was appended at. It was committed if the entry
// applied at that index has that term; if another term shows up there, it was lost.
struct ProposalId {
  Index index = 0;
  Term term = 0;
};

class RawNode {
 public:
  // InvalidArgument for a bad config (id 0, no storage, election_ticks <= heartbeat_ticks,
  // applied behind the storage's snapshot).
  static Result<std::unique_ptr<RawNode>> Create(const Config& config);
  ~RawNode();
  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  // Advances logical time by one tick.
  void Tick();

  // Starts an election now (pre-vote first when enabled). FailedPrecondition if this
  // node is not a voter.
  Status Campaign();

  // Appends data to the log. kNotLeader unless this node leads (the caller forwards);
  // FailedPrecondition during a leadership transfer.
  Result<ProposalId> Propose(std::string data);

  // Proposes one membership change. FailedPrecondition while another change is not yet
  // applied, or before the leader has committed an entry of its own term; InvalidArgument
  // if the change cannot apply to the current membership.
  Result<ProposalId> ProposeConfChange(const ConfChange& change);

  // Delivers a message from a peer. InvalidArgument for a message addressed to another
  // node; anything else malformed or stale is ignored as the protocol says.
  Status Step(Message message);

  // Requests a read point; it arrives in a later Ready's read_states with the same
  // context. On a follower the request goes to the leader; without a leader, kNotLeader
  // and the caller retries. kQuorum makes it linearizable; kLeaderLease trusts the
  // leader (types.h).
  Status ReadIndex(std::string context, ReadPolicy policy = ReadPolicy::kQuorum);

  // Asks the leader to hand leadership to `target` (TimeoutNow once target is caught up).
  // Aborted if it has not happened within an election timeout.
  Status TransferLeadership(NodeId target);

  // The transport could not reach `peer`: stop pipelining to it until it answers.
  void ReportUnreachable(NodeId peer);

  // False while a Ready awaits Advance.
  bool HasReady() const;
  // Everything to persist, send and apply since the last Advance. Call Advance after
  // handling it and before the next GetReady.
  Ready GetReady();
  void Advance();

  NodeStatus GetStatus() const;
  NodeId id() const;
  Term term() const;
  Role role() const;
  NodeId leader() const;
  // The membership as of applied(): what a snapshot taken at applied() must record.
  // (GetStatus().conf_state is the membership in force, which may be ahead of it.)
  ConfState conf_state() const;
  Index applied() const;

 private:
  explicit RawNode(std::unique_ptr<Raft> raft);

  std::unique_ptr<Raft> raft_;
  SoftState previous_soft_state_;
  HardState previous_hard_state_;
  bool ready_outstanding_ = false;
  // What the outstanding Ready handed out, for Advance to acknowledge.
  Index ready_last_entry_index_ = 0;
  Term ready_last_entry_term_ = 0;
  Index ready_last_committed_index_ = 0;
  Index ready_snapshot_index_ = 0;
  std::vector<Entry> ready_conf_changes_;  // committed conf changes to switch to on Advance
};

}  // namespace roster::consensus
