// Transport: the server's peer connections over TCP, carrying wire.h frames.
//
// One listener on the server port accepts connections; one outbound connection per
// known peer (AddPeer) is dialed and kept up, redialed with exponential backoff and
// jitter when it fails. Every connection opens with a Hello exchange: the dialer sends
// its Hello first, the acceptor checks it and answers with its own. A connection whose
// peer sends a malformed frame, a frame over the size limit, or a Hello that does not
// match (protocol version, a different cluster id when both sides know theirs, not the
// node that was dialed, this node itself) is closed and the reason logged as a
// warning (as info for this node itself, which a shared -join list makes routine); an
// outbound one is then redialed.
//
// Sending is fire-and-forget, as Raft wants: Send encodes the frame and queues it on
// the peer's bounded queue; a writer thread per connection writes queued frames
// together (one sendmsg for many). A frame is dropped, counted, and the peer reported
// unreachable (so the node can call RawNode::ReportUnreachable) when the queue is full
// or the peer is down; frames queued when a connection fails are dropped too.
//
// Each node sends only on its own outbound connections, so two servers that know each
// other keep two connections, one per direction; frames from one connection arrive in
// the order they were sent. Replies go back on the connection the request came in
// on: OnFrame is handed a Reply for that connection. This works for callers that are
// not peers (a server that is joining, the CLI, both through Call()) and needs no
// address book for them; Raft traffic itself always goes through Send.
//
// Threads: an accept thread; per outbound peer a thread that dials and then writes,
// and a reader thread per connection; per inbound connection a reader thread (which
// also does the handshake) and a writer thread. Blocking calls wait in poll() together
// with a stop descriptor, and Stop() shuts every socket down, so Stop is prompt.
//
// Thread-safety: every public method may be called from any thread, concurrently,
// except that Stop() and the destructor must not be called from inside a callback.
// Callbacks run on transport threads, several at once (one per connection), so they
// must be thread-safe, quick and non-blocking (the node enqueues and returns); they
// may call Send, AddPeer, RemovePeer and Reply::Send. on_unreachable also runs on the
// thread calling Send when Send drops a frame.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "consensus/types.h"
#include "server/wire.h"

namespace roster::server {

namespace internal {
class Connection;
class OutboundQueue;
struct Peer;
struct InboundConnection;
}  // namespace internal

struct TransportOptions {
  // This node's Hello. protocol_version is ignored (always kProtocolVersion);
  // cluster_id may be 0 until the node learns it (SetClusterId).
  Hello self;
  // "host:port" to listen on; port 0 picks a free port (see port()). "[::1]:0" for IPv6.
  std::string listen_address = "0.0.0.0:8300";
  // Largest frame (kind + payload) sent or accepted.
  std::uint32_t frame_bytes_max = kFrameBytesMaxDefault;
  // Per-connection outbound queue bound. A single frame is always accepted by an empty
  // queue, so queue_bytes_max below frame_bytes_max still lets every frame through.
  std::size_t queue_frames_max = 4096;
  std::size_t queue_bytes_max = 128u << 20;
  // Redial delays: backoff_ms_min doubling up to backoff_ms_max, each drawn uniformly
  // from [delay / 2, delay] so that peers do not redial in lockstep.
  std::int64_t backoff_ms_min = 50;
  std::int64_t backoff_ms_max = 2000;
  std::int64_t dial_timeout_ms = 2000;
  std::int64_t handshake_timeout_ms = 5000;
  // A write that makes no progress for this long closes the connection (a peer that
  // stopped reading, or a dead host whose TCP has not noticed yet).
  std::int64_t send_timeout_ms = 10000;
  // Coalescing limits of one sendmsg.
  std::size_t write_batch_frames_max = 64;
  std::size_t write_batch_bytes_max = 8u << 20;
};

// Who is on the other end of a connection: its Hello, and the socket's view.
struct PeerInfo {
  Hello hello;
  std::string remote_endpoint;  // "ip:port" of the socket's other end
  bool inbound = false;         // true: the peer dialed this node
};

// Sends frames back on the connection a frame arrived on. Cheap to copy; does not keep
// the connection open. Any thread.
class Reply {
 public:
  Reply() = default;  // replies to nobody: Send returns Unavailable

  // Queues the frame on that connection. Unavailable if the connection has closed,
  // ResourceExhausted if its queue is full, InvalidArgument if over the frame limit.
  Status Send(const Frame& frame) const;

