// examples/service_registration/service.cc: a service that registers itself with the agent
// on its host when it starts and deregisters itself when it is told to stop — the usual way
// an application joins service discovery (examples/README.md, example 6).
//
// It is a plain client of the agent's HTTP API (docs/agent.md; Consul's /v1/agent/service/*),
// written with cpp-httplib and nlohmann-json only, so it reads the same against Consul:
//   1. bind an HTTP port (GET / says hello, GET /health is what the agent checks);
//   2. PUT /v1/agent/service/register with Name, ID, Address, Port and an HTTP check on
//      /health every -check-interval; from then on the agent runs the check and keeps the
//      catalog in step, and other hosts find the service in /v1/health/service/NAME?passing;
//   3. on SIGTERM or SIGINT: PUT /v1/agent/service/deregister/ID, then stop serving and exit 0.
// If the process dies without step 3 (kill -9), the check turns critical and the service drops
// out of ?passing; with -deregister-critical-after the agent also removes it after that long.
//
// /health answers 500 while the file named by -fail-file exists, so a test (or you) can make
// the service unhealthy with `touch` and healthy again with `rm`.
//
// Threads: main() parses flags, registers, then waits for a signal (SIGTERM and SIGINT are
// blocked in every thread and taken with sigwait, so no handler runs in a random thread);
// one thread runs the HTTP server.
#include <signal.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace {

constexpr const char* kUsage =
    "usage: service_registration [-agent HOST:PORT] [-name NAME] [-id ID] [-port N]\n"
    "                            [-check-interval 1s] [-deregister-critical-after D]\n"
    "                            [-fail-file PATH]\n"
    "  -agent     the local agent's HTTP address (default $ROSTER_HTTP_ADDR, then\n"
    "             $CONSUL_HTTP_ADDR, then 127.0.0.1:8500)\n"
    "  -name      the service name (default hello)\n"
    "  -id        the instance ID (default NAME-PORT)\n"
    "  -port      the port to serve on, on 127.0.0.1 (default 0: any free port)\n"
    "  -fail-file /health answers 500 while this file exists\n";

constexpr int kAgentTimeoutS = 10;

struct Options {
  std::string agent_address;  // host:port
  std::string name = "hello";
  std::string id;  // empty: NAME-PORT
  int port = 0;
  std::string check_interval = "1s";
  std::string deregister_critical_after;  // empty: never
  std::string fail_file;                  // empty: /health always passes
};

int BadFlag(const std::string& message) {
  std::fprintf(stderr, "service_registration: %s\n%s", message.c_str(), kUsage);
  return 2;
}

std::string DefaultAgentAddress() {
  for (const char* variable : {"ROSTER_HTTP_ADDR", "CONSUL_HTTP_ADDR"}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && *value != '\0') return value;
  }
  return "127.0.0.1:8500";
}

