// The event history behind the streaming watch: replaying it reproduces the KV table at
// every index; it is bounded, answers Gone past its horizon, and restarts at a restore.
#include "store/history.h"

#include <map>
#include <string>
#include <vector>

#include "base/random.h"
#include "store/command.h"
#include "store/store.h"
#include "tests/unit/store/fixtures.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::store {
namespace {

using namespace testing;
using Keys = std::vector<std::string>;

Keys EventKeys(const std::vector<KvEvent>& events) {
  Keys keys;
  for (const KvEvent& event : events) {
    keys.push_back((event.type == KvEventType::kSet ? "set " : "delete ") + event.entry.key);
  }
  return keys;
}

// Applies events to a map of entries, as a watch client would.
void Replay(const std::vector<KvEvent>& events, KvTable::Entries& entries) {
  for (const KvEvent& event : events) {
    if (event.type == KvEventType::kSet) {
      entries.insert_or_assign(event.entry.key, event.entry);
    } else {
      entries.erase(event.entry.key);
    }
  }
}

TEST_CASE("replaying the history reproduces the KV table at every index") {
  // What the random logs exercised, so the test cannot pass by exercising nothing.
  int ended_with_keys = 0, commits = 0, rollbacks = 0, refusals = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    DeterministicRandom random(seed);
    Store store;
    std::map<Index, KvTable::Entries> expected;
    for (Index index = 1; index <= 300; ++index) {
      const std::string command = RandomCommand(random, store);
      ApplyResult result = store.Apply(index, command);
      for (const InvalidatedSession& ended : result.invalidated_sessions) {
        ended_with_keys += ended.keys.empty() ? 0 : 1;
      }
      if (command[0] == static_cast<char>(CommandType::kTxn)) {
        (result.ok ? commits : rollbacks) += 1;
      }
      refusals += result.error.ok() ? 0 : 1;
      expected[index] = store.kv().entries();
    }
    const HistoryRead all = store.history().Read(0, "");
    REQUIRE_FALSE(all.gone);
    CHECK(all.through_index == 300);
    KvTable::Entries replayed;
    auto next = all.events.begin();
    for (const auto& [index, entries] : expected) {
      auto end = next;
      while (end != all.events.end() && end->index <= index) ++end;
      Replay(std::vector<KvEvent>(next, end), replayed);
      next = end;
      REQUIRE(replayed == entries);
    }
  }
  CHECK(ended_with_keys > 20);
  CHECK(commits > 20);
  CHECK(rollbacks > 20);
  CHECK(refusals > 20);
}

TEST_CASE("each KV change is one event; locks and releases are sets") {
  Store store = StoreWithSessions();
  Put(store, 4, "k", "v");
  Put(store, 5, "k", "v");  // changes nothing: no event
  Lock(store, 6, "k", "s1");
  Unlock(store, 7, "k", "s1");
  Lock(store, 8, "e/1", "s2");
  Lock(store, 9, "e/2", "s2");
  Lock(store, 10, "k", "s1");
  Destroy(store, 11, "s2");
  Register(store, 12, "n1", {Check("serfHealth", HealthStatus::kCritical)});
  const HistoryRead read = store.history().Read(3, "");
  CHECK(EventKeys(read.events) == Keys{"set k", "set k", "set k", "set e/1", "set e/2", "set k",
                                       "delete e/1", "delete e/2", "set k"});
  CHECK(read.events[1].entry.session == "s1");
  CHECK(read.events[2].entry.session.empty());
  CHECK(read.events[6].index == 11);
  CHECK(read.events[7].index == 11);  // one index, one event per deleted key
  CHECK(read.events[8].index == 12);  // released by the catalog's invalidation
  CHECK(read.events[8].entry.session.empty());
  CHECK(read.through_index == 12);
}

TEST_CASE("a transaction or delete-tree gives several events at one index, net per key") {
  Store store;
  Put(store, 1, "d/1");
  Put(store, 2, "d/2");
  store.Apply(3, Encode(KvDeleteTree{"d/"}));
  store.Apply(4, Encode(Txn{{Op(TxnVerb::kSet, "t", "first"), Op(TxnVerb::kSet, "u", "x"),
                             Op(TxnVerb::kSet, "t", "second")}}));
  store.Apply(5, Encode(Txn{{Op(TxnVerb::kSet, "u", "y"), Op(TxnVerb::kGet, "nope")}}));
  const HistoryRead read = store.history().Read(2, "");
  CHECK(EventKeys(read.events) == Keys{"delete d/1", "delete d/2", "set t", "set u"});
  CHECK(read.events[2].entry.value == "second");
  CHECK(read.events[2].index == 4);
  CHECK(read.through_index == 5);  // the rolled-back transaction left no event
}

