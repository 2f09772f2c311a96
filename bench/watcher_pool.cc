#include "bench/watcher_pool.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include "base/check.h"
#include "bench/http_response_reader.h"

namespace roster::bench {
namespace {

// Bytes of a failed reply's body kept for the error message.
constexpr std::size_t kErrorBodyBytesMax = 300;
// epoll data of the loop's stop eventfd (connections use their index).
constexpr std::uint64_t kStopToken = ~std::uint64_t{0};

std::optional<std::uint64_t> LineIndex(std::string_view line) {
  constexpr std::string_view kField = "\"Index\":";
  const std::size_t at = line.find(kField);
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = line.data() + at + kField.size();
  std::uint64_t index = 0;
  const auto [end, error] = std::from_chars(begin, line.data() + line.size(), index);
  if (error != std::errc() || end == begin) return std::nullopt;
  return index;
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

// One loop thread and the connections it owns.
class WatcherPool::Loop {
 public:
  explicit Loop(WatcherPool& pool) : pool_(pool) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    CHECK_GE(epoll_fd_, 0) << Errno("epoll_create1");
    stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK_GE(stop_fd_, 0) << Errno("eventfd");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kStopToken;
    CHECK_EQ(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &event), 0) << Errno("epoll_ctl");
  }

  ~Loop() {
    Stop();
    for (auto& connection : connections_) {
      if (connection->fd >= 0) ::close(connection->fd);
    }
    ::close(stop_fd_);
    ::close(epoll_fd_);
  }

  void Add(std::size_t id, WatcherSpec spec) {
    connections_.push_back(
        std::make_unique<Connection>(*this, connections_.size(), id, std::move(spec)));
  }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  void Stop() {
    if (!thread_.joinable()) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(stop_fd_, &one, sizeof(one));
    thread_.join();
  }

 private:
  struct Connection final : ResponseReader::Handler {
    Connection(Loop& loop, std::size_t slot, std::size_t id, WatcherSpec spec)
        : loop(loop), slot(slot), id(id), spec(std::move(spec)) {}

    void OnHead(const ResponseHead& response_head) override {
      head = response_head;
      body.clear();
    }
    void OnBody(std::string_view bytes) override {
      if (!failure.empty()) return;
      if (spec.kind == WatcherKind::kStream && head.status == 200) {
        line.append(bytes);
        std::size_t begin = 0;
        for (std::size_t end; (end = line.find('\n', begin)) != std::string::npos; begin = end + 1) {
          OnStreamLine(std::string_view(line).substr(begin, end - begin));
        }
        line.erase(0, begin);
      } else if (body.size() < kErrorBodyBytesMax) {
        body.append(bytes.substr(0, kErrorBodyBytesMax - body.size()));
      }
    }
    void OnComplete() override {
      if (!failure.empty()) return;
      if (spec.kind == WatcherKind::kStream) {
        failure = head.status == 200 ? "the server ended the stream"
                                     : "HTTP " + std::to_string(head.status) + ": " + body;
        return;
      }
      // A blocking query answers 404 with an index while the prefix holds no key.
      if ((head.status != 200 && head.status != 404) || !head.consul_index.has_value()) {
        failure = "HTTP " + std::to_string(head.status) + ": " + body;
        return;
      }
      loop.Answered(*this, *head.consul_index);
      last_index = *head.consul_index;
      if (head.close) {
        reopen = true;
      } else {
        loop.Rearm(*this);
      }
    }
    void OnStreamLine(std::string_view text) {
      if (text.find("\"Op\":\"error\"") != std::string_view::npos) {
        failure = "error line: " + std::string(text.substr(0, kErrorBodyBytesMax));
        return;
      }
      if (std::optional<std::uint64_t> index = LineIndex(text)) loop.Answered(*this, *index);
    }

    Loop& loop;
    const std::size_t slot;  // in the loop's connections_, and its epoll data
    const std::size_t id;    // the pool's watcher id
    const WatcherSpec spec;
    int fd = -1;
    bool connected = false;
    bool answered = false;  // it has seen an index since it was opened
    std::string out;        // request bytes not yet written
    ResponseReader reader;
    ResponseHead head;
    std::string body;  // of a reply that is not a watch result (for the error)
    std::string line;  // a stream line not yet complete
    std::uint64_t last_index = 0;
    std::string failure;  // set by the handler; the loop closes the connection
    bool reopen = false;  // the server said Connection: close; open a new one
    bool watching_out = false;  // EPOLLOUT is in the epoll interest set
    Clock::time_point read_at{};
    Clock::time_point arrived_at{};  // of the bytes read last
  };

