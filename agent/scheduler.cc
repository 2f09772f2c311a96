#include "agent/scheduler.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace roster::agent {

Scheduler::TaskId Scheduler::At(std::int64_t due_ms, std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mutex_);
  const TaskId id = next_id_++;
  by_due_.emplace(due_ms, id);
  tasks_.emplace(id, std::move(task));
  wake_.notify_one();
  return id;
}

void Scheduler::Cancel(TaskId id) {
  std::lock_guard<std::mutex> lock(mutex_);
  tasks_.erase(id);  // its by_due_ entry is skipped when it comes up
}

int Scheduler::RunDue() {
  int ran = 0;
  for (;;) {
    std::function<void()> task;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      const std::int64_t now_ms = clock_.NowMs();
      while (!by_due_.empty() && by_due_.begin()->first <= now_ms && !task) {
        auto node = by_due_.extract(by_due_.begin());
        auto found = tasks_.find(node.mapped());
        if (found == tasks_.end()) continue;  // cancelled
        task = std::move(found->second);
        tasks_.erase(found);
      }
    }
    if (!task) return ran;
    task();
    ++ran;
  }
}

void Scheduler::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Loop() {
  for (;;) {
    RunDue();
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_) return;
    // The clock is a real one here; wait until the earliest task or a new one.
    std::int64_t wait_ms = 1000;
    if (!by_due_.empty()) wait_ms = std::max<std::int64_t>(0, by_due_.begin()->first - clock_.NowMs());
    if (wait_ms > 0) wake_.wait_for(lock, std::chrono::milliseconds(wait_ms));
    if (stopping_) return;
  }
}

WorkerPool::WorkerPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  for (std::thread& thread : threads_) thread.join();
}

void WorkerPool::Run(std::function<void()> work) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.push_back(std::move(work));
  wake_.notify_one();
}

void WorkerPool::Loop() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

}  // namespace roster::agent
