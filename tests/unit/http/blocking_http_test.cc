// Blocking queries end to end (consul-api.md §2.1, §2.2): a write wakes exactly the
// queries on what it changed; the others answer at their deadline with the index
// unchanged; and thousands of parked queries do not slow a plain GET.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/http/raw_http.h"
#include "tests/unit/http/test_server.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

httplib::Result Put(httplib::Client& client, const std::string& target, const std::string& body) {
  return client.Put(target.c_str(), body, "application/octet-stream");
}

// A GET on its own thread and connection, so the test can write while it waits.
class BackgroundGet {
 public:
  BackgroundGet(const TestServer& server, std::string target)
      : started_(steady_clock::now()), thread_([this, &server, target] {
          auto client = server.Client();
          result_.emplace(client.Get(target.c_str()));
          answered_ = steady_clock::now();
          done_ = true;
        }) {}
  ~BackgroundGet() {
    if (thread_.joinable()) thread_.join();
  }

  // Waits for the answer; the result is valid after this.
  const httplib::Result& Join() {
    thread_.join();
    return *result_;
  }
  bool done() const { return done_; }
  steady_clock::time_point answered() const { return answered_; }
  std::int64_t elapsed_ms() const {
    return std::chrono::duration_cast<milliseconds>(answered_ - started_).count();
  }

 private:
  const steady_clock::time_point started_;
  std::optional<httplib::Result> result_;  // httplib::Result has no empty state
  steady_clock::time_point answered_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

std::uint64_t IndexOf(const httplib::Result& result) {
  return std::stoull(result->get_header_value("X-Consul-Index"));
}

TEST_CASE("index=0 (or none) answers at once, whatever the wait") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/k", "v")->status == 200);
  const auto start = steady_clock::now();
  CHECK(client.Get("/v1/kv/k?index=0&wait=10s")->status == 200);
  CHECK(client.Get("/v1/kv/k?wait=10s")->status == 200);
  CHECK(MillisecondsSince(start) < 5000);
  CHECK(server.backend.watch_count() == 0);  // no watch for a non-blocking read
}

TEST_CASE("an index behind the current one answers at once") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/k", "v")->status == 200);  // index 2
  auto result = client.Get("/v1/kv/k?index=1&wait=10s");
  CHECK(result->status == 200);
  CHECK(IndexOf(result) == 2);
}

TEST_CASE("a blocking GET returns soon after a write to its key") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/k", "old")->status == 200);  // index 2
  BackgroundGet get(server, "/v1/kv/k?index=2&wait=30s");
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  CHECK_FALSE(get.done());
  const auto written = steady_clock::now();
  REQUIRE(Put(client, "/v1/kv/k", "new")->status == 200);  // index 3
  const httplib::Result& result = get.Join();
  const auto latency_ms =
      std::chrono::duration_cast<milliseconds>(get.answered() - written).count();
  std::printf("blocking query answered %lld ms after the write\n",
              static_cast<long long>(latency_ms));
  REQUIRE(result);
  CHECK(result->status == 200);
  CHECK(IndexOf(result) == 3);
  CHECK(nlohmann::json::parse(result->body)[0]["Value"] == "bmV3");  // "new"
  CHECK(latency_ms < 1000);  // woken by the write, not by the 30 s deadline
  CHECK(Eventually([&] { return server.backend.watch_count() == 0; }));
}

// A client re-arms with the index of its last reply; the query then looks at the
// server's own replica (stale) before paying for a read in the client's mode, which on a
// follower is a ReadIndex round to the leader. The reply still comes from a read in the
// client's mode.
TEST_CASE("a re-armed blocking GET looks locally, then answers from a read in its mode") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/k", "old")->status == 200);  // index 2
  const std::size_t reads_before = server.backend.read_modes().size();
  for (const auto& [mode, query] : std::vector<std::pair<Consistency, std::string>>{
           {Consistency::kDefault, ""}, {Consistency::kConsistent, "&consistent"}}) {
    INFO(query);
    const std::size_t first = server.backend.read_modes().size();
    const std::uint64_t index = IndexOf(client.Get("/v1/kv/k"));
    BackgroundGet get(server, "/v1/kv/k?index=" + std::to_string(index) + "&wait=30s" + query);
    REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
    REQUIRE(Put(client, "/v1/kv/k", "new" + query)->status == 200);
    const httplib::Result& result = get.Join();
    REQUIRE(result);
    CHECK(result->status == 200);
    CHECK(IndexOf(result) == index + 1);
    const std::vector<Consistency> modes = server.backend.read_modes();
    // The plain GET, the local look (nothing new yet), the run after the write.
    CHECK(std::vector<Consistency>(modes.begin() + static_cast<long>(first), modes.end()) ==
          std::vector<Consistency>{Consistency::kDefault, Consistency::kStale, mode});
  }
  CHECK(server.backend.read_modes().size() == reads_before + 6);
}

