// DeadlineTimers: the leader's in-memory deadlines, one per key, handed out when they
// pass. Two users, one mechanism:
//  - session TTLs (node_sessions.cc, consul-api.md §3.2): a session with a TTL expires
//    TTL × 2 after its creation or last renewal (Consul's SessionTTLMultiplier);
//  - node liveness (server/liveness.h): a node fails when its heartbeats stop for the
//    failure timeout, and a failed node is reaped after the reconnect timeout.
// Timers are not replicated: a new leader knows nothing of its predecessor's deadlines,
// so it restarts every timer with a full period; followers keep none.
//
// Expiry is handed out by TakeExpired, a bounded number at a time, so a leader that
// takes over thousands of dead sessions or nodes proposes their commands over several
// ticks, not in one burst. A key handed out is not forgotten: its deadline moves
// `retry_ms` ahead, so if the command it led to is lost (leadership lost before it
// committed, a proposal refused) it is handed out again. Only Remove ends a timer: the
// caller removes it once the command applied (or is no longer needed).
// Pure: the caller passes the time in. Single-threaded: owned by the Raft loop.
// Design notes: docs/design/server.md ("Sessions", "Node liveness").
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace roster::server {

class DeadlineTimers {
 public:
  // REQUIRES: retry_ms > 0.
  explicit DeadlineTimers(std::int64_t retry_ms);

  // (Re)starts the key's timer: it expires at deadline_ms.
  void Set(const std::string& key, std::int64_t deadline_ms);

  // Forget the key's timer. No-op if it has none.
  void Remove(const std::string& key);

  // Leadership lost (or about to be rebuilt): forget every timer.
  void Clear();

  // Up to `count_max` keys whose deadline has passed, earliest deadline first. Each
  // one's deadline moves to now_ms + retry_ms, so it comes back if it is still here
  // then (what its expiry led to was lost).
  std::vector<std::string> TakeExpired(std::int64_t now_ms, std::size_t count_max);

  bool Contains(const std::string& key) const { return deadlines_.contains(key); }
  // The key's deadline, or -1 if it has no timer. For tests and logs.
  std::int64_t DeadlineMs(const std::string& key) const;
  std::size_t size() const { return deadlines_.size(); }

 private:
  const std::int64_t retry_ms_;
  std::map<std::string, std::int64_t> deadlines_;         // key -> deadline
  std::set<std::pair<std::int64_t, std::string>> queue_;  // (deadline, key)
};

}  // namespace roster::server
