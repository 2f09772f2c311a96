// Connection handling for Roster's HTTP server: the per-client-IP connection limit and
// the loop that serves one connection's requests.
//
// Listener is the httplib::Server Roster runs. It replaces httplib's per-connection
// loop (the virtual process_and_close_socket; the request parsing, routing and
// response writing stay httplib's, through its protected process_request), because:
//  - the connection limit needs the peer's address when the connection opens, as in
//    Consul (consul-api.md §0: 429 "Your IP is issuing too many concurrent
//    connections"), and httplib shows it only per request;
//  - httplib waits for a keep-alive connection's next request by polling every 10 ms,
//    which at thousands of idle connections keeps a core busy; this loop sleeps in
//    poll() on the socket and on a stop descriptor, so Stop() ends idle connections
//    at once;
//  - responses go out with TCP_NODELAY, so a small reply is not held back by Nagle.
//  - a request whose reply is parked (a blocking query, a watch stream) leaves its
//    connection to the event loop (http/event_loop.h), which hands it back to a worker
//    thread when its next request arrives.
// Thread-safety: ClientConnectionLimiter is safe from any thread. A Listener is set up
// by one thread, then httplib runs ServeConnection on its worker threads; Stop() may
// come from any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/event_loop.h"
#include "http/options.h"
#include "http/reply.h"
#include "http/task_queue.h"

// clang-format off
#include <httplib.h>
// clang-format on

namespace roster::http {

// Counts open connections per client IP.
class ClientConnectionLimiter {
 public:
  explicit ClientConnectionLimiter(std::size_t per_client_max) : per_client_max_(per_client_max) {}
  // Counts a new connection from ip; false (and not counted) when ip is at the limit.
  // A limit of 0 admits everything.
  bool Acquire(const std::string& ip);
  // REQUIRES: a successful Acquire(ip) not yet released.
  void Release(const std::string& ip);

 private:
  const std::size_t per_client_max_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> open_;  // guarded by mutex_
};

// httplib routes on Request::path with std::regex, whose matcher recurses once per
// character and overflows a thread stack on a long path. Roster routes on the raw
// Request::target itself, so before routing the Listener replaces path with one of
// these fixed strings, telling the single catch-all handler what to do.
inline constexpr char kRouteServe[] = "/";
inline constexpr char kRouteTooManyConnections[] = "/too-many-connections";

// Hands the request the calling thread is serving, with its parked reply (a blocking
// query waiting for a write, a watch stream), to the event loop: the thread writes
// nothing for it and goes on to other work (http/event_loop.h). `head_only`: a HEAD
// request. False when the thread serves no connection (the caller then answers).
bool ParkCurrentRequest(Reply reply, bool head_only);

class Listener final : public httplib::Server {
 public:
  explicit Listener(const HttpOptions& options);
  ~Listener() override;

  // Binds and listens; returns the bound port, or -1 with errno set.
  int Bind(const std::string& host, int port);
  // Serves a request the event loop read, without httplib: the raw target and a header
  // lookup in, the reply out. Set by the owner before Bind when it serves a Backend:
  // only then are replies parked, and connections held by the event loop.
  using DirectHandler = std::function<Reply(std::string_view target,
                                            const std::function<std::string(const char*)>& header)>;
  void set_direct_handler(DirectHandler handler) { direct_handler_ = std::move(handler); }

  // Makes every connection end: idle ones at once, busy ones after their request,
  // parked ones with their current result (the event loop stops). Also call httplib's
  // stop() to end the accept loop.
  void SignalStop();

 private:
  bool process_and_close_socket(socket_t sock) override;
  // Serves the connection's requests until it closes, idles out, or one parks.
  void ServeConnection(std::shared_ptr<Connection> connection);
  // Serves the request the event loop has read, on the loop's thread.
  EventLoop::Served ServeOnLoop(Connection& connection, const PeekedRequest& request);
  // Answers one request with 429 and closes: the client learns why, as with Consul.
  void RefuseConnection(int fd);

  const HttpOptions options_;
  ClientConnectionLimiter limiter_;
  int stop_fd_ = -1;  // an eventfd; readable once SignalStop() ran
  DirectHandler direct_handler_;
  // The workers: new connections (through httplib's task queue) and the event loop's
  // resumed ones. The loop holds parked connections.
  GrowingTaskQueue pool_;
  EventLoop loop_;
};

}  // namespace roster::http