  void Run() {
    OpenMore();
    std::array<epoll_event, 256> events;
    while (true) {
      const int ready = epoll_wait(epoll_fd_, events.data(), events.size(), -1);
      if (ready < 0) {
        CHECK_EQ(errno, EINTR) << Errno("epoll_wait");
        continue;
      }
      for (int i = 0; i < ready; ++i) {
        if (events[i].data.u64 == kStopToken) return;
        Connection& connection = *connections_[events[i].data.u64];
        if (connection.fd >= 0) OnEvent(connection, events[i].events);
      }
      SendRearms();
      OpenMore();
    }
  }

  void OpenMore() {
    while (opening_ < pool_.options_.opening_max && next_to_open_ < connections_.size()) {
      Open(*connections_[next_to_open_++]);
    }
  }

  void Open(Connection& c) {
    ++opening_;
    c.connected = c.answered = c.reopen = false;
    c.reader = ResponseReader();
    c.line.clear();
    const Server& server = pool_.options_.servers.at(c.spec.server);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(server.port));
    if (inet_pton(AF_INET, server.host.c_str(), &to.sin_addr) != 1) {
      return Close(c, "server host " + server.host + " is not an IPv4 address");
    }
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return Close(c, Errno("socket (raise ulimit -n?)"));
    int yes = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    EnableArrivalTimes(c.fd);
    if (!c.spec.source_ip.empty()) {
      // Many source addresses so that no server sees more than its per-IP limit of
      // connections from one client; the port is picked at connect(), per destination.
      setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &yes, sizeof(yes));
      sockaddr_in from{};
      from.sin_family = AF_INET;
      if (inet_pton(AF_INET, c.spec.source_ip.c_str(), &from.sin_addr) != 1 ||
          bind(c.fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) {
        return Close(c, Errno("bind to source " + c.spec.source_ip));
      }
    }
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0 && errno != EINPROGRESS) {
      return Close(c, Errno("connect to " + server.address()));
    }
    c.out = Request(c);
    c.watching_out = true;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT;
    event.data.u64 = c.slot;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &event) != 0) return Close(c, Errno("epoll_ctl"));
  }

  std::string Request(const Connection& c) const {
    const WatcherPoolOptions& options = pool_.options_;
    std::string target;
    if (c.spec.kind == WatcherKind::kStream) {
      target = "/v1/watch?prefix=" + options.prefix;
    } else {
      target = "/v1/kv/" + options.prefix + "?recurse";
      if (c.last_index > 0) {
        target += "&index=" + std::to_string(c.last_index) + "&wait=" + options.blocking_wait;
      }
      if (options.blocking_stale) target += "&stale";
    }
    return "GET " + target + " HTTP/1.1\r\nHost: " + options.servers.at(c.spec.server).address() +
           "\r\nUser-Agent: coord-bench\r\n\r\n";
  }

  // A blocking watcher's next request waits until every reply epoll reported at once
  // has been read: as if each watcher were a process of its own, none reads its reply
  // after another watcher's re-arm (a send on loopback also runs the server's receive
  // path, so re-arming in between would add the others' work to the later replies).
  void Rearm(Connection& c) { rearms_.push_back(c.slot); }

  void SendRearms() {
    for (const std::size_t slot : rearms_) {
      Connection& c = *connections_[slot];
      if (c.fd < 0) continue;
      c.out += Request(c);
      Flush(c);
    }
    rearms_.clear();
  }

  void OnEvent(Connection& c, std::uint32_t events) {
    if ((events & EPOLLOUT) && !c.connected) {
      int error = 0;
      socklen_t size = sizeof(error);
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &size);
      if (error != 0) {
        errno = error;
        return Close(c, Errno("connect to " + pool_.options_.servers.at(c.spec.server).address()));
      }
      c.connected = true;
    }
    if (events & EPOLLOUT) Flush(c);
    if (c.fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) ReadAll(c);
  }

  // Writes what is pending; watches for writability only while something is.
  void Flush(Connection& c) {
    if (!c.connected || c.fd < 0) return;
    while (!c.out.empty()) {
      const ssize_t written = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (written < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        return Close(c, Errno("send"));
      }
      c.out.erase(0, static_cast<std::size_t>(written));
    }
    const bool want_out = !c.out.empty();
    if (want_out == c.watching_out) return;  // a syscall saved per reply
    epoll_event event{};
    event.events = want_out ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    event.data.u64 = c.slot;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event);
    c.watching_out = want_out;
  }

  void ReadAll(Connection& c) {
    char buffer[64 * 1024];
    while (c.fd >= 0) {
      Clock::time_point arrived;
      const ssize_t got = ReadWithArrival(c.fd, buffer, sizeof(buffer), &arrived);
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) Close(c, Errno("read"));
        return;
      }
      if (got == 0) {
        c.reader.FinishAtEof(c);
        if (c.failure.empty()) c.failure = "the server closed the connection";
      } else {
        c.read_at = Clock::now();
        c.arrived_at = arrived;
        const Status fed = c.reader.Feed(std::string_view(buffer, static_cast<std::size_t>(got)), c);
        if (!fed.ok() && c.failure.empty()) c.failure = "bad reply: " + fed.message();
      }
      if (c.reopen && c.failure.empty()) {
        ::close(c.fd);
        c.fd = -1;
        --opening_;  // Open counts it again
        Open(c);
        return;
      }
      if (!c.failure.empty()) return Close(c, c.failure);
      // Level-triggered: a short read took all there was; epoll says when more comes.
      if (got > 0 && static_cast<std::size_t>(got) < sizeof(buffer)) return;
    }
  }

  // The connection saw `index` (a reply, or a stream line).
  void Answered(Connection& c, std::uint64_t index) {
    if (!c.answered) {
      c.answered = true;
      --opening_;
    }
    pool_.Seen(c.id, index, c.read_at, c.arrived_at);
  }

  void Close(Connection& c, const std::string& error) {
    if (c.failure.empty()) c.failure = error;  // the handler ignores what still comes
    if (c.fd >= 0) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
      c.fd = -1;
    }
    if (!c.answered) {
      c.answered = true;  // it no longer holds an opening slot
      --opening_;
    }
    pool_.Fail(c.id, error);
  }

  WatcherPool& pool_;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<std::size_t> rearms_;  // slots whose next request SendRearms sends
  std::size_t next_to_open_ = 0;
  std::size_t opening_ = 0;  // opened, not yet answered nor failed
  std::thread thread_;
};

