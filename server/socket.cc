// Socket helpers for the peer transport: deadlines with cancellation, resolving and
// dialing, listening, and writing whole buffers. See socket.h.
#include "server/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <optional>
#include <utility>
#include "base/check.h"
#include "base/clock.h"
#include "base/logging.h"
#include "base/random.h"

namespace roster::server::internal {

std::int64_t NowMs() {
  static const SystemClock clock;
  return clock.NowMs();
}

Status ErrnoStatus(std::string_view what, int error) {
  return IoError(std::string(what) + ": " + std::strerror(error));
}


// Waits until fd has `events`, the deadline passes, or cancel_fd becomes readable.
WaitResult WaitFd(int fd, short events, std::int64_t deadline_ms, int cancel_fd) {
  while (true) {
    int timeout_ms = -1;
    if (deadline_ms != kNoDeadline) {
      const std::int64_t left_ms = deadline_ms - NowMs();
      if (left_ms <= 0) return WaitResult::kTimedOut;
      timeout_ms = static_cast<int>(std::min<std::int64_t>(left_ms, 1 << 30));
    }
    pollfd fds[2] = {{fd, events, 0}, {cancel_fd, POLLIN, 0}};
    const int ready = ::poll(fds, cancel_fd >= 0 ? 2 : 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    CHECK_GE(ready, 0) << "poll: " << std::strerror(errno);
    if (cancel_fd >= 0 && (fds[1].revents & POLLIN)) return WaitResult::kCancelled;
    // Errors and hang-ups count as ready: the read or write that follows reports them.
    if (fds[0].revents != 0) return WaitResult::kReady;
  }
}

Status WaitStatus(WaitResult result, std::string_view doing) {
  switch (result) {
    case WaitResult::kReady:
      return Status::Ok();
    case WaitResult::kTimedOut:
      return Unavailable(std::string(doing) + ": timed out");
    case WaitResult::kCancelled:
      return Unavailable(std::string(doing) + ": transport stopped");
  }
  return Internal("unreachable");
}


// "host:port", "[v6]:port"; an empty host means any address (for listening).
Result<HostPort> SplitHostPort(const std::string& address) {
  HostPort out;
  std::size_t colon = 0;
  if (!address.empty() && address.front() == '[') {
    const std::size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return InvalidArgument("address '" + address + "' is not [host]:port");
    }
    out.host = address.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string::npos || address.find(':') != colon) {
      return InvalidArgument("address '" + address + "' is not host:port");
    }
    out.host = address.substr(0, colon);
  }
  out.port = address.substr(colon + 1);
  const bool digits = !out.port.empty() && out.port.size() <= 5 &&
                      std::all_of(out.port.begin(), out.port.end(), ::isdigit);
  if (!digits || std::stoul(out.port) > 65535) {
    return InvalidArgument("address '" + address + "' has no valid port");
  }
  return out;
}

std::string EndpointOf(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, host, sizeof(host));
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(v6.sin6_port));
  }
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
  ::inet_ntop(AF_INET, &v4.sin_addr, host, sizeof(host));
  return std::string(host) + ":" + std::to_string(ntohs(v4.sin_port));
}

std::string PeerEndpoint(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "?";
  return EndpointOf(address);
}

// Low latency for small Raft messages; keepalive for idle links to dead hosts; a
// send timeout so a writer stuck on a peer that stopped reading gives up.
void ConfigureSocket(int fd, std::int64_t send_timeout_ms) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  timeval timeout{};
  timeout.tv_sec = send_timeout_ms / 1000;
  timeout.tv_usec = static_cast<suseconds_t>((send_timeout_ms % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}


Status Resolve(const HostPort& host_port, bool passive, AddrInfoList* out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  const char* host = host_port.host.empty() ? nullptr : host_port.host.c_str();
  const int error = ::getaddrinfo(host, host_port.port.c_str(), &hints, &out->list);
  if (error != 0) {
    return IoError("resolve '" + host_port.host + "': " + ::gai_strerror(error));
  }
  return Status::Ok();
}

// Connects to one resolved address before the deadline; returns a blocking socket.
Result<int> ConnectOne(const addrinfo& ai, std::int64_t deadline_ms, int cancel_fd) {
  const int fd = ::socket(ai.ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  Status status;
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      status = ErrnoStatus("connect", errno);
    } else {
      status = WaitStatus(WaitFd(fd, POLLOUT, deadline_ms, cancel_fd), "connect");
      int error = 0;
      socklen_t length = sizeof(error);
      if (status.ok() && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 &&
          error != 0) {
        status = ErrnoStatus("connect", error);
      }
    }
  }
  if (status.ok() && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    status = ErrnoStatus("fcntl", errno);
  }
  if (!status.ok()) {
    ::close(fd);
    return status;
  }
  return fd;
}

Result<int> Dial(const std::string& address, std::int64_t deadline_ms, int cancel_fd) {
  Result<HostPort> host_port = SplitHostPort(address);
  if (!host_port.ok()) return host_port.status();
  AddrInfoList resolved;
  RETURN_IF_ERROR(Resolve(*host_port, /*passive=*/false, &resolved));
  Status last = IoError("no address");
  for (const addrinfo* ai = resolved.list; ai != nullptr; ai = ai->ai_next) {
    Result<int> fd = ConnectOne(*ai, deadline_ms, cancel_fd);
    if (fd.ok()) return fd;
    last = fd.status();
  }
  return last;
}

Result<int> Listen(const std::string& address, std::uint16_t* port) {
  Result<HostPort> host_port = SplitHostPort(address);
  if (!host_port.ok()) return host_port.status();
  AddrInfoList resolved;
  RETURN_IF_ERROR(Resolve(*host_port, /*passive=*/true, &resolved));
  const addrinfo& ai = *resolved.list;
  const int fd = ::socket(ai.ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (::bind(fd, ai.ai_addr, ai.ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    const int error = errno;
    ::close(fd);
    return ErrnoStatus("listen on " + address, error);
  }
  *port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                            : reinterpret_cast<sockaddr_in&>(bound).sin_port);
  return fd;
}

// Writes every byte of `parts`, as few sendmsg calls as the kernel allows. A timeout
// (SO_SNDTIMEO) with no progress is Unavailable; other failures IoError.
Status WriteAll(int fd, const std::vector<std::string>& parts) {
  std::size_t part = 0;
  std::size_t offset = 0;  // into parts[part]
  while (part < parts.size()) {
    iovec iov[64];
    std::size_t count = 0;
    for (std::size_t i = part; i < parts.size() && count < 64; ++i, ++count) {
      const std::size_t skip = i == part ? offset : 0;
      iov[count].iov_base = const_cast<char*>(parts[i].data() + skip);
      iov[count].iov_len = parts[i].size() - skip;
    }
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = count;
    const ssize_t written = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Unavailable("send timed out");
      return ErrnoStatus("send", errno);
    }
    auto left = static_cast<std::size_t>(written);
    while (part < parts.size() && left >= parts[part].size() - offset) {
      left -= parts[part].size() - offset;
      offset = 0;
      ++part;
    }
    offset += left;
  }
  return Status::Ok();
}

}  // namespace roster::server::internal
