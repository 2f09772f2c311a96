// agents_sim: thousands of simulated agents in one process, for bench/agents-bench.sh
// (bench/README.md, issue 5). Driven by bench/agents_bench.py, which measures the
// servers; this program only makes the agents' traffic and times it.
//
// Each agent is one keep-alive HTTP/1.1 connection, opened from its own loopback
// address (127.1.x.y: the servers' per-client-IP limit then sees one client per agent,
// as with real hosts), to server (agent index mod servers). Like agent/agent_loops.cc,
// an agent sends PUT /v1/internal/node/heartbeat every --interval-ms (+-10 %, the first
// at a random point of the first interval); after its first heartbeat it registers one
// service with one passing check (PUT /v1/catalog/register, the body
// agent/catalog_wire.cc builds), and re-registers it with a new tag every
// --churn-period-ms (+-10 %). One request at a time per agent, no timeouts (a stuck
// server shows as latency). Single-threaded: one epoll loop.
//
// Commands on stdin, one per line, each answered with one line on stdout:
//   stats         -> "STATS registered=R hb=N hb_p50_us=.. hb_p99_us=.. hb_max_us=.. reg=N
//                     reg_p50_us=.. reg_p99_us=.. errors=E first_error=..." (since the
//                     last stats; then resets the samples)
//   kill K        -> stops K agents spread over the index range (closes their sockets):
//                     "KILLED name:ms_since_last_ack name:... "
//   quit          -> exits
//
//   agents_sim --servers 127.0.0.1:8501,127.0.0.1:8502 --agents 5000 [--interval-ms 2000]
//              [--churn-period-ms 60000]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/http_response_reader.h"

namespace roster::bench {
namespace {

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Endpoint {
  std::string host;
  int port = 0;
};

enum class Kind { kNone, kHeartbeat, kRegister };

struct Agent : ResponseReader::Handler {
  int index = 0;
  std::string name, address, id;
  const Endpoint* server = nullptr;
  int fd = -1;
  bool connected = false, dead = false, registered = false, heartbeated = false;
  int generation = 0;
  Kind in_flight = Kind::kNone;
  std::int64_t sent_us = 0, last_ack_us = 0;
  std::int64_t next_heartbeat_us = 0, next_churn_us = -1;
  std::string out;  // bytes not yet written
  ResponseReader reader;
  int status = 0;
  bool close_after = false, complete = false;

  void OnHead(const ResponseHead& head) override {
    status = head.status;
    close_after = head.close;
  }
  void OnBody(std::string_view) override {}
  void OnComplete() override { complete = true; }
};

std::vector<std::int64_t> TakeSorted(std::vector<std::int64_t>& samples) {
  std::vector<std::int64_t> out;
  out.swap(samples);
  std::sort(out.begin(), out.end());
  return out;
}

std::int64_t At(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return -1;
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(sorted.size() * p))];
}

