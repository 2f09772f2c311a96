// WatcherPool: thousands of watchers on one KV prefix over plain sockets, for
// coord_bench's fan-out mode. Each watcher is one HTTP/1.1 keep-alive connection:
//  - a stream watcher reads GET /v1/watch?prefix=P (NDJSON, docs/api.md) line by line;
//  - a blocking watcher does what a Consul client's watch does: GET /v1/kv/P?recurse
//    once, then again with ?index=<X-Consul-Index of the last reply>&wait=..., forever.
// Every watcher records the highest index it has seen, when it first saw it (the clock
// read right after the read() that completed the line or reply) and when those bytes
// arrived (the kernel's receive timestamp, EnableArrivalTimes in coord_common.h).
//
// The connections are non-blocking and driven by a few epoll loop threads (not a thread
// per watcher). A loop opens a limited number of connections at a time, so a server
// is not handed thousands of new connections in one burst. A watcher that fails (refused,
// reset, an HTTP error, an error line) stays failed, with the reason; there are no
// retries, so the figures only ever describe watchers that were really connected.
//
// Thread-safety: Add before Start, from one thread; the other public methods from any
// thread. The loop threads own the sockets; results are shared under one mutex.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/coord_common.h"

namespace roster::bench {

enum class WatcherKind { kStream, kBlocking };

struct WatcherPoolOptions {
  std::vector<Server> servers;
  std::string prefix;                 // the watched KV prefix, URL-safe characters only
  std::string blocking_wait = "10m";  // ?wait of blocking watchers
  bool blocking_stale = false;        // blocking watchers read with ?stale
  int threads = 2;                    // epoll loop threads
  std::size_t opening_max = 64;       // per loop: connections opened but not yet answered
};

struct WatcherSpec {
  WatcherKind kind = WatcherKind::kStream;
  std::size_t server = 0;  // index into WatcherPoolOptions::servers
  std::string source_ip;   // local address to connect from ("" = the kernel's choice)
};

struct WatcherState {
  WatcherSpec spec;
  std::uint64_t seen_index = 0;  // 0 until the first reply or line
  Clock::time_point seen_at{};   // when seen_index was first seen
  Clock::time_point arrived_at{};  // when the bytes that showed it reached the socket
  std::uint64_t replies = 0;     // blocking: replies read; stream: lines read
  bool failed = false;
  std::string error;
};

class WatcherPool {
 public:
  explicit WatcherPool(WatcherPoolOptions options);
  ~WatcherPool();

  WatcherPool(const WatcherPool&) = delete;
  WatcherPool& operator=(const WatcherPool&) = delete;

  void Add(WatcherSpec spec);
  // Starts the loops; they open every watcher's connection and send its first request.
  void Start();
  // Closes every connection and joins the loops. Idempotent; the destructor calls it.
  void Stop();

  // Waits until every watcher has seen `index` or failed, or until `deadline`.
  // True when none is still waiting. WaitForIndex(1) waits for all to be connected.
  bool WaitForIndex(std::uint64_t index, Clock::time_point deadline);
  std::vector<WatcherState> Snapshot() const;

 private:
  class Loop;
  friend class Loop;

  // Called by the loops.
  void Seen(std::size_t id, std::uint64_t index, Clock::time_point at, Clock::time_point arrived);
  void CountReply(std::size_t id);
  void Fail(std::size_t id, std::string error);
  // REQUIRES: mutex_ held.
  bool SettledLocked(const WatcherState& state) const {
    return state.failed || state.seen_index >= target_index_;
  }

  const WatcherPoolOptions options_;
  std::vector<std::unique_ptr<Loop>> loops_;
  bool started_ = false;

  mutable std::mutex mutex_;
  std::condition_variable settled_cv_;
  std::vector<WatcherState> states_;  // by watcher id; guarded by mutex_
  std::uint64_t target_index_ = 0;    // what WaitForIndex waits for; guarded by mutex_
  std::size_t settled_ = 0;           // watchers at target_index_ or failed; guarded by mutex_
};

}  // namespace roster::bench
