#include "bench/coord_common.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "client/http_client.h"

namespace roster::bench {

Result<Args> Args::Parse(int argc, char** argv, int first) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0 || name.size() == 2) {
      return InvalidArgument("unexpected argument " + name + " (flags are --name value)");
    }
    name = name.substr(2);
    // A flag followed by something that is not a flag takes it as its value.
    if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      args.values_[name] = argv[++i];
    } else {
      args.values_[name] = "";
    }
  }
  return args;
}

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  used_[name] = true;
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

Result<long long> Args::GetInt(const std::string& name, long long fallback) const {
  used_[name] = true;
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0') {
    return InvalidArgument("--" + name + " needs an integer, not \"" + it->second + "\"");
  }
  return value;
}

std::vector<std::string> Args::Unused() const {
  std::vector<std::string> unused;
  for (const auto& [name, value] : values_) {
    if (!used_.count(name)) unused.push_back("--" + name);
  }
  return unused;
}

Result<std::vector<Server>> ParseServers(const std::string& list) {
  std::vector<Server> servers;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    const std::size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return InvalidArgument("server \"" + item + "\" is not host:port");
    }
    Server server;
    server.host = item.substr(0, colon);
    server.port = std::atoi(item.c_str() + colon + 1);
    if (server.port <= 0 || server.port > 65535) {
      return InvalidArgument("server \"" + item + "\" has no valid port");
    }
    servers.push_back(server);
  }
  if (servers.empty()) return InvalidArgument("no servers given (--servers host:port,...)");
  return servers;
}

Result<std::size_t> FindLeader(const std::vector<Server>& servers,
                               std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::string last_problem = "no server answered";
  while (true) {
    for (std::size_t i = 0; i < servers.size(); ++i) {
      client::HttpClient http(servers[i].address(), std::chrono::milliseconds(2000));
      Result<client::Response> reply = http.Get("/v1/agent/self");
      if (!reply.ok()) {
        last_problem = servers[i].address() + ": " + reply.status().message();
        continue;
      }
      const nlohmann::json self = nlohmann::json::parse(reply->body, nullptr, false);
      if (self.is_object() && self.value("/Roster/RaftState"_json_pointer, "") == "Leader") {
        return i;
      }
    }
    if (Clock::now() >= deadline) {
      return Unavailable("no leader among the servers within " + std::to_string(timeout.count()) +
                         " ms (" + last_problem + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Summary Summarize(std::vector<double> samples_ms) {
  Summary summary;
  summary.count = samples_ms.size();
  if (samples_ms.empty()) return summary;
  std::sort(samples_ms.begin(), samples_ms.end());
  // Nearest rank: the smallest sample with at least p% of the samples at or below it.
  const auto rank = [&](double p) {
    const auto n = static_cast<double>(samples_ms.size());
    const auto index = static_cast<std::size_t>(std::max(1.0, std::ceil(p / 100.0 * n))) - 1;
    return samples_ms[std::min(index, samples_ms.size() - 1)];
  };
  summary.p50_ms = rank(50);
  summary.p90_ms = rank(90);
  summary.p99_ms = rank(99);
  summary.max_ms = samples_ms.back();
  summary.min_ms = samples_ms.front();
  return summary;
}

double MillisecondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::string FormatSummary(const Summary& summary) {
  char line[160];
  std::snprintf(line, sizeof(line), "count=%zu p50=%.2f p90=%.2f p99=%.2f max=%.2f ms",
                summary.count, summary.p50_ms, summary.p90_ms, summary.p99_ms, summary.max_ms);
  return line;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "n/a";
  return one + " " + five + " " + fifteen;
}

bool EnableArrivalTimes(int fd) {
  int yes = 1;
  return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &yes, sizeof(yes)) == 0;
}

namespace {
std::atomic<std::uint64_t> reads_without_arrival_time{0};
}  // namespace

std::uint64_t ReadsWithoutArrivalTime() { return reads_without_arrival_time.load(); }

ssize_t ReadWithArrival(int fd, char* buffer, std::size_t size, Clock::time_point* arrived) {
  iovec io{buffer, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  const ssize_t got = recvmsg(fd, &message, 0);
  if (got <= 0) return got;
  // Both clocks read together: the kernel's stamp is CLOCK_REALTIME, Clock is not.
  const Clock::time_point now = Clock::now();
  *arrived = now;
  bool stamped = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    stamped = true;
    timespec stamp{};
    std::memcpy(&stamp, CMSG_DATA(c), sizeof(stamp));
    timespec real{};
    clock_gettime(CLOCK_REALTIME, &real);
    const auto waited = std::chrono::seconds(real.tv_sec - stamp.tv_sec) +
                        std::chrono::nanoseconds(real.tv_nsec - stamp.tv_nsec);
    if (waited.count() >= 0) *arrived = now - std::chrono::duration_cast<Clock::duration>(waited);
  }
  if (!stamped) reads_without_arrival_time.fetch_add(1, std::memory_order_relaxed);
  return got;
}

}  // namespace roster::bench
