// The connection machinery under Transport (server/transport.h): a buffered frame
// reader, a peer's bounded outbound queue, one TCP connection, and what Transport keeps
// per outbound peer and per inbound connection. Internal to transport.cc; split out so
// that the Transport itself (its threads and their life cycle) reads on its own.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "server/socket.h"
#include "server/transport.h"
#include "server/wire.h"

namespace roster::server::internal {

inline constexpr std::size_t kReadBufferBytes = 256u << 10;

// Reads frames from a socket through a buffer, so that a burst of small frames costs
// one recv. Used by one thread at a time.
class FrameReader {
 public:
  FrameReader(int fd, int cancel_fd)
      : fd_(fd), cancel_fd_(cancel_fd), buffer_(kReadBufferBytes, 0) {}

  // The next frame, or nullopt when the peer closed the connection between frames.
  // Corruption/InvalidArgument: a malformed frame; IoError: the connection failed
  // (or closed inside a frame); Unavailable: timed out or cancelled.
  Result<std::optional<Frame>> Next(std::int64_t deadline_ms, std::uint32_t frame_bytes_max);

  std::size_t last_frame_bytes() const { return last_frame_bytes_; }

 private:
  // Reads until `bytes` are buffered or the peer closes (*eof).
  Status Fill(std::size_t bytes, std::int64_t deadline_ms, bool* eof);
  // A frame bigger than the buffer: grown step by step as bytes arrive, so a bogus
  // length costs no more memory than the bytes actually sent.
  Status ReadLargeBody(std::uint32_t length, std::int64_t deadline_ms, std::string* body);
  // One recv of up to `capacity` bytes; *received = 0 on end of stream.
  Status Receive(char* into, std::size_t capacity, std::int64_t deadline_ms, std::size_t* received);

  const int fd_;
  const int cancel_fd_;
  std::string buffer_;
  std::size_t begin_ = 0;  // buffer_[begin_, end_) is received and not yet consumed
  std::size_t end_ = 0;
  std::size_t last_frame_bytes_ = 0;
};

// Encoded frames waiting for a connection's writer. A peer's queue outlives its
// connections: it accepts frames while the first dial is under way and while
// connected, refuses them while the peer is down, and ends with Shutdown.
class OutboundQueue {
 public:
  OutboundQueue(std::size_t frames_max, std::size_t bytes_max)
      : frames_max_(frames_max), bytes_max_(bytes_max) {}

  Status Push(std::string frame) {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return Unavailable("connection closed");
    if (down_) return Unavailable("peer is not connected");
    if (!frames_.empty() && (frames_.size() >= frames_max_ || bytes_ + frame.size() > bytes_max_)) {
      return Status(StatusCode::kResourceExhausted, "outbound queue is full");
    }
    bytes_ += frame.size();
    frames_.push_back(std::move(frame));
    cv_.notify_one();
    return Status::Ok();
  }

  // Waits for frames and moves a batch of them into *batch (at least one); false once
  // the connection is interrupted or the queue shut down.
  bool PopBatch(std::vector<std::string>* batch, std::size_t frames_max, std::size_t bytes_max) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return shut_down_ || interrupted_ || !frames_.empty(); });
    if (shut_down_ || interrupted_) return false;
    std::size_t bytes = 0;
    while (!frames_.empty() && batch->size() < frames_max &&
           (batch->empty() || bytes + frames_.front().size() <= bytes_max)) {
      bytes += frames_.front().size();
      batch->push_back(std::move(frames_.front()));
      frames_.pop_front();
    }
    bytes_ -= bytes;
    return true;
  }

  // A new connection starts writing; false if the queue was shut down.
  bool BeginConnection() {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = false;
    down_ = false;
    return !shut_down_;
  }
  // The current connection ended: its writer stops.
  void Interrupt() {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }
  // The peer is unreachable: drops what is queued (returns how many) and refuses
  // frames until the next connection begins.
  std::size_t MarkDown() {
    std::lock_guard<std::mutex> lock(mu_);
    down_ = true;
    const std::size_t dropped = frames_.size();
    frames_.clear();
    bytes_ = 0;
    return dropped;
  }
  void Shutdown() {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    cv_.notify_all();
  }
  bool shut_down() {
    std::lock_guard<std::mutex> lock(mu_);
    return shut_down_;
  }
  // Sleeps up to delay_ms; true if the queue was (or got) shut down.
  bool WaitForShutdown(std::int64_t delay_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(delay_ms), [this] { return shut_down_; });
  }

 private:
  const std::size_t frames_max_;
  const std::size_t bytes_max_;
  std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::deque<std::string> frames_;
  std::size_t bytes_ = 0;
  bool interrupted_ = false;
  bool down_ = false;
  bool shut_down_ = false;
};

