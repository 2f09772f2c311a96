#include "http/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "base/check.h"
#include "http/next_request.h"
#include "http/task_queue.h"
#include "http/watch_stream.h"

namespace roster::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr int kNoStopFd = -1;  // poll() ignores a negative descriptor

// Waits until fd is ready for `events` (true), or the timeout passes, the peer fails
// or stop_fd turns readable (false).
bool WaitReady(int fd, short events, int stop_fd, milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    std::array<pollfd, 2> fds = {pollfd{fd, events, 0}, pollfd{stop_fd, POLLIN, 0}};
    const int ready = ::poll(fds.data(), fds.size(),
                             static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, INT_MAX)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || fds[1].revents != 0) return false;
    // A hang-up counts as readable: the read then sees the end of the stream.
    return (fds[0].revents & (events | POLLHUP)) != 0;
  }
}

struct Endpoint {
  std::string ip;
  int port = -1;
};

Endpoint ToEndpoint(const sockaddr_storage& address) {
  Endpoint endpoint;
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &v4.sin_addr, text.data(), text.size());
    endpoint.port = ntohs(v4.sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &v6.sin6_addr, text.data(), text.size());
    endpoint.port = ntohs(v6.sin6_port);
  }
  endpoint.ip = text.data();
  return endpoint;
}

Endpoint PeerEndpoint(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return {};
  return ToEndpoint(address);
}

Endpoint LocalEndpoint(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return {};
  return ToEndpoint(address);
}

// httplib::Stream over a connected socket: buffered reads (httplib reads request
// lines a byte at a time), and every wait bounded by a timeout and the stop signal.
class SocketStream final : public httplib::Stream {
 public:
  SocketStream(int fd, int stop_fd, const HttpOptions& options, Endpoint peer,
               std::string_view pending = {})
      : fd_(fd), stop_fd_(stop_fd), options_(options), peer_(std::move(peer)) {
    CHECK_LE(pending.size(), buffer_.size());
    if (!pending.empty()) std::memcpy(buffer_.data(), pending.data(), pending.size());
    end_ = pending.size();
  }

  // While set, writes are dropped: httplib writes a placeholder reply for a request
  // whose real reply the event loop writes.
  void set_discard_writes(bool discard) { discard_writes_ = discard; }
  // The bytes read and not yet parsed (a pipelined request), taken out.
  std::string TakeBuffered() {
    std::string rest(buffer_.data() + begin_, end_ - begin_);
    begin_ = end_ = 0;
    return rest;
  }

  // Waits for the next request to start arriving: false after the keep-alive timeout,
  // or when the server stops.
  bool WaitForRequest() {
    return begin_ < end_ || WaitReady(fd_, POLLIN, stop_fd_, options_.keep_alive_timeout_ms);
  }

  bool is_readable() const override {
    return begin_ < end_ || WaitReady(fd_, POLLIN, stop_fd_, options_.read_timeout_ms);
  }
  // Writes do not watch the stop signal: a reply already made (a blocking query that
  // Stop() ended) still reaches its client.
  bool is_writable() const override {
    return WaitReady(fd_, POLLOUT, kNoStopFd, options_.write_timeout_ms);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_) {
      if (!is_readable()) return -1;
      const ssize_t received = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
      if (received <= 0) return received;
      begin_ = 0;
      end_ = static_cast<std::size_t>(received);
    }
    const std::size_t count = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_.data() + begin_, count);
    begin_ += count;
    return static_cast<ssize_t>(count);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (discard_writes_) return static_cast<ssize_t>(size);
    if (!is_writable()) return -1;
    return ::send(fd_, ptr, size, MSG_NOSIGNAL);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = peer_.ip;
    port = peer_.port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    const Endpoint local = LocalEndpoint(fd_);
    ip = local.ip;
    port = local.port;
  }
  socket_t socket() const override { return fd_; }

 private:
  const int fd_;
  const int stop_fd_;
  const HttpOptions& options_;
  const Endpoint peer_;
  std::array<char, 4096> buffer_{};
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool discard_writes_ = false;
};

