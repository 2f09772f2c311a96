#include "dns/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/check.h"

namespace roster::dns::internal {
namespace {

// A port-0 listener picks its UDP port first and then needs the same TCP port free;
// another process may hold it, so it tries again with another.
constexpr int kPortPickAttempts = 32;
// Asked of the UDP socket so a burst, or the workers off the CPU for some milliseconds,
// queues queries instead of dropping them: at ~1 KiB of kernel memory per small
// datagram the default (208 KiB) holds ~10 ms of 25,000 queries a second. The kernel
// caps the request at net.core.rmem_max, which is fine: it is the operator's bound.
constexpr int kUdpReceiveBufferBytes = 4 << 20;

Result<int> BoundSocket(const SocketAddress& address, int type) {
  const int fd = ::socket(address.storage.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  const int one = 1;
  // TCP: a restarted server rebinds while old connections sit in TIME_WAIT.
  if (type == SOCK_STREAM) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (type == SOCK_DGRAM) {
    // Best effort: a smaller buffer than asked is still a working socket.
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kUdpReceiveBufferBytes,
                 sizeof(kUdpReceiveBufferBytes));
  }
  if (::bind(fd, address.get(), address.length) != 0) {
    const int error = errno;
    ::close(fd);
    return ErrnoStatus("bind " + AddressText(address), error);
  }
  return fd;
}

std::uint16_t LocalPort(int fd) {
  SocketAddress local;
  CHECK(::getsockname(fd, local.get(), &local.length) == 0) << std::strerror(errno);
  if (local.storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&local.storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&local.storage)->sin_port);
}

// One attempt at the pair on `port` (0: the UDP socket's pick).
Result<BoundPair> BindPairOnce(const std::string& host, std::uint16_t port, int tcp_backlog) {
  Result<SocketAddress> address = ParseSocketAddress(host, port);
  if (!address.ok()) return address.status();
  Result<int> udp = BoundSocket(*address, SOCK_DGRAM);
  if (!udp.ok()) return udp.status();
  BoundPair pair;
  pair.udp_fd = *udp;
  pair.port = LocalPort(pair.udp_fd);
  Result<SocketAddress> tcp_address = ParseSocketAddress(host, pair.port);
  Result<int> tcp = BoundSocket(*tcp_address, SOCK_STREAM);
  if (!tcp.ok()) {
    CloseFd(pair.udp_fd);
    return tcp.status();
  }
  pair.tcp_fd = *tcp;
  if (::listen(pair.tcp_fd, tcp_backlog) != 0) {
    const int error = errno;
    CloseFd(pair.udp_fd);
    CloseFd(pair.tcp_fd);
    return ErrnoStatus("listen", error);
  }
  return pair;
}

}  // namespace

std::int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status ErrnoStatus(std::string_view what, int error) {
  return IoError(std::string(what) + ": " + std::strerror(error));
}

Result<SocketAddress> ParseSocketAddress(const std::string& host, std::uint16_t port) {
  SocketAddress address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address.length = sizeof(sockaddr_in);
    return address;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address.length = sizeof(sockaddr_in6);
    return address;
  }
  return InvalidArgument("\"" + host + "\" is not an IPv4 or IPv6 address");
}

std::string AddressText(const SocketAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.storage.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
  ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
  return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
}

Result<BoundPair> BindUdpAndTcp(const std::string& host, int port, int tcp_backlog) {
  CHECK(port >= 0 && port <= 65535) << port;
  if (port != 0) return BindPairOnce(host, static_cast<std::uint16_t>(port), tcp_backlog);
  Status last;
  for (int attempt = 0; attempt < kPortPickAttempts; ++attempt) {
    Result<BoundPair> pair = BindPairOnce(host, 0, tcp_backlog);
    if (pair.ok()) return pair;
    last = pair.status();
  }
  return last;
}

WakeFd::WakeFd() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  CHECK(fd_ >= 0) << "eventfd: " << std::strerror(errno);
}

WakeFd::~WakeFd() { ::close(fd_); }

void WakeFd::Signal() {
  const std::uint64_t one = 1;
  // EAGAIN only when the counter is full, and then it is readable already.
  [[maybe_unused]] const ssize_t written = ::write(fd_, &one, sizeof(one));
}

void WakeFd::Drain() {
  std::uint64_t count = 0;
  [[maybe_unused]] const ssize_t read_bytes = ::read(fd_, &count, sizeof(count));
}

WaitResult WaitFd(int fd, short events, std::int64_t deadline_ms, int stop_fd) {
  while (true) {
    pollfd fds[2] = {{stop_fd, POLLIN, 0}, {fd, events, 0}};
    int timeout_ms = -1;
    if (deadline_ms != kNoDeadline) {
      const std::int64_t left_ms = deadline_ms - SteadyNowMs();
      if (left_ms <= 0) return WaitResult::kTimedOut;
      timeout_ms = static_cast<int>(left_ms);
    }
    const int ready = ::poll(fds, 2, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    CHECK(ready >= 0) << "poll: " << std::strerror(errno);
    if (fds[0].revents != 0) return WaitResult::kStopped;
    if (fds[1].revents != 0) return WaitResult::kReady;  // errors surface in the next call
  }
}

namespace {

// WaitFd as an IoResult: kDone once the socket is ready for `events`.
IoResult AwaitFd(int fd, short events, std::int64_t deadline_ms, int stop_fd) {
  switch (WaitFd(fd, events, deadline_ms, stop_fd)) {
    case WaitResult::kReady:
      return IoResult::kDone;
    case WaitResult::kTimedOut:
      return IoResult::kTimedOut;
    case WaitResult::kStopped:
      return IoResult::kStopped;
  }
  return IoResult::kError;  // unreachable: every WaitResult is handled above
}

}  // namespace

IoResult ReadExact(int fd, char* out, std::size_t size, std::int64_t deadline_ms, int stop_fd) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::recv(fd, out + done, size - done, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) return done == 0 ? IoResult::kClosed : IoResult::kError;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return IoResult::kError;
    if (const IoResult waited = AwaitFd(fd, POLLIN, deadline_ms, stop_fd);
        waited != IoResult::kDone) {
      return waited;
    }
  }
  return IoResult::kDone;
}

IoResult WriteAll(int fd, std::string_view bytes, std::int64_t deadline_ms, int stop_fd) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return IoResult::kError;
    if (const IoResult waited = AwaitFd(fd, POLLOUT, deadline_ms, stop_fd);
        waited != IoResult::kDone) {
      return waited;
    }
  }
  return IoResult::kDone;
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace roster::dns::internal
