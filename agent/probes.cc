#include "agent/probes.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

// clang-format off
#include <httplib.h>
// clang-format on

extern char** environ;

namespace roster::agent {
namespace {

using store::HealthStatus;

// Output of one probe, bounded while it is read (a script may print forever).
constexpr std::size_t kReadBytesMax = 64 * 1024;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// "host:port" split at the last colon ("[::1]:80" keeps its brackets off).
bool SplitHostPort(const std::string& address, std::string* host, std::string* port) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return false;
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return true;
}

// Splits "http://host:port/path?q" into "http://host:port" and "/path?q".
void SplitUrl(const std::string& url, std::string* origin, std::string* target) {
  const std::size_t scheme_end = url.find("://");
  const std::size_t path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path_start == std::string::npos) {
    *origin = url;
    *target = "/";
  } else {
    *origin = url.substr(0, path_start);
    *target = url.substr(path_start);
  }
}

}  // namespace

std::string CapOutput(std::string output, std::size_t bytes_max) {
  if (output.size() > bytes_max) output.resize(bytes_max);
  return output;
}

ProbeResult RunHttpProbe(const store::CheckDefinition& definition, std::int64_t timeout_ms) {
  std::string origin, target;
  SplitUrl(definition.http, &origin, &target);
  const std::string method = definition.method.empty() ? "GET" : definition.method;
  httplib::Client client(origin);
  const auto timeout = std::chrono::milliseconds(timeout_ms);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  client.enable_server_certificate_verification(!definition.tls_skip_verify);
  httplib::Request request;
  request.method = method;
  request.path = target;
  request.body = definition.body;
  for (const auto& [name, values] : definition.header) {
    for (const std::string& value : values) request.headers.emplace(name, value);
  }
  if (!request.has_header("User-Agent")) request.headers.emplace("User-Agent", "Roster Health Check");
  if (!request.has_header("Accept")) request.headers.emplace("Accept", "text/plain, text/*, */*");
  const std::string what = "HTTP " + method + " " + definition.http;
  httplib::Result result = client.send(request);
  if (!result) {
    return {HealthStatus::kCritical, what + ": " + httplib::to_string(result.error())};
  }
  const int code = result->status;
  ProbeResult probe;
  probe.output = what + ": " + std::to_string(code) + " " + result->reason +
                 " Output: " + result->body;
  if (code >= 200 && code <= 299) {
    probe.status = HealthStatus::kPassing;
  } else if (code == 429) {
    probe.status = HealthStatus::kWarning;
  } else {
    probe.status = HealthStatus::kCritical;
  }
  return probe;
}

ProbeResult RunTcpProbe(const std::string& address, std::int64_t timeout_ms) {
  std::string host, port;
  if (!SplitHostPort(address, &host, &port)) {
    return {HealthStatus::kCritical, "TCP connect " + address + ": not a host:port"};
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int lookup = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (lookup != 0) {
    return {HealthStatus::kCritical, "TCP connect " + address + ": " + gai_strerror(lookup)};
  }
  std::string error = "no address";
  const std::int64_t deadline_ms = NowMs() + timeout_ms;
  for (addrinfo* candidate = found; candidate != nullptr; candidate = candidate->ai_next) {
    const int fd = socket(candidate->ai_family, candidate->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          candidate->ai_protocol);
    if (fd < 0) continue;
    int rc = connect(fd, candidate->ai_addr, candidate->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd waiting{fd, POLLOUT, 0};
      const int wait_ms = static_cast<int>(std::max<std::int64_t>(0, deadline_ms - NowMs()));
      rc = poll(&waiting, 1, wait_ms);
      if (rc == 0) {
        errno = ETIMEDOUT;
        rc = -1;
      } else if (rc > 0) {
        int so_error = 0;
        socklen_t length = sizeof(so_error);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
        errno = so_error;
        rc = so_error == 0 ? 0 : -1;
      }
    }
    if (rc != 0) error = std::strerror(errno);
    close(fd);
    if (rc == 0) {
      freeaddrinfo(found);
      return {HealthStatus::kPassing, "TCP connect " + address + ": Success"};
    }
  }
  freeaddrinfo(found);
  return {HealthStatus::kCritical, "dial tcp " + address + ": " + error};
}

namespace {

// Reads what the child writes until it closes the pipe or the deadline passes; false
// on the deadline.
bool ReadUntil(int fd, std::int64_t deadline_ms, std::string* out) {
  char buffer[4096];
  for (;;) {
    const std::int64_t left_ms = deadline_ms - NowMs();
    if (left_ms <= 0) return false;
    pollfd readable{fd, POLLIN, 0};
    const int rc = poll(&readable, 1, static_cast<int>(left_ms));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return rc == 0 ? false : true;
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;  // every writer closed it
    if (out->size() < kReadBytesMax) out->append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace

ProbeResult RunScriptProbe(const std::vector<std::string>& args, std::int64_t timeout_ms) {
  if (args.empty()) return {HealthStatus::kCritical, "no script arguments"};
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return {HealthStatus::kCritical, std::strerror(errno)};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group, so a timeout kills what it started too; and the signals
  // the roster process blocks (SIGINT, SIGTERM) unblocked again.
  sigset_t no_signals;
  sigemptyset(&no_signals);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setsigdefault(&attributes, &default_signals);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    return {HealthStatus::kCritical, "cannot run " + args[0] + ": " + std::strerror(spawned)};
  }
  ProbeResult probe;
  const bool finished = ReadUntil(pipe_fds[0], NowMs() + timeout_ms, &probe.output);
  close(pipe_fds[0]);
  if (!finished) kill(-pid, SIGKILL);
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (!finished) {
    probe.status = HealthStatus::kCritical;
    probe.output = "Timed out (" + std::to_string(timeout_ms) + "ms) running check";
    return probe;
  }
  const int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  probe.status = code == 0   ? HealthStatus::kPassing
                 : code == 1 ? HealthStatus::kWarning
                             : HealthStatus::kCritical;
  return probe;
}

}  // namespace roster::agent
