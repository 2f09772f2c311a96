// Transactions (consul-api.md §1.5; Consul's state/txn.go): all ops at one index or
// none, per-op results, Consul's error texts, and the read-only path.
#include "store/txn.h"

#include <string>
#include <string_view>
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
using V = TxnVerb;

ApplyResult ApplyTxn(Store& store, Index index, std::vector<TxnKvOp> ops) {
  return store.Apply(index, Encode(Txn{std::move(ops)}));
}

std::vector<std::string> ResultKeys(const TxnOutcome& outcome) {
  std::vector<std::string> keys;
  for (const TxnResult& result : outcome.results) keys.push_back(result.kv.key);
  return keys;
}

// Keys a, b (both at index 4, 5) and dir/1, dir/2 under a tombstone-free prefix; s1 and
// s2 from StoreWithSessions; s1 holds "held".
Store TxnStore() {
  Store store = StoreWithSessions();
  Put(store, 4, "a", "1");
  Put(store, 5, "b", "2");
  Put(store, 6, "dir/1", "x");
  Put(store, 7, "dir/2", "y");
  Lock(store, 8, "held", "s1", "h");
  return store;
}

TEST_CASE("a transaction applies every op at one index, each seeing the ones before") {
  Store store = TxnStore();
  ApplyResult result =
      ApplyTxn(store, 10,
               {Op(V::kSet, "a", "new"), Op(V::kCheckIndex, "a", "", 10),
                Op(V::kCas, "fresh", "f", 0), Op(V::kGet, "fresh"), Op(V::kDelete, "b"),
                Op(V::kCheckNotExists, "b"), Op(V::kDeleteTree, "dir/"),
                Op(V::kLock, "l", "lv", 0, "s2"), Op(V::kUnlock, "held", "free", 0, "s1")});
  REQUIRE(result.ok);
  REQUIRE(result.txn.ok());
  CHECK(store.kv().Get("a")->value == "new");
  CHECK(store.kv().Get("a")->modify_index == 10);
  CHECK(store.kv().Get("fresh")->create_index == 10);
  CHECK_FALSE(store.kv().Get("b").has_value());
  CHECK(store.kv().List("dir/").empty());
  CHECK(store.kv().Get("l")->session == "s2");
  CHECK(store.kv().Get("held")->session.empty());
  CHECK(store.kv().TableIndex() == 10);
  CHECK(result.changes.index == 10);
  CHECK(result.changes.keys.size() == 7);  // a, fresh, b, dir/1, dir/2, l, held
}

TEST_CASE("results: an entry per write, check and get; values only for gets") {
  Store store = TxnStore();
  ApplyResult result =
      ApplyTxn(store, 10,
               {Op(V::kSet, "a", "new"), Op(V::kGet, "b"), Op(V::kGetTree, "dir/"),
                Op(V::kGetOrEmpty, "none"), Op(V::kCheckSession, "held", "", 0, "s1"),
                Op(V::kDelete, "a"), Op(V::kDeleteCas, "b", "", 5), Op(V::kCheckNotExists, "a")});
  REQUIRE(result.ok);
  const std::vector<TxnResult>& results = result.txn.results;
  CHECK(ResultKeys(result.txn) ==
        std::vector<std::string>{"a", "b", "dir/1", "dir/2", "none", "held"});
  CHECK(results[0].kv.value.empty());  // a set's result carries no value
  CHECK(results[0].kv.modify_index == 10);
  CHECK(results[1].kv.value == "2");
  CHECK(results[2].kv.value == "x");
  CHECK(results[4].kv == DirEntry{"none", "", 0, 0, 0, 0, ""});
  CHECK(results[5].kv.session == "s1");
  CHECK(results[5].kv.value.empty());
}