WatcherPool::WatcherPool(WatcherPoolOptions options) : options_(std::move(options)) {
  CHECK_GE(options_.threads, 1);
  for (int i = 0; i < options_.threads; ++i) loops_.push_back(std::make_unique<Loop>(*this));
}

WatcherPool::~WatcherPool() { Stop(); }

void WatcherPool::Add(WatcherSpec spec) {
  CHECK(!started_) << "WatcherPool::Add after Start";
  CHECK_LT(spec.server, options_.servers.size());
  const std::size_t id = states_.size();
  WatcherState state;
  state.spec = spec;
  states_.push_back(std::move(state));
  loops_[id % loops_.size()]->Add(id, std::move(spec));
}

void WatcherPool::Start() {
  CHECK(!started_);
  started_ = true;
  for (auto& loop : loops_) loop->Start();
}

void WatcherPool::Stop() {
  for (auto& loop : loops_) loop->Stop();
}

bool WatcherPool::WaitForIndex(std::uint64_t index, Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  target_index_ = index;
  settled_ = static_cast<std::size_t>(std::count_if(
      states_.begin(), states_.end(), [this](const WatcherState& s) { return SettledLocked(s); }));
  return settled_cv_.wait_until(lock, deadline, [this] { return settled_ == states_.size(); });
}

std::vector<WatcherState> WatcherPool::Snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return states_;
}

void WatcherPool::Seen(std::size_t id, std::uint64_t index, Clock::time_point at,
                       Clock::time_point arrived) {
  std::lock_guard<std::mutex> lock(mutex_);
  WatcherState& state = states_[id];
  ++state.replies;
  if (index <= state.seen_index) return;
  const bool was_settled = SettledLocked(state);
  state.seen_index = index;
  state.seen_at = at;
  state.arrived_at = arrived;
  if (!was_settled && SettledLocked(state) && ++settled_ == states_.size()) {
    settled_cv_.notify_all();
  }
}

void WatcherPool::Fail(std::size_t id, std::string error) {
  std::lock_guard<std::mutex> lock(mutex_);
  WatcherState& state = states_[id];
  if (state.failed) return;
  const bool was_settled = SettledLocked(state);
  state.failed = true;
  state.error = std::move(error);
  if (!was_settled && ++settled_ == states_.size()) settled_cv_.notify_all();
}

}  // namespace roster::bench