TEST_CASE("a blocking GET behind the local index answers from a read in its mode") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/k", "v")->status == 200);  // index 2
  auto result = client.Get("/v1/kv/k?index=1&wait=30s&consistent");
  REQUIRE(result);
  CHECK(result->status == 200);
  CHECK(server.backend.last_read_mode() == Consistency::kConsistent);
}

TEST_CASE("without a known leader a blocking GET says so instead of parking") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/k", "v")->status == 200);  // index 2
  server.backend.SetKnownLeader(false);
  const auto start = steady_clock::now();
  auto result = client.Get("/v1/kv/k?index=2&wait=60s");
  REQUIRE(result);
  CHECK(result->status == 500);
  CHECK(result->body == "No cluster leader");
  CHECK(MillisecondsSince(start) < 30'000);  // not parked until its 60 s wait ended
  // ?stale needs no leader: it parks (and times out) as usual.
  auto stale = client.Get("/v1/kv/k?index=2&wait=200ms&stale");
  REQUIRE(stale);
  CHECK(stale->status == 200);
  CHECK(IndexOf(stale) == 2);
}

TEST_CASE("a write to another key does not wake a blocking GET") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/k", "v")->status == 200);  // index 2
  BackgroundGet get(server, "/v1/kv/k?index=2&wait=300ms");
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  REQUIRE(Put(client, "/v1/kv/other", "x")->status == 200);  // index 3
  REQUIRE(Put(client, "/v1/kv/k2", "x")->status == 200);     // index 4
  const httplib::Result& result = get.Join();
  REQUIRE(result);
  CHECK(result->status == 200);
  CHECK(IndexOf(result) == 2);  // unchanged: answered by timeout
  CHECK(get.elapsed_ms() >= 300);
}

TEST_CASE("the deadline is the wait plus at most wait/16 of jitter") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/k", "v")->status == 200);
  constexpr std::int64_t kWaitMs = 320;  // jitter below 20 ms
  for (int i = 0; i < 3; ++i) {
    BackgroundGet get(server, "/v1/kv/k?index=2&wait=" + std::to_string(kWaitMs) + "ms");
    REQUIRE(get.Join()->status == 200);
    std::printf("wait %lld ms answered after %lld ms\n", static_cast<long long>(kWaitMs),
                static_cast<long long>(get.elapsed_ms()));
    CHECK(get.elapsed_ms() >= kWaitMs);
    // The bound itself (wait/16) is checked exactly in params_test; here, scheduling
    // slack on a loaded machine is allowed on top of it.
    CHECK(get.elapsed_ms() < kWaitMs + kWaitMs / 16 + 1000);
  }
}

TEST_CASE("the wait defaults and is capped by the options") {
  HttpOptions options = TestOptions();
  options.wait_default_ms = milliseconds(200);
  options.wait_max_ms = milliseconds(300);
  TestServer server(options);
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/k", "v")->status == 200);
  BackgroundGet by_default(server, "/v1/kv/k?index=2");
  BackgroundGet capped(server, "/v1/kv/k?index=2&wait=10m");
  REQUIRE(by_default.Join()->status == 200);
  REQUIRE(capped.Join()->status == 200);
  CHECK(by_default.elapsed_ms() >= 200);
  CHECK(by_default.elapsed_ms() < 5000);
  CHECK(capped.elapsed_ms() >= 300);
  CHECK(capped.elapsed_ms() < 5000);
}

TEST_CASE("a blocking recurse wakes for writes under its prefix only") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/web/a", "v")->status == 200);  // index 2
  BackgroundGet get(server, "/v1/kv/web/?recurse&index=2&wait=30s");
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  REQUIRE(Put(client, "/v1/kv/db/a", "v")->status == 200);     // index 3: elsewhere
  REQUIRE(Put(client, "/v1/kv/webx", "v")->status == 200);     // index 4: not under "web/"
  REQUIRE(Put(client, "/v1/kv/web/b/c", "v")->status == 200);  // index 5
  const httplib::Result& result = get.Join();
  CHECK(result->status == 200);
  CHECK(IndexOf(result) == 5);
  CHECK(nlohmann::json::parse(result->body).size() == 2);
  CHECK(get.elapsed_ms() < 10'000);
}