TEST_CASE("a failing op rolls every op back: state, indexes and change set untouched") {
  Store store = TxnStore();
  const Store before = store;
  const std::size_t history_before = store.history().size();
  ApplyResult result =
      ApplyTxn(store, 10,
               {Op(V::kSet, "a", "new"), Op(V::kSet, "brand-new", "n"), Op(V::kDeleteTree, "dir/"),
                Op(V::kLock, "l", "", 0, "s2"), Op(V::kUnlock, "held", "", 0, "s1"),
                Op(V::kDelete, "b"), Op(V::kCas, "a", "z", 4),  // stale: a is now at 10
                Op(V::kSet, "after", "x")});
  CHECK_FALSE(result.ok);
  CHECK(result.error.ok());  // a rollback is a normal result (HTTP 409)
  CHECK(result.changes.empty());
  CHECK(result.txn.results.empty());
  CHECK(result.txn.errors == std::vector<TxnError>{{6, "failed to set key \"a\", index is stale"}});
  CHECK(store.kv() == before.kv());
  CHECK(store.kv().TableIndex() == 8);
  CHECK(store.kv().PrefixIndex("dir/") == 7);
  CHECK(store.kv().tombstones().empty());
  CHECK(store.kv().KeysHeldBy("s1") == std::vector<std::string>{"held"});
  CHECK(store.kv().KeysHeldBy("s2").empty());
  CHECK(store.sessions() == before.sessions());
  CHECK(store.history().size() == history_before);
  CHECK(store.last_applied_index() == 10);

  SECTION("and the store still applies later commands exactly like one that never saw it") {
    Store clean = TxnStore();
    clean.Apply(10, "");
    for (Store* s : {&store, &clean}) {
      Destroy(*s, 11, "s1");
      Put(*s, 12, "dir/3", "z");
    }
    CHECK(store == clean);
    CHECK(store.Snapshot() == clean.Snapshot());
  }
}

TEST_CASE("a rollback restores tombstones that the transaction overwrote or added") {
  Store store = TxnStore();
  store.Apply(9, Encode(KvDelete{"dir/1"}));  // tombstone dir/1 @ 9
  const KvTable before = store.kv();
  ApplyResult result =
      ApplyTxn(store, 10,
               {Op(V::kSet, "dir/1", "back"), Op(V::kDeleteTree, "dir/"), Op(V::kGet, "missing")});
  CHECK_FALSE(result.ok);
  CHECK(store.kv() == before);
  CHECK(store.kv().tombstones() == KvTable::Tombstones{{"dir/1", 9}});
}

TEST_CASE("every failed op is reported, with Consul's texts") {
  Store store = TxnStore();
  ApplyResult result = ApplyTxn(
      store, 10,
      {Op(V::kCas, "a", "", 99), Op(V::kDeleteCas, "a", "", 99), Op(V::kLock, "held", "", 0, "s2"),
       Op(V::kLock, "k", "", 0, "nope"), Op(V::kLock, "k", "", 0, ""),
       Op(V::kUnlock, "held", "", 0, "s2"), Op(V::kUnlock, "held", "", 0, ""), Op(V::kGet, "nope"),
       Op(V::kCheckIndex, "nope", "", 1), Op(V::kCheckIndex, "a", "", 1),
       Op(V::kCheckSession, "nope", "", 0, "s1"), Op(V::kCheckSession, "held", "", 0, "s2"),
       Op(V::kCheckNotExists, "a"), Op(V::kSet, "fine", "ok")});
  CHECK(result.txn.errors ==
        std::vector<TxnError>{
            {0, "failed to set key \"a\", index is stale"},
            {1, "failed to delete key \"a\", index is stale"},
            {2, "failed to lock key \"held\", lock is already held"},
            {3, "invalid session \"nope\""},
            {4, "missing session"},
            {5, "failed to unlock key \"held\", lock isn't held, or is held by another session"},
            {6, "missing session"},
            {7, "key \"nope\" doesn't exist"},
            {8, "failed to check index, key \"nope\" doesn't exist"},
            {9, "failed index check for key \"a\", current modify index 4 != 1"},
            {10, "failed to check session, key \"nope\" doesn't exist"},
            {11, "failed session check for key \"held\", current session \"s1\" != \"s2\""},
            {12, "key \"a\" exists"},
        });
  CHECK_FALSE(store.kv().Get("fine").has_value());
}

TEST_CASE("keys in error texts are quoted like Go's %q") {
  Store store;
  ApplyResult result = ApplyTxn(store, 1, {Op(V::kGet, std::string("a\"b\\c\n\x01", 7))});
  CHECK(result.txn.errors.at(0).what == "key \"a\\\"b\\\\c\\n\\x01\" doesn't exist");
}

