// WatchedReads: the agent's cache of the server reads its DNS answers come from
// (agent/dns_catalog.h). One entry per read path ("/v1/health/service/web"); every
// read is stale (`?stale`), so any server answers it and none waits on the leader.
//
//  - The first Get of a path makes the entry and starts its refresh thread, which
//    fetches once; Get waits for that answer at most first_wait_ms and fails
//    (Unavailable) when it has not come, so a question never hangs on dead servers.
//    Callers that ask for the same path meanwhile wait for the same fetch: a burst of
//    identical questions costs one upstream request.
//  - While the path keeps being asked, the thread holds a blocking query on it
//    (`?stale&index=N&wait=...`), so the entry follows the catalog within the time a
//    server takes to wake a blocking query.
//  - An entry nobody asked for in idle_drop_ms is dropped (when its blocking query
//    returns), and its thread ends.
//  - A failed refresh keeps the last good value (stale answers beat none while the
//    servers elect a leader or fail over); it is retried every retry_ms. With no good
//    value yet, Get returns the failure.
//
// Values are parsed once per change by the caller's parser and shared, immutable.
// Thread-safety: Get from any number of threads; Stop from the owner.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/upstream.h"
#include "base/clock.h"
#include "base/status.h"

namespace roster::agent {

struct WatchedReadsOptions {
  std::int64_t first_wait_ms = 2'000;      // how long a question waits for a first fetch
  std::int64_t blocking_wait_ms = 30'000;  // the wait= of the refresh's blocking query
  std::int64_t idle_drop_ms = 180'000;     // unasked for this long: dropped
  std::int64_t retry_ms = 500;             // after a failed refresh
};

// What a parser makes of a reply body; the catalog derives its own value types.
struct WatchedValue {
  virtual ~WatchedValue() = default;
};

class WatchedReads {
 public:
  using Parser = std::function<Result<std::shared_ptr<const WatchedValue>>(std::string_view)>;

  // REQUIRES: `upstream` and `clock` outlive this.
  WatchedReads(Upstream& upstream, const Clock& clock, WatchedReadsOptions options = {});
  ~WatchedReads();  // Stop()
  WatchedReads(const WatchedReads&) = delete;
  WatchedReads& operator=(const WatchedReads&) = delete;

  // The value at `path` (no query string; `parser` reads its 200 body). Unavailable
  // when no answer came within first_wait_ms, or after Stop; the server's status and
  // text for any other reply than 200; the parser's error.
  Result<std::shared_ptr<const WatchedValue>> Get(const std::string& path, const Parser& parser);

  // Ends every refresh thread, aborting their requests. Idempotent.
  void Stop();

  // For tests: requests sent upstream so far, and entries held.
  std::uint64_t upstream_requests() const;
  std::size_t entries() const;

 private:
  struct Entry;

  void Refresh(const std::shared_ptr<Entry>& entry, std::stop_token stop);
  // One fetch of the entry's path (blocking when it has an index); records the answer.
  // True when it brought a new value.
  bool FetchOnce(Entry& entry, std::stop_token stop);
  // Whether the entry should go on being refreshed; retires it if not.
  // REQUIRES: mutex_ held.
  bool KeepOrRetire(const std::shared_ptr<Entry>& entry);
  void JoinRetired();

  Upstream& upstream_;
  const Clock& clock_;
  const WatchedReadsOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable_any changed_;                    // an entry settled, or Stop
  std::map<std::string, std::shared_ptr<Entry>> entries_;  // guarded by mutex_
  std::vector<std::shared_ptr<Entry>> retired_;            // to join; guarded by mutex_
  std::uint64_t upstream_requests_ = 0;                    // guarded by mutex_
  bool stopping_ = false;                                  // guarded by mutex_
};

}  // namespace roster::agent