// One TCP connection. The socket is shut down by Close (from any thread, waking its
// reader and writer) and closed only when the last reference goes, so no thread ever
// uses a descriptor number that has been reused.
class Connection {
 public:
  Connection(int fd, bool inbound, std::shared_ptr<OutboundQueue> queue,
             std::uint32_t frame_bytes_max, int cancel_fd)
      : fd_(fd),
        inbound_(inbound),
        frame_bytes_max_(frame_bytes_max),
        queue_(std::move(queue)),
        reader_(fd, cancel_fd) {
    peer.inbound = inbound;
    peer.remote_endpoint = PeerEndpoint(fd);
  }
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Close() {
    if (closed_.exchange(true)) return;
    ::shutdown(fd_, SHUT_RDWR);
    // An inbound connection's queue dies with it; a peer's waits for the next one.
    if (inbound_) {
      queue_->Shutdown();
    } else {
      queue_->Interrupt();
    }
  }
  bool closed() const { return closed_.load(); }

  Status Send(const Frame& frame) {
    if (closed()) return Unavailable("connection closed");
    std::string bytes = EncodeFrame(frame);
    if (bytes.size() - kFrameHeaderBytes > frame_bytes_max_) {
      return InvalidArgument("frame of " + std::to_string(bytes.size()) +
                             " bytes exceeds the limit of " + std::to_string(frame_bytes_max_));
    }
    return queue_->Push(std::move(bytes));
  }

  std::string Describe() const {
    std::string out = peer.hello.node_id != consensus::kNoNode
                          ? "node " + std::to_string(peer.hello.node_id) + " at "
                          : "";
    return out + peer.remote_endpoint + (inbound_ ? " (inbound)" : " (outbound)");
  }

  int fd() const { return fd_; }
  OutboundQueue& queue() { return *queue_; }
  FrameReader& reader() { return reader_; }  // the reader thread's (or the handshake's)

  // Written during the handshake, before any other thread sees the connection.
  PeerInfo peer;

 private:
  const int fd_;
  const bool inbound_;
  const std::uint32_t frame_bytes_max_;
  const std::shared_ptr<OutboundQueue> queue_;
  FrameReader reader_;
  std::atomic<bool> closed_{false};
};

struct Peer {
  Peer(consensus::NodeId id, std::string peer_address, std::shared_ptr<OutboundQueue> q)
      : node_id(id), address(std::move(peer_address)), queue(std::move(q)) {}

  // Ends the peer's thread soon: no redial, its connection shut down.
  void Shutdown() {
    queue->Shutdown();
    std::lock_guard<std::mutex> lock(mu);
    if (connection) connection->Close();
  }

  const consensus::NodeId node_id;
  const std::string address;
  const std::shared_ptr<OutboundQueue> queue;
  std::thread thread;
  std::atomic<bool> finished{false};
  std::mutex mu;  // guards connection
  std::shared_ptr<Connection> connection;
};

struct InboundConnection {
  std::shared_ptr<Connection> connection;
  std::thread thread;
  std::atomic<bool> finished{false};
};

// The handshake's first frame: a Hello, small.
Result<Hello> ReadHello(FrameReader& reader, std::int64_t deadline_ms);
// A frame that could not be decoded (as opposed to a connection that failed).
bool IsMalformed(const Status& status);

}  // namespace roster::server::internal
