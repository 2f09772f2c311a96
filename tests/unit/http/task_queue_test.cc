// GrowingTaskQueue: grows while every thread is busy, never past its max, shrinks back
// to its min when idle, and runs every task it accepted; the event loop's short tasks
// wait for a thread instead of starting one, unless they wait too long.
#include "http/task_queue.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Polls `done` until it holds or the deadline passes; the result is the assertion.
template <typename Predicate>
bool Eventually(Predicate done, milliseconds timeout = milliseconds(5000)) {
  const auto deadline = steady_clock::now() + timeout;
  while (!done()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// Tasks that park until released, like connections holding blocking queries.
class Gate {
 public:
  void Park() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++parked_;
    opened_.wait(lock, [this] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }
  int parked() {
    std::lock_guard<std::mutex> lock(mutex_);
    return parked_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
  int parked_ = 0;
};

ThreadPoolOptions SmallPool(std::size_t min, std::size_t max) {
  ThreadPoolOptions options;
  options.threads_min = min;
  options.threads_max = max;
  options.idle_timeout_ms = milliseconds(50);
  options.stack_bytes = 256 * 1024;
  return options;
}

TEST_CASE("a task gets a thread while every other thread is parked") {
  GrowingTaskQueue queue(SmallPool(2, 64));
  Gate gate;
  for (int i = 0; i < 40; ++i) queue.enqueue([&gate] { gate.Park(); });
  REQUIRE(Eventually([&] { return gate.parked() == 40; }));
  std::atomic<bool> ran{false};
  queue.enqueue([&ran] { ran = true; });
  CHECK(Eventually([&] { return ran.load(); }));
  CHECK(queue.thread_count() >= 41);
  gate.Open();
}

TEST_CASE("the pool stops growing at its max; extra tasks wait their turn") {
  GrowingTaskQueue queue(SmallPool(1, 4));
  Gate gate;
  std::atomic<int> finished{0};
  for (int i = 0; i < 10; ++i) {
    queue.enqueue([&] {
      gate.Park();
      ++finished;
    });
  }
  REQUIRE(Eventually([&] { return gate.parked() == 4; }));
  CHECK(queue.thread_count() == 4);
  gate.Open();
  CHECK(Eventually([&] { return finished.load() == 10; }));
}

TEST_CASE("threads above the minimum exit once idle") {
  GrowingTaskQueue queue(SmallPool(2, 32));
  Gate gate;
  for (int i = 0; i < 20; ++i) queue.enqueue([&gate] { gate.Park(); });
  REQUIRE(Eventually([&] { return gate.parked() == 20; }));
  gate.Open();
  CHECK(Eventually([&] { return queue.thread_count() == 2; }));
  // Still serving after shrinking.
  std::atomic<bool> ran{false};
  queue.enqueue([&ran] { ran = true; });
  CHECK(Eventually([&] { return ran.load(); }));
}

TEST_CASE("shutdown runs what was queued and joins every thread") {
  std::atomic<int> finished{0};
  {
    GrowingTaskQueue queue(SmallPool(1, 1));
    for (int i = 0; i < 20; ++i) queue.enqueue([&finished] { ++finished; });
    queue.shutdown();
    CHECK(queue.thread_count() == 0);
    queue.enqueue([&finished] { finished += 100; });  // dropped after shutdown
  }
  CHECK(finished.load() == 20);
}

TEST_CASE("Post queues behind busy threads without growing; GrowIfStarved grows in time") {
  GrowingTaskQueue queue(SmallPool(2, 16));
  Gate gate;
  for (int i = 0; i < 2; ++i) queue.Post([&gate] { gate.Park(); });
  REQUIRE(Eventually([&] { return gate.parked() == 2; }));
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i) queue.Post([&ran] { ++ran; });
  CHECK(queue.thread_count() == 2);  // a burst of short tasks starts no thread
  CHECK(ran.load() == 0);            // both threads are parked
  // Not starved yet: nothing starts, and the answer says when to look again.
  std::optional<steady_clock::time_point> again = queue.GrowIfStarved(milliseconds(60'000));
  REQUIRE(again.has_value());
  CHECK(*again > steady_clock::now());
  CHECK(queue.thread_count() == 2);
  // Starved: one more thread, which works off the queue.
  REQUIRE(queue.GrowIfStarved(milliseconds(0)).has_value());
  CHECK(Eventually([&] { return ran.load() == 50; }));
  CHECK(queue.thread_count() == 3);
  CHECK(!queue.GrowIfStarved(milliseconds(0)).has_value());  // an empty queue
  gate.Open();
}

}  // namespace
}  // namespace roster::http
