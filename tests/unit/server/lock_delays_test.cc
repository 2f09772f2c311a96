// LockDelays (consul-api.md §3.3): a key is delayed from when its session ended until
// the lock-delay has passed, never longer than Consul's 60 s cap; a later delay on the
// same key wins; a zero delay records nothing.
#include "server/lock_delays.h"

#include <catch2/catch.hpp>

namespace roster::server {
namespace {

TEST_CASE("a key is delayed until its session's lock-delay has passed", "[lock_delays]") {
  LockDelays delays;
  delays.Start("locks/a", /*delay_ms=*/15'000, /*now_ms=*/1'000);
  CHECK(delays.Active("locks/a", 1'000));
  CHECK(delays.Active("locks/a", 15'999));
  CHECK_FALSE(delays.Active("locks/a", 16'000));
  CHECK_FALSE(delays.Active("locks/b", 1'000));  // other keys are free
}

TEST_CASE("a zero delay records nothing; a delay over 60 s is cut to 60 s", "[lock_delays]") {
  LockDelays delays;
  delays.Start("a", 0, 0);
  CHECK(delays.size() == 0);
  delays.Start("b", 3'600'000, 0);
  CHECK(delays.Active("b", 59'999));
  CHECK_FALSE(delays.Active("b", 60'000));
}

TEST_CASE("the later of two delays on a key is kept", "[lock_delays]") {
  LockDelays delays;
  delays.Start("a", 10'000, 0);
  delays.Start("a", 1'000, 5'000);  // ends earlier: ignored
  CHECK(delays.Active("a", 9'999));
  delays.Start("a", 10'000, 5'000);  // ends later: extends
  CHECK(delays.Active("a", 14'999));
  CHECK_FALSE(delays.Active("a", 15'000));
  CHECK(delays.size() == 1);
}

TEST_CASE("Prune forgets passed delays, Clear forgets all", "[lock_delays]") {
  LockDelays delays;
  delays.Start("a", 1'000, 0);
  delays.Start("b", 5'000, 0);
  delays.Start("a", 2'000, 0);  // extended: pruned by its new expiry only
  delays.Prune(1'500);
  CHECK(delays.size() == 2);
  delays.Prune(2'000);
  CHECK(delays.size() == 1);
  CHECK(delays.Active("b", 2'000));
  delays.Clear();
  CHECK(delays.size() == 0);
  CHECK_FALSE(delays.Active("b", 2'000));
}

}  // namespace
}  // namespace roster::server
