#include "dns/listener.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <utility>

#include "base/check.h"
#include "base/logging.h"
#include "dns/message.h"
#include "dns/udp_batch.h"

namespace roster::dns {
namespace {

using internal::IoResult;
using internal::SocketAddress;
using internal::WaitResult;

// Batches a UDP worker reads before it polls again (the stop signal included).
constexpr int kBatchesPerWakeMax = 8;
constexpr int kTcpBacklog = 128;
// How often a TCP connection waiting for a recursor looks whether the listener stops.
constexpr auto kForwardWaitSlice = std::chrono::milliseconds(100);
// After accept fails for want of descriptors, how long to wait before trying again.
constexpr std::int64_t kAcceptBackoffMs = 100;

std::span<const std::uint8_t> Octets(const std::string& bytes) {
  return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
}

}  // namespace

// Closed when the listener and every pending forward are done with it.
struct Listener::UdpSocket {
  int fd = -1;
  ~UdpSocket() { internal::CloseFd(fd); }

  void SendTo(const SocketAddress& to, const std::string& bytes) const {
    // MSG_DONTWAIT: a full send buffer drops this reply, as a lost datagram would.
    if (::sendto(fd, bytes.data(), bytes.size(), MSG_DONTWAIT, to.get(), to.length) < 0) {
      LOG(DEBUG) << "dns: udp reply to " << internal::AddressText(to)
                 << " not sent: " << std::strerror(errno);
    }
  }
};

// A TCP connection's thread waiting for the Forwarder's answer.
struct Listener::ForwardWait {
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<std::string> reply;
};

Listener::Listener(const Responder& responder, Forwarder* forwarder, ListenerOptions options)
    : responder_(responder), forwarder_(forwarder), options_(std::move(options)) {
  CHECK(options_.udp_workers >= 1) << options_.udp_workers;
  CHECK(options_.tcp_connections_max >= 1);
  CHECK(options_.tcp_idle_timeout_ms > 0);
}

Listener::~Listener() { Stop(); }

Status Listener::Start() {
  CHECK(!started_) << "Listener::Start called twice";
  Result<internal::BoundPair> bound =
      internal::BindUdpAndTcp(options_.bind_address, options_.port, kTcpBacklog);
  if (!bound.ok()) {
    return Status(bound.status().code(), "DNS on " + options_.bind_address + ":" +
                                             std::to_string(options_.port) + ": " +
                                             bound.status().message());
  }
  auto udp = std::make_shared<UdpSocket>();
  udp->fd = bound->udp_fd;
  udp_ = std::move(udp);
  tcp_fd_ = bound->tcp_fd;
  port_ = bound->port;
  started_ = true;
  for (int i = 0; i < options_.udp_workers; ++i) udp_threads_.emplace_back([this] { UdpWorker(); });
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  LOG(INFO) << "dns: listening on " << options_.bind_address << ":" << port_ << " (udp, tcp)";
  return Status::Ok();
}

void Listener::Stop() {
  if (!started_ || stopping_.exchange(true)) return;
  stop_.Signal();
  for (std::thread& thread : udp_threads_) thread.join();
  udp_threads_.clear();
  accept_thread_.join();
  std::map<std::uint64_t, std::thread> connections;
  {
    std::lock_guard<std::mutex> lock(connections_mutex_);
    connections.swap(connections_);
    finished_.clear();
  }
  for (auto& [id, thread] : connections) thread.join();
  internal::CloseFd(tcp_fd_);
  udp_.reset();  // closed now, or when the last forwarded reply has been sent
}

// ---- UDP --------------------------------------------------------------------------

void Listener::UdpWorker() {
  SystemRandom random;
  internal::UdpBatch batch;
  const int fd = udp_->fd;
  while (internal::WaitFd(fd, POLLIN, internal::kNoDeadline, stop_.fd()) == WaitResult::kReady) {
    // Read until the socket is empty: a batch short of full found it so.
    for (int i = 0; i < kBatchesPerWakeMax; ++i) {
      const std::size_t count = batch.Receive(fd);
      for (std::size_t datagram = 0; datagram < count; ++datagram) {
        AnswerDatagram(batch, datagram, random);
      }
      batch.Send(fd);
      if (count < internal::UdpBatch::kDatagramsMax) break;
    }
  }
}

void Listener::AnswerDatagram(internal::UdpBatch& batch, std::size_t datagram,
                              Random& random) {
  const std::span<const std::uint8_t> query = batch.query(datagram);
  DnsReply& reply = batch.reply(datagram);
  responder_.Respond(query, Transport::kUdp, random, &reply, &batch.key());
  switch (reply.action) {
    case ReplyAction::kDrop:
      LOG(DEBUG) << "dns: udp query from " << internal::AddressText(batch.from(datagram))
                 << " dropped: " << reply.reason;
      return;
    case ReplyAction::kSend:
      batch.Queue(datagram);
      return;
    case ReplyAction::kNotOurs:
      if (forwarder_ == nullptr) {
        batch.Queue(datagram);  // REFUSED
        return;
      }
      forwarder_->Forward(query, Transport::kUdp,
                          [socket = udp_, from = batch.from(datagram)](std::string answer) {
                            socket->SendTo(from, answer);
                          });
      return;
  }
}

// ---- TCP --------------------------------------------------------------------------

void Listener::AcceptLoop() {
  while (internal::WaitFd(tcp_fd_, POLLIN, internal::kNoDeadline, stop_.fd()) ==
         WaitResult::kReady) {
    ReapFinishedConnections();
    const int fd = ::accept4(tcp_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        LOG(WARNING) << "dns: accept: " << std::strerror(errno);
        // Out of descriptors: the pending connection stays readable, so wait a little
        // instead of spinning (the stop signal still ends the wait).
        internal::WaitFd(stop_.fd(), POLLIN, internal::SteadyNowMs() + kAcceptBackoffMs,
                         stop_.fd());
      }
      continue;  // EAGAIN (a client gave up), ECONNABORTED, EINTR
    }
    std::lock_guard<std::mutex> lock(connections_mutex_);
    if (connections_.size() >= options_.tcp_connections_max) {
      ::close(fd);  // RFC 7766 §6.2.2: a server may close connections it cannot serve
      LOG(DEBUG) << "dns: " << connections_.size() << " tcp connections open, closing a new one";
      continue;
    }
    const std::uint64_t id = next_connection_id_++;
    connections_.emplace(id, std::thread([this, id, fd] { ServeConnection(id, fd); }));
  }
}

