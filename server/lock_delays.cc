#include "server/lock_delays.h"

#include <algorithm>

namespace roster::server {

void LockDelays::Start(const std::string& key, std::int64_t delay_ms, std::int64_t now_ms) {
  if (delay_ms <= 0) return;
  const std::int64_t until = now_ms + std::min(delay_ms, kDelayMsMax);
  auto [it, inserted] = until_ms_.try_emplace(key, until);
  if (!inserted) {
    if (it->second >= until) return;
    by_expiry_.erase({it->second, key});
    it->second = until;
  }
  by_expiry_.emplace(until, key);
}

bool LockDelays::Active(std::string_view key, std::int64_t now_ms) const {
  auto it = until_ms_.find(key);
  return it != until_ms_.end() && now_ms < it->second;
}

void LockDelays::Prune(std::int64_t now_ms) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now_ms) {
    until_ms_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

void LockDelays::Clear() {
  until_ms_.clear();
  by_expiry_.clear();
}

}  // namespace roster::server
