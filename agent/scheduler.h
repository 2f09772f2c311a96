// Scheduler: timers for the agent (check intervals, TTL deadlines, the reaper), on one
// thread, and WorkerPool: a few threads that run the slow parts (a check's HTTP
// request, TCP connect or script), so a check that takes its whole timeout delays no
// other check's timer. Neither starts a thread per check.
//
// Time is the Clock's (base/clock.h). Tests drive a Scheduler without its thread:
// advance a FakeClock, then RunDue(); and run probes inline with an InlineExecutor.
// Thread-safety: At/Cancel/RunDue from any thread; tasks run without the lock held and
// may call At/Cancel. Start/Stop from one thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "base/clock.h"

namespace roster::agent {

class Scheduler {
 public:
  using TaskId = std::uint64_t;

  explicit Scheduler(const Clock& clock) : clock_(clock) {}
  ~Scheduler() { Stop(); }

  // Runs `task` once the clock reads `due_ms` or later. Returns an id for Cancel.
  TaskId At(std::int64_t due_ms, std::function<void()> task);
  TaskId After(std::int64_t delay_ms, std::function<void()> task) {
    return At(clock_.NowMs() + delay_ms, std::move(task));
  }
  // A task not yet started never runs; one running finishes. Unknown ids are ignored.
  void Cancel(TaskId id);

  // Runs every task due now, in due order (tasks made due by them too); returns how many.
  int RunDue();

  // A thread that runs tasks as they come due. REQUIRES: a real clock.
  void Start();
  void Stop();

  const Clock& clock() const { return clock_; }

 private:
  void Loop();

  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<std::int64_t, TaskId> by_due_;  // guarded by mutex_
  std::map<TaskId, std::function<void()>> tasks_;  // guarded by mutex_
  TaskId next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

// Where probes run.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Run(std::function<void()> work) = 0;
};

// Runs work on the calling thread (tests).
class InlineExecutor final : public Executor {
 public:
  void Run(std::function<void()> work) override { work(); }
};

// A fixed set of threads taking work in FIFO order. The destructor finishes the work
// already queued, then joins.
class WorkerPool final : public Executor {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool() override;
  void Run(std::function<void()> work) override;

 private:
  void Loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace roster::agent
