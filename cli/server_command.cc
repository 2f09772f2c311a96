// roster server / roster dev: run a Roster server until SIGINT or SIGTERM.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <variant>

#include "agent/agent.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/logging.h"
#include "cli/commands.h"
#include "cli/daemon.h"
#include "cli/dns_config_file.h"
#include "cli/dns_flags.h"
#include "cli/flags.h"
#include "dns/dns_server.h"
#include "http/params.h"
#include "http/server.h"
#include "server/dns_catalog.h"
#include "server/node.h"

namespace roster::cli {
namespace {

const std::set<std::string> kServerValueFlags = {
    "node",      "data-dir",  "bind",      "server-port",            "http-port",
    "bootstrap-expect",       "join",                   "log-level",
    "raft-snapshot-threshold",             "raft-trailing-logs",     "tombstone-ttl",
    "watch-history-events",    "watch-history-mb",       "failure-timeout",
    "reconnect-timeout",       "config-file"};

std::set<std::string> ValueFlags() {
  std::set<std::string> flags = kServerValueFlags;
  flags.insert(DnsValueFlags().begin(), DnsValueFlags().end());
  return flags;
}

std::set<std::string> BoolFlags() {
  std::set<std::string> flags = {"h", "help"};
  flags.insert(DnsBoolFlags().begin(), DnsBoolFlags().end());
  return flags;
}

void PrintServerUsage(bool dev) {
  std::fprintf(stderr,
               "usage: roster %s -node NAME -data-dir DIR [-bind ADDR] [-server-port 8300]\n"
               "         [-http-port 8500] [-bootstrap-expect N]\n"
               "         [-join HOST:PORT ...] [-log-level debug|info|warn|error]\n"
               "         [-raft-snapshot-threshold 16384] [-raft-trailing-logs 4096]\n"
               "         [-tombstone-ttl 15m] [-watch-history-events 50000]\n"
               "         [-watch-history-mb 16] [-failure-timeout 10s]\n"
               "         [-reconnect-timeout 72h] [-config-file FILE_OR_DIR ...]\n"
               "%s",
               dev ? "dev" : "server", kDnsUsage);
}

Result<std::string> MakeTempDataDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "roster-dev-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return IoError("cannot create a temp data dir");
  return pattern;
}

// A flag's problem, already printed; the exit code to return.
struct UsageError {
  int exit_code;
};

struct ServerConfig {
  server::NodeOptions node;
  int http_port = 8500;
  DnsFlags dns;
};

// A liveness timeout flag (-failure-timeout, -reconnect-timeout): absent leaves the
// NodeOptions default; else a Go duration of at least 1s. An error message, or "".
std::string ParseTimeoutFlag(const Flags& flags, const std::string& name, std::int64_t* out_ms) {
  if (!flags.Has(name)) return "";
  Result<std::chrono::nanoseconds> value = http::ParseGoDuration(flags.Get(name));
  if (!value.ok() || *value < std::chrono::seconds(1)) {
    return "-" + name + " must be a duration of at least 1s, such as 10s or 72h";
  }
  *out_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*value).count();
  return "";
}

