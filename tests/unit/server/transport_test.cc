// The peer transport on loopback: frames flow both ways between real sockets, a
// restarted peer is redialed, bad peers are cut off (and logged) without disturbing
// the others, one-shot calls get their answer or time out, and Stop is prompt even
// when connections are busy or stuck. Every wait polls for a condition with a
// deadline; nothing sleeps and then asserts.
#include "server/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/logging.h"
#include "server/wire.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace roster::server {
namespace {

using consensus::Message;
using consensus::MessageType;
using consensus::NodeId;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr milliseconds kPatience{10'000};  // far beyond what loopback needs

struct Received {
  PeerInfo from;
  Frame frame;
  Reply reply;
};

// What one Transport delivered, for the test thread to wait on. Answers requests
// through `respond` (fixed before the transport starts) if one is given.
class Inbox {
 public:
  using Responder = std::function<void(const Frame& frame, const Reply& reply)>;
  explicit Inbox(Responder respond = {}) : respond_(std::move(respond)) {}

  FrameHandler Handler() {
    return [this](const PeerInfo& from, Frame frame, Reply reply) {
      if (respond_) respond_(frame, reply);
      std::lock_guard<std::mutex> lock(mu_);
      ++count_;
      // Bounded, so that tests which flood a node do not hold every frame.
      if (received_.size() < kKeptMax) {
        received_.push_back(Received{from, std::move(frame), std::move(reply)});
      }
      cv_.notify_all();
    };
  }

  // The first frame received (now or before the deadline) that `match` accepts.
  std::optional<Received> WaitFor(const std::function<bool(const Received&)>& match,
                                  milliseconds patience = kPatience) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<Received> found;
    cv_.wait_for(lock, patience, [&] {
      for (const Received& item : received_) {
        if (match(item)) {
          found = item;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  // Waits until `count` frames have arrived; returns those kept (the first kKeptMax).
  std::vector<Received> WaitForCount(std::size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, kPatience, [&] { return count_ >= count; });
    return received_;
  }

 private:
  static constexpr std::size_t kKeptMax = 5000;
  const Responder respond_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t count_ = 0;
  std::vector<Received> received_;
};

// Raft message with a marker in `index`, so each test frame can be recognised.
Message RaftMessage(NodeId from, NodeId to, consensus::Index marker) {
  Message message;
  message.type = MessageType::kAppend;
  message.from = from;
  message.to = to;
  message.term = 3;
  message.index = marker;
  message.entries.push_back(
      {.term = 3, .index = marker + 1, .type = consensus::EntryType::kNormal, .data = "entry"});
  return message;
}

auto IsRaftWithIndex(consensus::Index marker) {
  return [marker](const Received& item) {
    const auto* message = std::get_if<Message>(&item.frame);
    return message != nullptr && message->index == marker;
  };
}

// Counts unreachable reports per node.
class UnreachableLog {
 public:
  UnreachableHandler Handler() {
    return [this](NodeId node_id) {
      std::lock_guard<std::mutex> lock(mu_);
      ++counts_[node_id];
    };
  }
  int count(NodeId node_id) {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_[node_id];
  }

 private:
  std::mutex mu_;
  std::map<NodeId, int> counts_;
};

struct NodeSetup {
  std::uint16_t port = 0;  // 0: ephemeral
  std::function<void(TransportOptions&)> adjust;
  Inbox::Responder respond;

  static NodeSetup Port(std::uint16_t port) {
    NodeSetup setup;
    setup.port = port;
    return setup;
  }
  static NodeSetup Adjust(std::function<void(TransportOptions&)> adjust) {
    NodeSetup setup;
    setup.adjust = std::move(adjust);
    return setup;
  }
  static NodeSetup Respond(Inbox::Responder respond) {
    NodeSetup setup;
    setup.respond = std::move(respond);
    return setup;
  }
};

Hello HelloFrom(std::uint64_t cluster_id, NodeId node_id,
                std::uint32_t protocol_version = kProtocolVersion) {
  Hello hello;
  hello.protocol_version = protocol_version;
  hello.cluster_id = cluster_id;
  hello.node_id = node_id;
  hello.node_name = "raw-" + std::to_string(node_id);
  return hello;
}

Join JoinRequest(NodeId node_id, const std::string& name) {
  Join join;
  join.node_id = node_id;
  join.node_name = name;
  return join;
}

// A node under test: a Transport with an inbox, on a loopback port.
struct Node {
  explicit Node(NodeId id, const NodeSetup& setup = {}) : inbox(setup.respond) {
    TransportOptions options;
    options.self = Hello{.protocol_version = kProtocolVersion,
                         .cluster_id = 7,
                         .node_id = id,
                         .node_name = "node-" + std::to_string(id),
                         .server_address = "",
                         .http_address = "127.0.0.1:8500"};
    options.listen_address = "127.0.0.1:" + std::to_string(setup.port);
    options.backoff_ms_min = 10;
    options.backoff_ms_max = 100;
    if (setup.adjust) setup.adjust(options);
    transport = std::make_unique<Transport>(options, inbox.Handler(), unreachable.Handler());
    Status started = transport->Start();
    INFO(started.ToString());
    REQUIRE(started.ok());
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(transport->port()); }

  Inbox inbox;
  UnreachableLog unreachable;
  std::unique_ptr<Transport> transport;
};

// Sends until the frame arrives: the first frames to a peer that is still down are
// dropped by design, so a single send would prove nothing about reconnection.
bool SendUntilDelivered(Node& from, NodeId to, Node& receiver, consensus::Index marker) {
  const auto deadline = SteadyClock::now() + kPatience;
  while (SteadyClock::now() < deadline) {
    (void)from.transport->Send(to, RaftMessage(from.transport->stats().frames_sent, to, marker));
    if (receiver.inbox.WaitFor(IsRaftWithIndex(marker), milliseconds(20))) return true;
  }
  return false;
}

// Collects log lines for the duration of a test. Declared before the transports, so
// that they are gone (their threads joined) when the sink is removed.
class CapturedLog {
 public:
  CapturedLog() {
    SetLogSink([this](LogLevel level, std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      if (level >= LogLevel::kWarning) warnings_.emplace_back(line);
    });
  }
  ~CapturedLog() { SetLogSink(nullptr); }

  bool WaitForWarning(const std::string& text) {
    const auto deadline = SteadyClock::now() + kPatience;
    while (SteadyClock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const std::string& line : warnings_) {
          if (line.find(text) != std::string::npos) return true;
        }
      }
      std::this_thread::sleep_for(milliseconds(5));  // polling, not asserting
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> warnings_;
};

// A plain socket playing a misbehaving peer.
class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  }
  ~RawSocket() { ::close(fd_); }

  void Write(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  // True once the other side has closed: reads (and discards) until end of stream.
  bool WaitForClose() {
    const auto deadline = SteadyClock::now() + kPatience;
    char buffer[4096];
    while (SteadyClock::now() < deadline) {
      pollfd fd{fd_, POLLIN, 0};
      if (::poll(&fd, 1, 50) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  int fd_ = -1;
};

// A listener that accepts connections (in the kernel's backlog) but never answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t length = sizeof(address);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A peer that completes the handshake as node `node_id`, then never reads again: its
// dialer's writer ends up blocked in the kernel once the socket buffers are full.
class StuckPeer {
 public:
  explicit StuckPeer(NodeId node_id)
      : thread_([this, node_id] {
          const int fd = ::accept(listener_.fd(), nullptr, nullptr);
          if (fd < 0) return;
          char hello[512];
          (void)::recv(fd, hello, sizeof(hello), 0);  // the dialer's Hello, in one piece
          const std::string answer = EncodeFrame(HelloFrom(7, node_id));
          (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
          std::lock_guard<std::mutex> lock(mu_);
          connection_fd_ = fd;
        }) {}
  ~StuckPeer() {
    ::shutdown(listener_.fd(), SHUT_RDWR);  // wakes accept() if nobody came
    thread_.join();
    if (connection_fd_ >= 0) ::close(connection_fd_);
  }
  std::string address() const { return listener_.address(); }

 private:
  SilentListener listener_;
  std::mutex mu_;
  int connection_fd_ = -1;
  std::thread thread_;
};

// A port nobody listens on (until a test starts something there).
std::uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

auto LimitFrames(std::uint32_t frame_bytes_max) {
  return
      [frame_bytes_max](TransportOptions& options) { options.frame_bytes_max = frame_bytes_max; };
}

// ---- Exchange ---------------------------------------------------------------------

TEST_CASE("two transports exchange Raft frames both ways", "[transport]") {
  Node a(1);
  Node b(2);
  a.transport->AddPeer(2, b.address());
  b.transport->AddPeer(1, a.address());

  REQUIRE(a.transport->Send(2, RaftMessage(1, 2, 100)).ok());
  REQUIRE(b.transport->Send(1, RaftMessage(2, 1, 200)).ok());

  std::optional<Received> at_b = b.inbox.WaitFor(IsRaftWithIndex(100));
  REQUIRE(at_b);
  REQUIRE(std::get<Message>(at_b->frame).entries.at(0).data == "entry");
  REQUIRE(at_b->from.hello.node_id == 1);
  REQUIRE(at_b->from.hello.node_name == "node-1");
  REQUIRE(at_b->from.hello.cluster_id == 7);
  REQUIRE(at_b->from.inbound);

  std::optional<Received> at_a = a.inbox.WaitFor(IsRaftWithIndex(200));
  REQUIRE(at_a);
  REQUIRE(at_a->from.hello.node_id == 2);

  SECTION("many frames arrive complete and in order") {
    for (consensus::Index i = 1; i <= 2000; ++i)
      REQUIRE(a.transport->Send(2, RaftMessage(1, 2, 1000 + i)).ok());
    std::vector<Received> all = b.inbox.WaitForCount(2001);
    REQUIRE(all.size() == 2001);
    for (std::size_t i = 1; i < all.size(); ++i) {
      REQUIRE(std::get<Message>(all[i].frame).index == 1000 + i);
    }
    REQUIRE(b.transport->stats().frames_received == 2001);
  }

  SECTION("frames bigger than the read buffer arrive whole") {
    Message big = RaftMessage(1, 2, 300);
    big.type = MessageType::kSnapshot;
    big.snapshot.metadata = {
        .index = 10, .term = 2, .conf_state = {.voters = {1, 2}, .learners = {}}};
    big.snapshot.data = std::string(1u << 20, 's');
    big.entries.push_back({.term = 3,
                           .index = 302,
                           .type = consensus::EntryType::kNormal,
                           .data = std::string(3u << 20, 'e')});
    REQUIRE(a.transport->Send(2, big).ok());
    std::optional<Received> got = b.inbox.WaitFor(IsRaftWithIndex(300));
    REQUIRE(got);
    const Message& message = std::get<Message>(got->frame);
    REQUIRE(message.snapshot == big.snapshot);
    REQUIRE(message.entries == big.entries);
  }

  SECTION("a reply travels back on the connection the request came in on") {
    REQUIRE(b.transport->Send(1, ForwardApply{.request_id = 5, .command = "cmd"}).ok());
    std::optional<Received> request = a.inbox.WaitFor(
        [](const Received& item) { return std::holds_alternative<ForwardApply>(item.frame); });
    REQUIRE(request);
    REQUIRE(request->reply
                .Send(ForwardResult{.request_id = 5,
                                    .status_code = StatusCode::kOk,
                                    .message = "",
                                    .ok = true,
                                    .index = 12,
                                    .refused = "",
                                    .entry = std::nullopt,
                                    .txn = {}})
                .ok());
    std::optional<Received> result = b.inbox.WaitFor(
        [](const Received& item) { return std::holds_alternative<ForwardResult>(item.frame); });
    REQUIRE(result);
    REQUIRE(std::get<ForwardResult>(result->frame).index == 12);
    REQUIRE(result->from.hello.node_id == 1);
    REQUIRE_FALSE(result->from.inbound);  // it came back over b's own connection to a
  }
}

TEST_CASE("Send refuses unknown peers and oversized frames", "[transport]") {
  Node a(1, NodeSetup::Adjust(LimitFrames(1024)));
  REQUIRE(a.transport->Send(9, RaftMessage(1, 9, 1)).code() == StatusCode::kNotFound);
  a.transport->AddPeer(9, "127.0.0.1:1");
  Message big = RaftMessage(1, 9, 1);
  big.context = std::string(2000, 'x');
  REQUIRE(a.transport->Send(9, big).code() == StatusCode::kInvalidArgument);
  a.transport->RemovePeer(9);
  REQUIRE(a.transport->Send(9, RaftMessage(1, 9, 1)).code() == StatusCode::kNotFound);
}

TEST_CASE("a full queue drops frames and reports the peer unreachable", "[transport]") {
  SilentListener silent;  // the dial succeeds, the handshake never completes
  Node a(1, NodeSetup::Adjust([](TransportOptions& options) {
           options.queue_frames_max = 4;
           options.handshake_timeout_ms = 60'000;
         }));
  a.transport->AddPeer(5, silent.address());
  for (int i = 0; i < 4; ++i) REQUIRE(a.transport->Send(5, RaftMessage(1, 5, i)).ok());
  REQUIRE(a.transport->Send(5, RaftMessage(1, 5, 4)).code() == StatusCode::kResourceExhausted);
  REQUIRE(a.unreachable.count(5) == 1);
  REQUIRE(a.transport->stats().frames_dropped == 1);
}

// ---- Reconnection -----------------------------------------------------------------

TEST_CASE("a peer stopped and restarted on the same port is redialed", "[transport]") {
  Node a(1);
  auto b = std::make_unique<Node>(2);
  const std::uint16_t b_port = b->transport->port();
  a.transport->AddPeer(2, b->address());
  REQUIRE(SendUntilDelivered(a, 2, *b, 1));

  b.reset();  // stopped: a's connection breaks, redials fail
  const auto deadline = SteadyClock::now() + kPatience;
  while (a.unreachable.count(2) == 0 && SteadyClock::now() < deadline) {
    (void)a.transport->Send(2, RaftMessage(1, 2, 2));
    std::this_thread::sleep_for(milliseconds(5));  // polling for the report
  }
  REQUIRE(a.unreachable.count(2) > 0);

  b = std::make_unique<Node>(2, NodeSetup::Port(b_port));
  REQUIRE(SendUntilDelivered(a, 2, *b, 3));
  REQUIRE(a.transport->stats().connections_dialed >= 2);
}

TEST_CASE("a peer that starts late is reached once it is up", "[transport]") {
  const std::uint16_t port = FreePort();
  Node a(1);
  a.transport->AddPeer(2, "127.0.0.1:" + std::to_string(port));
  const auto deadline = SteadyClock::now() + kPatience;
  while (a.transport->stats().dial_failures < 2 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));  // polling for failed dials
  }
  REQUIRE(a.transport->stats().dial_failures >= 2);
  REQUIRE(a.transport->Send(2, RaftMessage(1, 2, 1)).code() == StatusCode::kUnavailable);
  Node b(2, NodeSetup::Port(port));
  REQUIRE(SendUntilDelivered(a, 2, b, 1));
}

// ---- Bad peers --------------------------------------------------------------------

TEST_CASE("a connection that sends garbage is closed and logged; others keep working",
          "[transport]") {
  CapturedLog log;
  Node a(1);
  Node b(2);
  a.transport->AddPeer(2, b.address());
  b.transport->AddPeer(1, a.address());
  REQUIRE(SendUntilDelivered(b, 1, a, 1));

  SECTION("text instead of a frame") {
    RawSocket garbage(a.transport->port());
    garbage.Write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(garbage.WaitForClose());
    REQUIRE(log.WaitForWarning("exceeds the limit"));
  }
  SECTION("a valid Hello, then a frame of unknown kind") {
    RawSocket garbage(a.transport->port());
    garbage.Write(EncodeFrame(HelloFrom(7, 3)));
    garbage.Write(std::string("\x01\x00\x00\x00\x63", 5));
    REQUIRE(garbage.WaitForClose());
    REQUIRE(log.WaitForWarning("malformed frame: frame kind at offset 4: unknown kind 99"));
  }
  SECTION("a Hello from another cluster") {
    RawSocket garbage(a.transport->port());
    garbage.Write(EncodeFrame(HelloFrom(8, 3)));
    REQUIRE(garbage.WaitForClose());
    REQUIRE(log.WaitForWarning("cluster id mismatch"));
  }
  SECTION("a Hello of another protocol version") {
    RawSocket garbage(a.transport->port());
    garbage.Write(EncodeFrame(HelloFrom(7, 3, /*protocol_version=*/2)));
    REQUIRE(garbage.WaitForClose());
    REQUIRE(log.WaitForWarning("protocol version 2 is not supported"));
  }
  SECTION("a frame before the Hello") {
    RawSocket garbage(a.transport->port());
    garbage.Write(EncodeFrame(RaftMessage(3, 1, 1)));
    REQUIRE(garbage.WaitForClose());
    REQUIRE(log.WaitForWarning("expected Hello first, got Raft"));
  }
  REQUIRE(a.transport->stats().connections_rejected >= 1);
  REQUIRE(SendUntilDelivered(b, 1, a, 2));
  REQUIRE(SendUntilDelivered(a, 2, b, 3));
}

TEST_CASE("a frame over the receiver's limit closes the connection; smaller ones flow",
          "[transport]") {
  CapturedLog log;
  Node a(1);
  Node b(2, NodeSetup::Adjust(LimitFrames(4096)));
  a.transport->AddPeer(2, b.address());
  REQUIRE(SendUntilDelivered(a, 2, b, 1));
  Message big = RaftMessage(1, 2, 2);
  big.context = std::string(10'000, 'x');
  REQUIRE(a.transport->Send(2, big).ok());  // a's own limit is the default
  REQUIRE(log.WaitForWarning("exceeds the limit of 4096"));
  REQUIRE(SendUntilDelivered(a, 2, b, 3));  // a redialed
}

TEST_CASE("dialing a node that answers with another id is refused", "[transport]") {
  CapturedLog log;
  Node a(1);
  Node b(2);
  a.transport->AddPeer(5, b.address());  // wrong id for b's address
  REQUIRE(log.WaitForWarning("dialed node 5 but node 2 answered"));
  const auto deadline = SteadyClock::now() + kPatience;
  while (a.unreachable.count(5) == 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));  // polling for the report
  }
  REQUIRE(a.unreachable.count(5) > 0);
  REQUIRE(a.transport->stats().connections_dialed == 0);
}

// ---- Call -------------------------------------------------------------------------

TEST_CASE("Call sends one request and returns the answer", "[transport]") {
  // Node 1 answers every Join on the connection it came in on.
  Node a(1, NodeSetup::Respond([](const Frame& frame, const Reply& reply) {
           if (const auto* join = std::get_if<Join>(&frame)) {
             (void)reply.Send(JoinResult{.status_code = StatusCode::kOk,
                                         .message = "welcome " + join->node_name,
                                         .cluster_id = 7});
           }
         }));

  SECTION("from a Transport") {
    Node c(3);
    Result<Frame> answer = c.transport->Call(a.address(), JoinRequest(3, "three"), 5000);
    INFO(answer.status().ToString());
    REQUIRE(answer.ok());
    REQUIRE(std::get<JoinResult>(*answer).message == "welcome three");
  }
  SECTION("from an anonymous client") {
    Result<Frame> answer = CallOnce(HelloFrom(0, 0), a.address(), JoinRequest(0, "cli"), 5000);
    INFO(answer.status().ToString());
    REQUIRE(answer.ok());
    REQUIRE(std::get<JoinResult>(*answer).cluster_id == 7);
    std::optional<Received> request = a.inbox.WaitFor(
        [](const Received& item) { return std::holds_alternative<Join>(item.frame); });
    REQUIRE(request);
    REQUIRE(request->from.hello.node_id == consensus::kNoNode);
    REQUIRE(request->from.hello.node_name == "raw-0");
  }
  SECTION("a Hello is not a request") {
    REQUIRE(CallOnce(Hello{}, a.address(), Hello{}, 5000).status().code() ==
            StatusCode::kInvalidArgument);
  }
}

TEST_CASE("Call to this node's own address says so, and a peer's Call still works",
          "[transport]") {
  // A -join list shared by every server names each server too (node_membership.cc).
  Node a(1, NodeSetup::Respond([](const Frame& frame, const Reply& reply) {
           if (std::holds_alternative<Join>(frame)) (void)reply.Send(JoinResult{});
         }));
  Result<Frame> own = a.transport->Call(a.address(), JoinRequest(1, "one"), 5000);
  INFO(own.status().ToString());
  REQUIRE(IsDialedItself(own.status()));

  Result<Frame> other = CallOnce(HelloFrom(7, 2), a.address(), JoinRequest(2, "two"), 5000);
  INFO(other.status().ToString());
  REQUIRE(other.ok());
  // Only node 2's request reached the handler; node 1's own was closed in the handshake.
  std::vector<Received> received = a.inbox.WaitForCount(1);
  REQUIRE(received.size() == 1);
  REQUIRE(std::get<Join>(received[0].frame).node_id == 2);
  REQUIRE_FALSE(IsDialedItself(CallOnce(HelloFrom(0, 0), "127.0.0.1:" + std::to_string(FreePort()),
                                        JoinRequest(0, "cli"), 5000)
                                   .status()));
}

TEST_CASE("Call times out when nobody answers, and fails fast when nobody listens", "[transport]") {
  Node a(1);  // receives the request, never replies
  const auto start = SteadyClock::now();
  Result<Frame> answer =
      CallOnce(Hello{}, a.address(), ForwardApply{.request_id = 1, .command = "x"}, 200);
  REQUIRE_FALSE(answer.ok());
  REQUIRE(answer.status().code() == StatusCode::kUnavailable);
  REQUIRE_THAT(answer.status().message(), Catch::Contains("timed out"));
  REQUIRE(SteadyClock::now() - start >= milliseconds(150));  // it waited, not failed at once

  Result<Frame> refused =
      CallOnce(Hello{}, "127.0.0.1:" + std::to_string(FreePort()), ForwardApply{}, 5000);
  REQUIRE_FALSE(refused.ok());
  REQUIRE(refused.status().code() == StatusCode::kIoError);
}

// ---- Stop -------------------------------------------------------------------------

TEST_CASE("Stop returns promptly with busy and stuck connections", "[transport]") {
  SilentListener silent;  // node 3: its handshake never completes
  StuckPeer stuck(4);     // node 4: never reads, so a's writer to it blocks in the kernel
  Node a(1, NodeSetup::Adjust([](TransportOptions& options) {
           options.handshake_timeout_ms = 60'000;
           options.send_timeout_ms = 60'000;
           options.queue_bytes_max = 4u << 20;
         }));
  Node b(2);
  a.transport->AddPeer(2, b.address());
  a.transport->AddPeer(3, silent.address());
  a.transport->AddPeer(4, stuck.address());
  b.transport->AddPeer(1, a.address());
  REQUIRE(SendUntilDelivered(a, 2, b, 1));

  Message chunk = RaftMessage(1, 4, 2);
  chunk.context = std::string(100'000, 'c');
  const auto deadline = SteadyClock::now() + kPatience;
  bool full = false;  // a full queue: the writer to node 4 is stuck
  while (!full && SteadyClock::now() < deadline) {
    full = a.transport->Send(4, chunk).code() == StatusCode::kResourceExhausted;
  }
  REQUIRE(full);

  std::atomic<bool> sending{true};
  std::thread sender([&] {
    Message small = RaftMessage(1, 2, 3);
    small.context = std::string(10'000, 'c');
    while (sending.load()) {
      (void)a.transport->Send(2, small);
      (void)b.transport->Send(1, small);
    }
  });
  b.inbox.WaitForCount(50);  // traffic is flowing

  const auto start = SteadyClock::now();
  a.transport->Stop();
  b.transport->Stop();
  const auto stop_time = SteadyClock::now() - start;
  sending.store(false);
  sender.join();
  REQUIRE(stop_time < milliseconds(5000));  // the stuck handshake and write wait a minute
  REQUIRE(a.transport->Send(2, RaftMessage(1, 2, 4)).code() == StatusCode::kUnavailable);
}

}  // namespace
}  // namespace roster::server
