// The decisions of the coordination recipes behind `roster lock`, `roster elect` and
// `roster watch`, as pure functions over KV entries: which state a lock key is in, how a
// semaphore's `.lock` record is read, pruned and rewritten, which election key a
// candidate waits on, and the small process-facing rules (child argv, environment, exit
// status). No I/O here, so tests/unit/cli/recipes_test.cc covers them without a server.
//
// The protocols are Consul's api.Lock and api.Semaphore (reference/consul-api.md §3.5,
// §3.7) and ZooKeeper's herd-free election (etcd-zookeeper.md §5.2); docs/cli.md tells
// the user's side. Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace roster::cli {

// api.Lock's and api.Semaphore's flag values: a key with other flags under the recipe's
// name belongs to something else, and the recipe refuses to touch it.
inline constexpr std::uint64_t kLockFlagValue = 0x2ddccbc058a50c18ULL;
inline constexpr std::uint64_t kSemaphoreFlagValue = 0xe0f69a2baa414de0ULL;

// One KV entry as GET /v1/kv returns it, with the value already base64-decoded.
struct KvEntry {
  std::string key{};
  std::string value{};
  std::uint64_t flags = 0;
  std::string session{};  // empty when no session holds it
  std::uint64_t create_index = 0;
  std::uint64_t modify_index = 0;
  std::uint64_t lock_index = 0;
};

// ---- Lock (n = 1): the key <prefix>/.lock -------------------------------------------

enum class LockState {
  kFree,         // absent, or present and held by nobody: try to acquire
  kHeldByUs,     // our session holds it
  kHeldByOther,  // another session holds it: block on the key's index
  kConflict,     // the key exists with flags that are not kLockFlagValue
};
LockState ClassifyLock(const std::optional<KvEntry>& entry, std::string_view session);

// <prefix>/.lock, with any trailing '/' of prefix dropped first.
std::string LockKey(std::string_view prefix);
// prefix without its trailing slashes ("jobs/" -> "jobs").
std::string TrimPrefix(std::string_view prefix);

// ---- Semaphore (n > 1): contender keys <prefix>/<session> and <prefix>/.lock --------

// The JSON in <prefix>/.lock: {"Limit":N,"Holders":{"<session>":true,...}}.
struct SemaphoreRecord {
  int limit = 0;
  std::map<std::string, bool> holders{};  // Consul writes true for every holder
};
// An absent or empty .lock value is a fresh record with `limit`. Fails on JSON that is
// not such a record.
Result<SemaphoreRecord> DecodeSemaphoreRecord(const std::optional<KvEntry>& lock_entry, int limit);
std::string EncodeSemaphoreRecord(const SemaphoreRecord& record);

// Removes holders whose contender key is gone or no longer held by a session: Consul's
// pruneDeadHolders. `entries` is everything under the prefix.
void PruneDeadHolders(SemaphoreRecord& record, const std::vector<KvEntry>& entries);

// What a contender does with one listing of the prefix (api.Semaphore's WAIT loop).
struct SemaphoreStep {
  enum class Action {
    kConflict,  // refuse: `error` says why (foreign flags, a different limit, our
                // contender key is gone)
    kHeld,      // already a holder in the record
    kWait,      // every slot is taken: block on the listing's index
    kWriteCas,  // write `new_value` to .lock with ?cas=`cas_index`: on true the slot is
                // ours, on false someone else wrote first, so list again
  };
  Action action = Action::kWait;
  std::string error{};
  std::string new_value{};
  std::uint64_t cas_index = 0;  // 0 when .lock does not exist yet: create-only
};
SemaphoreStep DecideSemaphore(const std::vector<KvEntry>& entries, std::string_view prefix,
                              std::string_view session, int limit);
// True while `session` is a holder once dead holders are pruned (the monitor's test).
bool SemaphoreHeld(const std::vector<KvEntry>& entries, std::string_view prefix,
                   std::string_view session);
// The .lock value with `session` removed, or nullopt when it is not a holder (or the
// record does not parse): what release writes with ?cas.
std::optional<std::string> SemaphoreWithout(const std::optional<KvEntry>& lock_entry,
                                            std::string_view session);
// The entry named `key` in `entries`, if any.
std::optional<KvEntry> FindEntry(const std::vector<KvEntry>& entries, std::string_view key);

// ---- Election: sequential keys <prefix>/<20-digit index> ----------------------------

// True when key is <prefix>/ followed by exactly 20 digits, the form ?sequential makes.
bool IsElectionKey(std::string_view prefix, std::string_view key);
// The candidate to wait on: the greatest election key below own_key, or nullopt when
// own_key is the lowest (it leads). Keys that are not election keys are ignored.
// Waiting only on this one key is what avoids the herd effect: a leader's exit wakes
// one candidate, not all of them.
std::optional<std::string> PredecessorKey(const std::vector<std::string>& keys,
                                          std::string_view prefix, std::string_view own_key);

// ---- Processes ----------------------------------------------------------------------

// A command line for the child: one argument runs through `/bin/sh -c` (so
// `roster lock p 'a && b'` works as in Consul); more arguments are run as they are.
std::vector<std::string> ChildArgv(const std::vector<std::string>& command);
// `base` ("NAME=value" strings, e.g. from environ) with `overrides` set (replacing any
// earlier NAME).
std::vector<std::string> MergeEnvironment(
    const std::vector<std::string>& base,
    const std::vector<std::pair<std::string, std::string>>& overrides);
// A waitpid status as a shell would report it: the exit code, or 128 + the signal.
int ExitCodeFromWaitStatus(int wait_status);

// A Go duration flag ("15s", "1m30s") as milliseconds; negative durations are refused.
// The error names the flag.
Result<std::chrono::milliseconds> ParseDurationFlag(std::string_view flag_name,
                                                    std::string_view text);
// Milliseconds as a Go duration for the API ("15000ms" -> "15s" when whole seconds).
std::string GoDuration(std::chrono::milliseconds duration);

}  // namespace roster::cli
