#include "server/deadline_timers.h"

#include "base/check.h"

namespace roster::server {

DeadlineTimers::DeadlineTimers(std::int64_t retry_ms) : retry_ms_(retry_ms) { CHECK(retry_ms > 0); }

void DeadlineTimers::Remove(const std::string& key) {
  auto it = deadlines_.find(key);
  if (it == deadlines_.end()) return;
  queue_.erase({it->second, key});
  deadlines_.erase(it);
}

void DeadlineTimers::Clear() {
  deadlines_.clear();
  queue_.clear();
}

std::vector<std::string> DeadlineTimers::TakeExpired(std::int64_t now_ms, std::size_t count_max) {
  std::vector<std::string> expired;
  while (expired.size() < count_max && !queue_.empty() && queue_.begin()->first <= now_ms) {
    expired.push_back(queue_.begin()->second);
    queue_.erase(queue_.begin());
  }
  for (const std::string& key : expired) {
    deadlines_[key] = now_ms + retry_ms_;
    queue_.emplace(now_ms + retry_ms_, key);
  }
  return expired;
}

std::int64_t DeadlineTimers::DeadlineMs(const std::string& key) const {
  auto it = deadlines_.find(key);
  return it == deadlines_.end() ? -1 : it->second;
}

void DeadlineTimers::Set(const std::string& key, std::int64_t deadline_ms) {
  auto [it, inserted] = deadlines_.try_emplace(key, deadline_ms);
  if (!inserted) {
    queue_.erase({it->second, key});
    it->second = deadline_ms;
  }
  queue_.emplace(deadline_ms, key);
}

}  // namespace roster::server