TEST_CASE("a read returns only events under the prefix, after the index") {
  Store store;
  Put(store, 1, "web/a");
  Put(store, 2, "db/a");
  Put(store, 3, "web/b");
  Put(store, 4, "web/a", "again");
  CHECK(EventKeys(store.history().Read(0, "web/").events) ==
        Keys{"set web/a", "set web/b", "set web/a"});
  CHECK(EventKeys(store.history().Read(3, "web/").events) == Keys{"set web/a"});
  CHECK(store.history().Read(4, "").events.empty());
  CHECK(store.history().Read(4, "").through_index == 4);
  CHECK(store.history().Read(9, "").through_index == 9);  // a cursor never moves back
}

TEST_CASE("a bounded read ends at an index boundary and resumes without gaps") {
  Store store;
  Put(store, 1, "a");
  Put(store, 2, "t/1");
  Put(store, 3, "t/2");
  Put(store, 4, "t/3");
  store.Apply(5, Encode(KvDeleteTree{"t/"}));
  Put(store, 6, "b");
  const HistoryRead first = store.history().Read(0, "", 2);
  CHECK(EventKeys(first.events) == Keys{"set a", "set t/1"});
  CHECK(first.through_index == 2);
  const HistoryRead second = store.history().Read(first.through_index, "", 2);
  CHECK(EventKeys(second.events) == Keys{"set t/2", "set t/3"});
  const HistoryRead third = store.history().Read(second.through_index, "", 2);
  // Index 5 has three events: returned whole even past the bound.
  CHECK(EventKeys(third.events) == Keys{"delete t/1", "delete t/2", "delete t/3"});
  CHECK(third.through_index == 5);
  const HistoryRead last = store.history().Read(third.through_index, "", 2);
  CHECK(EventKeys(last.events) == Keys{"set b"});
  CHECK(last.through_index == 6);
}

TEST_CASE("past its budget the history drops whole indexes and answers Gone before them") {
  Store store(StoreOptions{HistoryLimits{3, 1 << 20}});
  Put(store, 1, "a");
  Put(store, 2, "b");
  Put(store, 3, "t/1");
  Put(store, 4, "t/2");
  CHECK(store.history().size() == 3);
  CHECK(store.history().compacted_index() == 1);

  const HistoryRead gone = store.history().Read(0, "");
  CHECK(gone.gone);
  CHECK(gone.oldest_index == 2);
  CHECK(gone.events.empty());
  CHECK_FALSE(store.history().Read(1, "").gone);
  CHECK(EventKeys(store.history().Read(1, "").events) == Keys{"set b", "set t/1", "set t/2"});

  SECTION("an index with more events than the budget goes whole") {
    store.Apply(5, Encode(KvDeleteTree{""}));  // four deletes at index 5
    CHECK(store.history().size() == 0);
    CHECK(store.history().compacted_index() == 5);
    CHECK(store.history().Read(4, "").gone);
    CHECK_FALSE(store.history().Read(5, "").gone);
  }
}

TEST_CASE("the byte budget bounds the history too") {
  Store store(StoreOptions{HistoryLimits{1000, 3 * sizeof(KvEvent) + 3000}});
  for (Index index = 1; index <= 10; ++index)
    Put(store, index, "k", std::string(1000, 'a' + index));
  CHECK(store.history().size() <= 3);
  CHECK(store.history().bytes() <= 3 * sizeof(KvEvent) + 3000);
  CHECK(store.history().Read(6, "").gone);
  CHECK(store.history().Read(9, "").events.size() == 1);
}

TEST_CASE("after a restore the history starts empty at the snapshot's index") {
  Store original;
  for (Index index = 1; index <= 5; ++index) Put(original, index, "k" + std::to_string(index));
  Store restored;
  Put(restored, 1, "other");
  REQUIRE(restored.Restore(original.Snapshot()).ok());
  CHECK(restored.history().size() == 0);
  CHECK(restored.history().compacted_index() == 5);
  CHECK(restored.history().Read(4, "").gone);
  CHECK(restored.history().Read(4, "").oldest_index == 6);
  CHECK(restored.history().Read(5, "").events.empty());
  Put(restored, 6, "k6");
  CHECK(EventKeys(restored.history().Read(5, "").events) == Keys{"set k6"});
  // The history is local: it does not make otherwise equal stores differ.
  Put(original, 6, "k6");
  CHECK(restored == original);
}

}  // namespace
}  // namespace roster::store
