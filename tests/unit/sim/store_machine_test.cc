// StoreMachine: store commands and conf changes applied in log order, snapshots that
// restore the same store, digest and membership.
#include "tests/sim/store_machine.h"

#include "store/command.h"

// base/check.h and Catch2 both define CHECK; the tests mean Catch2's.
#undef CHECK
#include <catch2/catch.hpp>

namespace roster::sim {
namespace {

using consensus::Entry;

Entry CommandEntry(consensus::Index index, consensus::Term term, const store::Command& command) {
  return Entry{term, index, consensus::EntryType::kNormal, store::Encode(command)};
}

Entry ConfChangeEntry(consensus::Index index, consensus::ConfChangeType type,
                      consensus::NodeId node) {
  return Entry{1, index, consensus::EntryType::kConfChange,
               consensus::EncodeConfChange({type, node, ""})};
}

TEST_CASE("StoreMachine: KV commands reach the store, stamped with their index", "[sim][machine]") {
  StoreMachine machine(consensus::ConfState{{1, 2, 3}, {}});
  CHECK(machine.Apply(CommandEntry(1, 1, store::KvSet{"a", "x", 7})).op_id == 7);
  REQUIRE(machine.store().kv().Get("a").has_value());
  CHECK(machine.store().kv().Get("a")->modify_index == 1);
  const ApplyOutcome mismatch = machine.Apply(CommandEntry(2, 1, store::KvCas{"a", "y", 8, 5}));
  CHECK(mismatch.op_id == 8);
  CHECK_FALSE(mismatch.ok);
  CHECK(machine.Apply(CommandEntry(3, 1, store::KvCas{"a", "y", 9, 1})).ok);
  CHECK(machine.store().kv().Get("a")->value == "y");
  CHECK(machine.store().kv().Get("a")->modify_index == 3);
  const ApplyOutcome deleted = machine.Apply(CommandEntry(4, 1, store::KvDelete{"a"}));
  CHECK(deleted.op_id == 0);
  CHECK_FALSE(machine.store().kv().Get("a").has_value());
  CHECK(machine.Apply(Entry{2, 5, consensus::EntryType::kNormal, ""}).op_id == 0);
  CHECK(machine.applied() == 5);
  CHECK(machine.applied_term() == 2);
  CHECK(machine.store().last_applied_index() == 5);
}

TEST_CASE("StoreMachine: conf changes move the membership, not the store", "[sim][machine]") {
  StoreMachine machine(consensus::ConfState{{1, 2, 3}, {}});
  machine.Apply(ConfChangeEntry(1, consensus::ConfChangeType::kAddLearner, 4));
  CHECK(machine.conf_state().learners == std::vector<consensus::NodeId>{4});
  machine.Apply(ConfChangeEntry(2, consensus::ConfChangeType::kRemoveNode, 2));
  CHECK(machine.conf_state().voters == std::vector<consensus::NodeId>{1, 3});
  CHECK(machine.applied() == 2);
  CHECK(machine.store().last_applied_index() == 0);
}

TEST_CASE("StoreMachine: a snapshot restores store, digest and membership", "[sim][machine]") {
  StoreMachine machine(consensus::ConfState{{1, 2, 3}, {}});
  machine.Apply(CommandEntry(1, 1, store::KvSet{"a", "x", 1}));
  machine.Apply(CommandEntry(2, 2, store::KvSet{"b", "y", 2}));
  machine.Apply(CommandEntry(3, 2, store::KvDelete{"b"}));
  machine.Apply(ConfChangeEntry(4, consensus::ConfChangeType::kAddLearner, 4));
  consensus::Snapshot snapshot;
  snapshot.metadata = {4, 1, machine.conf_state()};
  snapshot.data = machine.Serialize();
  Result<StoreMachine> restored = StoreMachine::Restore(snapshot);
  REQUIRE(restored.ok());
  CHECK(restored->store() == machine.store());
  CHECK(restored->digest() == machine.digest());
  CHECK(restored->StateHash() == machine.StateHash());
  CHECK(restored->conf_state() == machine.conf_state());
  CHECK(restored->applied() == 4);

  snapshot.metadata.index = 5;  // metadata that disagrees with the data
  CHECK_FALSE(StoreMachine::Restore(snapshot).ok());
  snapshot.metadata.index = 4;
  snapshot.metadata.conf_state.learners.clear();  // another membership
  CHECK_FALSE(StoreMachine::Restore(snapshot).ok());
  snapshot.metadata.conf_state = machine.conf_state();
  snapshot.data.pop_back();  // truncated
  CHECK_FALSE(StoreMachine::Restore(snapshot).ok());
}

TEST_CASE("StoreMachine: the digest depends on the history, the state hash does not",
          "[sim][machine]") {
  StoreMachine one(consensus::ConfState{{1}, {}});
  StoreMachine two(consensus::ConfState{{1}, {}});
  one.Apply(CommandEntry(1, 1, store::KvSet{"a", "x", 0}));
  two.Apply(CommandEntry(1, 2, store::KvSet{"a", "x", 0}));
  CHECK(one.StateHash() == two.StateHash());
  CHECK(one.digest() != two.digest());
  one.Apply(CommandEntry(2, 2, store::KvSet{"a", "z", 0}));
  two.Apply(CommandEntry(2, 2, store::KvSet{"a", "x", 0}));  // the same value: no change
  CHECK(one.StateHash() != two.StateHash());
}

TEST_CASE("StoreMachine: commands are described for traces", "[sim][machine]") {
  CHECK(DescribeCommand(store::KvCas{"k1", "c2.40", 40, 12}) ==
        "cas k1 if-modify=12 = c2.40 op=40");
  CHECK(DescribeCommand(store::KvDeleteCas{"k1", 3}) == "delete-cas k1 if-modify=3");
  CHECK(OpIdOf(store::KvSet{"k", "v", 9}) == 9);
  CHECK(OpIdOf(store::KvDelete{"k"}) == 0);
}

}  // namespace
}  // namespace roster::sim
