// Store::Apply: log order, no-ops, results and change sets, determinism.
#include "store/store.h"

#include <string>
#include <vector>

#include "base/random.h"
#include "store/command.h"
#include "store/watch_set.h"
#include "tests/unit/store/fixtures.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::store {
namespace {

TEST_CASE("apply records the last applied index, whatever the command did") {
  Store store;
  CHECK(store.last_applied_index() == 0);
  store.Apply(3, Encode(KvSet{"k", "v", 0}));
  CHECK(store.last_applied_index() == 3);
  store.Apply(7, Encode(KvCas{"k", "w", 0, 99}));  // refused
  CHECK(store.last_applied_index() == 7);
  CHECK(store.kv().TableIndex() == 3);
}

TEST_CASE("an empty entry and an explicit no-op apply as nothing") {
  Store store;
  store.Apply(1, Encode(KvSet{"k", "v", 0}));
  const KvTable before = store.kv();
  for (const std::string& command : {std::string(), Encode(Noop{})}) {
    ApplyResult result = store.Apply(store.last_applied_index() + 1, command);
    CHECK(result.ok);
    CHECK(result.changes.empty());
  }
  CHECK(store.kv() == before);
  CHECK(store.last_applied_index() == 3);
}

TEST_CASE("a write's change set names its index, table and key") {
  Store store;
  ApplyResult result = store.Apply(4, Encode(KvSet{"web/a", "v", 0}));
  CHECK(result.ok);
  CHECK(result.changes.index == 4);
  CHECK(result.changes.tables == std::vector<Table>{Table::kKvs});
  CHECK(result.changes.keys == std::vector<ChangedKey>{{Table::kKvs, "web/a"}});
  CHECK(TableName(result.changes.tables[0]) == "kvs");
}

TEST_CASE("a CAS mismatch is a normal result that changes nothing") {
  Store store;
  store.Apply(1, Encode(KvSet{"k", "v", 0}));
  ApplyResult result = store.Apply(2, Encode(KvDeleteCas{"k", 5}));
  CHECK_FALSE(result.ok);
  CHECK(result.changes.empty());
  CHECK(store.kv().Get("k").has_value());
}

TEST_CASE("a delete-tree wakes the watchers of every key it deleted") {
  Store store;
  WatchSet watches;
  store.Apply(1, Encode(KvSet{"web/a", "v", 0}));
  store.Apply(2, Encode(KvSet{"web/b", "v", 0}));
  store.Apply(3, Encode(KvSet{"db/a", "v", 0}));
  WatchId a = watches.Add(WatchKey::Key(Table::kKvs, "web/a"));
  WatchId b = watches.Add(WatchKey::Key(Table::kKvs, "web/b"));
  watches.Add(WatchKey::Key(Table::kKvs, "db/a"));
  watches.Add(WatchKey::Key(Table::kKvs, "web/never"));
  CHECK(watches.Fired(store.Apply(4, Encode(KvDeleteTree{"web/"})).changes) ==
        std::vector<WatchId>{a, b});
}

TEST_CASE("a set that changes nothing wakes nobody") {
  Store store;
  WatchSet watches;
  watches.Add(WatchKey::WholeTable(Table::kKvs));
  store.Apply(1, Encode(KvSet{"k", "v", 0}));
  CHECK(watches.Fired(store.Apply(2, Encode(KvSet{"k", "v", 0})).changes).empty());
}

TEST_CASE("replicas applying the same log hold the same state") {
  const std::vector<std::string> log = {
      "",
      Encode(KvSet{"a", "1", 0}),
      Encode(KvCas{"a", "2", 0, 2}),
      Encode(KvCas{"b", "x", 0, 0}),
      Encode(KvDelete{"a"}),
      Encode(KvDeleteCas{"b", 1}),
      Encode(KvDeleteTree{""}),
      Encode(KvReapTombstones{3}),
  };
  Store first;
  Store second;
  for (std::size_t i = 0; i < log.size(); ++i) {
    ApplyResult one = first.Apply(i + 1, log[i]);
    ApplyResult two = second.Apply(i + 1, log[i]);
    CHECK(one.ok == two.ok);
    CHECK(one.changes == two.changes);
  }
  CHECK(first == second);
  CHECK(first.Snapshot() == second.Snapshot());
}

TEST_CASE("replicas applying the same random log return the same results and state") {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    INFO("seed " << seed);
    DeterministicRandom random(seed);
    Store first;
    Store second;
    for (Index index = 1; index <= 300; ++index) {
      const std::string command = testing::RandomCommand(random, first);
      ApplyResult one = first.Apply(index, command);
      ApplyResult two = second.Apply(index, command);
      REQUIRE(one.ok == two.ok);
      REQUIRE(one.error == two.error);
      REQUIRE(one.changes == two.changes);
      REQUIRE(one.invalidated_sessions == two.invalidated_sessions);
      REQUIRE(one.entry == two.entry);
      REQUIRE(one.txn == two.txn);
    }
    CHECK(first == second);
    CHECK(first.Snapshot() == second.Snapshot());
    CHECK(first.history().Read(0, "").events == second.history().Read(0, "").events);
  }
}

TEST_CASE("a refused command changes nothing and wakes nobody") {
  Store store = testing::StoreWithSessions();
  const Store before = store;
  for (const std::string& command :
       {Encode(KvLock{"k", "v", 0, "ghost"}), Encode(KvCreateSequential{"q/", "", 0, "ghost"}),
        Encode(SessionCreate{testing::NewSession("s9", "ghost-node")})}) {
    ApplyResult result = store.Apply(store.last_applied_index() + 1, command);
    CHECK_FALSE(result.ok);
    CHECK_FALSE(result.error.ok());
    CHECK(result.changes.empty());
  }
  CHECK(store == [&] {
    Store expected = before;
    expected.Apply(6, "");
    return expected;
  }());
}

}  // namespace
}  // namespace roster::store
