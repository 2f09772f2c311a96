#include "server/transport.h"

#include "server/socket.h"
#include "server/transport_connection.h"

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

namespace roster::server {
namespace internal {
namespace {

constexpr std::int64_t kAcceptPollMs = 500;  // how often finished inbound threads are reaped

}  // namespace
}  // namespace internal

using internal::Connection;
using internal::FrameReader;
using internal::InboundConnection;
using internal::OutboundQueue;
using internal::Peer;

struct Transport::Counters {
  std::atomic<std::uint64_t> frames_sent{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> frames_received{0};
  std::atomic<std::uint64_t> bytes_received{0};
  std::atomic<std::uint64_t> frames_dropped{0};
  std::atomic<std::uint64_t> connections_dialed{0};
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_rejected{0};
  std::atomic<std::uint64_t> dial_failures{0};
};

Status Reply::Send(const Frame& frame) const {
  std::shared_ptr<Connection> connection = connection_.lock();
  if (!connection) return Unavailable("connection closed");
  return connection->Send(frame);
}

namespace {

using internal::IsMalformed;
using internal::kNoDeadline;
using internal::NowMs;

// Dial, Hello exchange, request, first answer: Call and CallOnce.
Result<Frame> CallAt(Hello self, const std::string& address, const Frame& request,
                     std::int64_t timeout_ms, std::uint32_t frame_bytes_max, int cancel_fd) {
  if (std::holds_alternative<Hello>(request)) return InvalidArgument("Call: a Hello is no request");
  const std::int64_t deadline_ms = NowMs() + timeout_ms;
  const std::string what = "call to " + address;
  auto failed = [&what](const Status& status) {
    return Status(status.code(), what + ": " + status.message());
  };
  self.protocol_version = kProtocolVersion;
  std::vector<std::string> out = {EncodeFrame(self), EncodeFrame(request)};
  if (out[1].size() - kFrameHeaderBytes > frame_bytes_max) {
    return failed(InvalidArgument("request exceeds the frame limit"));
  }
  Result<int> fd = internal::Dial(address, deadline_ms, cancel_fd);
  if (!fd.ok()) return failed(fd.status());
  auto connection = std::make_shared<Connection>(*fd, false, std::make_shared<OutboundQueue>(1, 1),
                                                 frame_bytes_max, cancel_fd);
  internal::ConfigureSocket(*fd, std::max<std::int64_t>(1, deadline_ms - NowMs()));
  Status sent = internal::WriteAll(*fd, out);
  if (!sent.ok()) return failed(sent);
  Result<Hello> hello = internal::ReadHello(connection->reader(), deadline_ms);
  if (!hello.ok()) return failed(hello.status());
  if (self.node_id != consensus::kNoNode && hello->node_id == self.node_id) {
    return failed(FailedPrecondition(std::string(kDialedItself)));
  }
  if (self.cluster_id != 0 && hello->cluster_id != 0 && self.cluster_id != hello->cluster_id) {
    return failed(FailedPrecondition("cluster id mismatch: " + std::to_string(self.cluster_id) +
                                     " here, " + std::to_string(hello->cluster_id) + " there"));
  }
  Result<std::optional<Frame>> response = connection->reader().Next(deadline_ms, frame_bytes_max);
  if (!response.ok()) return failed(response.status());
  if (!response->has_value()) return failed(Unavailable("closed without answering"));
  return std::move(**response);
}

}  // namespace

Transport::Transport(TransportOptions options, FrameHandler on_frame,
                     UnreachableHandler on_unreachable)
    : options_(std::move(options)),
      on_frame_(std::move(on_frame)),
      on_unreachable_(std::move(on_unreachable)),
      cluster_id_(options_.self.cluster_id),
      counters_(std::make_unique<Counters>()) {
  CHECK(on_frame_) << "a Transport needs a frame handler";
  CHECK_GT(options_.backoff_ms_min, 0);
  CHECK_GE(options_.backoff_ms_max, options_.backoff_ms_min);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  CHECK_GE(stop_fd_, 0) << "eventfd: " << std::strerror(errno);
}

Transport::~Transport() {
  Stop();
  ::close(stop_fd_);
}

Status Transport::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    CHECK(!started_) << "Transport::Start called twice";
    if (stopping_) return Unavailable("transport stopped");
  }
  std::uint16_t port = 0;
  Result<int> fd = internal::Listen(options_.listen_address, &port);
  if (!fd.ok()) return fd.status();
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {  // Stop ran while the socket was being bound
    ::close(*fd);
    return Unavailable("transport stopped");
  }
  listen_fd_ = *fd;
  port_.store(port);
  started_ = true;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  for (auto& [node_id, peer] : peers_) StartPeerLocked(peer.get());
  LOG(INFO) << "peer transport listening on " << options_.listen_address << ", port " << port;
  return Status::Ok();
}

