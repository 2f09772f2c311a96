#include "server/session_timers.h"

#include "base/check.h"

namespace roster::server {

SessionTimers::SessionTimers(std::int64_t retry_ms) : retry_ms_(retry_ms) { CHECK(retry_ms > 0); }

void SessionTimers::Reset(const std::string& session_id, std::int64_t ttl_ms, std::int64_t now_ms) {
  CHECK(ttl_ms > 0) << "a timer for session " << session_id << " without a TTL";
  SetDeadline(session_id, now_ms + kTtlMultiplier * ttl_ms);
}

void SessionTimers::Remove(const std::string& session_id) {
  auto it = deadlines_.find(session_id);
  if (it == deadlines_.end()) return;
  queue_.erase({it->second, session_id});
  deadlines_.erase(it);
}

void SessionTimers::Clear() {
  deadlines_.clear();
  queue_.clear();
}

std::vector<std::string> SessionTimers::TakeExpired(std::int64_t now_ms, std::size_t count_max) {
  std::vector<std::string> expired;
  while (expired.size() < count_max && !queue_.empty() && queue_.begin()->first <= now_ms) {
    expired.push_back(queue_.begin()->second);
    queue_.erase(queue_.begin());
  }
  for (const std::string& session_id : expired) {
    deadlines_[session_id] = now_ms + retry_ms_;
    queue_.emplace(now_ms + retry_ms_, session_id);
  }
  return expired;
}

std::int64_t SessionTimers::DeadlineMs(const std::string& session_id) const {
  auto it = deadlines_.find(session_id);
  return it == deadlines_.end() ? -1 : it->second;
}

void SessionTimers::SetDeadline(const std::string& session_id, std::int64_t deadline_ms) {
  auto [it, inserted] = deadlines_.try_emplace(session_id, deadline_ms);
  if (!inserted) {
    queue_.erase({it->second, session_id});
    it->second = deadline_ms;
  }
  queue_.emplace(deadline_ms, session_id);
}

}  // namespace roster::server
