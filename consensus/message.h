// Messages exchanged between Raft nodes. Transport-agnostic: the server encodes them
// into frames; the simulator passes them as values.
//
// Every field's meaning depends on the type, listed next to each field. A message
// from a stale term, an unknown sender, or pointing beyond the log is ignored or
// answered as the protocol says; it never crashes the receiver.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/types.h"

namespace roster::consensus {

enum class MessageType : std::uint8_t {
  kAppend = 0,             // AppendEntries (§5.3): index/log_term = prev entry, entries, commit
  kAppendResponse = 1,     // index = last matching index, or on reject the probed index
  kVote = 2,               // RequestVote (§5.2): index/log_term = candidate's last entry
  kVoteResponse = 3,       // reject = vote refused
  kPreVote = 4,            // thesis §9.6: term = the term the sender would campaign at
  kPreVoteResponse = 5,
  kHeartbeat = 6,          // commit (capped at what the follower matches), read_round
  kHeartbeatResponse = 7,  // read_round echoed
  kSnapshot = 8,           // InstallSnapshot (§7) chunk: snapshot.metadata, snapshot.data
                           // (the chunk), snapshot_offset, snapshot_done
  kSnapshotResponse = 9,   // index = snapshot index, snapshot_offset = bytes received so far
  kTimeoutNow = 10,        // leadership transfer (thesis §3.10): campaign now, skip pre-vote
  kReadIndex = 11,         // follower -> leader: context = the caller's request context
  kReadIndexResponse = 12, // leader -> follower: index = read index, context echoed;
                           // reject = leader could not serve it (retry elsewhere)
  kTransferLeader = 13,    // follower -> leader: index = the node id that should lead
  kReadIndexLease = 14,    // follower -> leader: as kReadIndex, for a read that takes the
                           // leader's word (ReadPolicy::kLeaderLease): no heartbeat round
};

std::string_view MessageTypeName(MessageType type);

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;

  Term log_term = 0;
  Index index = 0;
  std::vector<Entry> entries;
  Index commit = 0;

  bool reject = false;
  Index reject_hint = 0;     // kAppendResponse reject: follower's hint index (§5.3 back-off)
  Term reject_hint_term = 0; // and the term of the follower's entry at that index (0: none)

  Snapshot snapshot;
  std::uint64_t snapshot_offset = 0;
  bool snapshot_done = false;

  std::uint64_t read_round = 0;  // kHeartbeat/kHeartbeatResponse: ReadIndex round
  std::string context;           // kReadIndex/kReadIndexResponse; kVote: "transfer" marks a
                                 // campaign started by kTimeoutNow (bypasses the lease)

  // Bytes this message counts for (entries and snapshot chunk dominate).
  std::uint64_t ByteSize() const;
};

// True for responses whose sending asserts persisted state (they must wait for the
// Ready's persistence; see raw_node.h).
bool IsResponse(MessageType type);

}  // namespace roster::consensus
