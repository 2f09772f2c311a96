// Blocking queries (consul-api.md §2.1; Consul's blockingQuery in agent/consul/rpc.go).
//
// With ?index=0 (or none) the query runs once. Otherwise the watch on what the query
// reads is registered first, then the query runs, and while its result index is not
// past the client's index it waits for the watch (or the deadline) and runs again. On
// timeout the reply is the last result, with its unchanged index, and status 200.
// Before the first run, a query not in ?stale mode looks at the local replica; when that
// shows nothing new and a leader is known, it waits first, sparing a follower the
// ReadIndex round of a run that would only confirm it (docs/design/http.md). Every
// reply comes from a run in the client's mode.
// Thread-safety: RunBlockingQuery runs on the calling HTTP worker thread; the query
// callback runs on it too, under Backend::Read.
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <vector>

#include "base/random.h"
#include "base/status.h"
#include "http/backend.h"
#include "http/params.h"
#include "store/store.h"
#include "store/watch_set.h"

namespace roster::http {

struct BlockingLimits {
  std::chrono::nanoseconds wait_default;
  std::chrono::nanoseconds wait_max;
};

// The wait before jitter: the default for 0, capped at the max.
std::chrono::nanoseconds EffectiveWait(std::chrono::nanoseconds requested,
                                       const BlockingLimits& limits);
// Consul's jitter: uniform in [0, wait/16), so many watchers of one key that time out
// together do not come back together. 0 for a wait under 16 ns.
std::chrono::nanoseconds Jitter(std::chrono::nanoseconds wait, Random& random);

struct BlockingQuery {
  Consistency consistency = Consistency::kDefault;
  BlockingParams blocking;
  // What the query reads, so that exactly the writes that may change it wake it.
  std::vector<store::WatchKey> watch_keys;
  // Reads the store (held still by the backend) and returns the result's index. It
  // may run several times; each run replaces what the previous one produced.
  std::function<store::Index(const store::Store&)> run;
};

struct BlockingResult {
  ReadMeta meta;
  store::Index index = 0;  // the last run's index (the X-Consul-Index before clamping)
};

// Runs the query until its index passes blocking.min_index, or the wait (plus jitter)
// passes, or `stop` is requested (the server is shutting down; the reply then carries
// the last result). Errors are the backend's (e.g. Unavailable "No cluster leader").
Result<BlockingResult> RunBlockingQuery(Backend& backend, const BlockingQuery& query,
                                        const BlockingLimits& limits, std::stop_token stop);

}  // namespace roster::http
