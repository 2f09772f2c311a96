// The decisions behind roster lock / elect / watch (cli/recipes.h), as the protocols
// state them: api.Lock's reading of the lock key, api.Semaphore's record, pruning and
// CAS step, the herd-free election's predecessor, and the process rules.
#include "cli/recipes.h"

#include <sys/wait.h>

#include <catch2/catch.hpp>

namespace roster::cli {
namespace {

constexpr const char* kOurs = "11111111-0000-0000-0000-000000000001";
constexpr const char* kTheirs = "22222222-0000-0000-0000-000000000002";
constexpr const char* kThird = "33333333-0000-0000-0000-000000000003";

KvEntry LockEntry(const std::string& session, std::uint64_t flags = kLockFlagValue) {
  return {.key = "jobs/.lock", .flags = flags, .session = session, .modify_index = 7};
}

// A contender key under "sem" held by session (an empty session: released).
KvEntry Contender(const std::string& key_session, const std::string& holder) {
  return {.key = "sem/" + key_session,
          .flags = kSemaphoreFlagValue,
          .session = holder,
          .modify_index = 20};
}

KvEntry SemaphoreLock(const std::string& json, std::uint64_t modify_index = 30) {
  return {.key = "sem/.lock",
          .value = json,
          .flags = kSemaphoreFlagValue,
          .modify_index = modify_index};
}

}  // namespace

TEST_CASE("api.Lock: an absent or unheld key is free, ours is held, another's blocks") {
  CHECK(ClassifyLock(std::nullopt, kOurs) == LockState::kFree);
  CHECK(ClassifyLock(LockEntry(""), kOurs) == LockState::kFree);
  CHECK(ClassifyLock(LockEntry(kOurs), kOurs) == LockState::kHeldByUs);
  CHECK(ClassifyLock(LockEntry(kTheirs), kOurs) == LockState::kHeldByOther);
}

TEST_CASE("api.Lock: a key with foreign flags is a conflict, held or not") {
  CHECK(ClassifyLock(LockEntry("", 0), kOurs) == LockState::kConflict);
  CHECK(ClassifyLock(LockEntry(kTheirs, kSemaphoreFlagValue), kOurs) == LockState::kConflict);
}

TEST_CASE("the lock key is <prefix>/.lock whatever trailing slashes the prefix has") {
  CHECK(LockKey("jobs") == "jobs/.lock");
  CHECK(LockKey("jobs/") == "jobs/.lock");
  CHECK(LockKey("a/b//") == "a/b/.lock");
  CHECK(TrimPrefix("jobs///") == "jobs");
}

TEST_CASE("semaphore record: absent means a fresh record; JSON round-trips") {
  Result<SemaphoreRecord> fresh = DecodeSemaphoreRecord(std::nullopt, 3);
  REQUIRE(fresh.ok());
  CHECK(fresh->limit == 3);
  CHECK(fresh->holders.empty());

  SemaphoreRecord record{.limit = 2, .holders = {{kOurs, true}, {kTheirs, true}}};
  const std::string encoded = EncodeSemaphoreRecord(record);
  CHECK(encoded ==
        std::string("{\"Holders\":{\"") + kOurs + "\":true,\"" + kTheirs + "\":true},\"Limit\":2}");
  Result<SemaphoreRecord> decoded = DecodeSemaphoreRecord(SemaphoreLock(encoded), 9);
  REQUIRE(decoded.ok());
  CHECK(decoded->limit == 2);  // the record's limit, not the caller's
  CHECK(decoded->holders == record.holders);
}

TEST_CASE("semaphore record: a value that is not the record is an error") {
  CHECK_FALSE(DecodeSemaphoreRecord(SemaphoreLock("not json"), 2).ok());
  CHECK_FALSE(DecodeSemaphoreRecord(SemaphoreLock("{\"Holders\":{}}"), 2).ok());
}

TEST_CASE("pruning drops holders whose contender key is gone or no longer held") {
  SemaphoreRecord record{.limit = 3, .holders = {{kOurs, true}, {kTheirs, true}, {kThird, true}}};
  const std::vector<KvEntry> entries = {Contender(kOurs, kOurs), Contender(kTheirs, ""),
                                        SemaphoreLock("{}")};
  PruneDeadHolders(record, entries);  // kTheirs released its key, kThird's is deleted
  CHECK(record.holders == std::map<std::string, bool>{{kOurs, true}});
}

TEST_CASE("semaphore step: a free slot is taken by CAS on the record's ModifyIndex") {
  const std::string full_of_one =
      std::string("{\"Limit\":2,\"Holders\":{\"") + kTheirs + "\":true}}";
  const std::vector<KvEntry> entries = {Contender(kOurs, kOurs), Contender(kTheirs, kTheirs),
                                        SemaphoreLock(full_of_one, 30)};
  const SemaphoreStep step = DecideSemaphore(entries, "sem", kOurs, 2);
  REQUIRE(step.action == SemaphoreStep::Action::kWriteCas);
  CHECK(step.cas_index == 30);
  Result<SemaphoreRecord> written = DecodeSemaphoreRecord(SemaphoreLock(step.new_value), 0);
  REQUIRE(written.ok());
  CHECK(written->holders.size() == 2);
  CHECK(written->holders.count(kOurs) == 1);
}

TEST_CASE("semaphore step: the first contender creates .lock with cas=0") {
  const SemaphoreStep step = DecideSemaphore({Contender(kOurs, kOurs)}, "sem/", kOurs, 2);
  REQUIRE(step.action == SemaphoreStep::Action::kWriteCas);
  CHECK(step.cas_index == 0);
}

TEST_CASE("semaphore step: every slot taken by a live holder means wait") {
  const std::string full = std::string("{\"Limit\":1,\"Holders\":{\"") + kTheirs + "\":true}}";
  const std::vector<KvEntry> entries = {Contender(kOurs, kOurs), Contender(kTheirs, kTheirs),
                                        SemaphoreLock(full)};
  CHECK(DecideSemaphore(entries, "sem", kOurs, 1).action == SemaphoreStep::Action::kWait);
}

TEST_CASE("semaphore step: a dead holder's slot is free again") {
  const std::string full = std::string("{\"Limit\":1,\"Holders\":{\"") + kTheirs + "\":true}}";
  const std::vector<KvEntry> entries = {Contender(kOurs, kOurs), SemaphoreLock(full, 41)};
  const SemaphoreStep step = DecideSemaphore(entries, "sem", kOurs, 1);
  REQUIRE(step.action == SemaphoreStep::Action::kWriteCas);
  CHECK(step.new_value == std::string("{\"Holders\":{\"") + kOurs + "\":true},\"Limit\":1}");
  CHECK(step.cas_index == 41);
}

TEST_CASE("semaphore step: conflicts are refused with a reason") {
  const std::vector<KvEntry> limit_two = {Contender(kOurs, kOurs),
                                          SemaphoreLock("{\"Limit\":2,\"Holders\":{}}")};
  const SemaphoreStep different_n = DecideSemaphore(limit_two, "sem", kOurs, 3);
  CHECK(different_n.action == SemaphoreStep::Action::kConflict);
  CHECK_THAT(different_n.error, Catch::Contains("says 2") && Catch::Contains("-n 3"));

  KvEntry foreign = SemaphoreLock("{}");
  foreign.flags = 0;
  CHECK(DecideSemaphore({Contender(kOurs, kOurs), foreign}, "sem", kOurs, 2).action ==
        SemaphoreStep::Action::kConflict);
  const SemaphoreStep no_contender = DecideSemaphore({SemaphoreLock("{}")}, "sem", kOurs, 2);
  CHECK(no_contender.action == SemaphoreStep::Action::kConflict);
  CHECK_THAT(no_contender.error, Catch::Contains("contender key"));
}

TEST_CASE("semaphore: held while in the pruned record; release writes the record without us") {
  const std::string both =
      std::string("{\"Limit\":2,\"Holders\":{\"") + kOurs + "\":true,\"" + kTheirs + "\":true}}";
  const std::vector<KvEntry> entries = {Contender(kOurs, kOurs), Contender(kTheirs, kTheirs),
                                        SemaphoreLock(both)};
  CHECK(SemaphoreHeld(entries, "sem", kOurs));
  CHECK(DecideSemaphore(entries, "sem", kOurs, 2).action == SemaphoreStep::Action::kHeld);
  CHECK_FALSE(SemaphoreHeld({Contender(kTheirs, kTheirs), SemaphoreLock(both)}, "sem", kOurs));

  const std::optional<std::string> without = SemaphoreWithout(SemaphoreLock(both), kOurs);
  REQUIRE(without.has_value());
  CHECK(*without == std::string("{\"Holders\":{\"") + kTheirs + "\":true},\"Limit\":2}");
  CHECK_FALSE(SemaphoreWithout(SemaphoreLock(*without), kOurs).has_value());
  CHECK_FALSE(SemaphoreWithout(std::nullopt, kOurs).has_value());
}

TEST_CASE("election: only <prefix>/<20 digits> keys take part") {
  CHECK(IsElectionKey("svc/leader", "svc/leader/00000000000000000042"));
  CHECK(IsElectionKey("svc/leader/", "svc/leader/00000000000000000042"));
  CHECK_FALSE(IsElectionKey("svc/leader", "svc/leader/0000000000000000042"));  // 19 digits
  CHECK_FALSE(IsElectionKey("svc/leader", "svc/leader/0000000000000000004x"));
  CHECK_FALSE(IsElectionKey("svc/leader", "svc/leader/sub/00000000000000000042"));
  CHECK_FALSE(IsElectionKey("svc/leader", "svc/leaders/00000000000000000042"));
}

TEST_CASE("election: the lowest key leads; every other waits on the key just below it") {
  const std::vector<std::string> keys = {"e/00000000000000000107", "e/00000000000000000031",
                                         "e/config", "e/00000000000000000250",
                                         "e/00000000000000000099"};
  CHECK_FALSE(PredecessorKey(keys, "e", "e/00000000000000000031").has_value());
  CHECK(PredecessorKey(keys, "e", "e/00000000000000000099") == "e/00000000000000000031");
  CHECK(PredecessorKey(keys, "e", "e/00000000000000000107") == "e/00000000000000000099");
  CHECK(PredecessorKey(keys, "e", "e/00000000000000000250") == "e/00000000000000000107");
}

TEST_CASE("election: when the predecessor leaves, the next lower key becomes the one to wait on") {
  std::vector<std::string> keys = {"e/00000000000000000010", "e/00000000000000000020",
                                   "e/00000000000000000030"};
  CHECK(PredecessorKey(keys, "e", "e/00000000000000000030") == "e/00000000000000000020");
  keys.erase(keys.begin() + 1);  // 20 died: 30 now waits on 10, and only on 10
  CHECK(PredecessorKey(keys, "e", "e/00000000000000000030") == "e/00000000000000000010");
  keys.erase(keys.begin());  // 10 died: 30 leads
  CHECK_FALSE(PredecessorKey(keys, "e", "e/00000000000000000030").has_value());
}

TEST_CASE("child argv: one argument goes through /bin/sh -c, several are exec'd as is") {
  CHECK(ChildArgv({"echo a && echo b"}) ==
        std::vector<std::string>{"/bin/sh", "-c", "echo a && echo b"});
  CHECK(ChildArgv({"python3", "worker.py", "A"}) ==
        std::vector<std::string>{"python3", "worker.py", "A"});
}

TEST_CASE("child environment: ours, with the recipe's variables replacing same names") {
  const std::vector<std::string> merged =
      MergeEnvironment({"PATH=/bin", "ROSTER_FENCING_TOKEN=stale", "HOME=/root"},
                       {{"ROSTER_FENCING_TOKEN", "42"}, {"ROSTER_LOCK_HELD", "true"}});
  CHECK(merged == std::vector<std::string>{"PATH=/bin", "HOME=/root", "ROSTER_FENCING_TOKEN=42",
                                           "ROSTER_LOCK_HELD=true"});
}

TEST_CASE("exit status as a shell reports it: the code, or 128 + the signal") {
  CHECK(ExitCodeFromWaitStatus(3 << 8) == 3);  // W_EXITCODE(3, 0)
  CHECK(ExitCodeFromWaitStatus(0) == 0);
  CHECK(ExitCodeFromWaitStatus(SIGTERM) == 128 + SIGTERM);  // killed by SIGTERM
  CHECK(ExitCodeFromWaitStatus(SIGKILL) == 137);
}

TEST_CASE("duration flags are Go durations, never negative, and say which flag") {
  CHECK(*ParseDurationFlag("timeout", "1m30s") == std::chrono::milliseconds(90000));
  CHECK(*ParseDurationFlag("timeout", "250ms") == std::chrono::milliseconds(250));
  const Result<std::chrono::milliseconds> bare = ParseDurationFlag("timeout", "30");
  REQUIRE_FALSE(bare.ok());
  CHECK_THAT(bare.status().message(), Catch::Contains("-timeout") && Catch::Contains("\"30\""));
  CHECK_FALSE(ParseDurationFlag("ttl", "-5s").ok());
  CHECK(GoDuration(std::chrono::milliseconds(15000)) == "15s");
  CHECK(GoDuration(std::chrono::milliseconds(1500)) == "1500ms");
}

}  // namespace roster::cli
