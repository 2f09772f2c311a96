// roster elect (Roster extension): leader election without the herd effect. Each
// candidate holds an ephemeral-sequential key <prefix>/<20-digit index> (?sequential
// with a behavior=delete session); the lowest key leads, and every other candidate
// blocks only on the key just below its own, so a leader's exit wakes one candidate
// (ZooKeeper's recipe; reference/etcd-zookeeper.md §5.2). The command runs only while
// this candidate leads. docs/cli.md describes it for users.
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
    "argument) once this candidate leads, with ROSTER_LEADER=true and ROSTER_FENCING_TOKEN\n"
    "(the CreateIndex of our election key: a later leader always has a larger one). If\n"
    "leadership is lost the command gets SIGTERM, SIGKILL 5 s later, and roster elect\n"
    "exits with 1. Otherwise the exit status is the command's (2 for bad usage).\n"
    "\n"
    "  -name NAME        this candidate's name, the value of its election key\n"
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
  bool verbose = false;
  SessionOptions session;
  std::string address;
};

Result<ElectConfig> ParseConfig(const std::vector<std::string>& args) {
  Result<Flags> flags =
      Flags::Parse(args, {"name", "ttl", "monitor-retry", "http-addr"}, {"verbose"});
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

// Runs the campaign on a background task. true when we lead; false with `exit_code`.
bool WaitToLead(RecipeSession& session, const ElectConfig& config, const std::string& own_key,
                int& exit_code) {
  Result<bool> outcome = false;
  BackgroundTask campaign(
      config.address,
      [&](SessionClient& client, Event& stop) {
        outcome = Campaign(client, stop, config, own_key);
      },
      [&session] { session.waiter().Wake(); });
  const TaskWait wait = WaitForTask(session, campaign, std::nullopt);
  campaign.Stop();
  exit_code = 1;
  if (wait.end == TaskWait::End::kSignal) {
    session.Say("interrupted (signal " + std::to_string(wait.signal) + ") before leading");
    exit_code = 128 + wait.signal;
    return false;
  }
  if (wait.end == TaskWait::End::kLost) {
    session.Say("lost the session before leading: " + *session.lost().reason());
    return false;
  }
  if (!outcome.ok()) {
    session.Say(outcome.status().message());
    return false;
  }
  return *outcome;
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
  Result<KvEntry> own =
      recipe.client().CreateSequential(config->prefix + "/", config->name, recipe.id());
  if (!own.ok()) {
    recipe.Say("cannot join the election: " + own.status().message());
    return 1;
  }
  if (config->verbose) recipe.Say("candidate " + own->key);
  int exit_code = 0;
  if (WaitToLead(recipe, *config, own->key, exit_code)) {
    if (config->verbose) {
      recipe.Say(own->key + " leads (fencing token " + std::to_string(own->create_index) +
                 "); running the command");
    }
    MonitoredChild child{
        .command = config->command,
        .environment = {{"ROSTER_LEADER", "true"},
                        {"ROSTER_FENCING_TOKEN", std::to_string(own->create_index)},
                        {"ROSTER_ELECTION_KEY", own->key},
                        {"ROSTER_SESSION", recipe.id()}},
        .check = LeaderHoldCheck(own->key, recipe.id()),
        .monitor_retries = config->monitor_retries,
        .verbose = config->verbose};
    exit_code = RunMonitoredChild(recipe, child);
  }
  // Destroying the session deletes our key (behavior delete): the next candidate leads.
  recipe.Close();
  return exit_code;
}

}  // namespace roster::cli
