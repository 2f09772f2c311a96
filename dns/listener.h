// Listener: serves a Responder on one address and port over UDP and TCP (RFC 1035
// §4.2, RFC 7766), forwarding the queries that are not ours through a Forwarder.
//
// UDP: `udp_workers` threads read one socket, each answering the datagrams it reads in
// batches (one recvmmsg in, one sendmmsg out: dns/udp_batch.h). Whichever worker runs
// takes the next batch, so a worker off the CPU (preempted, or its vCPU taken by the
// host) holds up only the batch it has; with a socket per worker (SO_REUSEPORT) every
// client hashed to the stalled one would wait for it. A reply is cut to 512 octets or
// the client's EDNS size with TC set (the Responder fits it).
// TCP, on the same port: one thread accepts, one thread per connection reads
// length-prefixed queries one after another (several per connection), closes a
// connection idle for `tcp_idle_timeout_ms`, and closes new connections at once beyond
// `tcp_connections_max`. A malformed packet gets what the Responder says (FORMERR,
// NOTIMP or nothing); a malformed TCP stream (a zero length, a short read) ends its
// connection. Nothing a client sends can make a thread wait forever.
//
// Servers and agents run the same Listener, each with its own DnsCatalog behind the
// Responder. Threads: Start and Stop from one owning thread; the listener's threads
// call Responder::Respond (const, thread-safe) and Forwarder::Forward.
// Design notes: docs/design/dns.md, "Listeners".
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/random.h"
#include "base/status.h"
#include "dns/forwarder.h"
#include "dns/net.h"
#include "dns/responder.h"

namespace roster::dns {
namespace internal {
class UdpBatch;  // dns/udp_batch.h
}  // namespace internal

struct ListenerOptions {
  std::string bind_address = "127.0.0.1";  // an IPv4 or IPv6 literal
  int port = 8600;                         // 0: a port free for both UDP and TCP
  int udp_workers = 2;
  std::size_t tcp_connections_max = 256;
  // RFC 7766 §6.2.3 asks for an idle timeout of seconds; a query's octets must also
  // arrive within it once its length has.
  std::int64_t tcp_idle_timeout_ms = 10000;
};

class Listener {
 public:
  // REQUIRES: `responder` outlives the listener, and so does `forwarder` unless null
  // (then a query that is not ours gets the Responder's REFUSED).
  Listener(const Responder& responder, Forwarder* forwarder, ListenerOptions options);
  ~Listener();  // Stop()
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds both sockets and starts the threads. IoError naming the address when the
  // port is taken; InvalidArgument when the bind address is not an IP literal.
  Status Start();
  // Ends every thread, closing client connections, and returns when they have ended.
  // Idempotent.
  void Stop();

  // The bound port (the one picked for port 0). REQUIRES: Start() succeeded.
  std::uint16_t port() const { return port_; }

 private:
  struct UdpSocket;
  struct ForwardWait;

  void UdpWorker();
  // Answers datagram `datagram` of `batch`: queues the reply in the batch, or hands the
  // query to the Forwarder, whose answer is sent on its own.
  void AnswerDatagram(internal::UdpBatch& batch, std::size_t datagram, Random& random);
  void AcceptLoop();
  void ReapFinishedConnections();
  void ServeConnection(std::uint64_t id, int fd);
  // The reply to one query read over TCP, nullopt to send nothing.
  std::optional<std::string> AnswerOverTcp(std::span<const std::uint8_t> query, Random& random);

  const Responder& responder_;
  Forwarder* const forwarder_;
  const ListenerOptions options_;

  std::uint16_t port_ = 0;
  // Read by every UDP worker. Shared with the Forwarder's callbacks, which may send on
  // it after Stop.
  std::shared_ptr<const UdpSocket> udp_;
  int tcp_fd_ = -1;
  internal::WakeFd stop_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::vector<std::thread> udp_threads_;
  std::thread accept_thread_;

  std::mutex connections_mutex_;
  std::map<std::uint64_t, std::thread> connections_;  // by id; guarded
  std::vector<std::uint64_t> finished_;               // ended, to join; guarded
  std::uint64_t next_connection_id_ = 1;              // accept thread only
};

}  // namespace roster::dns
