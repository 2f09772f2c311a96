// roster lock: runs a command while holding a lock (n = 1, Consul's api.Lock) or one of
// n slots of a semaphore (n > 1, api.Semaphore), like `consul lock`, plus a fencing
// token for the child (reference/consul-api.md §3.5-3.7; docs/cli.md for users).
//
// Threads: the main thread parses, creates the session, starts the child and waits for
// signals, the child's exit and wake-ups (recipe_runner.h). Background tasks renew the
// session, run the acquire loop, and watch the hold with consistent blocking queries
// (background.h); each has its own SessionClient.
#include <signal.h>

#include <cstdio>
#include <optional>

#include "cli/background.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/recipe_runner.h"
#include "cli/recipes.h"
#include "cli/session_client.h"

namespace roster::cli {
namespace {

using std::chrono::milliseconds;

constexpr const char* kUsage =
    "usage: roster lock [flags] PREFIX COMMAND...\n"
    "\n"
    "Runs COMMAND (through /bin/sh -c when it is one argument) while holding the lock\n"
    "PREFIX/.lock, or with -n N one of N slots of the semaphore under PREFIX/. The child\n"
    "gets ROSTER_LOCK_HELD=true and ROSTER_FENCING_TOKEN; it gets SIGTERM (SIGKILL 5 s\n"
    "later) if the lock is lost. Exit status: the child's; 1 if the lock could not be\n"
    "acquired or was lost; 2 for bad usage.\n"
    "\n"
    "  -n N              semaphore slots (default 1: a lock); every contender passes the same N\n"
    "  -timeout D        give up acquiring after D (e.g. 30s; default: wait forever)\n"
    "  -name NAME        session name, also written as the lock's value\n"
    "  -monitor-retry N  failed reads tolerated, 1 s apart, before the lock counts as lost (3)\n"
    "  -ttl D            session TTL (default 15s; renewed every TTL/2)\n"
    "  -lock-delay D     session lock-delay (default 15s)\n"
    "  -verbose          say what happens on stderr\n"
    "  -http-addr ADDR   default $ROSTER_HTTP_ADDR, $CONSUL_HTTP_ADDR, 127.0.0.1:8500\n";

// api.Lock's DefaultLockWaitTime and DefaultLockRetryTime.
constexpr milliseconds kAcquireWait{15000};
constexpr milliseconds kLockRetry{5000};
constexpr milliseconds kErrorRetry{1000};

struct LockConfig {
  std::string prefix;  // without a trailing '/'
  std::vector<std::string> command;
  int limit = 1;
  std::optional<milliseconds> timeout;
  int monitor_retries = kMonitorRetriesDefault;
  bool verbose = false;
  SessionOptions session;
  std::string address;
};

// What the child learns about the hold.
struct Holding {
  std::string key;  // the lock key, or our contender key for a semaphore
  std::uint64_t fencing_token = 0;
  std::uint64_t lock_index = 0;
};

Result<LockConfig> ParseConfig(const std::vector<std::string>& args) {
  Result<Flags> flags = Flags::Parse(
      args, {"n", "timeout", "name", "monitor-retry", "ttl", "lock-delay", "http-addr"},
      {"verbose"});
  if (!flags.ok()) return flags.status();
  if (flags->positional().size() < 2) return InvalidArgument("PREFIX and COMMAND are required");
  LockConfig config;
  config.prefix = TrimPrefix(flags->positional()[0]);
  if (config.prefix.empty()) return InvalidArgument("PREFIX must not be empty");
  config.command.assign(flags->positional().begin() + 1, flags->positional().end());
  Result<long long> limit = flags->GetInt("n", 1);
  if (!limit.ok()) return limit.status();
  if (*limit < 1 || *limit > 1000000) return InvalidArgument("-n must be at least 1");
  config.limit = static_cast<int>(*limit);
  Result<long long> retries = flags->GetInt("monitor-retry", kMonitorRetriesDefault);
  if (!retries.ok()) return retries.status();
  config.monitor_retries = static_cast<int>(std::max(0LL, *retries));
  for (const auto& [flag, target] : {std::pair{"ttl", &config.session.ttl},
                                     std::pair{"lock-delay", &config.session.lock_delay}}) {
    if (!flags->Has(flag)) continue;
    Result<milliseconds> duration = ParseDurationFlag(flag, flags->Get(flag));
    if (!duration.ok()) return duration.status();
    *target = *duration;
  }
  if (flags->Has("timeout")) {
    Result<milliseconds> timeout = ParseDurationFlag("timeout", flags->Get("timeout"));
    if (!timeout.ok()) return timeout.status();
    config.timeout = *timeout;
  }
  std::string joined;
  for (const std::string& word : config.command) joined += (joined.empty() ? "" : " ") + word;
  config.session.name = flags->Get("name", "roster lock for '" + joined + "' at " + config.prefix);
  config.session.behavior = config.limit == 1 ? "release" : "delete";
  config.verbose = flags->GetBool("verbose");
  config.address = client::HttpClient::DefaultAddress(flags->Get("http-addr"));
  return config;
}

// ---- n = 1: api.Lock ----------------------------------------------------------------

// An acquire loop's outcome: the hold, nullopt when stopped, or an error.
using AcquireResult = Result<std::optional<Holding>>;
AcquireResult Held(Holding holding) { return std::optional<Holding>(std::move(holding)); }
AcquireResult Stopped() { return std::optional<Holding>(); }

// The consistent read that follows an acquire: its ModifyIndex is the fencing token
// (see docs/cli.md). nullopt when the key turned out not to be ours after all.
AcquireResult ReadHolding(SessionClient& client, const std::string& key,
                          const std::string& session) {
  Result<KvRead> read = client.Get(key, {.consistent = true});
  if (!read.ok()) return read.status();
  if (read->entries.empty() || read->entries[0].session != session) return Stopped();
  const KvEntry& entry = read->entries[0];
  return Held({key, entry.modify_index, entry.lock_index});
}

// A failed request in an acquire loop: say so and pause. The loop keeps trying until
// the main thread stops it (signal, -timeout, or the session found gone by the renewer).
void RetryLater(Event& stop, const Status& status) {
  if (stop.IsSet()) return;
  std::fprintf(stderr, "roster lock: %s; retrying in %s\n", status.message().c_str(),
               GoDuration(kErrorRetry).c_str());
  stop.WaitFor(kErrorRetry);
}

// api.Lock's WAIT loop. nullopt when `stop` ended it.
AcquireResult AcquireLock(SessionClient& client, Event& stop, const LockConfig& config,
                          const std::string& session) {
  const std::string key = LockKey(config.prefix);
  ReadOptions options{.wait = kAcquireWait};
  while (!stop.IsSet()) {
    Result<KvRead> read = client.Get(key, options);
    if (!read.ok()) {
      RetryLater(stop, read.status());
      continue;
    }
    const std::optional<KvEntry> entry =
        read->entries.empty() ? std::nullopt : std::optional<KvEntry>(read->entries[0]);
    switch (ClassifyLock(entry, session)) {
      case LockState::kConflict:
        return FailedPrecondition(key + " exists but is not a lock (its flags are not " +
                                  "consul lock's): another tool uses this key");
      case LockState::kHeldByOther:
        options.index = read->index;
        continue;
      case LockState::kHeldByUs:
        break;
      case LockState::kFree: {
        Result<bool> acquired = client.Acquire(key, config.session.name, kLockFlagValue, session);
        if (acquired.ok() && *acquired) break;
        if (!acquired.ok()) {
          RetryLater(stop, acquired.status());
          options.index = 0;
          continue;
        }
        // Refused: someone came first (block on the key), or the key is still in the
        // lock-delay of its last holder's session (try again after kLockRetry).
        Result<KvRead> again = client.Get(key);
        if (again.ok() && !again->entries.empty() && !again->entries[0].session.empty()) {
          options.index = again->index;
          continue;
        }
        options.index = 0;
        stop.WaitFor(kLockRetry);
        continue;
      }
    }
    AcquireResult holding = ReadHolding(client, key, session);
    if (holding.ok() && holding->has_value()) return holding;
    if (!holding.ok()) RetryLater(stop, holding.status());
    options.index = 0;  // not ours after all, or unread: start over
  }
  return Stopped();
}

HoldCheck LockHoldCheck(const std::string& key, const std::string& session) {
  return {
      [key](SessionClient& client, const ReadOptions& options) { return client.Get(key, options); },
      [key, session](const KvRead& read) -> std::optional<std::string> {
        if (read.entries.empty()) return key + " was deleted";
        if (read.entries[0].session == session) return std::nullopt;
        if (read.entries[0].session.empty()) {
          return key + " is no longer held by our session (it expired or was destroyed)";
        }
        return key + " is now held by session " + read.entries[0].session;
      }};
}

// Release, then delete the key if nobody took it meanwhile (api.Lock's Destroy).
// Fails when the server did not answer: the caller then leaves the rest to the TTL.
Status ReleaseLock(SessionClient& client, const LockConfig& config, const std::string& session) {
  const std::string key = LockKey(config.prefix);
  Result<bool> released = client.Release(key, config.session.name, kLockFlagValue, session);
  if (!released.ok()) return released.status();
  Result<KvRead> read = client.Get(key);
  if (!read.ok() || read->entries.empty()) return read.status();
  const KvEntry& entry = read->entries[0];
  if (entry.session.empty() && entry.flags == kLockFlagValue) {
    (void)client.DeleteCas(key, entry.modify_index);
  }
  return Status::Ok();
}

// ---- n > 1: api.Semaphore -----------------------------------------------------------

std::string ContenderKey(const LockConfig& config, const std::string& session) {
  return config.prefix + "/" + session;
}

// api.Semaphore's Acquire: our contender key, then the WAIT loop over the prefix.
AcquireResult AcquireSemaphore(SessionClient& client, Event& stop, const LockConfig& config,
                               const std::string& session) {
  const std::string contender = ContenderKey(config, session);
  Result<bool> made = client.Acquire(contender, config.session.name, kSemaphoreFlagValue, session);
  if (!made.ok()) return made.status();
  if (!*made) return FailedPrecondition("could not create the contender key " + contender);
  ReadOptions options{.wait = kAcquireWait};
  while (!stop.IsSet()) {
    Result<KvRead> read = client.List(config.prefix + "/", options);
    if (!read.ok()) {
      RetryLater(stop, read.status());
      continue;
    }
    const SemaphoreStep step = DecideSemaphore(read->entries, config.prefix, session, config.limit);
    const std::optional<KvEntry> ours = FindEntry(read->entries, contender);
    switch (step.action) {
      case SemaphoreStep::Action::kConflict:
        return FailedPrecondition(step.error);
      case SemaphoreStep::Action::kWait:
        options.index = read->index;
        continue;
      case SemaphoreStep::Action::kHeld:
        return Held({contender, ours->modify_index, ours->lock_index});
      case SemaphoreStep::Action::kWriteCas: {
        Result<bool> written =
            client.Cas(LockKey(config.prefix), step.new_value, kSemaphoreFlagValue, step.cas_index);
        if (!written.ok()) RetryLater(stop, written.status());
        if (written.ok() && *written)
          return Held({contender, ours->modify_index, ours->lock_index});
        options.index = 0;  // someone else wrote .lock first: look again
        continue;
      }
    }
  }
  return Stopped();
}

HoldCheck SemaphoreHoldCheck(const std::string& prefix, const std::string& session) {
  return {[prefix](SessionClient& client, const ReadOptions& options) {
            return client.List(prefix + "/", options);
          },
          [prefix, session](const KvRead& read) -> std::optional<std::string> {
            if (SemaphoreHeld(read.entries, prefix, session)) return std::nullopt;
            return "our session is no longer a holder in " + LockKey(prefix);
          }};
}

// Leave the holders by CAS, delete our contender key, and delete .lock when nobody
// holds a slot (api.Semaphore's Release and Destroy).
Status ReleaseSemaphore(SessionClient& client, const LockConfig& config,
                        const std::string& session) {
  const std::string lock_key = LockKey(config.prefix);
  constexpr int kCasAttempts = 20;
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    Result<KvRead> read = client.Get(lock_key);
    if (!read.ok()) return read.status();
    const std::optional<KvEntry> entry =
        read->entries.empty() ? std::nullopt : std::optional<KvEntry>(read->entries[0]);
    const std::optional<std::string> without = SemaphoreWithout(entry, session);
    if (!without.has_value()) break;
    Result<bool> written = client.Cas(lock_key, *without, kSemaphoreFlagValue, entry->modify_index);
    if (!written.ok() || *written) break;
  }
  (void)client.Delete(ContenderKey(config, session));
  Result<KvRead> listing = client.List(config.prefix + "/");
  if (!listing.ok()) return listing.status();
  const std::optional<KvEntry> entry = FindEntry(listing->entries, lock_key);
  Result<SemaphoreRecord> record = DecodeSemaphoreRecord(entry, config.limit);
  if (!entry.has_value() || !record.ok()) return Status::Ok();
  PruneDeadHolders(*record, listing->entries);
  if (record->holders.empty()) (void)client.DeleteCas(lock_key, entry->modify_index);
  return Status::Ok();
}

// ---- The command --------------------------------------------------------------------

// Runs the acquire loop on a background task until it holds, or until a signal, the
// -timeout or the loss of the session ends the wait (then nullopt, `exit_code` set).
std::optional<Holding> WaitForAcquire(RecipeSession& session, const LockConfig& config,
                                      int& exit_code) {
  AcquireResult outcome = Stopped();
  BackgroundTask acquirer(
      config.address,
      [&](SessionClient& client, Event& stop) {
        outcome = config.limit == 1 ? AcquireLock(client, stop, config, session.id())
                                    : AcquireSemaphore(client, stop, config, session.id());
      },
      [&session] { session.waiter().Wake(); });
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (config.timeout.has_value()) deadline = std::chrono::steady_clock::now() + *config.timeout;
  const TaskWait wait = WaitForTask(session, acquirer, deadline);
  acquirer.Stop();
  exit_code = 1;
  const std::string what =
      config.limit == 1 ? LockKey(config.prefix) : "a slot of the semaphore " + config.prefix + "/";
  switch (wait.end) {
    case TaskWait::End::kSignal:
      session.Say("interrupted (signal " + std::to_string(wait.signal) + ") while waiting for " +
                  what);
      exit_code = 128 + wait.signal;
      return std::nullopt;
    case TaskWait::End::kTimeout:
      session.Say("timed out after " + GoDuration(*config.timeout) + " waiting for " + what);
      return std::nullopt;
    case TaskWait::End::kLost:
      session.Say("lost the session while waiting: " + *session.lost().reason());
      return std::nullopt;
    case TaskWait::End::kFinished:
      break;
  }
  if (!outcome.ok()) {
    session.Say(outcome.status().message());
    return std::nullopt;
  }
  if (outcome->has_value()) exit_code = 0;  // else stopped without a reason: stays 1
  return *outcome;
}

// The child's environment: consul lock's variable plus the fencing token (docs/cli.md).
std::vector<std::pair<std::string, std::string>> ChildEnvironment(const LockConfig& config,
                                                                  const std::string& session,
                                                                  const Holding& holding) {
  std::vector<std::pair<std::string, std::string>> environment = {
      {"ROSTER_LOCK_HELD", "true"},
      {"CONSUL_LOCK_HELD", "true"},
      {"ROSTER_FENCING_TOKEN", std::to_string(holding.fencing_token)},
      {"ROSTER_LOCK_KEY", holding.key},
      {"ROSTER_SESSION", session}};
  if (config.limit == 1) {
    environment.emplace_back("ROSTER_LOCK_INDEX", std::to_string(holding.lock_index));
  }
  return environment;
}

}  // namespace