void Transport::Stop() {
  std::vector<std::unique_ptr<Peer>> peers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    stop_requested_.store(true);
    for (auto& [node_id, peer] : peers_) peers.push_back(std::move(peer));
    peers_.clear();
    for (auto& peer : retired_peers_) peers.push_back(std::move(peer));
    retired_peers_.clear();
  }
  const std::uint64_t one = 1;
  CHECK_EQ(::write(stop_fd_, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  for (auto& peer : peers) peer->Shutdown();
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::unique_ptr<InboundConnection>> inbound;
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbound.swap(inbound_);
  }
  for (auto& slot : inbound) slot->connection->Close();
  for (auto& peer : peers) {
    if (peer->thread.joinable()) peer->thread.join();
  }
  for (auto& slot : inbound) slot->thread.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void Transport::AddPeer(consensus::NodeId node_id, const std::string& address) {
  CHECK_NE(node_id, consensus::kNoNode);
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  ReapLocked();
  auto it = peers_.find(node_id);
  if (it != peers_.end()) {
    if (it->second->address == address) return;
    it->second->Shutdown();
    retired_peers_.push_back(std::move(it->second));
    peers_.erase(it);
  }
  auto queue = std::make_shared<OutboundQueue>(options_.queue_frames_max, options_.queue_bytes_max);
  auto peer = std::make_unique<Peer>(node_id, address, std::move(queue));
  if (started_) StartPeerLocked(peer.get());
  peers_.emplace(node_id, std::move(peer));
}

void Transport::RemovePeer(consensus::NodeId node_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(node_id);
  if (it == peers_.end()) return;
  it->second->Shutdown();
  retired_peers_.push_back(std::move(it->second));
  peers_.erase(it);
  ReapLocked();
}

Status Transport::Send(consensus::NodeId node_id, const Frame& frame) {
  std::shared_ptr<OutboundQueue> queue;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Unavailable("transport stopped");
    auto it = peers_.find(node_id);
    if (it == peers_.end()) return NotFound("no peer with node id " + std::to_string(node_id));
    queue = it->second->queue;
  }
  std::string bytes = EncodeFrame(frame);
  if (bytes.size() - kFrameHeaderBytes > options_.frame_bytes_max) {
    counters_->frames_dropped.fetch_add(1, std::memory_order_relaxed);
    LOG(ERROR) << "dropping a " << FrameKindName(KindOf(frame)) << " frame of " << bytes.size()
               << " bytes for node " << node_id << ": over the limit of "
               << options_.frame_bytes_max;
    return InvalidArgument("frame exceeds frame_bytes_max");
  }
  Status queued = queue->Push(std::move(bytes));
  if (!queued.ok()) {
    counters_->frames_dropped.fetch_add(1, std::memory_order_relaxed);
    ReportUnreachable(node_id);
  }
  return queued;
}

Result<Frame> Transport::Call(const std::string& address, const Frame& request,
                              std::int64_t timeout_ms) {
  return CallAt(CurrentHello(), address, request, timeout_ms, options_.frame_bytes_max, stop_fd_);
}

