#include "consensus/progress.h"

#include <catch2/catch.hpp>
#include <cstdint>

namespace roster::consensus {
namespace {

constexpr std::uint64_t kManyBytes = 1ull << 40;

TEST_CASE("Inflights fills up once it holds max_count appends") {
  Inflights inflights(3, kManyBytes);
  CHECK_FALSE(inflights.Full());
  inflights.Add(1, 10);
  inflights.Add(2, 10);
  CHECK_FALSE(inflights.Full());
  CHECK(inflights.count() == 2);
  inflights.Add(3, 10);
  CHECK(inflights.Full());
  CHECK(inflights.count() == 3);
  CHECK(inflights.bytes() == 30);
}

TEST_CASE("Inflights fills up once its appends carry max_bytes") {
  Inflights inflights(100, 100);
  inflights.Add(5, 60);
  CHECK_FALSE(inflights.Full());
  inflights.Add(9, 60);
  CHECK(inflights.Full());
  CHECK(inflights.count() == 2);
  CHECK(inflights.bytes() == 120);
}

TEST_CASE("Inflights forgets the appends an acknowledgement covers") {
  Inflights inflights(10, kManyBytes);
  for (Index last_index = 1; last_index <= 5; ++last_index) inflights.Add(last_index, 100);
  REQUIRE(inflights.count() == 5);

  SECTION("an acknowledgement below every append frees nothing") {
    inflights.FreeLE(0);
    CHECK(inflights.count() == 5);
    CHECK(inflights.bytes() == 500);
  }
  SECTION("an acknowledgement of index 2 frees the appends ending at 1 and 2") {
    inflights.FreeLE(2);
    CHECK(inflights.count() == 3);
    CHECK(inflights.bytes() == 300);
    SECTION("and a repeated or older acknowledgement frees nothing more") {
      inflights.FreeLE(2);
      inflights.FreeLE(1);
      CHECK(inflights.count() == 3);
      CHECK(inflights.bytes() == 300);
    }
  }
  SECTION("an acknowledgement of the last append empties the window") {
    inflights.FreeLE(5);
    CHECK(inflights.count() == 0);
    CHECK(inflights.bytes() == 0);
  }
  SECTION("an acknowledgement beyond every append empties the window") {
    inflights.FreeLE(100);
    CHECK(inflights.count() == 0);
    CHECK(inflights.bytes() == 0);
  }
}

TEST_CASE("Inflights counts appends that end between acknowledged indexes correctly") {
  Inflights inflights(10, kManyBytes);
  inflights.Add(4, 10);   // entries 1..4
  inflights.Add(9, 20);   // entries 5..9
  inflights.Add(12, 30);  // entries 10..12
  inflights.FreeLE(7);    // covers only the first append
  CHECK(inflights.count() == 2);
  CHECK(inflights.bytes() == 50);
}

TEST_CASE("A full window has room again once an acknowledgement frees an append") {
  Inflights inflights(2, kManyBytes);
  inflights.Add(1, 1);
  inflights.Add(2, 1);
  REQUIRE(inflights.Full());
  inflights.FreeLE(1);
  CHECK_FALSE(inflights.Full());
  inflights.Add(3, 1);
  CHECK(inflights.Full());
}

TEST_CASE("A window full by bytes has room again once the bytes are acknowledged") {
  Inflights inflights(100, 100);
  inflights.Add(1, 70);
  inflights.Add(2, 70);
  REQUIRE(inflights.Full());
  inflights.FreeLE(1);
  CHECK_FALSE(inflights.Full());
  CHECK(inflights.bytes() == 70);
}

TEST_CASE("Resetting Inflights empties the window") {
  Inflights inflights(2, 100);
  inflights.Add(1, 60);
  inflights.Add(2, 60);
  REQUIRE(inflights.Full());
  inflights.Reset();
  CHECK_FALSE(inflights.Full());
  CHECK(inflights.count() == 0);
  CHECK(inflights.bytes() == 0);
  inflights.Add(3, 10);  // usable again, with indexes above the old ones
  CHECK(inflights.count() == 1);
}

TEST_CASE("A new Progress probes from the given next index with nothing matched") {
  Progress progress(/*next=*/8, 4, kManyBytes, /*is_learner=*/false);
  CHECK(progress.state() == ProgressState::kProbe);
  CHECK(progress.next() == 8);
  CHECK(progress.match() == 0);
  CHECK_FALSE(progress.is_learner());
  CHECK_FALSE(progress.IsPaused());
  CHECK(Progress(1, 4, kManyBytes, /*is_learner=*/true).is_learner());
}

TEST_CASE("A probing follower gets one append at a time") {
  Progress progress(5, 4, kManyBytes, false);
  progress.SetProbeSent(true);
  CHECK(progress.IsPaused());
  progress.SetProbeSent(false);
  CHECK_FALSE(progress.IsPaused());
}

TEST_CASE("An acknowledgement raises match, and next stays past it") {
  Progress progress(3, 4, kManyBytes, false);
  CHECK(progress.MaybeUpdate(5));
  CHECK(progress.match() == 5);
  CHECK(progress.next() >= 6);
}

TEST_CASE("An old or repeated acknowledgement is not news") {
  Progress progress(3, 4, kManyBytes, false);
  REQUIRE(progress.MaybeUpdate(5));
  CHECK_FALSE(progress.MaybeUpdate(5));
  CHECK_FALSE(progress.MaybeUpdate(2));
  CHECK(progress.match() == 5);
  CHECK(progress.next() >= 6);
}

TEST_CASE("An acknowledgement never moves next backwards") {
  Progress progress(10, 4, kManyBytes, false);
  progress.MaybeUpdate(4);
  CHECK(progress.match() == 4);
  CHECK(progress.next() == 10);
}

TEST_CASE("Becoming Replicate resumes right after the matched index") {
  Progress progress(10, 4, kManyBytes, false);
  progress.MaybeUpdate(6);
  progress.BecomeReplicate();
  CHECK(progress.state() == ProgressState::kReplicate);
  CHECK(progress.next() == 7);
  CHECK(progress.inflights().count() == 0);
  CHECK_FALSE(progress.IsPaused());
}

TEST_CASE("In Replicate, sending pipelines appends until the window is full") {
  Progress progress(1, /*max_inflight_messages=*/2, kManyBytes, false);
  progress.BecomeReplicate();
  progress.OptimisticUpdate(3);
  progress.inflights().Add(3, 100);
  CHECK(progress.next() == 4);
  CHECK_FALSE(progress.IsPaused());
  progress.OptimisticUpdate(5);
  progress.inflights().Add(5, 100);
  CHECK(progress.next() == 6);
  CHECK(progress.IsPaused());
  // The acknowledgement of the first append frees a slot.
  progress.MaybeUpdate(3);
  progress.inflights().FreeLE(3);
  CHECK_FALSE(progress.IsPaused());
}

TEST_CASE("In Replicate, a window full by bytes pauses sending") {
  Progress progress(1, 100, /*max_inflight_bytes=*/1000, false);
  progress.BecomeReplicate();
  progress.inflights().Add(1, 1500);
  CHECK(progress.IsPaused());
}

TEST_CASE("In Replicate, a rejection at or below match is stale and ignored") {
  Progress progress(1, 8, kManyBytes, false);
  progress.MaybeUpdate(5);
  progress.BecomeReplicate();
  progress.OptimisticUpdate(9);
  REQUIRE(progress.next() == 10);
  CHECK_FALSE(progress.MaybeDecreaseTo(/*rejected=*/5, /*hint=*/2));
  CHECK_FALSE(progress.MaybeDecreaseTo(/*rejected=*/3, /*hint=*/2));
  CHECK(progress.next() == 10);
  CHECK(progress.match() == 5);
}

TEST_CASE("In Replicate, a fresh rejection sends next back, but never below match + 1") {
  Progress progress(1, 8, kManyBytes, false);
  progress.MaybeUpdate(5);
  progress.BecomeReplicate();
  progress.OptimisticUpdate(9);
  CHECK(progress.MaybeDecreaseTo(/*rejected=*/8, /*hint=*/2));
  CHECK(progress.next() <= 8);
  CHECK(progress.next() >= 6);
  CHECK(progress.match() == 5);
}

TEST_CASE("In Probe, only a rejection of the append just sent counts") {
  Progress progress(10, 8, kManyBytes, false);  // the probe carries prev index 9
  progress.SetProbeSent(true);
  CHECK_FALSE(progress.MaybeDecreaseTo(/*rejected=*/7, /*hint=*/3));
  CHECK(progress.next() == 10);
  CHECK(progress.IsPaused());  // still waiting for the answer to the probe at 9
}

TEST_CASE("In Probe, a rejection moves next to just past the follower's hint") {
  Progress progress(10, 8, kManyBytes, false);
  progress.SetProbeSent(true);
  CHECK(progress.MaybeDecreaseTo(/*rejected=*/9, /*hint=*/4));
  CHECK(progress.next() == 5);
  // The answer arrived: the next probe may go out.
  CHECK_FALSE(progress.IsPaused());
}

TEST_CASE("In Probe, a hint at or beyond the rejected index still moves next back") {
  Progress progress(10, 8, kManyBytes, false);
  CHECK(progress.MaybeDecreaseTo(/*rejected=*/9, /*hint=*/50));
  CHECK(progress.next() <= 9);
  CHECK(progress.next() >= 1);
}

TEST_CASE("In Probe, next never goes below 1") {
  Progress progress(2, 8, kManyBytes, false);
  CHECK(progress.MaybeDecreaseTo(/*rejected=*/1, /*hint=*/0));
  CHECK(progress.next() == 1);
}

TEST_CASE("Becoming Probe from Replicate restarts right after match with an empty window") {
  Progress progress(1, 8, kManyBytes, false);
  progress.MaybeUpdate(4);
  progress.BecomeReplicate();
  progress.OptimisticUpdate(9);
  progress.inflights().Add(9, 10);
  progress.BecomeProbe();
  CHECK(progress.state() == ProgressState::kProbe);
  CHECK(progress.next() == 5);
  CHECK(progress.inflights().count() == 0);
  CHECK_FALSE(progress.IsPaused());
}

TEST_CASE("Sending a snapshot pauses appends and starts at offset 0") {
  Progress progress(3, 8, kManyBytes, false);
  progress.set_snapshot_offset(77);
  progress.BecomeSnapshot(20);
  CHECK(progress.state() == ProgressState::kSnapshot);
  CHECK(progress.pending_snapshot_index() == 20);
  CHECK(progress.snapshot_offset() == 0);
  CHECK(progress.IsPaused());
  progress.set_snapshot_offset(4096);
  CHECK(progress.snapshot_offset() == 4096);
}

TEST_CASE("After the snapshot is installed, probing resumes past the snapshot index") {
  Progress progress(3, 8, kManyBytes, false);
  progress.BecomeSnapshot(20);
  CHECK(progress.MaybeUpdate(20));
  progress.BecomeProbe();
  CHECK(progress.state() == ProgressState::kProbe);
  CHECK(progress.match() == 20);
  CHECK(progress.next() == 21);
  CHECK_FALSE(progress.IsPaused());
}

TEST_CASE("A learner can be promoted and recent activity recorded") {
  Progress progress(1, 8, kManyBytes, /*is_learner=*/true);
  progress.set_learner(false);
  CHECK_FALSE(progress.is_learner());
  CHECK_FALSE(progress.recent_active());
  progress.set_recent_active(true);
  CHECK(progress.recent_active());
}

TEST_CASE("Progress describes itself for debugging") {
  Progress progress(7, 8, kManyBytes, false);
  CHECK_FALSE(progress.ToString().empty());
}

}  // namespace
}  // namespace roster::consensus
