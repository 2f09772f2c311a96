// KV rules of consul-api.md §1.4 and the indexes of §2.2, driven through Store::Apply
// the way the server will drive them.
#include <string>
#include <vector>

#include "store/command.h"
#include "store/store.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::store {
namespace {

using Keys = std::vector<std::string>;

ApplyResult Set(Store& store, Index index, std::string key, std::string value,
                std::uint64_t flags = 0) {
  return store.Apply(index, Encode(KvSet{std::move(key), std::move(value), flags}));
}
ApplyResult Cas(Store& store, Index index, std::string key, std::string value, Index cas) {
  return store.Apply(index, Encode(KvCas{std::move(key), std::move(value), 0, cas}));
}
ApplyResult Delete(Store& store, Index index, std::string key) {
  return store.Apply(index, Encode(KvDelete{std::move(key)}));
}
ApplyResult DeleteCas(Store& store, Index index, std::string key, Index cas) {
  return store.Apply(index, Encode(KvDeleteCas{std::move(key), cas}));
}
ApplyResult DeleteTree(Store& store, Index index, std::string prefix) {
  return store.Apply(index, Encode(KvDeleteTree{std::move(prefix)}));
}
ApplyResult Reap(Store& store, Index index, Index up_to_index) {
  return store.Apply(index, Encode(KvReapTombstones{up_to_index}));
}

TEST_CASE("set creates an entry stamped with the Raft index") {
  Store store;
  Set(store, 5, "web/a", "1", 42);
  auto entry = store.kv().Get("web/a");
  REQUIRE(entry.has_value());
  CHECK(entry->key == "web/a");
  CHECK(entry->value == "1");
  CHECK(entry->flags == 42);
  CHECK(entry->create_index == 5);
  CHECK(entry->modify_index == 5);
  CHECK(entry->lock_index == 0);
  CHECK(entry->session.empty());
  CHECK_FALSE(store.kv().Get("web/b").has_value());
}

TEST_CASE("set on an existing key keeps CreateIndex and bumps ModifyIndex") {
  Store store;
  Set(store, 5, "k", "1");
  Set(store, 9, "k", "2");
  auto entry = store.kv().Get("k");
  REQUIRE(entry.has_value());
  CHECK(entry->value == "2");
  CHECK(entry->create_index == 5);
  CHECK(entry->modify_index == 9);
  CHECK(store.kv().TableIndex() == 9);
}

TEST_CASE("a set that changes nothing does not bump ModifyIndex or the table index") {
  Store store;
  Set(store, 5, "k", "v", 7);
  ApplyResult same = Set(store, 6, "k", "v", 7);
  CHECK(same.ok);
  CHECK(same.changes.empty());
  CHECK(store.kv().Get("k")->modify_index == 5);
  CHECK(store.kv().TableIndex() == 5);
  CHECK(store.last_applied_index() == 6);

  SECTION("but new flags alone are a change") {
    CHECK_FALSE(Set(store, 7, "k", "v", 8).changes.empty());
    CHECK(store.kv().Get("k")->modify_index == 7);
  }
}

TEST_CASE("a plain set keeps the lock holder and LockIndex") {
  KvTable::Entries entries;
  entries["k"] = DirEntry{"k", "v", 0, 3, 4, 2, "session-1"};
  auto kv = KvTable::FromParts(std::move(entries), {}, 4);
  REQUIRE(kv.ok());
  ChangeSet changes;
  kv->Set(5, "k", "w", 0, changes);
  auto entry = kv->Get("k");
  CHECK(entry->session == "session-1");
  CHECK(entry->lock_index == 2);
  CHECK(entry->modify_index == 5);
}

TEST_CASE("cas with index 0 creates only if the key is absent") {
  Store store;
  ApplyResult created = Cas(store, 5, "k", "1", 0);
  CHECK(created.ok);
  CHECK(store.kv().Get("k")->value == "1");

  ApplyResult refused = Cas(store, 6, "k", "2", 0);
  CHECK_FALSE(refused.ok);
  CHECK(refused.changes.empty());
  CHECK(store.kv().Get("k")->value == "1");
  CHECK(store.kv().TableIndex() == 5);
}

TEST_CASE("cas with index n writes only if n is the entry's ModifyIndex") {
  Store store;
  Set(store, 5, "k", "1");
  CHECK_FALSE(Cas(store, 6, "k", "2", 4).ok);
  CHECK_FALSE(Cas(store, 7, "absent", "2", 5).ok);
  CHECK_FALSE(store.kv().Get("absent").has_value());
  CHECK(store.kv().Get("k")->value == "1");

  ApplyResult matched = Cas(store, 8, "k", "2", 5);
  CHECK(matched.ok);
  CHECK(store.kv().Get("k")->value == "2");
  CHECK(store.kv().Get("k")->modify_index == 8);
}

TEST_CASE("delete removes the key, leaves a tombstone and bumps the table index") {
  Store store;
  Set(store, 5, "k", "1");
  ApplyResult deleted = Delete(store, 6, "k");
  CHECK(deleted.ok);
  CHECK(deleted.changes.keys == std::vector<ChangedKey>{{Table::kKvs, "k"}});
  CHECK_FALSE(store.kv().Get("k").has_value());
  CHECK(store.kv().tombstones().at("k") == 6);
  CHECK(store.kv().TableIndex() == 6);
}

TEST_CASE("delete of an absent key succeeds and changes nothing") {
  Store store;
  Set(store, 5, "k", "1");
  ApplyResult result = Delete(store, 6, "other");
  CHECK(result.ok);
  CHECK(result.changes.empty());
  CHECK(store.kv().tombstones().empty());
  CHECK(store.kv().TableIndex() == 5);
}

TEST_CASE("delete-cas deletes only on a matching ModifyIndex; an absent key succeeds") {
  Store store;
  Set(store, 5, "k", "1");
  CHECK_FALSE(DeleteCas(store, 6, "k", 4).ok);
  CHECK_FALSE(DeleteCas(store, 7, "k", 0).ok);
  CHECK(store.kv().Get("k").has_value());

  ApplyResult matched = DeleteCas(store, 8, "k", 5);
  CHECK(matched.ok);
  CHECK_FALSE(store.kv().Get("k").has_value());
  CHECK(store.kv().tombstones().at("k") == 8);

  ApplyResult absent = DeleteCas(store, 9, "k", 5);
  CHECK(absent.ok);
  CHECK(absent.changes.empty());
}

TEST_CASE("delete-tree deletes exactly the keys under the prefix") {
  Store store;
  Set(store, 1, "web/a", "1");
  Set(store, 2, "web/b/c", "2");
  Set(store, 3, "webx", "3");
  Set(store, 4, "db/a", "4");
  ApplyResult result = DeleteTree(store, 5, "web/");
  CHECK(result.changes.keys ==
        std::vector<ChangedKey>{{Table::kKvs, "web/a"}, {Table::kKvs, "web/b/c"}});
  CHECK(store.kv().Keys("", "") == Keys{"db/a", "webx"});
  // One tombstone for the whole prefix, as Consul does.
  CHECK(store.kv().tombstones() == KvTable::Tombstones{{"web/", 5}});
  CHECK(store.kv().TableIndex() == 5);
}

TEST_CASE("delete-tree with an empty prefix deletes everything without a tombstone") {
  Store store;
  Set(store, 1, "a", "1");
  Set(store, 2, "b", "2");
  ApplyResult result = DeleteTree(store, 3, "");
  CHECK(result.changes.keys.size() == 2);
  CHECK(store.kv().entries().empty());
  CHECK(store.kv().tombstones().empty());
  CHECK(store.kv().TableIndex() == 3);
}

TEST_CASE("delete-tree of a prefix with no keys changes nothing") {
  Store store;
  Set(store, 1, "a", "1");
  ApplyResult result = DeleteTree(store, 2, "web/");
  CHECK(result.ok);
  CHECK(result.changes.empty());
  CHECK(store.kv().tombstones().empty());
  CHECK(store.kv().TableIndex() == 1);
}

TEST_CASE("a single key's index is its ModifyIndex, else the table index") {
  Store store;
  CHECK(store.kv().KeyIndex("k") == 0);  // a fresh table; the HTTP edge clamps to 1
  Set(store, 5, "k", "1");
  Set(store, 9, "other", "1");
  CHECK(store.kv().KeyIndex("k") == 5);
  CHECK(store.kv().KeyIndex("missing") == 9);
  Delete(store, 12, "k");
  CHECK(store.kv().KeyIndex("k") == 12);
}

TEST_CASE("a prefix's index is the highest ModifyIndex under it") {
  Store store;
  Set(store, 3, "web/a", "1");
  Set(store, 7, "web/b", "1");
  Set(store, 9, "db/a", "1");
  CHECK(store.kv().PrefixIndex("web/") == 7);
  CHECK(store.kv().PrefixIndex("web/a") == 3);
  CHECK(store.kv().PrefixIndex("db/") == 9);

  SECTION("the root prefix is the table index") { CHECK(store.kv().PrefixIndex("") == 9); }
  SECTION("a prefix with nothing under it is the table index") {
    CHECK(store.kv().PrefixIndex("none/") == 9);
  }
}

TEST_CASE("tombstones keep a prefix's index from going backwards") {
  Store store;
  Set(store, 3, "web/a", "1");
  Set(store, 7, "web/b", "1");
  Set(store, 8, "db/a", "1");
  Delete(store, 9, "web/b");
  Set(store, 10, "db/b", "1");
  CHECK(store.kv().PrefixIndex("web/") == 9);  // not 3: the delete is a change

  SECTION("also after a delete-tree, for the prefix and for prefixes above it") {
    DeleteTree(store, 11, "web/");
    Set(store, 12, "db/c", "1");
    Set(store, 13, "web/z", "1");
    DeleteTree(store, 14, "db/");
    Set(store, 15, "db/d", "1");
    CHECK(store.kv().PrefixIndex("web") == 13);
    Delete(store, 16, "web/z");
    CHECK(store.kv().PrefixIndex("web") == 16);
    CHECK(store.kv().PrefixIndex("web/") == 16);
    CHECK(store.kv().PrefixIndex("db/") == 15);
  }
}

TEST_CASE("reaping drops tombstones up to the given index, and only those") {
  Store store;
  Set(store, 1, "web/a", "1");
  Set(store, 2, "web/b", "1");
  Set(store, 3, "web/c", "1");
  Delete(store, 4, "web/b");
  Delete(store, 5, "web/c");
  ApplyResult reaped = Reap(store, 6, 4);
  CHECK(reaped.ok);
  CHECK(reaped.changes.empty());  // nothing a reader sees has changed
  CHECK(store.kv().tombstones() == KvTable::Tombstones{{"web/c", 5}});
  CHECK(store.kv().TableIndex() == 5);
  CHECK(store.kv().PrefixIndex("web/") == 5);

  // Reaping the newest tombstone under a prefix that still has entries lets its
  // index go back (consul-api.md §2.1 lists this among the causes).
  Reap(store, 7, 5);
  CHECK(store.kv().tombstones().empty());
  CHECK(store.kv().PrefixIndex("web/") == 1);
  // Prefixes left empty fall back to the table index, which never goes back.
  CHECK(store.kv().PrefixIndex("web/c") == 5);
}

TEST_CASE("list returns the entries under a prefix in key order") {
  Store store;
  Set(store, 1, "web/b", "2");
  Set(store, 2, "web/a", "1");
  Set(store, 3, "webx", "3");
  std::vector<DirEntry> listed = store.kv().List("web/");
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].key == "web/a");
  CHECK(listed[0].value == "1");
  CHECK(listed[1].key == "web/b");
  CHECK(store.kv().List("").size() == 3);
  CHECK(store.kv().List("nothing").empty());
}

TEST_CASE("keys rolls up to the first separator after the prefix and de-duplicates") {
  Store store;
  Index index = 1;
  for (const char* key : {"web/bar", "web/foo", "web/subdir/a", "web/subdir/b/c", "web/subdir",
                          "web/", "webx/y", "db/z"}) {
    Set(store, index++, key, "v");
  }
  CHECK(store.kv().Keys("web/", "/") ==
        Keys{"web/", "web/bar", "web/foo", "web/subdir", "web/subdir/"});
  CHECK(store.kv().Keys("web/", "") ==
        Keys{"web/", "web/bar", "web/foo", "web/subdir", "web/subdir/a", "web/subdir/b/c"});
  CHECK(store.kv().Keys("", "/") == Keys{"db/", "web/", "webx/"});
  CHECK(store.kv().Keys("web/s", "/") == Keys{"web/subdir", "web/subdir/"});

  SECTION("a separator longer than one byte") {
    Set(store, index++, "a--b--c", "v");
    Set(store, index++, "a--d", "v");
    CHECK(store.kv().Keys("a", "--") == Keys{"a--"});
    CHECK(store.kv().Keys("a--", "--") == Keys{"a--b--", "a--d"});
  }
}

}  // namespace
}  // namespace roster::store