Result<Frame> CallOnce(const Hello& self, const std::string& address, const Frame& request,
                       std::int64_t timeout_ms, std::uint32_t frame_bytes_max) {
  return CallAt(self, address, request, timeout_ms, frame_bytes_max, /*cancel_fd=*/-1);
}

bool IsDialedItself(const Status& status) {
  return status.code() == StatusCode::kFailedPrecondition &&
         status.message().ends_with(kDialedItself);
}

TransportStats Transport::stats() const {
  const Counters& c = *counters_;
  constexpr auto kRelaxed = std::memory_order_relaxed;
  return TransportStats{.frames_sent = c.frames_sent.load(kRelaxed),
                        .bytes_sent = c.bytes_sent.load(kRelaxed),
                        .frames_received = c.frames_received.load(kRelaxed),
                        .bytes_received = c.bytes_received.load(kRelaxed),
                        .frames_dropped = c.frames_dropped.load(kRelaxed),
                        .connections_dialed = c.connections_dialed.load(kRelaxed),
                        .connections_accepted = c.connections_accepted.load(kRelaxed),
                        .connections_rejected = c.connections_rejected.load(kRelaxed),
                        .dial_failures = c.dial_failures.load(kRelaxed)};
}

Hello Transport::CurrentHello() const {
  Hello hello = options_.self;
  hello.protocol_version = kProtocolVersion;
  hello.cluster_id = cluster_id_.load();
  return hello;
}

Status Transport::CheckHello(const Hello& theirs, consensus::NodeId expected_node_id) const {
  const std::uint64_t ours = cluster_id_.load();
  if (ours != 0 && theirs.cluster_id != 0 && ours != theirs.cluster_id) {
    return FailedPrecondition("cluster id mismatch: this node is in cluster " +
                              std::to_string(ours) + ", the peer in " +
                              std::to_string(theirs.cluster_id));
  }
  if (expected_node_id != consensus::kNoNode && theirs.node_id != expected_node_id) {
    return FailedPrecondition("dialed node " + std::to_string(expected_node_id) + " but node " +
                              std::to_string(theirs.node_id) + " answered");
  }
  if (theirs.node_id != consensus::kNoNode && theirs.node_id == options_.self.node_id) {
    return FailedPrecondition(std::string(kDialedItself));
  }
  return Status::Ok();
}

void Transport::ReportUnreachable(consensus::NodeId node_id) {
  if (on_unreachable_) on_unreachable_(node_id);
}

void Transport::ReapLocked() {
  auto finished = [](const auto& owner) { return owner->finished.load(); };
  for (auto& peer : retired_peers_) {
    if (finished(peer) && peer->thread.joinable()) peer->thread.join();
  }
  std::erase_if(retired_peers_, [](const auto& peer) { return !peer->thread.joinable(); });
  for (auto& slot : inbound_) {
    if (finished(slot)) slot->thread.join();
  }
  std::erase_if(inbound_, [](const auto& slot) { return !slot->thread.joinable(); });
}

void Transport::StartPeerLocked(Peer* peer) {
  peer->thread = std::thread([this, peer] {
    RunPeer(peer);
    peer->finished.store(true);
  });
}

// ---- Inbound ----------------------------------------------------------------------

void Transport::AcceptLoop() {
  while (true) {
    const internal::WaitResult wait =
        internal::WaitFd(listen_fd_, POLLIN, NowMs() + internal::kAcceptPollMs, stop_fd_);
    if (wait == internal::WaitResult::kCancelled) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ReapLocked();
    }
    if (wait == internal::WaitResult::kTimedOut) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        LOG(WARNING) << "accept: " << std::strerror(errno) << "; pausing";
        internal::WaitFd(stop_fd_, POLLIN, NowMs() + 100, -1);
      }
      continue;  // EAGAIN, ECONNABORTED, EINTR: nothing to accept after all
    }
    internal::ConfigureSocket(fd, options_.send_timeout_ms);
    auto queue =
        std::make_shared<OutboundQueue>(options_.queue_frames_max, options_.queue_bytes_max);
    auto slot = std::make_unique<InboundConnection>();
    slot->connection = std::make_shared<Connection>(fd, /*inbound=*/true, std::move(queue),
                                                    options_.frame_bytes_max, stop_fd_);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;  // the connection closes as slot goes
    InboundConnection* raw = slot.get();
    slot->thread = std::thread([this, raw] {
      RunInbound(raw->connection);
      raw->finished.store(true);
    });
    inbound_.push_back(std::move(slot));
  }
}

