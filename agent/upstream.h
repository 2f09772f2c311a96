// Upstream: the agent's HTTP link to the servers (the -join list, or a server's own
// HTTP address), with failover.
//
// A request goes to the server that last answered. When it cannot reach that server
// (connection refused or reset, a time-out: client/ reports these as Unavailable) or
// the server answers 503, the request is tried on the next server of the list, each
// server at most once per request; the one that answers is remembered for the next
// request. Any other answer (200, 4xx, 500 "No cluster leader") is the answer: it came
// from a live server, and the servers forward among themselves.
//
// Connections are kept open between requests: a request takes an idle connection to
// its server, or opens one, and gives it back after a good reply (at most
// kIdlePerServerMax idle per server, each for at most kIdleFor, well under a server's
// 30 s keep-alive timeout). Without that, an application doing a thousand requests a
// second through its agent cost the agent a thousand connections a second, each left in
// TIME_WAIT for a minute: more than the ephemeral ports of one host.
//
// Thread-safety: every method from any thread; requests run concurrently, each on its
// own connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "base/status.h"
#include "client/http_client.h"

namespace roster::agent {

class Upstream {
 public:
  static constexpr std::size_t kIdlePerServerMax = 8;
  static constexpr std::chrono::seconds kIdleFor{10};

  // REQUIRES: at least one server ("host:port").
  explicit Upstream(std::vector<std::string> servers);
  ~Upstream();

  // Unavailable ("no server answered: <last error>") when every server failed; also
  // once Shutdown() has been called. A stop request aborts the request in flight.
  Result<client::Response> Send(const client::Request& request,
                                std::chrono::milliseconds read_timeout,
                                std::stop_token stop = {});

  // Replaces the server list (a server's own agent learns its HTTP port only once the
  // HTTP server has bound it).
  void SetServers(std::vector<std::string> servers);

  // The server the next request goes to first.
  std::string current() const;
  // Every server, current() first, in the order a request tries them (the watch relay
  // walks them itself, agent/watch_relay.h).
  std::vector<std::string> ServersFromCurrent() const;
  // Counts the times a request moved on to another server (for tests and logs).
  std::uint64_t failovers() const;

  // Aborts requests in flight and fails later ones at once (shutdown).
  void Shutdown();

 private:
  struct Idle {
    std::unique_ptr<client::HttpClient> client;
    std::chrono::steady_clock::time_point since;
  };

  Result<client::Response> SendTo(const std::string& server, const client::Request& request,
                                  std::chrono::milliseconds read_timeout, std::stop_token stop);
  // An idle connection to `server` young enough to reuse, or a new one.
  std::unique_ptr<client::HttpClient> TakeConnection(const std::string& server);

  mutable std::mutex mutex_;
  std::vector<std::string> servers_;          // guarded by mutex_
  std::size_t current_ = 0;                   // guarded by mutex_
  std::uint64_t failovers_ = 0;               // guarded by mutex_
  std::set<client::HttpClient*> in_flight_;   // guarded by mutex_
  std::map<std::string, std::vector<Idle>> idle_;  // guarded by mutex_: by server
  bool shut_down_ = false;                    // guarded by mutex_
};

}  // namespace roster::agent
