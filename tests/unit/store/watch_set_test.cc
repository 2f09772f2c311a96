// WatchSet wakes exactly the watchers of what a write changed, and no others.
#include "store/watch_set.h"

#include <string>
#include <vector>

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::store {
namespace {

using Ids = std::vector<WatchId>;

ChangeSet KvChanged(std::vector<std::string> keys) {
  ChangeSet changes;
  for (std::string& key : keys) changes.AddKey(Table::kKvs, std::move(key));
  return changes;
}

TEST_CASE("a key watcher fires for its key only") {
  WatchSet watches;
  WatchId id = watches.Add(WatchKey::Key(Table::kKvs, "web/a"));
  CHECK(watches.Fired(KvChanged({"web/a"})) == Ids{id});
  CHECK(watches.Fired(KvChanged({"web/ab"})).empty());
  CHECK(watches.Fired(KvChanged({"web/"})).empty());
  CHECK(watches.Fired(KvChanged({"web/b"})).empty());
}

TEST_CASE("a prefix watcher fires for every key under its prefix only") {
  WatchSet watches;
  WatchId id = watches.Add(WatchKey::Prefix(Table::kKvs, "web/"));
  CHECK(watches.Fired(KvChanged({"web/"})) == Ids{id});
  CHECK(watches.Fired(KvChanged({"web/a"})) == Ids{id});
  CHECK(watches.Fired(KvChanged({"web/a/b/c"})) == Ids{id});
  CHECK(watches.Fired(KvChanged({"web"})).empty());
  CHECK(watches.Fired(KvChanged({"webx"})).empty());
  CHECK(watches.Fired(KvChanged({"db/a"})).empty());
}

TEST_CASE("the empty prefix watches every key of its table") {
  WatchSet watches;
  WatchId id = watches.Add(WatchKey::Prefix(Table::kKvs, ""));
  CHECK(watches.Fired(KvChanged({"anything"})) == Ids{id});
  ChangeSet other_table;
  other_table.AddKey(Table::kServices, "web");
  CHECK(watches.Fired(other_table).empty());
}

TEST_CASE("a table watcher fires for any change in its table only") {
  WatchSet watches;
  WatchId kvs = watches.Add(WatchKey::WholeTable(Table::kKvs));
  WatchId sessions = watches.Add(WatchKey::WholeTable(Table::kSessions));
  CHECK(watches.Fired(KvChanged({"x"})) == Ids{kvs});
  ChangeSet session_changed;
  session_changed.AddTable(Table::kSessions);
  CHECK(watches.Fired(session_changed) == Ids{sessions});
}

TEST_CASE("keys are per table: the same name in another table does not fire") {
  WatchSet watches;
  WatchId service = watches.Add(WatchKey::Key(Table::kServices, "web"));
  WatchId kv = watches.Add(WatchKey::Key(Table::kKvs, "web"));
  ChangeSet service_changed;
  service_changed.AddKey(Table::kServices, "web");
  CHECK(watches.Fired(service_changed) == Ids{service});
  CHECK(watches.Fired(KvChanged({"web"})) == Ids{kv});
}

TEST_CASE("a write touching many keys fires each matching watcher once, sorted") {
  WatchSet watches;
  WatchId root = watches.Add(WatchKey::Prefix(Table::kKvs, ""));
  WatchId web = watches.Add(WatchKey::Prefix(Table::kKvs, "web/"));
  WatchId web_a = watches.Add(WatchKey::Key(Table::kKvs, "web/a"));
  WatchId web_a_too = watches.Add(WatchKey::Key(Table::kKvs, "web/a"));
  WatchId db = watches.Add(WatchKey::Prefix(Table::kKvs, "db/"));
  WatchId table = watches.Add(WatchKey::WholeTable(Table::kKvs));
  watches.Add(WatchKey::Key(Table::kKvs, "web/c"));
  watches.Add(WatchKey::Prefix(Table::kKvs, "web/a/"));
  watches.Add(WatchKey::Prefix(Table::kKvs, "web/b/x"));

  CHECK(watches.Fired(KvChanged({"web/b", "web/a", "web/b"})) ==
        Ids{root, web, web_a, web_a_too, table});
  CHECK(watches.Fired(KvChanged({"db/x"})) == Ids{root, db, table});
}

TEST_CASE("nothing changed fires nothing") {
  WatchSet watches;
  watches.Add(WatchKey::WholeTable(Table::kKvs));
  watches.Add(WatchKey::Prefix(Table::kKvs, ""));
  CHECK(watches.Fired(ChangeSet{}).empty());
}

TEST_CASE("a removed watcher no longer fires; the others on its key still do") {
  WatchSet watches;
  WatchId first = watches.Add(WatchKey::Prefix(Table::kKvs, "web/"));
  WatchId second = watches.Add(WatchKey::Prefix(Table::kKvs, "web/"));
  WatchId longer = watches.Add(WatchKey::Prefix(Table::kKvs, "web/a"));
  WatchId key = watches.Add(WatchKey::Key(Table::kKvs, "web/a"));
  WatchId table = watches.Add(WatchKey::WholeTable(Table::kKvs));
  CHECK(watches.size() == 5);

  CHECK(watches.Remove(first));
  CHECK(watches.Remove(key));
  CHECK(watches.Remove(table));
  CHECK(watches.Fired(KvChanged({"web/a"})) == Ids{second, longer});
  CHECK(watches.Remove(longer));
  CHECK(watches.Fired(KvChanged({"web/a"})) == Ids{second});
  CHECK(watches.Remove(second));
  CHECK(watches.Fired(KvChanged({"web/a"})).empty());
  CHECK(watches.size() == 0);

  SECTION("removing twice, or an id never given out, is refused") {
    CHECK_FALSE(watches.Remove(first));
    CHECK_FALSE(watches.Remove(12345));
  }
  SECTION("a pruned prefix can be watched again") {
    WatchId again = watches.Add(WatchKey::Prefix(Table::kKvs, "web/a"));
    CHECK(again > table);  // ids are never reused
    CHECK(watches.Fired(KvChanged({"web/ab"})) == Ids{again});
  }
}

TEST_CASE("a prefix longer than the changed key does not fire") {
  WatchSet watches;
  watches.Add(WatchKey::Prefix(Table::kKvs, "web/foo/"));
  CHECK(watches.Fired(KvChanged({"web/foo"})).empty());
  CHECK(watches.Fired(KvChanged({"web/"})).empty());
}

}  // namespace
}  // namespace roster::store