// The acceptor's side of the handshake, then the connection's reader; its writer
// (for replies) runs on a second thread.
void Transport::RunInbound(const std::shared_ptr<Connection>& connection) {
  Result<Hello> hello =
      internal::ReadHello(connection->reader(), NowMs() + options_.handshake_timeout_ms);
  Status status = hello.ok() ? CheckHello(*hello, consensus::kNoNode) : hello.status();
  if (status.ok()) {
    connection->peer.hello = *hello;
    status = internal::WriteAll(connection->fd(), {EncodeFrame(CurrentHello())});
  } else if (IsDialedItself(status)) {
    // Our Hello all the same, so that the dialer (this very node, through Call) can
    // tell that its address is its own and stop calling it.
    (void)internal::WriteAll(connection->fd(), {EncodeFrame(CurrentHello())});
  }
  if (!status.ok()) {
    if (IsDialedItself(status)) {
      // One -join list for every server names each one too; not a fault.
      LOG(INFO) << "closing connection from " << connection->Describe() << ": " << status.message();
    } else if (IsMalformed(status) || status.code() == StatusCode::kFailedPrecondition) {
      counters_->connections_rejected.fetch_add(1, std::memory_order_relaxed);
      LOG(WARNING) << "closing connection from " << connection->Describe()
                   << ": handshake failed: " << status.message();
    } else {
      LOG(DEBUG) << "connection from " << connection->Describe()
                 << " ended in the handshake: " << status.message();
    }
    connection->Close();
    return;
  }
  counters_->connections_accepted.fetch_add(1, std::memory_order_relaxed);
  std::thread writer([this, &connection] { WriteLoop(connection.get()); });
  ReadLoop(connection);
  writer.join();
}

// ---- Outbound ---------------------------------------------------------------------

// Keeps one connection to the peer up until the peer is removed or the transport stops.
void Transport::RunPeer(Peer* peer) {
  SystemRandom random;  // jitter only; one per thread, as base/random.h asks
  std::int64_t delay_ms = options_.backoff_ms_min;
  bool down = false;  // log the first failure loudly, the repeats quietly
  auto ending = [this, peer] { return stop_requested_.load() || peer->queue->shut_down(); };
  while (!ending()) {
    Result<std::shared_ptr<Connection>> connection = DialPeer(peer);
    if (connection.ok()) {
      if (down) LOG(INFO) << "reconnected to node " << peer->node_id << " at " << peer->address;
      down = false;
      delay_ms = options_.backoff_ms_min;
      RunOutbound(peer, *connection);
    } else if (!ending()) {
      counters_->dial_failures.fetch_add(1, std::memory_order_relaxed);
      if (!down) {
        LOG(WARNING) << "cannot connect to node " << peer->node_id << " at " << peer->address
                     << ": " << connection.status().message() << " (retrying)";
      }
      down = true;
    }
    if (ending()) break;
    counters_->frames_dropped.fetch_add(peer->queue->MarkDown(), std::memory_order_relaxed);
    ReportUnreachable(peer->node_id);
    if (peer->queue->WaitForShutdown(random.Range(delay_ms / 2, delay_ms))) break;
    delay_ms = std::min(2 * delay_ms, options_.backoff_ms_max);
  }
}

