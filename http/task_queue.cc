#include "http/task_queue.h"

#include <limits.h>  // PTHREAD_STACK_MIN

#include <algorithm>
#include <cstring>
#include <exception>
#include <utility>

#include "base/check.h"
#include "base/logging.h"

namespace roster::http {

GrowingTaskQueue::GrowingTaskQueue(ThreadPoolOptions options) : options_(options) {
  CHECK_GE(options_.threads_max, 1u) << "the HTTP thread pool needs at least one thread";
  CHECK_LE(options_.threads_min, options_.threads_max);
  std::lock_guard<std::mutex> lock(mutex_);
  for (std::size_t i = 0; i < options_.threads_min; ++i) StartThreadLocked();
}

GrowingTaskQueue::~GrowingTaskQueue() { shutdown(); }

void GrowingTaskQueue::enqueue(std::function<void()> task) {
  ReapExited();
  std::lock_guard<std::mutex> lock(mutex_);
  if (shutdown_) return;
  tasks_.push_back(Queued{std::move(task), std::chrono::steady_clock::now()});
  // Enough waiting threads for every queued task: wake one. Otherwise grow, so that
  // no task waits behind a thread parked in a long-poll.
  if (tasks_.size() <= idle_) {
    work_available_.notify_one();
  } else if (threads_.size() < options_.threads_max) {
    StartThreadLocked();
  }
}

void GrowingTaskQueue::Post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (shutdown_) return;
  tasks_.push_back(Queued{std::move(task), std::chrono::steady_clock::now()});
  if (idle_ > 0) work_available_.notify_one();
}

std::optional<std::chrono::steady_clock::time_point> GrowingTaskQueue::GrowIfStarved(
    std::chrono::milliseconds max_wait) {
  ReapExited();
  std::lock_guard<std::mutex> lock(mutex_);
  if (shutdown_ || tasks_.empty()) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  if (now - tasks_.front().since >= max_wait && idle_ == 0 &&
      threads_.size() < options_.threads_max) {
    StartThreadLocked();
    return now + max_wait;
  }
  return tasks_.front().since + max_wait;
}

void GrowingTaskQueue::shutdown() {
  std::vector<pthread_t> to_join;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    shutdown_ = true;
    work_available_.notify_all();
    // Each worker moves itself from threads_ to exited_ as it leaves.
    work_available_.wait(lock, [this] { return threads_.empty(); });
    to_join.swap(exited_);
  }
  for (pthread_t thread : to_join) pthread_join(thread, nullptr);
}

std::size_t GrowingTaskQueue::thread_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return threads_.size();
}

std::size_t GrowingTaskQueue::idle_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return idle_;
}

void* GrowingTaskQueue::ThreadMain(void* self) {
  static_cast<GrowingTaskQueue*>(self)->WorkerLoop();
  return nullptr;
}

void GrowingTaskQueue::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  std::function<void()> task;
  while (NextTask(lock, &task)) {
    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {
      LOG(ERROR) << "HTTP worker task threw: " << e.what();
    } catch (...) {
      LOG(ERROR) << "HTTP worker task threw a non-standard exception";
    }
    task = nullptr;  // release what the task captured before sleeping
    lock.lock();
  }
  const pthread_t self = pthread_self();
  auto it = std::find_if(threads_.begin(), threads_.end(),
                         [self](pthread_t thread) { return pthread_equal(thread, self) != 0; });
  CHECK(it != threads_.end()) << "HTTP worker thread not registered";
  threads_.erase(it);
  exited_.push_back(self);
  // shutdown() waits for the last one; it joins us before freeing anything.
  if (threads_.empty()) work_available_.notify_all();
}

bool GrowingTaskQueue::NextTask(std::unique_lock<std::mutex>& lock, std::function<void()>* task) {
  while (true) {
    if (!tasks_.empty()) {
      *task = std::move(tasks_.front().run);
      tasks_.pop_front();
      return true;
    }
    if (shutdown_) return false;
    ++idle_;
    const bool timed_out =
        work_available_.wait_for(lock, options_.idle_timeout_ms) == std::cv_status::timeout;
    --idle_;
    if (timed_out && tasks_.empty() && !shutdown_ && threads_.size() > options_.threads_min) {
      return false;
    }
  }
}

void GrowingTaskQueue::StartThreadLocked() {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (options_.stack_bytes > 0) {
    pthread_attr_setstacksize(&attr,
                              std::max<std::size_t>(options_.stack_bytes, PTHREAD_STACK_MIN));
  }
  pthread_t thread;
  const int error = pthread_create(&thread, &attr, &GrowingTaskQueue::ThreadMain, this);
  pthread_attr_destroy(&attr);
  if (error != 0) {
    // The task stays queued and runs when a thread frees up.
    LOG(WARNING) << "cannot start an HTTP worker thread (" << threads_.size()
                 << " running): " << std::strerror(error);
    return;
  }
  threads_.push_back(thread);
}

void GrowingTaskQueue::ReapExited() {
  std::vector<pthread_t> to_join;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shutdown_) return;  // shutdown() joins them
    to_join.swap(exited_);
  }
  for (pthread_t thread : to_join) pthread_join(thread, nullptr);
}

}  // namespace roster::http
