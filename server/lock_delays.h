// LockDelays: the keys a session held when it ended, which may not be acquired again
// for the session's lock-delay (consul-api.md §3.3).
//
// Lock-delay gives a holder that lost its session (a TTL lapse, a failed check) time to
// notice before another client takes the lock. Like Consul, the leader keeps it in
// memory, checks it before proposing a KV acquire, and does not replicate it: a new
// leader starts with none, which is an accepted edge (the lock's LockIndex still fences
// the old holder). An acquire refused this way is a plain `false`, not an error.
// Pure: the caller passes the time in. Single-threaded: owned by the Raft loop.
// Design notes: docs/design/server.md ("Sessions").
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace roster::server {

class LockDelays {
 public:
  // Consul's MaxLockDelay: a longer delay from a session is cut to this.
  static constexpr std::int64_t kDelayMsMax = 60'000;

  // key may not be acquired until now_ms + delay_ms (capped at kDelayMsMax). A later
  // expiry already recorded for the key is kept. No-op if delay_ms <= 0.
  void Start(const std::string& key, std::int64_t delay_ms, std::int64_t now_ms);

  // True while the key's lock-delay has not passed.
  bool Active(std::string_view key, std::int64_t now_ms) const;

  // Forgets the delays that have passed (bounds memory; call now and then).
  void Prune(std::int64_t now_ms);

  // Leadership lost: forget everything.
  void Clear();

  std::size_t size() const { return until_ms_.size(); }

 private:
  std::map<std::string, std::int64_t, std::less<>> until_ms_;  // key -> expiry
  std::set<std::pair<std::int64_t, std::string>> by_expiry_;   // (expiry, key)
};

}  // namespace roster::server
