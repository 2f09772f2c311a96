// roster agent: the per-host agent (docs/agent.md). Serves /v1/agent/* from its local
// state, forwards every other request to a server of its -join list, answers DNS from
// its cache of stale server reads (agent/dns_catalog.h), runs the checks, syncs the
// catalog and heartbeats until SIGINT or SIGTERM, on which it leaves the cluster
// (Consul's default for client agents) and exits.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/dns_catalog.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/logging.h"
#include "cli/commands.h"
#include "cli/daemon.h"
#include "cli/dns_config_file.h"
#include "cli/dns_flags.h"
#include "cli/flags.h"
#include "http/server.h"

namespace roster::cli {
namespace {

const std::set<std::string> kAgentValueFlags = {"node",       "data-dir",  "bind",
                                                "http-port",  "join",      "config-dir",
                                                "log-level",  "node-meta", "datacenter"};
const std::set<std::string> kAgentBoolFlags = {"h", "help", "enable-script-checks"};

std::set<std::string> ValueFlags() {
  std::set<std::string> flags = kAgentValueFlags;
  flags.insert(DnsValueFlags().begin(), DnsValueFlags().end());
  return flags;
}

std::set<std::string> BoolFlags() {
  std::set<std::string> flags = kAgentBoolFlags;
  flags.insert(DnsBoolFlags().begin(), DnsBoolFlags().end());
  return flags;
}

void PrintAgentUsage() {
  std::fprintf(stderr,
               "usage: roster agent -data-dir DIR -join SERVER_HTTP_ADDR [-join ...]\n"
               "         [-node NAME] [-bind ADDR] [-http-port 8500] [-config-dir DIR]\n"
               "         [-enable-script-checks] [-node-meta KEY:VALUE ...]\n"
               "         [-datacenter dc1] [-log-level debug|info|warn|error]\n"
               "%s"
               "  -join takes the servers' HTTP addresses (host:port), repeated or\n"
               "  comma-separated; -http-port 0 and -dns-port 0 pick a free port and print it.\n"
               "  DNS settings may also come from the -config-dir files (docs/dns.md).\n",
               kDnsUsage);
}

std::string Hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

// The agent's options from the flags, or a message saying what is wrong.
Result<agent::AgentOptions> ParseAgentOptions(const Flags& flags, int* http_port) {
  agent::AgentOptions options;
  options.node_name = flags.Get("node", Hostname());
  options.data_dir = flags.Get("data-dir");
  options.advertise_address = flags.Get("bind", "127.0.0.1");
  options.datacenter = flags.Get("datacenter", "dc1");
  options.config_dir = flags.Get("config-dir");
  options.enable_script_checks = flags.GetBool("enable-script-checks");
  for (const std::string& value : flags.GetAll("join")) {
    std::size_t start = 0;
    while (start <= value.size()) {
      const std::size_t comma = std::min(value.find(',', start), value.size());
      if (comma > start) options.servers.push_back(value.substr(start, comma - start));
      start = comma + 1;
    }
  }
  for (const std::string& pair : flags.GetAll("node-meta")) {
    const std::size_t colon = pair.find(':');
    options.node_meta[pair.substr(0, colon)] =
        colon == std::string::npos ? "" : pair.substr(colon + 1);
  }
  Result<long long> port = flags.GetInt("http-port", 8500);
  if (!port.ok()) return port.status();
  if (*port < 0 || *port > 65535) return InvalidArgument("-http-port must be between 0 and 65535");
  *http_port = static_cast<int>(*port);
  if (options.data_dir.empty()) return InvalidArgument("-data-dir is required");
  if (options.node_name.empty()) return InvalidArgument("-node is required (no hostname)");
  if (options.servers.empty()) {
    return InvalidArgument("-join is required: the HTTP address of at least one server");
  }
  return options;
}

}  // namespace

int RunAgent(const std::vector<std::string>& args) {
  Result<Flags> flags = Flags::Parse(args, ValueFlags(), BoolFlags());
  if (!flags.ok()) {
    std::fprintf(stderr, "roster: %s\n", flags.status().message().c_str());
    PrintAgentUsage();
    return 2;
  }
  if (flags->GetBool("h") || flags->GetBool("help")) {
    PrintAgentUsage();
    return 0;
  }
  if (flags->Has("config-dir")) {
    // The files' DNS settings, under the command line's flags.
    flags = WithDnsConfigFiles("config-dir", {flags->Get("config-dir")}, *flags, args,
                               ValueFlags(), BoolFlags());
    if (!flags.ok()) {
      std::fprintf(stderr, "roster: %s\n", flags.status().message().c_str());
      return 2;
    }
  }
  SetLogLevel(ParseLogLevel(flags->Get("log-level", "info")));
  int http_port = 8500;
  Result<agent::AgentOptions> options = ParseAgentOptions(*flags, &http_port);
  if (!options.ok()) {
    std::fprintf(stderr, "roster: %s\n", options.status().message().c_str());
    PrintAgentUsage();
    return 2;
  }
  // DNS listens where the HTTP API does: on loopback, for this host's applications.
  Result<DnsFlags> dns_flags = ParseDnsFlags(*flags, "127.0.0.1");
  if (!dns_flags.ok()) {
    std::fprintf(stderr, "roster: %s\n", dns_flags.status().message().c_str());
    return 2;
  }
  // Block the signals before any thread starts so only sigwait sees them; a leave
  // through the API (PUT /v1/agent/leave) ends the process the same way.
  BlockStopSignals();
  options->on_leave = [] { kill(getpid(), SIGTERM); };

  SystemClock clock;
  Result<std::unique_ptr<agent::Agent>> local_agent = agent::Agent::Open(*options, clock);
  if (!local_agent.ok()) {
    std::fprintf(stderr, "roster: cannot start the agent: %s\n",
                 local_agent.status().ToString().c_str());
    return 1;
  }
  // The -config-dir definitions; a bad file stops the start (as in Consul).
  Status configured = (*local_agent)->Reload();
  if (!configured.ok()) {
    std::fprintf(stderr, "roster: %s\n", configured.message().c_str());
    return 1;
  }
  http::HttpOptions http_options;
  http_options.bind_address = "127.0.0.1";
  http_options.port = http_port;
  http_options.datacenter = options->datacenter;
  http::HttpServer http_server(
      http::HttpServices{nullptr, local_agent->get(), &(*local_agent)->forwarder()},
      http_options);
  Status started = http_server.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "roster: cannot start the HTTP API: %s\n", started.ToString().c_str());
    return 1;
  }
  (*local_agent)->Start();
  agent::AgentDnsCatalog dns_catalog((*local_agent)->upstream(), clock, options->datacenter);
  Result<RunningDns> dns = StartDns(*dns_flags, dns_catalog, options->datacenter, clock);
  if (!dns.ok()) {
    std::fprintf(stderr, "roster: cannot start DNS: %s\n", dns.status().message().c_str());
    http_server.Stop();
    (*local_agent)->Stop();
    return 1;
  }
  std::string servers;
  for (const std::string& server : (*local_agent)->upstream().ServersFromCurrent()) {
    servers += (servers.empty() ? "" : ", ") + server;
  }
  std::printf("Roster agent \"%s\" (id %s)\n  HTTP API:  http://127.0.0.1:%d\n"
              "  DNS:       %s\n  servers:   %s\n  data dir:  %s\n",
              options->node_name.c_str(), (*local_agent)->identity().id.c_str(),
              http_server.port(), dns->banner.c_str(), servers.c_str(),
              options->data_dir.c_str());
  std::fflush(stdout);
  const int signal_number = WaitForStopSignal([&local_agent] {
    Status reloaded = (*local_agent)->Reload();
    if (!reloaded.ok()) LOG(ERROR) << "SIGHUP: reload failed: " << reloaded.message();
  });
  LOG(INFO) << "received signal " << signal_number << ", shutting down";
  if (!(*local_agent)->left()) {
    Status left = (*local_agent)->Leave();
    if (!left.ok()) LOG(WARNING) << "agent: could not leave the cluster: " << left.message();
  }
  if (dns->server != nullptr) dns->server->Stop();
  dns_catalog.Stop();
  http_server.Stop();
  (*local_agent)->Stop();
  return 0;
}

}  // namespace roster::cli