void Listener::ReapFinishedConnections() {
  std::vector<std::thread> ended;
  {
    std::lock_guard<std::mutex> lock(connections_mutex_);
    for (const std::uint64_t id : finished_) {
      auto it = connections_.find(id);
      CHECK(it != connections_.end()) << id;
      ended.push_back(std::move(it->second));
      connections_.erase(it);
    }
    finished_.clear();
  }
  for (std::thread& thread : ended) thread.join();
}

void Listener::ServeConnection(std::uint64_t id, int fd) {
  SystemRandom random;
  std::string query;
  while (true) {
    unsigned char prefix[2];
    const std::int64_t idle_deadline_ms = internal::SteadyNowMs() + options_.tcp_idle_timeout_ms;
    if (internal::ReadExact(fd, reinterpret_cast<char*>(prefix), 2, idle_deadline_ms, stop_.fd()) !=
        IoResult::kDone) {
      break;  // closed, idle, stopping, or an error
    }
    const std::size_t length = (std::size_t{prefix[0]} << 8) | prefix[1];
    if (length == 0) break;  // no query is empty: the stream is not DNS
    query.resize(length);
    const std::int64_t read_deadline_ms = internal::SteadyNowMs() + options_.tcp_idle_timeout_ms;
    if (internal::ReadExact(fd, query.data(), length, read_deadline_ms, stop_.fd()) !=
        IoResult::kDone) {
      break;
    }
    std::optional<std::string> reply = AnswerOverTcp(Octets(query), random);
    if (!reply.has_value()) continue;
    CHECK(reply->size() <= kMessageBytesMax) << reply->size();
    std::string framed;
    framed.reserve(reply->size() + 2);
    framed.push_back(static_cast<char>(reply->size() >> 8));
    framed.push_back(static_cast<char>(reply->size() & 0xFF));
    framed += *reply;
    const std::int64_t write_deadline_ms = internal::SteadyNowMs() + options_.tcp_idle_timeout_ms;
    if (internal::WriteAll(fd, framed, write_deadline_ms, stop_.fd()) != IoResult::kDone) break;
  }
  ::close(fd);
  std::lock_guard<std::mutex> lock(connections_mutex_);
  finished_.push_back(id);
}

std::optional<std::string> Listener::AnswerOverTcp(std::span<const std::uint8_t> query,
                                                   Random& random) {
  DnsReply reply = responder_.Respond(query, Transport::kTcp, random);
  switch (reply.action) {
    case ReplyAction::kDrop:
      LOG(DEBUG) << "dns: tcp query dropped: " << reply.reason;
      return std::nullopt;
    case ReplyAction::kSend:
      return std::move(reply.bytes);
    case ReplyAction::kNotOurs:
      break;
  }
  if (forwarder_ == nullptr) return std::move(reply.bytes);  // REFUSED
  auto wait = std::make_shared<ForwardWait>();
  forwarder_->Forward(query, Transport::kTcp, [wait](std::string answer) {
    std::lock_guard<std::mutex> lock(wait->mutex);
    wait->reply = std::move(answer);
    wait->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(wait->mutex);
  while (!wait->reply.has_value()) {
    if (stopping_.load()) return std::nullopt;
    wait->cv.wait_for(lock, kForwardWaitSlice);
  }
  return std::move(*wait->reply);
}

}  // namespace roster::dns
