// RegisterMachine: deterministic apply, CAS, snapshots that restore the same state.
#include "tests/sim/register_machine.h"

// base/check.h and Catch2 both define CHECK; the tests mean Catch2's.
#undef CHECK
#include <catch2/catch.hpp>

namespace roster::sim {
namespace {

using consensus::Entry;

Entry CommandEntry(consensus::Index index, consensus::Term term, const Command& command) {
  return Entry{term, index, consensus::EntryType::kNormal, EncodeCommand(command)};
}

TEST_CASE("RegisterMachine: commands round-trip through their encoding", "[sim][machine]") {
  const Command command{CommandKind::kCas, 42, "k1", "new", "old"};
  CHECK(DecodeCommand(EncodeCommand(command)) == command);
  CHECK_FALSE(DecodeCommand("").has_value());
  CHECK_FALSE(DecodeCommand(EncodeCommand(command) + "x").has_value());
  CHECK_FALSE(DecodeCommand(EncodeCommand(command).substr(0, 5)).has_value());
}

TEST_CASE("RegisterMachine: write, compare-and-set, no-op", "[sim][machine]") {
  RegisterMachine machine(consensus::ConfState{{1, 2, 3}, {}});
  CHECK(machine.Apply(CommandEntry(1, 1, {CommandKind::kWrite, 1, "a", "x", ""})).op_id == 1);
  CHECK(machine.Get("a") == "x");
  const ApplyOutcome mismatch =
      machine.Apply(CommandEntry(2, 1, {CommandKind::kCas, 2, "a", "y", "z"}));
  CHECK(mismatch.op_id == 2);
  CHECK_FALSE(mismatch.ok);
  CHECK(machine.Get("a") == "x");
  CHECK(machine.Apply(CommandEntry(3, 1, {CommandKind::kCas, 3, "a", "y", "x"})).ok);
  CHECK(machine.Get("a") == "y");
  CHECK(machine.Apply(CommandEntry(4, 1, {CommandKind::kCas, 4, "b", "new", ""})).ok);
  CHECK(machine.Apply(Entry{2, 5, consensus::EntryType::kNormal, ""}).op_id == 0);
  CHECK(machine.applied() == 5);
  CHECK(machine.applied_term() == 2);
}

TEST_CASE("RegisterMachine: conf changes move the membership", "[sim][machine]") {
  RegisterMachine machine(consensus::ConfState{{1, 2, 3}, {}});
  machine.Apply(
      Entry{1, 1, consensus::EntryType::kConfChange,
            consensus::EncodeConfChange({consensus::ConfChangeType::kAddLearner, 4, ""})});
  CHECK(machine.conf_state().learners == std::vector<consensus::NodeId>{4});
  machine.Apply(
      Entry{1, 2, consensus::EntryType::kConfChange,
            consensus::EncodeConfChange({consensus::ConfChangeType::kRemoveNode, 2, ""})});
  CHECK(machine.conf_state().voters == std::vector<consensus::NodeId>{1, 3});
}

TEST_CASE("RegisterMachine: a snapshot restores state, digest and membership", "[sim][machine]") {
  RegisterMachine machine(consensus::ConfState{{1, 2, 3}, {}});
  machine.Apply(CommandEntry(1, 1, {CommandKind::kWrite, 1, "a", "x", ""}));
  machine.Apply(CommandEntry(2, 2, {CommandKind::kWrite, 2, "b", "y", ""}));
  consensus::Snapshot snapshot;
  snapshot.metadata = {2, 2, machine.conf_state()};
  snapshot.data = machine.Serialize();
  Result<RegisterMachine> restored = RegisterMachine::Restore(snapshot);
  REQUIRE(restored.ok());
  CHECK(restored->Get("a") == "x");
  CHECK(restored->digest() == machine.digest());
  CHECK(restored->StateHash() == machine.StateHash());
  CHECK(restored->conf_state() == machine.conf_state());

  snapshot.metadata.index = 3;  // metadata that disagrees with the data
  CHECK_FALSE(RegisterMachine::Restore(snapshot).ok());
  snapshot.metadata.index = 2;
  snapshot.data.pop_back();
  CHECK_FALSE(RegisterMachine::Restore(snapshot).ok());
}

TEST_CASE("RegisterMachine: the digest depends on the history, the state hash does not",
          "[sim][machine]") {
  RegisterMachine one(consensus::ConfState{{1}, {}});
  RegisterMachine two(consensus::ConfState{{1}, {}});
  one.Apply(CommandEntry(1, 1, {CommandKind::kWrite, 1, "a", "x", ""}));
  two.Apply(CommandEntry(1, 2, {CommandKind::kWrite, 1, "a", "x", ""}));
  CHECK(one.StateHash() == two.StateHash());
  CHECK(one.digest() != two.digest());
}

}  // namespace
}  // namespace roster::sim