// Reads the server flags into a config, or prints what is wrong.
std::variant<ServerConfig, UsageError> ParseServerConfig(const Flags& flags, bool dev) {
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "roster: %s\n", message.c_str());
    return UsageError{2};
  };
  ServerConfig config;
  server::NodeOptions& options = config.node;
  options.node_name = flags.Get("node", dev ? "dev" : "");
  options.data_dir = flags.Get("data-dir");
  options.bind_address = flags.Get("bind", "127.0.0.1");
  options.join = flags.GetAll("join");
  Result<long long> server_port = flags.GetInt("server-port", 8300);
  Result<long long> http_port = flags.GetInt("http-port", 8500);
  Result<long long> expect = flags.GetInt("bootstrap-expect", 1);
  Result<long long> threshold = flags.GetInt("raft-snapshot-threshold", 16384);
  Result<long long> trailing = flags.GetInt("raft-trailing-logs", 4096);
  const store::HistoryLimits history_default;
  Result<long long> history_events =
      flags.GetInt("watch-history-events", static_cast<long long>(history_default.events_max));
  Result<long long> history_mb =
      flags.GetInt("watch-history-mb", static_cast<long long>(history_default.bytes_max >> 20));
  for (const auto* value : {&server_port, &http_port, &expect, &threshold, &trailing,
                            &history_events, &history_mb}) {
    if (!value->ok()) return fail(value->status().message());
  }
  if (*server_port < 0 || *server_port > 65535 || *http_port < 1 || *http_port > 65535) {
    return fail("ports must be between 1 and 65535");
  }
  if (*expect < 1) return fail("-bootstrap-expect must be at least 1");
  if (*threshold < 1 || *trailing < 0) {
    return fail("-raft-snapshot-threshold must be >= 1, -raft-trailing-logs >= 0");
  }
  if (*history_events < 1 || *history_mb < 1) {
    return fail("-watch-history-events and -watch-history-mb must be at least 1");
  }
  options.watch_history.events_max = static_cast<std::size_t>(*history_events);
  options.watch_history.bytes_max = static_cast<std::size_t>(*history_mb) << 20;
  Result<std::chrono::nanoseconds> ttl = http::ParseGoDuration(flags.Get("tombstone-ttl", "15m"));
  if (!ttl.ok() || ttl->count() < 0) {
    return fail("-tombstone-ttl must be a duration such as 15m or 30s");
  }
  options.tombstone_ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*ttl).count();
  for (const auto& [name, target] :
       {std::pair{"failure-timeout", &options.failure_timeout_ms},
        std::pair{"reconnect-timeout", &options.reconnect_timeout_ms}}) {
    if (std::string error = ParseTimeoutFlag(flags, name, target); !error.empty()) {
      return fail(error);
    }
  }
  options.snapshot_interval_entries = static_cast<std::uint64_t>(*threshold);
  options.snapshot_trailing_entries = static_cast<std::uint64_t>(*trailing);
  options.server_port = static_cast<int>(*server_port);
  options.bootstrap_expect = static_cast<int>(*expect);
  options.advertise_http_address = options.bind_address + ":" + std::to_string(*http_port);
  config.http_port = static_cast<int>(*http_port);
  Result<DnsFlags> dns = ParseDnsFlags(flags, options.bind_address);
  if (!dns.ok()) return fail(dns.status().message());
  config.dns = std::move(dns).value();
  if (options.data_dir.empty() && dev) {
    Result<std::string> dir = MakeTempDataDir();
    if (!dir.ok()) {
      std::fprintf(stderr, "roster: %s\n", dir.status().message().c_str());
      return UsageError{1};
    }
    options.data_dir = *dir;
  }
  if (options.node_name.empty() || options.data_dir.empty()) {
    std::fprintf(stderr, "roster: -node and -data-dir are required\n");
    PrintServerUsage(dev);
    return UsageError{2};
  }
  return config;
}

// The agent every server runs beside its Raft node (docs/agent.md): /v1/agent/* on
// servers too, with the server itself upstream. The server owns its node record.
Result<std::unique_ptr<agent::Agent>> OpenServerAgent(const server::NodeOptions& options,
                                                      const Clock& clock) {
  agent::AgentOptions agent_options;
  agent_options.node_name = options.node_name;
  agent_options.data_dir = options.data_dir;
  agent_options.advertise_address = options.bind_address;
  agent_options.servers = {options.advertise_http_address};
  agent_options.server = true;
  agent_options.on_leave = [] { kill(getpid(), SIGTERM); };
  return agent::Agent::Open(std::move(agent_options), clock);
}

}  // namespace

