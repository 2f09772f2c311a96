// roster elect (Roster extension): leader election without the herd effect. Each
// candidate holds an ephemeral-sequential key <prefix>/<20-digit index> (?sequential
// with a behavior=delete session); the lowest key leads, and every other candidate
// blocks only on the key just below its own, so a leader's exit wakes one candidate
// (ZooKeeper's recipe; reference/etcd-zookeeper.md §5.2). The command runs only while
// this candidate leads. A candidate that loses leadership or its session stands again
// with a new session and key (at the back of the queue), as etcd's and ZooKeeper's
// candidates do; -once exits instead. docs/cli.md describes it for users.
//
// Threads: as in roster lock (recipe_runner.h): the main thread waits, background tasks
// renew the session, campaign, and watch our key once we lead.
#include <algorithm>
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
    "usage: roster elect [flags] PREFIX COMMAND...\n"
    "\n"
    "Joins the election under PREFIX/ and runs COMMAND (through /bin/sh -c when it is one\n"
    "argument) whenever this candidate leads, with ROSTER_LEADER=true and\n"
    "ROSTER_FENCING_TOKEN (the CreateIndex of our election key: a later leader always has a\n"
    "larger one). If leadership or the session is lost, the command gets SIGTERM (SIGKILL\n"
    "5 s later) and the candidate campaigns again with a new session. The exit status is\n"
    "the command's once it exits by itself (2 for bad usage).\n"
    "\n"
    "  -name NAME        this candidate's name, the value of its election key\n"
    "  -once             on losing leadership or the session, exit with 1 instead\n"
    "  -ttl D            session TTL (default 15s; renewed every TTL/2)\n"
    "  -monitor-retry N  failed reads tolerated, 1 s apart, before leadership counts as lost (3)\n"
    "  -verbose          say what happens on stderr\n"
    "  -http-addr ADDR   default $ROSTER_HTTP_ADDR, $CONSUL_HTTP_ADDR, 127.0.0.1:8500\n";

constexpr milliseconds kErrorRetry{1000};

struct ElectConfig {
  std::string prefix;  // without a trailing '/'
  std::vector<std::string> command;
  std::string name;
  int monitor_retries = kMonitorRetriesDefault;
  bool once = false;  // exit on a loss instead of campaigning again
  bool verbose = false;
  SessionOptions session;
  std::string address;
};

Result<ElectConfig> ParseConfig(const std::vector<std::string>& args) {
  Result<Flags> flags =
      Flags::Parse(args, {"name", "ttl", "monitor-retry", "http-addr"}, {"once", "verbose"});
  if (!flags.ok()) return flags.status();
  if (flags->positional().size() < 2) return InvalidArgument("PREFIX and COMMAND are required");
  ElectConfig config;
  config.prefix = TrimPrefix(flags->positional()[0]);
  if (config.prefix.empty()) return InvalidArgument("PREFIX must not be empty");
  config.command.assign(flags->positional().begin() + 1, flags->positional().end());
  Result<long long> retries = flags->GetInt("monitor-retry", kMonitorRetriesDefault);
  if (!retries.ok()) return retries.status();
  config.monitor_retries = static_cast<int>(std::max(0LL, *retries));
  if (flags->Has("ttl")) {
    Result<milliseconds> ttl = ParseDurationFlag("ttl", flags->Get("ttl"));
    if (!ttl.ok()) return ttl.status();
    config.session.ttl = *ttl;
  }
  config.name = flags->Get("name");
  config.session.name = config.name.empty()
                            ? "roster elect at " + config.prefix
                            : "roster elect " + config.name + " at " + config.prefix;
  // Our key is deleted with the session; nobody acquires that name again, so a
  // lock-delay would only slow nothing down.
  config.session.behavior = "delete";
  config.session.lock_delay = milliseconds{0};
  config.once = flags->GetBool("once");
  config.verbose = flags->GetBool("verbose");
  config.address = client::HttpClient::DefaultAddress(flags->Get("http-addr"));
  return config;
}

// Blocks until `key` is gone (or `stop`). Errors are retried.
void WaitForDeletion(SessionClient& client, Event& stop, const std::string& key) {
  std::uint64_t index = 0;
  while (!stop.IsSet()) {
    Result<KvRead> read = client.Get(key, {.index = index, .wait = kMonitorWait});
    if (!read.ok()) {
      stop.WaitFor(kErrorRetry);
      continue;
    }
    if (read->entries.empty()) return;
    index = read->index < index ? 0 : std::max<std::uint64_t>(read->index, 1);
  }
}

// Campaigns until we lead (true), our key vanished (an error), or `stop` (false).
Result<bool> Campaign(SessionClient& client, Event& stop, const ElectConfig& config,
                      const std::string& own_key) {
  while (!stop.IsSet()) {
    Result<std::vector<std::string>> keys = client.Keys(config.prefix + "/");
    if (!keys.ok()) {
      if (!stop.IsSet()) {
        std::fprintf(stderr, "roster elect: %s; retrying\n", keys.status().message().c_str());
      }
      stop.WaitFor(kErrorRetry);
      continue;
    }
    if (std::find(keys->begin(), keys->end(), own_key) == keys->end()) {
      return FailedPrecondition("our election key " + own_key +
                                " is gone (the session ended) before we led");
    }
    const std::optional<std::string> predecessor = PredecessorKey(*keys, config.prefix, own_key);
    if (!predecessor.has_value()) return true;
    if (config.verbose) {
      std::fprintf(stderr, "roster elect: %s waits for %s\n", own_key.c_str(),
                   predecessor->c_str());
    }
    WaitForDeletion(client, stop, *predecessor);
  }
  return false;
}

