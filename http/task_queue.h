// GrowingTaskQueue: the worker threads of Roster's HTTP server.
//
// A worker serves a connection's requests until it idles out, closes, or its reply is
// parked (then the event loop holds it: http/event_loop.h). Some requests still hold a
// worker for long: an agent forwards a blocking query and waits for the server's reply
// for up to ten minutes. A fixed pool (httplib's default is eight threads) would let a
// few of those starve every other client. This pool starts threads_min threads, starts
// another whenever a new connection arrives (enqueue) and no thread is idle (up to
// threads_max; past that, tasks wait in FIFO order), and lets a thread above the minimum
// exit after idle_timeout_ms without work. The event loop's short tasks (Post) only
// wake idle threads; GrowIfStarved grows the pool when they wait too long.
//
// Threads are POSIX threads so that their stack size can be set (std::thread cannot).
// Thread-safety: enqueue and Post from any thread; shutdown from one, after which both
// drop tasks. The destructor shuts down.
#pragma once

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "http/options.h"

// clang-format off
#include <httplib.h>
// clang-format on

namespace roster::http {

class GrowingTaskQueue final : public httplib::TaskQueue {
 public:
  explicit GrowingTaskQueue(ThreadPoolOptions options);
  ~GrowingTaskQueue() override;

  GrowingTaskQueue(const GrowingTaskQueue&) = delete;
  GrowingTaskQueue& operator=(const GrowingTaskQueue&) = delete;

  void enqueue(std::function<void()> task) override;
  // A short task (the event loop's: a connection's next request, a parked query's
  // run): wakes an idle thread if there is one, else queues without starting a thread,
  // so a burst of thousands is worked off by the threads there are instead of starting
  // a thread each. GrowIfStarved keeps such a task from waiting behind threads parked
  // in long waits.
  void Post(std::function<void()> task);
  // Starts a thread (up to threads_max) when the oldest queued task has waited longer
  // than `max_wait`; returns when the oldest queued task will be that old (nullopt: the
  // queue is empty), for the caller to look again then.
  std::optional<std::chrono::steady_clock::time_point> GrowIfStarved(
      std::chrono::milliseconds max_wait);
  // Lets queued tasks finish, then joins every thread. Running tasks must end on their
  // own (the server's stop signal ends connections and blocking queries).
  void shutdown() override;

  // For tests and diagnostics.
  std::size_t thread_count() const;
  std::size_t idle_count() const;

 private:
  static void* ThreadMain(void* self);
  void WorkerLoop();
  // Waits for a task; false when this thread should exit (shut down, or idle too long
  // while above threads_min). REQUIRES: lock holds mutex_.
  bool NextTask(std::unique_lock<std::mutex>& lock, std::function<void()>* task);
  // REQUIRES: mutex_ held.
  void StartThreadLocked();
  // Joins threads that have exited on their own. REQUIRES: mutex_ not held.
  void ReapExited();

  const ThreadPoolOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable work_available_;
  struct Queued {
    std::function<void()> run;
    std::chrono::steady_clock::time_point since;
  };
  std::deque<Queued> tasks_;                 // guarded by mutex_
  std::vector<pthread_t> threads_;           // running workers; guarded by mutex_
  std::vector<pthread_t> exited_;            // finished, not yet joined; guarded by mutex_
  std::size_t idle_ = 0;                     // workers waiting for a task; guarded by mutex_
  bool shutdown_ = false;                    // guarded by mutex_
};

}  // namespace roster::http
