// Socket helpers for the peer transport (transport.cc): waiting on a descriptor with a
// deadline and a cancel eventfd, resolving, dialing and listening on "host:port"
// addresses, and writing whole buffers. Plain POSIX; errors come back as Status.
// Internal to server/. Thread-safety: free functions over descriptors the caller owns.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace roster::server::internal {

inline constexpr std::int64_t kNoDeadline = -1;

std::int64_t NowMs();
Status ErrnoStatus(std::string_view what, int error);

enum class WaitResult { kReady, kTimedOut, kCancelled };
// Waits until fd has `events`, the deadline passes (kNoDeadline: never), or cancel_fd
// becomes readable.
WaitResult WaitFd(int fd, short events, std::int64_t deadline_ms, int cancel_fd);
Status WaitStatus(WaitResult result, std::string_view doing);

struct HostPort {
  std::string host;
  std::string port;
};
// "host:port", "[v6]:port"; an empty host means any address (for listening).
Result<HostPort> SplitHostPort(const std::string& address);

std::string EndpointOf(const sockaddr_storage& address);
std::string PeerEndpoint(int fd);
void ConfigureSocket(int fd, std::int64_t send_timeout_ms);

struct AddrInfoList {
  addrinfo* list = nullptr;
  ~AddrInfoList() {
    if (list != nullptr) ::freeaddrinfo(list);
  }
};
Status Resolve(const HostPort& host_port, bool passive, AddrInfoList* out);

Result<int> ConnectOne(const addrinfo& ai, std::int64_t deadline_ms, int cancel_fd);
Result<int> Dial(const std::string& address, std::int64_t deadline_ms, int cancel_fd);
// Listens on address; a port of 0 picks one, reported in *port.
Result<int> Listen(const std::string& address, std::uint16_t* port);
Status WriteAll(int fd, const std::vector<std::string>& parts);

}  // namespace roster::server::internal
