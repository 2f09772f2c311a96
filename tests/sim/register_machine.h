// RegisterMachine: the replicated state machine the simulated nodes apply: a map of
// string registers with write and compare-and-set, plus the membership as of the
// applied index (so a snapshot records the configuration it covers).
//
// Apply is a pure function of the committed log, so every node that applies the same
// entries ends with the same state, the same digest (a hash chain over every applied
// entry) and the same state hash. The checkers compare those across nodes.
// Single-threaded: each simulated node owns one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "consensus/types.h"

namespace roster::sim {

enum class CommandKind : std::uint8_t { kWrite = 1, kCas = 2 };

// A client command as it travels in an entry's data. op_id is unique per run, so the
// checkers can tell which client operation an applied entry is.
struct Command {
  CommandKind kind = CommandKind::kWrite;
  std::uint64_t op_id = 0;
  std::string key;
  std::string value;
  std::string expected;  // kCas only

  bool operator==(const Command&) const = default;
};

std::string EncodeCommand(const Command& command);
// nullopt for bytes that are not an encoded command (CHECK-worthy in the caller).
std::optional<Command> DecodeCommand(std::string_view bytes);

// What applying one entry did, as the client that proposed it sees it.
struct ApplyOutcome {
  std::uint64_t op_id = 0;  // 0: not a client command (leader no-op, conf change)
  bool ok = true;           // kCas: whether the swap happened
};

class RegisterMachine {
 public:
  // An empty machine whose membership starts as `conf_state` (the bootstrap one).
  explicit RegisterMachine(consensus::ConfState conf_state);

  // Rebuilds a machine from snapshot data; Corruption if the bytes do not parse or
  // disagree with the metadata.
  static Result<RegisterMachine> Restore(const consensus::Snapshot& snapshot);

  // Applies the entry at applied() + 1. REQUIRES: entry.index == applied() + 1.
  ApplyOutcome Apply(const consensus::Entry& entry);

  // The snapshot data for the current state (see Restore).
  std::string Serialize() const;

  // "" if absent: the initial value of every register.
  std::string Get(const std::string& key) const;

  consensus::Index applied() const { return applied_; }
  consensus::Term applied_term() const { return applied_term_; }
  std::uint64_t digest() const { return digest_; }
  // A hash of the registers alone (not the history that produced them).
  std::uint64_t StateHash() const;
  const consensus::ConfState& conf_state() const { return conf_state_; }
  std::size_t size() const { return values_.size(); }

 private:
  void ApplyConfChange(const consensus::Entry& entry);

  std::map<std::string, std::string> values_;
  consensus::Index applied_ = 0;
  consensus::Term applied_term_ = 0;
  std::uint64_t digest_ = 0;
  consensus::ConfState conf_state_;
};

}  // namespace roster::sim