TEST_CASE("a blocking keys listing of the root wakes for any write, deletes included") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/a", "v")->status == 200);  // index 2
  BackgroundGet get(server, "/v1/kv/?keys&index=2&wait=30s");
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  REQUIRE(client.Delete("/v1/kv/a")->status == 200);  // index 3
  const httplib::Result& result = get.Join();
  CHECK(result->status == 200);
  CHECK(result->body == "[]");
  CHECK(IndexOf(result) == 3);
}

TEST_CASE("a blocking GET on a missing key times out as a 404 with the read headers") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/a", "v")->status == 200);  // index 2
  BackgroundGet get(server, "/v1/kv/missing?index=2&wait=200ms");
  const httplib::Result& result = get.Join();
  CHECK(result->status == 404);
  CHECK(result->body.empty());
  CHECK(IndexOf(result) == 2);
  CHECK(result->get_header_value("X-Consul-KnownLeader") == "true");
}

TEST_CASE("stopping the server answers parked queries with their current result") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/k", "v")->status == 200);  // index 2
  BackgroundGet get(server, "/v1/kv/k?index=2&wait=10m");
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  const auto stopping = steady_clock::now();
  server.server().Stop();
  const std::int64_t stop_ms = MillisecondsSince(stopping);
  const httplib::Result& result = get.Join();
  REQUIRE(result);
  CHECK(result->status == 200);
  CHECK(IndexOf(result) == 2);
  CHECK(stop_ms < 5000);
  CHECK(server.port() == -1);
}

void RaiseOpenFileLimit(rlim_t wanted) {
  rlimit limit{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  REQUIRE(setrlimit(RLIMIT_NOFILE, &limit) == 0);
  REQUIRE(limit.rlim_cur >= wanted);
}

TEST_CASE("2,000 parked blocking queries do not keep a plain GET waiting") {
  constexpr int kParked = 2000;
  RaiseOpenFileLimit(2 * kParked + 256);
  HttpOptions options = TestOptions();
  options.connections_per_client_max = 0;  // every connection comes from 127.0.0.1
  options.keep_alive_timeout_ms = milliseconds(120'000);
  TestServer server(options);
  auto client = server.Client();
  client.set_keep_alive(true);  // opened before the parked sockets: a low descriptor
  REQUIRE(Put(client, "/v1/kv/parked", "v")->status == 200);  // index 2

  std::vector<int> sockets;
  const std::string request = "GET /v1/kv/parked?index=2&wait=5m HTTP/1.1\r\nHost: roster\r\n\r\n";
  const auto parking = steady_clock::now();
  for (int i = 0; i < kParked; ++i) {
    sockets.push_back(ConnectLoopback(server.port()));
    REQUIRE(sockets.back() >= 0);
    REQUIRE(SendAll(sockets.back(), request));
  }
  REQUIRE(Eventually([&] { return server.backend.watch_count() == kParked; },
                     std::chrono::seconds(60)));
  std::printf("%d blocking queries parked in %lld ms\n", kParked,
              static_cast<long long>(MillisecondsSince(parking)));

  // A plain GET, on a kept-alive connection and on a fresh one.
  auto timed = [](auto request_once) {
    const auto start = steady_clock::now();
    request_once();
    return std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
  };
  std::optional<httplib::Result> plain;
  const double kept_alive_ms = timed([&] { plain.emplace(client.Get("/v1/kv/other")); });
  REQUIRE(*plain);
  CHECK((*plain)->status == 404);
  std::string fresh_headers;
  const double fresh_ms = timed([&] {
    const int fd = ConnectLoopback(server.port());
    SendAll(fd, "GET /v1/status/leader HTTP/1.1\r\nHost: roster\r\nConnection: close\r\n\r\n");
    fresh_headers = ReadHeaders(fd, milliseconds(30'000));
    ::close(fd);
  });
  CHECK(fresh_headers.starts_with("HTTP/1.1 200"));
  std::printf("with %d parked queries: plain GET %.2f ms (kept-alive), %.2f ms (new connection)\n",
              kParked, kept_alive_ms, fresh_ms);
  CHECK(server.backend.watch_count() == kParked);  // none of them woke

  // One write to their key answers all of them.
  REQUIRE(Put(client, "/v1/kv/parked", "w")->status == 200);  // index 3
  int answered = 0;
  for (int fd : sockets) {
    const std::string headers = ReadHeaders(fd, milliseconds(60'000));
    if (headers.starts_with("HTTP/1.1 200") &&
        headers.find("X-Consul-Index: 3\r\n") != std::string::npos) {
      ++answered;
    }
    ::close(fd);
  }
  CHECK(answered == kParked);
}

}  // namespace
}  // namespace roster::http::testing
