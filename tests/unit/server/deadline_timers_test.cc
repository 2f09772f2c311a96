// DeadlineTimers, told as the session TTLs use them (consul-api.md §3.2): a session
// expires TTL × 2 after its creation or last renewal, never before; expiries come out a
// bounded number at a time; one whose invalidation was lost comes out again; only
// Remove (the session ended) ends a timer. Node liveness uses the same rules
// (liveness_test.cc).
#include "server/deadline_timers.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace roster::server {
namespace {

using Ids = std::vector<std::string>;

constexpr std::int64_t kRetryMs = 5'000;
constexpr std::size_t kAll = 1'000'000;

// How node_sessions.cc starts a session's timer: Consul's SessionTTLMultiplier of 2.
class SessionTimers {
 public:
  explicit SessionTimers(std::int64_t retry_ms) : timers_(retry_ms) {}
  void Reset(const std::string& id, std::int64_t ttl_ms, std::int64_t now_ms) {
    timers_.Set(id, now_ms + 2 * ttl_ms);
  }
  DeadlineTimers* operator->() { return &timers_; }

 private:
  DeadlineTimers timers_;
};

TEST_CASE("a session expires at TTL x 2, not before", "[deadline_timers]") {
  SessionTimers timers(kRetryMs);
  timers.Reset("a", /*ttl_ms=*/10'000, /*now_ms=*/1'000);
  CHECK(timers->DeadlineMs("a") == 21'000);
  CHECK(timers->TakeExpired(10'999, kAll).empty());  // the TTL itself: still alive
  CHECK(timers->TakeExpired(20'999, kAll).empty());
  CHECK(timers->TakeExpired(21'000, kAll) == Ids{"a"});
}

TEST_CASE("a renewal restarts the full TTL x 2 from the renewal", "[deadline_timers]") {
  SessionTimers timers(kRetryMs);
  timers.Reset("a", 10'000, 0);
  timers.Reset("a", 10'000, 15'000);  // renewed late in its first period
  CHECK(timers->TakeExpired(20'000, kAll).empty());
  CHECK(timers->TakeExpired(34'999, kAll).empty());
  CHECK(timers->TakeExpired(35'000, kAll) == Ids{"a"});
  CHECK(timers->size() == 1);
}

TEST_CASE("expired sessions come out earliest first, at most count_max per call",
          "[deadline_timers]") {
  SessionTimers timers(kRetryMs);
  // A new leader restarts thousands of timers at once: they all lapse together.
  for (int i = 0; i < 100; ++i) timers.Reset("s" + std::to_string(100 + i), 10'000, 0);
  timers.Reset("early", 10'000, -1);
  const Ids first = timers->TakeExpired(20'000, 32);
  REQUIRE(first.size() == 32);
  CHECK(first.front() == "early");
  std::size_t total = first.size();
  for (std::int64_t now = 20'050; total < 101; now += 50) {
    const Ids batch = timers->TakeExpired(now, 32);
    REQUIRE(!batch.empty());
    REQUIRE(batch.size() <= 32);
    total += batch.size();
  }
  CHECK(total == 101);
  CHECK(timers->TakeExpired(20'200, 32).empty());  // every one handed out once
}

TEST_CASE("an expiry whose invalidation was lost is handed out again after the retry time",
          "[deadline_timers]") {
  SessionTimers timers(kRetryMs);
  timers.Reset("a", 10'000, 0);
  REQUIRE(timers->TakeExpired(20'000, kAll) == Ids{"a"});
  CHECK(timers->Contains("a"));  // not forgotten: only Remove ends it
  CHECK(timers->TakeExpired(24'999, kAll).empty());
  CHECK(timers->TakeExpired(25'000, kAll) == Ids{"a"});
  timers->Remove("a");  // its invalidation applied at last
  CHECK(timers->TakeExpired(100'000, kAll).empty());
  CHECK(timers->size() == 0);
}

TEST_CASE("a renewal after expiry was handed out puts the session back on its TTL",
          "[deadline_timers]") {
  SessionTimers timers(kRetryMs);
  timers.Reset("a", 10'000, 0);
  REQUIRE(timers->TakeExpired(20'000, kAll) == Ids{"a"});
  timers.Reset("a", 10'000, 20'001);  // renewed while its invalidation is in flight
  CHECK(timers->TakeExpired(25'000, kAll).empty());
  CHECK(timers->TakeExpired(40'001, kAll) == Ids{"a"});
}

TEST_CASE("removed and cleared timers never expire", "[deadline_timers]") {
  SessionTimers timers(kRetryMs);
  timers.Reset("a", 10'000, 0);
  timers.Reset("b", 10'000, 0);
  timers->Remove("a");
  timers->Remove("unknown");  // no-op
  CHECK(timers->DeadlineMs("a") == -1);
  CHECK(timers->TakeExpired(20'000, kAll) == Ids{"b"});
  timers->Clear();  // leadership lost
  CHECK(timers->size() == 0);
  CHECK(timers->TakeExpired(1'000'000, kAll).empty());
}

}  // namespace
}  // namespace roster::server