int RunLock(const std::vector<std::string>& args) {
  Result<LockConfig> config = ParseConfig(args);
  if (!config.ok()) {
    std::fprintf(stderr, "roster lock: %s\n%s", config.status().message().c_str(), kUsage);
    return 2;
  }
  Result<std::unique_ptr<RecipeSession>> session =
      RecipeSession::Start("roster lock", config->address, config->session);
  if (!session.ok()) {
    std::fprintf(stderr, "roster lock: %s\n", session.status().message().c_str());
    return 1;
  }
  RecipeSession& recipe = **session;
  int exit_code = 0;
  const std::optional<Holding> holding = WaitForAcquire(recipe, *config, exit_code);
  if (holding.has_value()) {
    if (config->verbose) {
      recipe.Say("holding " + holding->key + " (fencing token " +
                 std::to_string(holding->fencing_token) + "); running the command");
    }
    MonitoredChild child{.command = config->command,
                         .environment = ChildEnvironment(*config, recipe.id(), *holding),
                         .check = config->limit == 1
                                      ? LockHoldCheck(LockKey(config->prefix), recipe.id())
                                      : SemaphoreHoldCheck(config->prefix, recipe.id()),
                         .monitor_retries = config->monitor_retries,
                         .verbose = config->verbose};
    exit_code = RunMonitoredChild(recipe, child).exit_code;
  }
  // Also after a timeout or a signal: the acquire may have succeeded just before.
  const Status released = config->limit == 1
                              ? ReleaseLock(recipe.client(), *config, recipe.id())
                              : ReleaseSemaphore(recipe.client(), *config, recipe.id());
  if (released.ok()) {
    recipe.Close();
  } else {
    recipe.Abandon("could not release: " + released.message());
  }
  return exit_code;
}

}  // namespace roster::cli
