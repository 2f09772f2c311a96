// KV locks (consul-api.md §1.4 tail, §3.4; Consul's kvsLockTxn/kvsUnlockTxn) and
// Roster's sequential keys, driven through Store::Apply.
#include <string>
#include <vector>

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

TEST_CASE("acquire of an absent key creates it held, LockIndex 1") {
  Store store = StoreWithSessions();
  ApplyResult result = Lock(store, 4, "lead", "s1", "me", 7);
  CHECK(result.ok);
  CHECK(result.error.ok());
  CHECK(result.changes.keys == std::vector<ChangedKey>{{Table::kKvs, "lead"}});
  const DirEntry entry = *store.kv().Get("lead");
  CHECK(entry.session == "s1");
  CHECK(entry.lock_index == 1);
  CHECK(entry.value == "me");
  CHECK(entry.flags == 7);
  CHECK(entry.create_index == 4);
  CHECK(entry.modify_index == 4);
  CHECK(store.kv().KeysHeldBy("s1") == std::vector<std::string>{"lead"});
}

TEST_CASE("LockIndex increments only when a new holder acquires") {
  Store store = StoreWithSessions();
  Put(store, 4, "lead", "plain");
  CHECK(store.kv().Get("lead")->lock_index == 0);
  REQUIRE(Lock(store, 5, "lead", "s1").ok);
  CHECK(store.kv().Get("lead")->lock_index == 1);

  SECTION("a re-acquire by the holder keeps LockIndex and writes the new value") {
    REQUIRE(Lock(store, 6, "lead", "s1", "again").ok);
    CHECK(store.kv().Get("lead")->lock_index == 1);
    CHECK(store.kv().Get("lead")->value == "again");
    CHECK(store.kv().Get("lead")->modify_index == 6);
  }
  SECTION("a re-acquire that writes nothing new changes nothing") {
    ApplyResult same = Lock(store, 6, "lead", "s1");
    CHECK(same.ok);
    CHECK(same.changes.empty());
    CHECK(store.kv().Get("lead")->modify_index == 5);
  }
  SECTION("release then acquire by another session: a new holder, LockIndex 2") {
    REQUIRE(Unlock(store, 6, "lead", "s1").ok);
    REQUIRE(Lock(store, 7, "lead", "s2").ok);
    CHECK(store.kv().Get("lead")->lock_index == 2);
    CHECK(store.kv().Get("lead")->session == "s2");
  }
}

TEST_CASE("acquire of a key held by another session is false and changes nothing") {
  Store store = StoreWithSessions();
  REQUIRE(Lock(store, 4, "lead", "s1", "first").ok);
  ApplyResult refused = Lock(store, 5, "lead", "s2", "second");
  CHECK_FALSE(refused.ok);
  CHECK(refused.error.ok());  // a normal result (HTTP false), not an error
  CHECK(refused.changes.empty());
  CHECK(store.kv().Get("lead")->value == "first");
  CHECK(store.kv().Get("lead")->session == "s1");
  CHECK(store.kv().TableIndex() == 4);
}

TEST_CASE("acquire with an unknown or empty session is an error result") {
  Store store = StoreWithSessions();
  ApplyResult unknown = Lock(store, 4, "lead", "nope");
  CHECK_FALSE(unknown.ok);
  CHECK(unknown.error.message() == "invalid session \"nope\"");
  CHECK(unknown.changes.empty());
  CHECK_FALSE(store.kv().Get("lead").has_value());

  ApplyResult empty = Lock(store, 5, "lead", "");
  CHECK_FALSE(empty.ok);
  CHECK(empty.error.message() == "missing session");
  CHECK(store.last_applied_index() == 5);
}

TEST_CASE("release by the holder clears Session, bumps ModifyIndex, keeps LockIndex") {
  Store store = StoreWithSessions();
  REQUIRE(Lock(store, 4, "lead", "s1", "held", 1).ok);
  ApplyResult released = Unlock(store, 5, "lead", "s1", "free", 2);
  CHECK(released.ok);
  const DirEntry entry = *store.kv().Get("lead");
  CHECK(entry.session.empty());
  CHECK(entry.lock_index == 1);
  CHECK(entry.modify_index == 5);
  CHECK(entry.value == "free");
  CHECK(entry.flags == 2);
  CHECK(store.kv().KeysHeldBy("s1").empty());
}