int RunServer(const std::vector<std::string>& args, bool dev) {
  Result<Flags> flags = Flags::Parse(args, ValueFlags(), BoolFlags());
  if (!flags.ok()) {
    std::fprintf(stderr, "roster: %s\n", flags.status().message().c_str());
    PrintServerUsage(dev);
    return 2;
  }
  if (flags->GetBool("h") || flags->GetBool("help")) {
    PrintServerUsage(dev);
    return 0;
  }
  if (flags->Has("config-file")) {
    // The files' DNS settings, under the command line's flags.
    flags = WithDnsConfigFiles("config-file", flags->GetAll("config-file"), *flags, args,
                               ValueFlags(), BoolFlags());
    if (!flags.ok()) {
      std::fprintf(stderr, "roster: %s\n", flags.status().message().c_str());
      return 2;
    }
  }
  SetLogLevel(ParseLogLevel(flags->Get("log-level", "info")));
  std::variant<ServerConfig, UsageError> parsed = ParseServerConfig(*flags, dev);
  if (auto* error = std::get_if<UsageError>(&parsed)) return error->exit_code;
  server::NodeOptions options = std::get<ServerConfig>(parsed).node;
  const int http_port = std::get<ServerConfig>(parsed).http_port;
  const DnsFlags& dns_flags = std::get<ServerConfig>(parsed).dns;

  // Block the signals before any thread starts so only sigwait sees them.
  BlockStopSignals();

  // The agent first: the server's node record carries the agent's node UUID.
  const SystemClock agent_clock;
  Result<std::unique_ptr<agent::Agent>> local_agent = OpenServerAgent(options, agent_clock);
  if (!local_agent.ok()) {
    std::fprintf(stderr, "roster: cannot start the agent: %s\n",
                 local_agent.status().ToString().c_str());
    return 1;
  }
  options.node_uuid = (*local_agent)->identity().id;
  Result<std::unique_ptr<server::Node>> node = server::Node::Start(options);
  if (!node.ok()) {
    std::fprintf(stderr, "roster: cannot start the server: %s\n",
                 node.status().ToString().c_str());
    return 1;
  }
  http::HttpOptions http_options;
  http_options.bind_address = options.bind_address;
  http_options.port = http_port;
  http::HttpServer http_server(http::HttpServices{node->get(), local_agent->get(), nullptr},
                               http_options);
  Status started = http_server.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "roster: cannot start the HTTP API: %s\n", started.ToString().c_str());
    return 1;
  }
  // An ephemeral -http-port is known only now.
  (*local_agent)->upstream().SetServers(
      {options.bind_address + ":" + std::to_string(http_server.port())});
  (*local_agent)->Start();
  const SystemClock clock;
  const server::ReplicaDnsCatalog dns_catalog(**node, (*node)->Self().datacenter);
  Result<RunningDns> dns = StartDns(dns_flags, dns_catalog, (*node)->Self().datacenter, clock);
  if (!dns.ok()) {
    std::fprintf(stderr, "roster: cannot start DNS: %s\n", dns.status().message().c_str());
    return 1;
  }
  std::printf("Roster %s \"%s\" (id %llu)\n  HTTP API:  http://%s:%d\n  DNS:       %s\n"
              "  server:    %s\n  data dir:  %s\n",
              dev ? "dev server" : "server", options.node_name.c_str(),
              static_cast<unsigned long long>((*node)->id()), options.bind_address.c_str(),
              http_server.port(), dns->banner.c_str(), (*node)->server_address().c_str(),
              options.data_dir.c_str());
  std::fflush(stdout);
  const int signal_number = WaitForStopSignal(
      [] { LOG(INFO) << "received SIGHUP: a server has no -config-dir to reload"; });
  LOG(INFO) << "received signal " << signal_number << ", shutting down";
  if (dns->server != nullptr) dns->server->Stop();
  http_server.Stop();
  (*local_agent)->Stop();
  (*node)->Stop();
  return 0;
}

}  // namespace roster::cli
