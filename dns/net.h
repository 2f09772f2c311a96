// Socket helpers for the DNS listeners (dns/listener*.cc): binding the UDP and TCP
// sockets of one port, waiting on a descriptor with a deadline and a stop eventfd, and
// reading or writing whole buffers on a non-blocking TCP socket. Plain POSIX; errors
// come back as Status. Internal to dns/.
// Thread-safety: free functions over descriptors the caller owns.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace roster::dns::internal {

inline constexpr std::int64_t kNoDeadline = -1;

// Milliseconds on the steady clock, for deadlines.
std::int64_t SteadyNowMs();
Status ErrnoStatus(std::string_view what, int error);

// A socket address and its length, as recvfrom fills it and sendto takes it.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = sizeof(sockaddr_storage);
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

// `host` is an IPv4 or IPv6 literal (no names: a listener binds what it is told).
Result<SocketAddress> ParseSocketAddress(const std::string& host, std::uint16_t port);
std::string AddressText(const SocketAddress& address);  // "1.2.3.4:53", "[::1]:53"

// A UDP socket and a listening TCP socket on the same address and port, both
// non-blocking and close-on-exec. Port 0 picks a port free for both. The UDP socket
// asks for a 4 MiB receive buffer (SO_RCVBUF; the kernel caps it at net.core.rmem_max),
// so bursts queue instead of being dropped.
struct BoundPair {
  int udp_fd = -1;
  int tcp_fd = -1;
  std::uint16_t port = 0;
};
Result<BoundPair> BindUdpAndTcp(const std::string& host, int port, int tcp_backlog);

// An eventfd that is readable from Signal() until Drain(). As a stop signal nobody
// drains it, so every thread polling it wakes, however many there are.
class WakeFd {
 public:
  WakeFd();
  ~WakeFd();
  WakeFd(const WakeFd&) = delete;
  WakeFd& operator=(const WakeFd&) = delete;

  void Signal();
  void Drain();
  int fd() const { return fd_; }

 private:
  int fd_;
};

enum class WaitResult { kReady, kTimedOut, kStopped };
// Waits until fd has `events` (POLLIN/POLLOUT), the deadline passes (kNoDeadline:
// never), or stop_fd becomes readable (checked first).
WaitResult WaitFd(int fd, short events, std::int64_t deadline_ms, int stop_fd);

enum class IoResult { kDone, kClosed, kTimedOut, kStopped, kError };
// Reads exactly `size` octets from a non-blocking socket. kClosed when the peer closed
// before the first octet, kError if it closed after it or on a socket error.
IoResult ReadExact(int fd, char* out, std::size_t size, std::int64_t deadline_ms, int stop_fd);
// Writes all of `bytes` to a non-blocking socket.
IoResult WriteAll(int fd, std::string_view bytes, std::int64_t deadline_ms, int stop_fd);

void CloseFd(int& fd);

}  // namespace roster::dns::internal