// Where ParkCurrentRequest leaves a parked reply for ServeConnection, on this thread.
struct ParkSlot {
  SocketStream* stream = nullptr;
  std::optional<Parking> parking;
};
thread_local ParkSlot* current_park_slot = nullptr;

class ParkSlotScope {
 public:
  explicit ParkSlotScope(ParkSlot* slot) { current_park_slot = slot; }
  ~ParkSlotScope() { current_park_slot = nullptr; }
  ParkSlotScope(const ParkSlotScope&) = delete;
  ParkSlotScope& operator=(const ParkSlotScope&) = delete;
};

// The proxy httplib's accept loop gets as its task queue: connections go to the
// Listener's pool, which the Listener shuts down itself.
class PoolProxy final : public httplib::TaskQueue {
 public:
  explicit PoolProxy(GrowingTaskQueue& pool) : pool_(pool) {}
  void enqueue(std::function<void()> task) override { pool_.enqueue(std::move(task)); }
  void shutdown() override {}

 private:
  GrowingTaskQueue& pool_;
};

// Adjusts a parsed request, before httplib reads its body and routes it, where
// httplib's reading differs from Go's (and so Consul's):
//  - a request with neither Content-Length nor Transfer-Encoding has no body
//    (RFC 9112 §6.3); httplib would read a PUT until the client closes, so
//    `curl -X PUT .../v1/kv/k` would hang until the read timeout;
//  - the Content-Type is ignored, as in Consul; httplib parses a form-encoded body
//    into parameters and caps it at 8 KiB, and curl labels `--data-binary` so;
//  - the path httplib routes on becomes `route` (see kRouteServe in connection.h).
void PrepareRequest(httplib::Request& request, const char* route) {
  if (!request.has_header("Content-Length") && !request.has_header("Transfer-Encoding")) {
    request.set_header("Content-Length", "0");
  }
  if (request.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded")) {
    request.headers.erase("Content-Type");
  }
  request.path = route;
}

}  // namespace

bool ParkCurrentRequest(Reply reply, bool head_only) {
  if (current_park_slot == nullptr) return false;
  current_park_slot->parking = Parking{std::move(reply), head_only, false};
  current_park_slot->stream->set_discard_writes(true);
  return true;
}

bool ClientConnectionLimiter::Acquire(const std::string& ip) {
  if (per_client_max_ == 0) return true;
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t& open = open_[ip];
  if (open >= per_client_max_) return false;
  ++open;
  return true;
}

