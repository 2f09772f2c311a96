// DNS clients over real loopback sockets for the listener tests: a UDP client that
// sends datagrams and waits for replies with a deadline, and a TCP client that frames
// messages with their two-octet length (RFC 1035 §4.2.2).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "base/check.h"
#include "tests/unit/dns/fixtures.h"

namespace roster::dns::testing {

inline sockaddr_in Loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// True if fd became readable within timeout_ms.
inline bool Readable(int fd, int timeout_ms) {
  pollfd poll_fd{fd, POLLIN, 0};
  return ::poll(&poll_fd, 1, timeout_ms) == 1;
}

class UdpClient {
 public:
  explicit UdpClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    CHECK(fd_ >= 0);
    const sockaddr_in address = Loopback(port);
    CHECK(::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
  }
  ~UdpClient() { ::close(fd_); }

  void Send(const Bytes& datagram) {
    CHECK(::send(fd_, datagram.data(), datagram.size(), 0) == static_cast<ssize_t>(datagram.size()));
  }
  // The next datagram, or nullopt if none comes within timeout_ms.
  std::optional<Bytes> Receive(int timeout_ms = 5000) {
    if (!Readable(fd_, timeout_ms)) return std::nullopt;
    Bytes buffer(65536);
    const ssize_t size = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (size < 0) return std::nullopt;
    buffer.resize(static_cast<std::size_t>(size));
    return buffer;
  }

 private:
  int fd_;
};

class TcpClient {
 public:
  explicit TcpClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    CHECK(fd_ >= 0);
    const sockaddr_in address = Loopback(port);
    CHECK(::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
  }
  ~TcpClient() { ::close(fd_); }

  void SendRaw(const Bytes& bytes) {
    CHECK(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
  }
  void Send(const Bytes& message) {
    Bytes framed{static_cast<std::uint8_t>(message.size() >> 8),
                 static_cast<std::uint8_t>(message.size() & 0xFF)};
    framed.insert(framed.end(), message.begin(), message.end());
    SendRaw(framed);
  }
  // The next framed message; nullopt on EOF, error or no data within timeout_ms.
  std::optional<Bytes> Receive(int timeout_ms = 5000) {
    std::optional<Bytes> prefix = ReadExact(2, timeout_ms);
    if (!prefix.has_value()) return std::nullopt;
    return ReadExact((std::size_t{(*prefix)[0]} << 8) | (*prefix)[1], timeout_ms);
  }
  // True if the server closed the connection (EOF or reset) within timeout_ms.
  bool ClosedByServer(int timeout_ms = 5000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!Readable(fd_, 50)) continue;
      std::uint8_t octet;
      const ssize_t size = ::recv(fd_, &octet, 1, 0);
      if (size <= 0) return true;
    }
    return false;
  }

 private:
  std::optional<Bytes> ReadExact(std::size_t size, int timeout_ms) {
    Bytes out(size);
    std::size_t done = 0;
    while (done < size) {
      if (!Readable(fd_, timeout_ms)) return std::nullopt;
      const ssize_t n = ::recv(fd_, out.data() + done, size - done, 0);
      if (n <= 0) return std::nullopt;
      done += static_cast<std::size_t>(n);
    }
    return out;
  }

  int fd_;
};

}  // namespace roster::dns::testing
