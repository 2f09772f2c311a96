// The watch relay's bookkeeping (agent/watch_relay.h): what it passes on to the client,
// and the index it resumes from on another server. The relay itself runs against real
// servers in tests/integration/test_agent.py.
#include "agent/watch_relay.h"

#include <string>

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::agent {
namespace {

const std::string kSet13 =
    R"({"Index":13,"Op":"set","Key":"config/a","Value":"MQ==","Flags":0,"CreateIndex":13,"ModifyIndex":13,"LockIndex":0})";
const std::string kSet13b =
    R"({"Index":13,"Op":"set","Key":"config/b","Value":"Mg==","Flags":0,"CreateIndex":13,"ModifyIndex":13,"LockIndex":0})";
const std::string kProgress14 = R"({"Index":14,"Op":"progress"})";
const std::string kError = R"({"Index":14,"Op":"error","Error":"slow reader: ..."})";

TEST_CASE("NDJSON: whole lines pass; the resume point follows progress and events") {
  WatchResumePoint point(/*server_sent_events=*/false, 10);
  CHECK(point.complete() == 10);
  // A line split across reads passes once it is whole.
  CHECK(point.Take(kSet13.substr(0, 20)).empty());
  CHECK(point.Take(kSet13.substr(20) + "\n" + kSet13b.substr(0, 5)) == kSet13 + "\n");
  // Other events of index 13 may still come: complete through 12 only.
  CHECK(point.complete() == 12);
  CHECK(point.Take(kSet13b.substr(5) + "\n" + kProgress14 + "\n") ==
        kSet13b + "\n" + kProgress14 + "\n");
  CHECK(point.complete() == 14);
  CHECK_FALSE(point.ended());
}

TEST_CASE("NDJSON: a partial line is dropped when its connection breaks") {
  WatchResumePoint point(false, 10);
  CHECK(point.Take(kProgress14 + "\n" + kSet13.substr(0, 30)) == kProgress14 + "\n");
  point.DropPartial();
  // The next server starts over with whole lines; the half line never reaches the client.
  CHECK(point.Take(kSet13 + "\n") == kSet13 + "\n");
}

TEST_CASE("an error line is passed on and ends the stream") {
  WatchResumePoint point(false, 10);
  CHECK(point.Take(kProgress14 + "\n" + kError + "\n" + kSet13 + "\n") ==
        kProgress14 + "\n" + kError + "\n");
  CHECK(point.ended());
  CHECK(point.complete() == 14);
  CHECK(point.Take(kSet13 + "\n").empty());
}

TEST_CASE("SSE: whole events pass; the resume point is the last id") {
  WatchResumePoint point(/*server_sent_events=*/true, 10);
  const std::string first = "data: " + kSet13 + "\n\n";  // not the last event of index 13
  const std::string second = "id: 13\ndata: " + kSet13b + "\n\n";
  CHECK(point.Take(first + second.substr(0, 10)) == first);
  CHECK(point.complete() == 10);
  CHECK(point.Take(second.substr(10)) == second);
  CHECK(point.complete() == 13);
  const std::string error = "data: " + kError + "\n\n";
  CHECK(point.Take("id: 14\ndata: " + kProgress14 + "\n\n" + error + "id: 15\n") ==
        "id: 14\ndata: " + kProgress14 + "\n\n" + error);
  CHECK(point.ended());
  CHECK(point.complete() == 14);
}

TEST_CASE("lines that are not the stream's JSON pass on without moving the resume point") {
  WatchResumePoint point(false, 10);
  CHECK(point.Take("not json\n{\"Op\":\"progress\"}\n") == "not json\n{\"Op\":\"progress\"}\n");
  CHECK(point.complete() == 10);
  CHECK_FALSE(point.ended());
  // Fields of the wrong type (found by watch_resume_fuzz: "Op" a number threw).
  const std::string odd = "{\"Index\":\"x\",\"Op\":\"error\"}\n{\"Index\":12,\"Op\":7}\n";
  CHECK(point.Take(odd) == odd);
  CHECK_FALSE(point.ended());
}

TEST_CASE("the resume target keeps the other parameters and replaces the index") {
  CHECK(WatchTargetFrom("/v1/watch?prefix=config/&index=5&stale", 42) ==
        "/v1/watch?prefix=config/&stale&index=42");
  CHECK(WatchTargetFrom("/v1/watch?prefix=a", 7) == "/v1/watch?prefix=a&index=7");
  CHECK(WatchTargetFrom("/v1/watch", 7) == "/v1/watch?index=7");
  CHECK(WatchTargetFrom("/v1/watch?index=1&indexes=x", 3) == "/v1/watch?indexes=x&index=3");
  CHECK(IsWatchTarget("/v1/watch?prefix=a"));
  CHECK(IsWatchTarget("/v1/watch"));
  CHECK_FALSE(IsWatchTarget("/v1/watchers"));
  CHECK_FALSE(IsWatchTarget("/v1/kv/v1/watch"));
}

}  // namespace
}  // namespace roster::agent
