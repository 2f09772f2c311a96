// Plain sockets for the tests that need what httplib::Client will not do: thousands of
// connections without a thread each, or requests without a Content-Length.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace roster::http::testing {

// A connected loopback socket, or -1.
inline int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool SendAll(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads until the response headers are complete and returns what arrived (headers
// and any body bytes after them); "" on timeout or close.
inline std::string ReadHeaders(int fd, std::chrono::milliseconds timeout) {
  using std::chrono::steady_clock;
  std::string data;
  const auto deadline = steady_clock::now() + timeout;
  while (data.find("\r\n\r\n") == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return "";
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return "";
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return "";
    data.append(buffer, static_cast<std::size_t>(n));
  }
  return data;
}

// Reads into `data` until it holds `marker` (true), or the timeout or a close (false).
inline bool ReadUntil(int fd, std::string* data, const std::string& marker,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  using std::chrono::steady_clock;
  const auto deadline = steady_clock::now() + timeout;
  while (data->find(marker) == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    data->append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace roster::http::testing