// Leading holds while our key exists and our session holds it.
HoldCheck LeaderHoldCheck(const std::string& own_key, const std::string& session) {
  return {[own_key](SessionClient& client, const ReadOptions& options) {
            return client.Get(own_key, options);
          },
          [own_key, session](const KvRead& read) -> std::optional<std::string> {
            if (!read.entries.empty() && read.entries[0].session == session) return std::nullopt;
            return "our election key " + own_key + " is gone (the session ended)";
          }};
}

// How one candidacy (a session, its election key, perhaps a term as leader) ended.
struct Candidacy {
  enum class End {
    kNotJoined,  // the election key could not be created
    kLost,       // the session or leadership was lost (a running command was stopped)
    kDone,       // the command exited by itself, or a signal arrived: roster elect exits
  };
  End end = End::kDone;
  int exit_code = 1;  // what roster elect exits with if it stops here
};

// Runs the campaign on a background task: nullopt once we lead, else how it ended.
std::optional<Candidacy> WaitToLead(RecipeSession& session, const ElectConfig& config,
                                    const std::string& own_key) {
  Result<bool> outcome = false;
  BackgroundTask campaign(
      config.address,
      [&](SessionClient& client, Event& stop) {
        outcome = Campaign(client, stop, config, own_key);
      },
      [&session] { session.waiter().Wake(); });
  const TaskWait wait = WaitForTask(session, campaign, std::nullopt);
  campaign.Stop();
  if (wait.end == TaskWait::End::kSignal) {
    session.Say("interrupted (signal " + std::to_string(wait.signal) + ") before leading");
    return Candidacy{Candidacy::End::kDone, 128 + wait.signal};
  }
  if (wait.end == TaskWait::End::kLost) {
    session.Say("lost the session before leading: " + *session.lost().reason());
  } else if (!outcome.ok()) {
    session.Say(outcome.status().message());
  } else if (*outcome) {
    return std::nullopt;
  }
  return Candidacy{Candidacy::End::kLost, 1};
}

// Joins the election with the session's own key, waits to lead, and runs the command
// while leading.
Candidacy Stand(RecipeSession& recipe, const ElectConfig& config) {
  Result<KvEntry> own =
      recipe.client().CreateSequential(config.prefix + "/", config.name, recipe.id());
  if (!own.ok()) {
    recipe.Say("cannot join the election: " + own.status().message());
    return {Candidacy::End::kNotJoined, 1};
  }
  if (config.verbose) recipe.Say("candidate " + own->key);
  if (std::optional<Candidacy> ended = WaitToLead(recipe, config, own->key)) return *ended;
  if (config.verbose) {
    recipe.Say(own->key + " leads (fencing token " + std::to_string(own->create_index) +
               "); running the command");
  }
  MonitoredChild child{.command = config.command,
                       .environment = {{"ROSTER_LEADER", "true"},
                                       {"ROSTER_FENCING_TOKEN", std::to_string(own->create_index)},
                                       {"ROSTER_ELECTION_KEY", own->key},
                                       {"ROSTER_SESSION", recipe.id()}},
                       .check = LeaderHoldCheck(own->key, recipe.id()),
                       .monitor_retries = config.monitor_retries,
                       .verbose = config.verbose};
  const ChildRun run = RunMonitoredChild(recipe, child);
  if (run.hold_lost && run.signal == 0) return {Candidacy::End::kLost, 1};
  return {Candidacy::End::kDone, run.exit_code};
}

// Between candidacies: the old session is destroyed if it still exists (which deletes
// its key), then a new one is created, retried every second while the cluster cannot.
// 0, or the signal that cut the wait short.
int StandAgain(RecipeSession& recipe, const Candidacy& previous) {
  if (previous.end == Candidacy::End::kNotJoined) {
    if (const int signal = recipe.waiter().SleepUnlessSignalled(kErrorRetry)) return signal;
  }
  while (true) {
    const Status restarted = recipe.Restart();
    if (restarted.ok()) {
      recipe.Say("campaigning again with a new session " + recipe.id());
      return 0;
    }
    recipe.Say("cannot create a new session: " + restarted.message() + "; retrying");
    if (const int signal = recipe.waiter().SleepUnlessSignalled(kErrorRetry)) return signal;
  }
}

}  // namespace

int RunElect(const std::vector<std::string>& args) {
  Result<ElectConfig> config = ParseConfig(args);
  if (!config.ok()) {
    std::fprintf(stderr, "roster elect: %s\n%s", config.status().message().c_str(), kUsage);
    return 2;
  }
  Result<std::unique_ptr<RecipeSession>> session =
      RecipeSession::Start("roster elect", config->address, config->session);
  if (!session.ok()) {
    std::fprintf(stderr, "roster elect: %s\n", session.status().message().c_str());
    return 1;
  }
  RecipeSession& recipe = **session;
  // A first key that cannot be made is a mistake to report (a wrong address or prefix);
  // later, the candidate rides out whatever the cluster goes through.
  for (bool first = true;; first = false) {
    const Candidacy candidacy = Stand(recipe, *config);
    const bool again = !config->once && (candidacy.end == Candidacy::End::kLost ||
                                         (candidacy.end == Candidacy::End::kNotJoined && !first));
    if (!again) {
      // Destroying the session deletes our key (behavior delete): the next candidate leads.
      recipe.Close();
      return candidacy.exit_code;
    }
    if (const int signal = StandAgain(recipe, candidacy)) return 128 + signal;
  }
}

}  // namespace roster::cli
