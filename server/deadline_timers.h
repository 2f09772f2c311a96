// SessionTimers: when the leader must invalidate a session whose TTL lapsed
// (consul-api.md §3.2).
//
// A session with a TTL must be renewed; the leader keeps one in-memory deadline per
// such session, TTL × 2 after its creation or last renewal (Consul's
// SessionTTLMultiplier: a session never ends before its TTL, and a renewal that is a
// little late is forgiven). A new leader knows nothing of its predecessor's deadlines,
// so it starts every session's timer afresh at TTL × 2. Timers are not replicated;
// followers keep none.
//
// Expiry is handed out by TakeExpired, a bounded number at a time, so a leader that
// takes over thousands of dead sessions proposes their invalidations over several
// ticks, not in one burst. A session handed out is not forgotten: its deadline moves
// `retry_ms` ahead, so if its invalidation is lost (leadership lost before it
// committed, a proposal refused) it is handed out again. Only Remove ends a timer: the
// caller removes it when the session has ended (its invalidation, or a destroy,
// applied).
// Pure: the caller passes the time in. Single-threaded: owned by the Raft loop.
// Design notes: docs/design/server.md ("Sessions").
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace roster::server {

class SessionTimers {
 public:
  // Consul's SessionTTLMultiplier.
  static constexpr std::int64_t kTtlMultiplier = 2;

  // REQUIRES: retry_ms > 0.
  explicit SessionTimers(std::int64_t retry_ms);

  // (Re)starts the session's timer: it expires ttl_ms × 2 after now_ms. A created or
  // renewed session, or every session when leadership begins. REQUIRES: ttl_ms > 0.
  void Reset(const std::string& session_id, std::int64_t ttl_ms, std::int64_t now_ms);

  // The session ended: forget its timer. No-op if it has none.
  void Remove(const std::string& session_id);

  // Leadership lost (or about to be rebuilt): forget every timer.
  void Clear();

  // Up to `count_max` sessions whose deadline has passed, earliest deadline first.
  // Each one's deadline moves to now_ms + retry_ms, so it comes back if it is still
  // here then (its invalidation was lost).
  std::vector<std::string> TakeExpired(std::int64_t now_ms, std::size_t count_max);

  bool Contains(const std::string& session_id) const { return deadlines_.contains(session_id); }
  // The session's deadline, or -1 if it has no timer. For tests and logs.
  std::int64_t DeadlineMs(const std::string& session_id) const;
  std::size_t size() const { return deadlines_.size(); }

 private:
  void SetDeadline(const std::string& session_id, std::int64_t deadline_ms);

  const std::int64_t retry_ms_;
  std::map<std::string, std::int64_t> deadlines_;         // session id -> deadline
  std::set<std::pair<std::int64_t, std::string>> queue_;  // (deadline, session id)
};

}  // namespace roster::server