 private:
  friend class Transport;
  explicit Reply(std::weak_ptr<internal::Connection> connection)
      : connection_(std::move(connection)) {}
  std::weak_ptr<internal::Connection> connection_;
};

using FrameHandler = std::function<void(const PeerInfo& from, Frame frame, Reply reply)>;
using UnreachableHandler = std::function<void(consensus::NodeId node_id)>;

// Counters since construction; a snapshot, read with relaxed ordering.
struct TransportStats {
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t frames_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t frames_dropped = 0;        // queue full, peer down, or lost with a connection
  std::uint64_t connections_dialed = 0;    // outbound handshakes completed
  std::uint64_t connections_accepted = 0;  // inbound handshakes completed
  std::uint64_t connections_rejected = 0;  // closed for a malformed frame or a bad Hello
  std::uint64_t dial_failures = 0;
};

class Transport {
 public:
  Transport(TransportOptions options, FrameHandler on_frame, UnreachableHandler on_unreachable);
  ~Transport();  // Stop()
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds and listens (SO_REUSEADDR), then starts accepting and dialing the peers added
  // so far. IoError if the address cannot be resolved or bound. REQUIRES: called once.
  Status Start();
  // Closes every connection and the listener and joins every thread; afterwards Send
  // returns Unavailable. Idempotent (a second, concurrent call returns at once).
  void Stop();

  // The port actually listened on (after Start; the chosen one if options said 0).
  std::uint16_t port() const { return port_.load(); }

  // Hellos sent from now on carry this cluster id (a joining server learns it late).
  void SetClusterId(std::uint64_t cluster_id) { cluster_id_.store(cluster_id); }

  // Keeps an outbound connection to `address` ("host:port"). Adding a known node with
  // a new address replaces its connection; with the same address does nothing.
  void AddPeer(consensus::NodeId node_id, const std::string& address);
  // Closes the outbound connection and drops what is queued for it. No-op if unknown.
  void RemovePeer(consensus::NodeId node_id);

  // Queues a frame for a peer. OK if queued (delivery is still not guaranteed);
  // NotFound for an unknown peer; Unavailable if the peer is down or the transport
  // stopped; ResourceExhausted if the queue is full; InvalidArgument if the encoded
  // frame exceeds frame_bytes_max. Unavailable and ResourceExhausted also count the
  // frame as dropped and report the peer unreachable.
  Status Send(consensus::NodeId node_id, const Frame& frame);

  // One request, one response: dials `address`, exchanges Hellos, sends `request` and
  // returns the first frame the other side sends back. Unavailable on timeout (the
  // whole exchange, dial included, gets timeout_ms) or when stopped. Blocks the caller.
  Result<Frame> Call(const std::string& address, const Frame& request, std::int64_t timeout_ms);

  TransportStats stats() const;

 private:
  struct Counters;

  Hello CurrentHello() const;
  // FailedPrecondition if the peer's Hello does not fit this node (see the top).
  Status CheckHello(const Hello& theirs, consensus::NodeId expected_node_id) const;
  void ReportUnreachable(consensus::NodeId node_id);
  void ReapLocked();  // joins the threads of removed peers and closed inbound connections
  void StartPeerLocked(internal::Peer* peer);
  void AcceptLoop();
  void RunInbound(const std::shared_ptr<internal::Connection>& connection);
  void RunPeer(internal::Peer* peer);
  Result<std::shared_ptr<internal::Connection>> DialPeer(internal::Peer* peer);
  void RunOutbound(internal::Peer* peer, const std::shared_ptr<internal::Connection>& connection);
  void WriteLoop(internal::Connection* connection);
  void ReadLoop(const std::shared_ptr<internal::Connection>& connection);

  const TransportOptions options_;
  const FrameHandler on_frame_;
  const UnreachableHandler on_unreachable_;
  std::atomic<std::uint64_t> cluster_id_;
  std::atomic<std::uint16_t> port_{0};
  std::unique_ptr<Counters> counters_;
  std::atomic<bool> stop_requested_{false};  // set first thing in Stop(), for quiet logs

  int listen_fd_ = -1;
  int stop_fd_ = -1;  // an eventfd, made readable once by Stop; every poll() watches it
  std::thread accept_thread_;

  std::mutex mu_;  // guards everything below
  bool started_ = false;
  bool stopping_ = false;
  std::map<consensus::NodeId, std::unique_ptr<internal::Peer>> peers_;
  // Peers removed or replaced whose thread may still be running; joined when finished.
  std::vector<std::unique_ptr<internal::Peer>> retired_peers_;
  std::vector<std::unique_ptr<internal::InboundConnection>> inbound_;
};

// Call() without a Transport, for the CLI: `self` is the Hello to send (node_id 0 for
// an anonymous client). Blocks the caller.
Result<Frame> CallOnce(const Hello& self, const std::string& address, const Frame& request,
                       std::int64_t timeout_ms,
                       std::uint32_t frame_bytes_max = kFrameBytesMaxDefault);

// Call's failure when the address answers with the caller's own node id: a -join list
// that names this server too. The acceptor sends its Hello before closing such a
// connection so that the dialer can tell.
inline constexpr std::string_view kDialedItself = "the peer is this node itself";
bool IsDialedItself(const Status& status);

}  // namespace roster::server
