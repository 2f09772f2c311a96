// StoreMachine: what a simulated node applies committed entries to, as a real server
// does: client commands (store/command.h) go to the real store::Store, conf changes move
// the membership as of the applied index (so a snapshot records the configuration it
// covers), and new leaders' empty entries are no-ops.
//
// Apply is a pure function of the committed log, so every node that applies the same
// entries ends with the same store, the same digest (a hash chain over every applied
// entry) and the same state hash (of Store::Snapshot()). The checkers compare those
// across nodes. A snapshot's data carries the applied index and term, the digest, the
// membership and Store::Snapshot(); Restore checks them against the snapshot metadata.
// Single-threaded: each simulated node owns one.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "consensus/types.h"
#include "store/command.h"
#include "store/store.h"

namespace roster::sim {

// What applying one entry did, as the client that proposed it sees it.
struct ApplyOutcome {
  // The client operation in the entry: the simulated clients put their op id in the
  // flags of a KV set or CAS. 0 for the rest (no-ops, conf changes, deletes).
  std::uint64_t op_id = 0;
  bool ok = true;  // false only when a CAS or delete-CAS condition did not hold
};

// The op id a command carries (see ApplyOutcome::op_id).
std::uint64_t OpIdOf(const store::Command& command);
// One short line, e.g. "cas k1 if-modify=12 = c2.40 op=40".
std::string DescribeCommand(const store::Command& command);

class StoreMachine {
 public:
  // An empty machine whose membership starts as `conf_state` (the bootstrap one).
  explicit StoreMachine(consensus::ConfState conf_state);

  // Rebuilds a machine from snapshot data; Corruption if the bytes do not parse or
  // disagree with the metadata (index, term or membership).
  static Result<StoreMachine> Restore(const consensus::Snapshot& snapshot);

  // Applies the entry at applied() + 1. REQUIRES: entry.index == applied() + 1, and a
  // normal entry's data decodes as a command (both CHECKed).
  ApplyOutcome Apply(const consensus::Entry& entry);

  // The snapshot data for the current state (see Restore).
  std::string Serialize() const;

  // For reads: the KV table, as a server reads it.
  const store::Store& store() const { return store_; }
  consensus::Index applied() const { return applied_; }
  consensus::Term applied_term() const { return applied_term_; }
  std::uint64_t digest() const { return digest_; }
  // A hash of the store's state alone (not the history that produced it).
  std::uint64_t StateHash() const;
  const consensus::ConfState& conf_state() const { return conf_state_; }

 private:
  void ApplyConfChange(const consensus::Entry& entry);

  store::Store store_;
  consensus::Index applied_ = 0;
  consensus::Term applied_term_ = 0;
  std::uint64_t digest_ = 0;
  consensus::ConfState conf_state_;
};

}  // namespace roster::sim