// "-flag value", "-flag=value" and "--flag" spellings; returns an exit status on error.
std::optional<int> ParseFlags(int argc, char** argv, Options& options) {
  options.agent_address = DefaultAgentAddress();
  const std::map<std::string, std::string*> string_flags = {
      {"agent", &options.agent_address},
      {"name", &options.name},
      {"id", &options.id},
      {"check-interval", &options.check_interval},
      {"deregister-critical-after", &options.deregister_critical_after},
      {"fail-file", &options.fail_file}};
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "-help" || flag == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (flag.size() < 2 || flag[0] != '-') return BadFlag("unexpected argument \"" + flag + "\"");
    flag.erase(0, flag[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    if (const std::size_t eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    if (flag != "port" && string_flags.count(flag) == 0) {
      return BadFlag("unknown flag -" + flag);
    }
    if (!value) {
      if (i + 1 >= argc) return BadFlag("-" + flag + " needs a value");
      value = argv[++i];
    }
    if (flag != "port") {
      *string_flags.at(flag) = *value;
      continue;
    }
    char* end = nullptr;
    const long port = std::strtol(value->c_str(), &end, 10);
    if (value->empty() || *end != '\0' || port < 0 || port > 65535) {
      return BadFlag("-port must be a number from 0 to 65535, not \"" + *value + "\"");
    }
    options.port = static_cast<int>(port);
  }
  if (options.name.empty()) return BadFlag("-name must not be empty");
  if (options.agent_address.find(':') == std::string::npos) {
    return BadFlag("-agent must be HOST:PORT, not \"" + options.agent_address + "\"");
  }
  return std::nullopt;
}

// A client of the agent at "host:port".
httplib::Client AgentClient(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  httplib::Client client(address.substr(0, colon), std::atoi(address.c_str() + colon + 1));
  client.set_connection_timeout(kAgentTimeoutS);
  client.set_read_timeout(kAgentTimeoutS);
  return client;
}

// Empty when the agent answered 200, else what went wrong, in words.
std::string AgentPut(const Options& options, const std::string& path, const std::string& body) {
  httplib::Client client = AgentClient(options.agent_address);
  httplib::Result result = client.Put(path, body, "application/json");
  if (!result) {
    return "cannot reach the agent at " + options.agent_address + " (is it running? " +
           "httplib error: " + httplib::to_string(result.error()) + ")";
  }
  if (result->status != 200) {
    std::string text = result->body;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return "the agent at " + options.agent_address + " answered HTTP " +
           std::to_string(result->status) + ": " + text;
  }
  return "";
}

std::string RegistrationBody(const Options& options, int port) {
  nlohmann::json check = {
      {"Name", options.name + " HTTP /health"},
      {"HTTP", "http://127.0.0.1:" + std::to_string(port) + "/health"},
      {"Interval", options.check_interval},
      {"Timeout", "1s"}};
  if (!options.deregister_critical_after.empty()) {
    check["DeregisterCriticalServiceAfter"] = options.deregister_critical_after;
  }
  nlohmann::json service = {{"Name", options.name},
                            {"ID", options.id},
                            {"Address", "127.0.0.1"},
                            {"Port", port},
                            {"Check", check}};
  return service.dump();
}

void ServeRoutes(httplib::Server& server, const Options& options) {
  server.Get("/", [&options](const httplib::Request&, httplib::Response& response) {
    response.set_content("hello from " + options.id + "\n", "text/plain");
  });
  server.Get("/health", [&options](const httplib::Request&, httplib::Response& response) {
    std::error_code error;
    if (!options.fail_file.empty() && std::filesystem::exists(options.fail_file, error)) {
      response.status = 500;
      response.set_content("unhealthy: " + options.fail_file + " exists\n", "text/plain");
      return;
    }
    response.set_content("ok\n", "text/plain");
  });
}

// `text` as one URL path segment: everything but unreserved characters %-encoded.
std::string EscapePathSegment(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char encoded[4];
      std::snprintf(encoded, sizeof(encoded), "%%%02X", c);
      out += encoded;
    }
  }
  return out;
}

// Blocks until SIGTERM or SIGINT (blocked in every thread by main) and returns it.
int WaitForStopSignal(const sigset_t& stop_signals) {
  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  return signal_number;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (std::optional<int> exit_status = ParseFlags(argc, argv, options)) return *exit_status;

  // Before any thread starts, so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  httplib::Server server;
  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port <= 0) {
    std::fprintf(stderr, "service_registration: cannot listen on 127.0.0.1:%d\n", options.port);
    return 1;
  }
  if (options.id.empty()) options.id = options.name + "-" + std::to_string(port);
  ServeRoutes(server, options);
  std::thread serving([&server] { server.listen_after_bind(); });
  // stop() only stops a server that is running: wait for that before anything can fail.
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);

  const std::string error =
      AgentPut(options, "/v1/agent/service/register", RegistrationBody(options, port));
  int exit_status = 0;
  if (!error.empty()) {
    std::fprintf(stderr, "service_registration: registering %s: %s\n", options.id.c_str(),
                 error.c_str());
    exit_status = 1;
  } else {
    std::printf("registered service %s (%s) with the agent at %s\n", options.id.c_str(),
                options.name.c_str(), options.agent_address.c_str());
    std::fflush(stdout);
    const int signal_number = WaitForStopSignal(stop_signals);
    std::printf("received %s: deregistering %s\n",
                signal_number == SIGTERM ? "SIGTERM" : "SIGINT", options.id.c_str());
    const std::string deregister_error =
        AgentPut(options, "/v1/agent/service/deregister/" + EscapePathSegment(options.id), "");
    if (deregister_error.empty()) {
      std::printf("deregistered service %s\n", options.id.c_str());
    } else {
      std::fprintf(stderr, "service_registration: deregistering %s: %s\n", options.id.c_str(),
                   deregister_error.c_str());
      exit_status = 1;
    }
    std::fflush(stdout);
  }
  server.stop();
  serving.join();
  return exit_status;
}
