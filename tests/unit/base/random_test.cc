#include <set>

#include "base/clock.h"
#include "base/random.h"

// Catch2 last: its CHECK must not replace base/check.h's inside project headers.
#include <catch2/catch.hpp>

namespace roster {
namespace {

TEST_CASE("the same seed gives the same sequence") {
  DeterministicRandom a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t x = a.Next();
    CHECK(x == b.Next());
    differs |= x != c.Next();
  }
  CHECK(differs);
}

TEST_CASE("Uniform stays in bounds and reaches every value") {
  DeterministicRandom random(7);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t x = random.Uniform(10);
    REQUIRE(x < 10);
    seen.insert(x);
  }
  CHECK(seen.size() == 10);
}

TEST_CASE("Range is inclusive at both ends") {
  DeterministicRandom random(9);
  std::set<std::int64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::int64_t x = random.Range(-2, 2);
    REQUIRE(x >= -2);
    REQUIRE(x <= 2);
    seen.insert(x);
  }
  CHECK(seen.size() == 5);
}

TEST_CASE("Chance respects its extremes") {
  DeterministicRandom random(1);
  for (int i = 0; i < 100; ++i) {
    CHECK_FALSE(random.Chance(0.0));
    CHECK(random.Chance(1.0));
  }
}

TEST_CASE("FakeClock moves only when told") {
  FakeClock clock(100);
  CHECK(clock.NowMs() == 100);
  clock.AdvanceMs(50);
  CHECK(clock.NowMs() == 150);
}

}  // namespace
}  // namespace roster