TEST_CASE("lock in a transaction follows the lock rules") {
  Store store = TxnStore();
  REQUIRE(ApplyTxn(store, 10, {Op(V::kLock, "held", "again", 0, "s1")}).ok);
  CHECK(store.kv().Get("held")->lock_index == 1);
  REQUIRE(ApplyTxn(store, 11,
                   {Op(V::kUnlock, "held", "", 0, "s1"), Op(V::kLock, "held", "mine", 0, "s2")})
              .ok);
  CHECK(store.kv().Get("held")->lock_index == 2);
  CHECK(store.kv().Get("held")->session == "s2");
  CHECK(store.kv().KeysHeldBy("s2") == std::vector<std::string>{"held"});
}

TEST_CASE("the lock-delay pre-check names every delayed lock op, in Consul's words") {
  const auto delayed = [](std::string_view key) { return key.starts_with("late"); };
  // Only `lock` is delayed: unlock, set, cas and check-session on the same key pass.
  const Txn txn{{Op(V::kSet, "late/a", "x"), Op(V::kLock, "late/b", "v", 0, "s1"),
                 Op(V::kLock, "free", "v", 0, "s1"), Op(V::kUnlock, "late/c", "", 0, "s1"),
                 Op(V::kLock, "late\"d", "v", 0, "s2")}};
  const TxnOutcome outcome = CheckLockDelays(txn, delayed);
  CHECK(outcome.results.empty());
  CHECK(outcome.errors == std::vector<TxnError>{
                              {1, "failed to lock key \"late/b\" due to lock delay"},
                              {4, "failed to lock key \"late\\\"d\" due to lock delay"},
                          });
  CHECK(CheckLockDelays(txn, [](std::string_view) { return false; }).ok());
  CHECK(CheckLockDelays(Txn{}, delayed).ok());
}

TEST_CASE("an empty transaction commits and changes nothing") {
  Store store = TxnStore();
  ApplyResult result = ApplyTxn(store, 10, {});
  CHECK(result.ok);
  CHECK(result.changes.empty());
  CHECK(result.txn == TxnOutcome{});
}

TEST_CASE("a read-only transaction is evaluated against the store without the log") {
  Store store = TxnStore();
  Txn reads{{Op(V::kGet, "a"), Op(V::kGetTree, "dir/"), Op(V::kCheckIndex, "b", "", 5),
             Op(V::kCheckSession, "held", "", 0, "s1"), Op(V::kCheckNotExists, "zzz"),
             Op(V::kGetOrEmpty, "none")}};
  REQUIRE(IsReadOnly(reads));
  TxnOutcome outcome = ReadTxn(store, reads);
  CHECK(outcome.ok());
  CHECK(ResultKeys(outcome) ==
        std::vector<std::string>{"a", "dir/1", "dir/2", "b", "held", "none"});
  CHECK(outcome.results[0].kv.value == "1");

  SECTION("it reports the same errors as the write path, and no results") {
    Txn failing{{Op(V::kGet, "a"), Op(V::kCheckIndex, "b", "", 4)}};
    TxnOutcome failed = ReadTxn(store, failing);
    CHECK(failed.results.empty());
    CHECK(failed.errors == ApplyTxn(store, 10, failing.ops).txn.errors);
  }
  SECTION("a single write makes a transaction read-write") {
    reads.ops.push_back(Op(V::kDelete, "a"));
    CHECK_FALSE(IsReadOnly(reads));
    CHECK(IsReadOnly(Txn{}));
  }
}

TEST_CASE("verb names are Consul's") {
  CHECK(TxnVerbName(V::kGetTree) == "get-tree");
  CHECK(TxnVerbName(V::kCheckNotExists) == "check-not-exists");
  CHECK(TxnVerbName(V::kDeleteCas) == "delete-cas");
  for (int value = 1; value <= 13; ++value) {
    const auto verb = static_cast<TxnVerb>(value);
    CHECK(ParseTxnVerb(TxnVerbName(verb)) == verb);
  }
  CHECK_FALSE(ParseTxnVerb("").has_value());
  CHECK_FALSE(ParseTxnVerb("upsert").has_value());
  CHECK(IsReadVerb(V::kCheckSession));
  CHECK_FALSE(IsReadVerb(V::kLock));
}

}  // namespace
}  // namespace roster::store
