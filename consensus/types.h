// Plain Raft value types shared by the consensus core, its storage and its callers.
//
// Vocabulary follows the Raft paper (Ongaro & Ousterhout, 2014) and Ongaro's thesis
// (2014): term, index, vote, commit. Everything here is a value type with no
// behaviour beyond size accounting; thread-safety is that of plain structs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace roster::consensus {

using NodeId = std::uint64_t;
using Term = std::uint64_t;
using Index = std::uint64_t;

// Node ids are positive; 0 means "nobody" (no vote, no known leader).
inline constexpr NodeId kNoNode = 0;

// How the leader confirms a ReadIndex request's read point (thesis §6.4).
enum class ReadPolicy : std::uint8_t {
  // A heartbeat round shows a quorum still follows the leader: linearizable, at the
  // price of a round trip to a quorum (shared by every read queued meanwhile).
  kQuorum = 0,
  // The leader answers with its commit index at once, as soon as it has committed an
  // entry of its term: what its own reads in Consul's default mode trust. A leader cut
  // off from the quorum answers stale reads until check-quorum makes it step down.
  kLeaderLease = 1,
};

enum class EntryType : std::uint8_t {
  kNormal = 0,      // application command (may be empty: a new leader's no-op)
  kConfChange = 1,  // data is an EncodeConfChange() payload
};

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::kNormal;
  std::string data;

  // Bytes this entry counts for in message-size and in-flight limits.
  std::uint64_t ByteSize() const { return data.size() + 24; }
  bool operator==(const Entry&) const = default;
};

// What must survive a crash besides the entries: see the contract in raw_node.h.
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  Index commit = 0;

  bool operator==(const HardState&) const = default;
};

// The membership: voters decide elections and commitment; learners only replicate.
struct ConfState {
  std::vector<NodeId> voters;    // sorted, unique
  std::vector<NodeId> learners;  // sorted, unique, disjoint from voters

  bool operator==(const ConfState&) const = default;
};

struct SnapshotMetadata {
  Index index = 0;  // last entry the snapshot covers
  Term term = 0;    // term of that entry
  ConfState conf_state;

  bool operator==(const SnapshotMetadata&) const = default;
};

struct Snapshot {
  SnapshotMetadata metadata;
  std::string data;  // the application's state, opaque to consensus

  bool IsEmpty() const { return metadata.index == 0; }
  bool operator==(const Snapshot&) const = default;
};

// One server at a time (thesis §4.1). kAddVoter on an existing learner promotes it.
enum class ConfChangeType : std::uint8_t {
  kAddVoter = 0,
  kAddLearner = 1,
  kRemoveNode = 2,
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddVoter;
  NodeId node_id = kNoNode;
  std::string context;  // opaque to consensus (e.g. the new server's address)

  bool operator==(const ConfChange&) const = default;
};

std::string EncodeConfChange(const ConfChange& change);
Result<ConfChange> DecodeConfChange(std::string_view bytes);

// The log of a brand-new cluster: at term 1, one kConfChange entry per member (voters,
// then learners), all committed (hard state term 1, commit = their count). Membership
// lives in the log and in snapshots only, so a node that joins later with an empty log
// rebuilds it by replaying these entries (as etcd and hashicorp/raft bootstrap).
// Every founding member must bootstrap with the same ConfState and contexts.
struct BootstrapLog {
  std::vector<Entry> entries;
  HardState hard_state;
};
// contexts[id], if present, becomes the ConfChange::context of that member's entry
// (the server records names and addresses there).
BootstrapLog MakeBootstrap(const ConfState& conf_state,
                           const std::map<NodeId, std::string>& contexts = {});

// Applies a change to a membership; InvalidArgument if it makes no sense
// (removing an unknown node, demoting a voter to learner, leaving no voter).
Result<ConfState> ApplyConfChange(const ConfState& conf, const ConfChange& change);

}  // namespace roster::consensus