class Sim {
 public:
  Sim(std::vector<Endpoint> servers, int agents, std::int64_t interval_us, std::int64_t churn_us)
      : servers_(std::move(servers)), interval_us_(interval_us), churn_us_(churn_us),
        agents_(agents) {
    epoll_ = epoll_create1(0);
    const std::int64_t now = NowUs();
    for (int i = 0; i < agents; ++i) {
      Agent& a = agents_[i];
      a.index = i;
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "sim-%05d", i);
      a.name = buffer;
      std::snprintf(buffer, sizeof buffer, "127.1.%d.%d", i / 250, i % 250 + 1);
      a.address = buffer;
      std::snprintf(buffer, sizeof buffer, "00000000-0000-4000-8000-%012d", i);
      a.id = buffer;
      a.server = &servers_[i % servers_.size()];
      a.next_heartbeat_us = now + Uniform(0, interval_us_);
      timers_.push({a.next_heartbeat_us, i});
    }
  }

  int Run() {
    epoll_event stdin_event{};
    stdin_event.events = EPOLLIN;
    stdin_event.data.u64 = kStdin;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, 0, &stdin_event);
    std::vector<epoll_event> events(1024);
    for (;;) {
      const std::int64_t now = NowUs();
      while (!timers_.empty() && timers_.top().first <= now) {
        const int i = timers_.top().second;
        timers_.pop();
        MaybeSend(agents_[i], now);
      }
      int timeout_ms = 100;
      if (!timers_.empty()) {
        // Rounded up: a timer due in under 1 ms must not turn the wait into a spin.
        timeout_ms = static_cast<int>(std::clamp<std::int64_t>((timers_.top().first - now + 999) / 1000, 0, 100));
      }
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout_ms);
      for (int k = 0; k < n; ++k) {
        if (events[k].data.u64 == kStdin) {
          if (!ReadCommands()) return 0;
          continue;
        }
        Agent& a = agents_[events[k].data.u64];
        if (a.dead || a.fd < 0) continue;
        if (events[k].events & EPOLLOUT) Flush(a);
        if (a.fd >= 0 && (events[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) Receive(a);
      }
    }
  }

 private:
  static constexpr std::uint64_t kStdin = ~0ULL;

  std::int64_t Uniform(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(random_);
  }
  std::int64_t Jittered(std::int64_t period) { return period + Uniform(-period / 10, period / 10); }

  void Error(Agent& a, const std::string& what) {
    ++errors_;
    if (first_error_.empty()) first_error_ = a.name + ": " + what;
  }

  void Close(Agent& a) {
    if (a.fd >= 0) close(a.fd);
    a.fd = -1;
    a.connected = false;
    a.out.clear();
    a.reader = ResponseReader();
    a.in_flight = Kind::kNone;
  }

  bool Connect(Agent& a) {
    a.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, a.address.c_str(), &local.sin_addr);
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(static_cast<std::uint16_t>(a.server->port));
    inet_pton(AF_INET, a.server->host.c_str(), &remote.sin_addr);
    if (a.fd < 0 || bind(a.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        (connect(a.fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0 &&
         errno != EINPROGRESS)) {
      Error(a, std::string("connect: ") + std::strerror(errno));
      Close(a);
      return false;
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLET;
    event.data.u64 = static_cast<std::uint64_t>(a.index);
    epoll_ctl(epoll_, EPOLL_CTL_ADD, a.fd, &event);
    a.connected = true;
    return true;
  }

  std::string Request(const Agent& a, const std::string& path, const std::string& body) const {
    return "PUT " + path + " HTTP/1.1\r\nHost: " + a.server->host + ":" +
           std::to_string(a.server->port) + "\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  std::string HeartbeatBody(const Agent& a) const {
    return R"({"Node":")" + a.name + R"(","ID":")" + a.id + R"(","Address":")" + a.address +
           R"(","Meta":{}})";
  }

  std::string RegisterBody(const Agent& a) const {
    const std::string service = "svc" + std::to_string(a.index % 100);
    const std::string id = "svc-" + std::to_string(a.index);
    return R"({"ID":")" + a.id + R"(","Node":")" + a.name + R"(","Address":")" + a.address +
           R"(","Datacenter":"dc1","NodeMeta":{},"Service":{"ID":")" + id + R"(","Service":")" +
           service + R"(","Tags":["gen)" + std::to_string(a.generation) +
           R"("],"Port":8080},"Checks":[{"Node":")" + a.name + R"(","CheckID":"service:)" + id +
           R"(","Name":"Service ')" + service + R"(' check","Status":"passing","ServiceID":")" + id +
           R"("}]})";
  }

  // Sends what is due, if nothing is in flight (else Receive calls this again).
  void MaybeSend(Agent& a, std::int64_t now) {
    if (a.dead || a.in_flight != Kind::kNone) return;
    Kind kind = Kind::kNone;
    if (a.heartbeated && !a.registered) {
      kind = Kind::kRegister;
    } else if (a.next_churn_us >= 0 && now >= a.next_churn_us) {
      kind = Kind::kRegister;
      ++a.generation;
      a.next_churn_us += Jittered(churn_us_);
    } else if (now >= a.next_heartbeat_us) {
      kind = Kind::kHeartbeat;
      a.next_heartbeat_us += Jittered(interval_us_);
      if (a.next_heartbeat_us < now) a.next_heartbeat_us = now + Jittered(interval_us_);
    }
    if (kind == Kind::kNone) {
      Schedule(a);
      return;
    }
    if (!a.connected && !Connect(a)) {
      Schedule(a);
      return;
    }
    a.out = kind == Kind::kHeartbeat ? Request(a, "/v1/internal/node/heartbeat", HeartbeatBody(a))
                                     : Request(a, "/v1/catalog/register", RegisterBody(a));
    a.in_flight = kind;
    a.sent_us = now;
    a.complete = false;
    Flush(a);
  }

  void Schedule(Agent& a) {
    std::int64_t due = a.next_heartbeat_us;
    if (a.next_churn_us >= 0) due = std::min(due, a.next_churn_us);
    timers_.push({due, a.index});
  }

  void Flush(Agent& a) {
    while (!a.out.empty()) {
      const ssize_t n = send(a.fd, a.out.data(), a.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINPROGRESS || errno == ENOTCONN) return;
        Error(a, std::string("send: ") + std::strerror(errno));
        Close(a);
        Schedule(a);
        return;
      }
      a.out.erase(0, static_cast<std::size_t>(n));
    }
  }

  void Receive(Agent& a) {
    char buffer[8192];
    for (;;) {
      const ssize_t n = recv(a.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        if (!a.reader.Feed(std::string_view(buffer, static_cast<std::size_t>(n)), a).ok()) {
          Error(a, "not an HTTP reply");
          break;
        }
        if (a.complete) Completed(a);
        if (a.fd < 0) return;
        continue;
      }
      if (n < 0 && errno == EAGAIN) return;
      if (a.in_flight != Kind::kNone) Error(a, n == 0 ? "closed by the server" : std::strerror(errno));
      break;
    }
    Close(a);
    Schedule(a);
  }

  void Completed(Agent& a) {
    const std::int64_t now = NowUs();
    const Kind kind = a.in_flight;
    a.in_flight = Kind::kNone;
    a.complete = false;
    if (a.status != 200) {
      Error(a, "HTTP " + std::to_string(a.status));
    } else if (kind == Kind::kHeartbeat) {
      heartbeat_us_.push_back(now - a.sent_us);
      a.heartbeated = true;
      a.last_ack_us = now;
    } else if (kind == Kind::kRegister) {
      register_us_.push_back(now - a.sent_us);
      if (!a.registered) {
        a.registered = true;
        ++registered_;
        if (churn_us_ > 0) a.next_churn_us = now + Uniform(0, churn_us_);
      }
    }
    if (a.close_after) Close(a);
    MaybeSend(a, now);
  }

  bool ReadCommands() {
    char buffer[4096];
    const ssize_t n = read(0, buffer, sizeof buffer);
    if (n <= 0) return false;
    input_.append(buffer, static_cast<std::size_t>(n));
    std::size_t end;
    while ((end = input_.find('\n')) != std::string::npos) {
      std::istringstream line(input_.substr(0, end));
      input_.erase(0, end + 1);
      std::string command;
      line >> command;
      if (command == "quit") return false;
      if (command == "stats") PrintStats();
      if (command == "kill") {
        int k = 0;
        line >> k;
        Kill(k);
      }
    }
    return true;
  }

  void PrintStats() {
    const std::vector<std::int64_t> hb = TakeSorted(heartbeat_us_);
    const std::vector<std::int64_t> reg = TakeSorted(register_us_);
    std::printf("STATS registered=%d hb=%zu hb_p50_us=%lld hb_p99_us=%lld hb_max_us=%lld reg=%zu "
                "reg_p50_us=%lld reg_p99_us=%lld errors=%lld first_error=%s\n",
                registered_, hb.size(), static_cast<long long>(At(hb, 0.5)),
                static_cast<long long>(At(hb, 0.99)), static_cast<long long>(At(hb, 1.0)),
                reg.size(), static_cast<long long>(At(reg, 0.5)), static_cast<long long>(At(reg, 0.99)),
                static_cast<long long>(errors_), first_error_.empty() ? "none" : first_error_.c_str());
    std::fflush(stdout);
  }

  void Kill(int k) {
    const int count = static_cast<int>(agents_.size());
    const int step = std::max(1, count / std::max(1, k));
    const std::int64_t now = NowUs();
    std::string line = "KILLED";
    for (int i = step / 2, killed = 0; i < count && killed < k; i += step, ++killed) {
      Agent& a = agents_[i];
      a.dead = true;
      Close(a);
      line += " " + a.name + ":" + std::to_string((now - a.last_ack_us) / 1000);
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  std::vector<Endpoint> servers_;
  const std::int64_t interval_us_, churn_us_;
  std::vector<Agent> agents_;
  int epoll_ = -1;
  std::mt19937_64 random_{42};
  using Timer = std::pair<std::int64_t, int>;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<std::int64_t> heartbeat_us_, register_us_;
  int registered_ = 0;
  std::int64_t errors_ = 0;
  std::string first_error_, input_;
};

int Main(int argc, char** argv) {
  std::vector<Endpoint> servers;
  int agents = 1000;
  std::int64_t interval_ms = 2000, churn_ms = 60000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--servers") {
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) {
        const std::size_t colon = item.rfind(':');
        servers.push_back({item.substr(0, colon), std::stoi(item.substr(colon + 1))});
      }
    } else if (flag == "--agents") {
      agents = std::stoi(value);
    } else if (flag == "--interval-ms") {
      interval_ms = std::stoll(value);
    } else if (flag == "--churn-period-ms") {
      churn_ms = std::stoll(value);
    } else {
      std::fprintf(stderr, "agents_sim: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (servers.empty() || agents <= 0) {
    std::fprintf(stderr,
                 "usage: agents_sim --servers HOST:PORT,... --agents N [--interval-ms 2000] "
                 "[--churn-period-ms 60000]\n");
    return 2;
  }
  return Sim(std::move(servers), agents, interval_ms * 1000, churn_ms * 1000).Run();
}

}  // namespace
}  // namespace roster::bench

int main(int argc, char** argv) { return roster::bench::Main(argc, argv); }