TEST_CASE("release by a non-holder is false and changes nothing") {
  Store store = StoreWithSessions();
  REQUIRE(Lock(store, 4, "lead", "s1").ok);
  Index index = 4;
  for (const char* session : {"s2", "nope", ""}) {
    ApplyResult refused = Unlock(store, ++index, "lead", session, "x");
    CHECK_FALSE(refused.ok);
    CHECK(refused.error.ok());
    CHECK(refused.changes.empty());
  }
  CHECK_FALSE(Unlock(store, ++index, "absent", "s1").ok);
  Put(store, ++index, "free");
  CHECK_FALSE(Unlock(store, ++index, "free", "s1").ok);
  CHECK(store.kv().Get("lead")->session == "s1");
  CHECK(store.kv().Get("lead")->modify_index == 4);
}

TEST_CASE("locks are advisory: plain writes pass and a plain set keeps the holder") {
  Store store = StoreWithSessions();
  REQUIRE(Lock(store, 4, "lead", "s1", "held").ok);
  CHECK(Put(store, 5, "lead", "overwritten").ok);
  CHECK(store.kv().Get("lead")->session == "s1");
  CHECK(store.kv().Get("lead")->lock_index == 1);
  CHECK(store.kv().Get("lead")->value == "overwritten");

  SECTION("a plain delete of a held key drops it from the session's keys") {
    store.Apply(6, Encode(KvDelete{"lead"}));
    CHECK(store.kv().KeysHeldBy("s1").empty());
    CHECK(Destroy(store, 7, "s1").invalidated_sessions.at(0).keys.empty());
  }
}

TEST_CASE("a sequential key is the prefix plus the index, zero-padded to 20 digits") {
  Store store;
  ApplyResult result = store.Apply(42, Encode(KvCreateSequential{"queue/job-", "payload", 3, ""}));
  CHECK(result.ok);
  REQUIRE(result.entry.has_value());
  CHECK(result.entry->key == "queue/job-00000000000000000042");
  CHECK(result.entry->value == "payload");
  CHECK(result.entry->flags == 3);
  CHECK(result.entry->create_index == 42);
  CHECK(result.entry->session.empty());
  CHECK(store.kv().Get("queue/job-00000000000000000042") == *result.entry);
  CHECK(result.changes.keys == std::vector<ChangedKey>{{Table::kKvs, result.entry->key}});

  SECTION("the largest index still fits") {
    Store big;
    ApplyResult last = big.Apply(~Index{0}, Encode(KvCreateSequential{"", "", 0, ""}));
    CHECK(last.entry->key == "18446744073709551615");
  }
}

TEST_CASE("sequential keys are unique and sort in creation order") {
  Store store;
  std::vector<std::string> created;
  for (Index index : {7, 8, 9, 10, 99, 100, 1000}) {
    created.push_back(store.Apply(index, Encode(KvCreateSequential{"q/", "", 0, ""})).entry->key);
  }
  CHECK(store.kv().Keys("q/", "") == created);  // distinct and already in key order
}

TEST_CASE("a sequential key with a session is held by it and dies with a delete session") {
  Store store = StoreWithSessions();
  ApplyResult result = store.Apply(4, Encode(KvCreateSequential{"members/", "me", 0, "s2"}));
  REQUIRE(result.ok);
  CHECK(result.entry->session == "s2");
  CHECK(result.entry->lock_index == 1);
  ApplyResult destroyed = Destroy(store, 5, "s2");
  CHECK(destroyed.invalidated_sessions.at(0).keys ==
        std::vector<std::string>{"members/00000000000000000004"});
  CHECK(store.kv().List("members/").empty());
}

TEST_CASE("a sequential key with an unknown session is refused") {
  Store store = StoreWithSessions();
  ApplyResult result = store.Apply(4, Encode(KvCreateSequential{"q/", "", 0, "nope"}));
  CHECK_FALSE(result.ok);
  CHECK(result.error.message() == "invalid session \"nope\"");
  CHECK_FALSE(result.entry.has_value());
  CHECK(store.kv().List("q/").empty());
}

TEST_CASE("a sequential key never overwrites a key written by hand") {
  Store store;
  Put(store, 1, "q/00000000000000000002", "by hand");
  ApplyResult result = store.Apply(2, Encode(KvCreateSequential{"q/", "auto", 0, ""}));
  CHECK_FALSE(result.ok);
  CHECK(result.error.code() == StatusCode::kFailedPrecondition);
  CHECK(store.kv().Get("q/00000000000000000002")->value == "by hand");
}

}  // namespace
}  // namespace roster::store