void ClientConnectionLimiter::Release(const std::string& ip) {
  if (per_client_max_ == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = open_.find(ip);
  CHECK(it != open_.end() && it->second > 0) << "released a connection never counted: " << ip;
  if (--it->second == 0) open_.erase(it);
}

Listener::Listener(const HttpOptions& options)
    : options_(options),
      limiter_(options.connections_per_client_max),
      pool_(options.threads),
      loop_(
          options_, pool_,
          [this](std::shared_ptr<Connection> connection) {
            ServeConnection(std::move(connection));
          },
          [this](Connection& connection, const PeekedRequest& request) {
            return ServeOnLoop(connection, request);
          }) {
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  CHECK_GE(stop_fd_, 0) << "eventfd: " << std::strerror(errno);
  const Status loop_started = loop_.Start();
  CHECK(loop_started.ok()) << "the HTTP event loop did not start: " << loop_started.message();
  new_task_queue = [this] { return new PoolProxy(pool_); };
  // httplib's default also sets SO_REUSEPORT, which would let a second server bind
  // the same port silently. SO_REUSEADDR alone allows a quick restart.
  set_socket_options([](socket_t fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  set_tcp_nodelay(true);
  // Only for the Keep-Alive response header: ServeConnection enforces both.
  set_keep_alive_max_count(options_.keep_alive_requests_max);
  set_keep_alive_timeout(std::max<time_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(options_.keep_alive_timeout_ms).count()));
  set_payload_max_length(options_.request_body_bytes_max);
  set_read_timeout(options_.read_timeout_ms);
  set_write_timeout(options_.write_timeout_ms);
}

Listener::~Listener() {
  SignalStop();      // stops the loop too
  pool_.shutdown();  // after the loop: it posts to the pool until it stops
  ::close(stop_fd_);
}

int Listener::Bind(const std::string& host, int port) {
  const int bound = port == 0 ? bind_to_any_port(host) : (bind_to_port(host, port) ? port : -1);
  if (bound < 0) return -1;
  // httplib listens with a backlog of 5: a burst of new connections would see SYN
  // retries (a one-second stall each). Listening again only raises the backlog.
  ::listen(svr_sock_, options_.listen_backlog);
  return bound;
}

void Listener::SignalStop() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(stop_fd_, &one, sizeof(one));
  loop_.Stop();
}

bool Listener::process_and_close_socket(socket_t sock) {
  int yes = 1;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  Endpoint peer = PeerEndpoint(sock);
  if (!limiter_.Acquire(peer.ip)) {
    RefuseConnection(sock);
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return true;
  }
  // Closed by its last owner: this thread, or the event loop it is handed to.
  auto connection = std::make_shared<Connection>(
      sock, peer.ip, peer.port, [this, ip = peer.ip] { limiter_.Release(ip); });
  ServeConnection(std::move(connection));
  return true;
}

void Listener::ServeConnection(std::shared_ptr<Connection> connection) {
  SocketStream stream(connection->fd(), stop_fd_, options_,
                      Endpoint{connection->peer_ip(), connection->peer_port()},
                      connection->pending);
  connection->pending.clear();
  ParkSlot slot{&stream, std::nullopt};
  const ParkSlotScope scope(&slot);
  const auto serve = [](httplib::Request& request) { PrepareRequest(request, kRouteServe); };
  while (connection->served < options_.keep_alive_requests_max) {
    if (!stream.WaitForRequest()) return;
    const bool last = ++connection->served == options_.keep_alive_requests_max;
    bool client_closes = false;
    const bool ok = process_request(stream, last, client_closes, serve);
    if (slot.parking.has_value()) {
      // The event loop writes the reply; the connection goes with it.
      Parking parking = std::move(*slot.parking);
      parking.close_after = client_closes || last;
      connection->pending = stream.TakeBuffered();
      loop_.Park(std::move(connection), std::move(parking));
      return;
    }
    if (!ok || client_closes) return;
  }
}

EventLoop::Served Listener::ServeOnLoop(Connection& connection, const PeekedRequest& request) {
  // Only a server parks replies, and a server sets the direct handler.
  CHECK(direct_handler_) << "a parked connection without a direct handler";
  const NoWaitingReadsScope no_waiting;
  const bool close = request.close || ++connection.served >= options_.keep_alive_requests_max;
  Reply reply = direct_handler_(request.target,
                                [&request](const char* name) { return request.Header(name); });
  connection.pending.erase(0, request.length);  // `request` views it: consumed last
  EventLoop::Served served;
  if (reply.parked()) {
    served.parking = Parking{std::move(reply), /*head_only=*/false, close};
  } else {
    served.response = FrameReply(reply, /*head_only=*/false, close);
    served.close = close;
  }
  return served;
}

void Listener::RefuseConnection(int fd) {
  SocketStream stream(fd, stop_fd_, options_, PeerEndpoint(fd));
  const auto refuse = [](httplib::Request& request) {
    PrepareRequest(request, kRouteTooManyConnections);
  };
  bool client_closes = false;
  if (stream.WaitForRequest()) {
    process_request(stream, /*close_connection=*/true, client_closes, refuse);
  }
}

}  // namespace roster::http