// Dials the peer and runs the dialer's side of the handshake.
Result<std::shared_ptr<Connection>> Transport::DialPeer(Peer* peer) {
  Result<int> fd = internal::Dial(peer->address, NowMs() + options_.dial_timeout_ms, stop_fd_);
  if (!fd.ok()) return fd.status();
  internal::ConfigureSocket(*fd, options_.send_timeout_ms);
  auto connection = std::make_shared<Connection>(*fd, /*inbound=*/false, peer->queue,
                                                 options_.frame_bytes_max, stop_fd_);
  RETURN_IF_ERROR(internal::WriteAll(*fd, {EncodeFrame(CurrentHello())}));
  Result<Hello> hello =
      internal::ReadHello(connection->reader(), NowMs() + options_.handshake_timeout_ms);
  Status status = hello.ok() ? CheckHello(*hello, peer->node_id) : hello.status();
  if (!status.ok()) {
    if (IsDialedItself(status)) {
      // One -join list for every server names each one too; not a fault.
      LOG(INFO) << "closing connection from " << connection->Describe() << ": " << status.message();
    } else if (IsMalformed(status) || status.code() == StatusCode::kFailedPrecondition) {
      counters_->connections_rejected.fetch_add(1, std::memory_order_relaxed);
      LOG(WARNING) << "closing connection to node " << peer->node_id << " at " << peer->address
                   << ": handshake failed: " << status.message();
    }
    return status;
  }
  connection->peer.hello = std::move(*hello);
  counters_->connections_dialed.fetch_add(1, std::memory_order_relaxed);
  return connection;
}

// The dialer's connection: this thread writes, a second one reads.
void Transport::RunOutbound(Peer* peer, const std::shared_ptr<Connection>& connection) {
  if (!peer->queue->BeginConnection()) return;
  {
    std::lock_guard<std::mutex> lock(peer->mu);
    peer->connection = connection;
  }
  std::thread reader([this, &connection] { ReadLoop(connection); });
  WriteLoop(connection.get());
  reader.join();
  std::lock_guard<std::mutex> lock(peer->mu);
  peer->connection.reset();
}

// ---- Both directions --------------------------------------------------------------

void Transport::WriteLoop(Connection* connection) {
  std::vector<std::string> batch;
  while (connection->queue().PopBatch(&batch, options_.write_batch_frames_max,
                                      options_.write_batch_bytes_max)) {
    Status written = internal::WriteAll(connection->fd(), batch);
    if (!written.ok()) {
      if (!connection->closed() && !stop_requested_.load()) {
        LOG(INFO) << "closing connection with " << connection->Describe()
                  << ": write failed: " << written.message();
      }
      counters_->frames_dropped.fetch_add(batch.size(), std::memory_order_relaxed);
      break;
    }
    std::size_t bytes = 0;
    for (const std::string& frame : batch) bytes += frame.size();
    counters_->frames_sent.fetch_add(batch.size(), std::memory_order_relaxed);
    counters_->bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
    batch.clear();
  }
  connection->Close();
}

void Transport::ReadLoop(const std::shared_ptr<Connection>& connection) {
  FrameReader& reader = connection->reader();
  while (true) {
    Result<std::optional<Frame>> frame = reader.Next(kNoDeadline, options_.frame_bytes_max);
    if (frame.ok() && !frame->has_value()) {
      LOG(DEBUG) << "connection with " << connection->Describe() << " closed by the peer";
      break;
    }
    Status status = frame.ok() ? Status::Ok() : frame.status();
    if (status.ok() && std::holds_alternative<Hello>(**frame)) {
      status = InvalidArgument("a second Hello on the connection");
    }
    if (!status.ok()) {
      if (IsMalformed(status)) {
        counters_->connections_rejected.fetch_add(1, std::memory_order_relaxed);
        LOG(WARNING) << "closing connection with " << connection->Describe()
                     << ": malformed frame: " << status.message();
      } else if (!connection->closed() && !stop_requested_.load()) {
        LOG(INFO) << "connection with " << connection->Describe() << " lost: " << status.message();
      }
      break;
    }
    counters_->frames_received.fetch_add(1, std::memory_order_relaxed);
    counters_->bytes_received.fetch_add(reader.last_frame_bytes(), std::memory_order_relaxed);
    on_frame_(connection->peer, std::move(**frame), Reply(connection));
  }
  connection->Close();
}

}  // namespace roster::server
