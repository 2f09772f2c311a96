#include "server/tombstone_gc.h"

#include <catch2/catch.hpp>

namespace roster::server {
namespace {

TEST_CASE("TombstoneGc releases an index only once it is ttl old", "[tombstone_gc]") {
  TombstoneGc gc(/*ttl_ms=*/1000, /*granularity_ms=*/100);
  gc.Observe(0, 10);
  CHECK(gc.TakeExpired(999) == 0);
  CHECK(gc.TakeExpired(1000) == 10);
  CHECK(gc.TakeExpired(5000) == 0);  // once per record
}

TEST_CASE("TombstoneGc records at most once per granularity", "[tombstone_gc]") {
  TombstoneGc gc(1000, 100);
  gc.Observe(0, 10);
  gc.Observe(50, 20);  // within the granularity: not recorded
  gc.Observe(100, 30);
  CHECK(gc.TakeExpired(1050) == 10);  // 20 was never recorded, 30 is not old yet
  CHECK(gc.TakeExpired(1100) == 30);
}

TEST_CASE("TombstoneGc releases the newest of several expired records", "[tombstone_gc]") {
  TombstoneGc gc(1000, 100);
  gc.Observe(0, 10);
  gc.Observe(100, 20);
  gc.Observe(200, 30);
  CHECK(gc.TakeExpired(1150) == 20);
  CHECK(gc.TakeExpired(10000) == 30);
}

TEST_CASE("TombstoneGc skips a record when nothing was applied", "[tombstone_gc]") {
  TombstoneGc gc(1000, 100);
  gc.Observe(0, 10);
  gc.Observe(500, 10);
  CHECK(gc.TakeExpired(1000) == 10);
  CHECK(gc.TakeExpired(1500) == 0);
}

TEST_CASE("TombstoneGc forgets its records when leadership is lost", "[tombstone_gc]") {
  TombstoneGc gc(1000, 100);
  gc.Observe(0, 10);
  gc.Reset();
  CHECK(gc.TakeExpired(5000) == 0);
  gc.Observe(5000, 40);
  CHECK(gc.TakeExpired(5999) == 0);
  CHECK(gc.TakeExpired(6000) == 40);
}

TEST_CASE("TombstoneGc granularity follows the ttl", "[tombstone_gc]") {
  CHECK(TombstoneGc::GranularityFor(15 * 60 * 1000) == 30'000);
  CHECK(TombstoneGc::GranularityFor(3000) == 100);
  CHECK(TombstoneGc::GranularityFor(0) == 10);
}

}  // namespace
}  // namespace roster::server
