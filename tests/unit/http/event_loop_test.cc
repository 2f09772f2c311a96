// The event loop (http/event_loop.h) end to end: parked replies hold no thread, a
// watcher re-arms on one kept-alive connection, parked reads with equal keys share one
// run, a client that hangs up frees its watch, a pipelined request is still answered;
// and the loop's look at a next request (http/next_request.h).
#include <dirent.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "http/next_request.h"
#include "tests/unit/http/raw_http.h"
#include "tests/unit/http/test_server.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http::testing {
namespace {

using std::chrono::milliseconds;

int ThreadCount() {
  int count = 0;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return -1;
  while (dirent* entry = readdir(tasks)) count += entry->d_name[0] != '.';
  closedir(tasks);
  return count;
}

httplib::Result Put(httplib::Client& client, const std::string& target, const std::string& body) {
  return client.Put(target.c_str(), body, "application/octet-stream");
}

std::string BlockingGet(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: roster\r\n\r\n";
}

// Reads one whole response with a Content-Length body; "" on timeout or close. Bytes
// of a next response that came with it stay in `carry` for the next call.
std::string ReadResponse(int fd, std::string& carry, milliseconds timeout = milliseconds(10'000)) {
  std::string data = std::move(carry);
  carry.clear();
  if (data.find("\r\n\r\n") == std::string::npos) data += ReadHeaders(fd, timeout);
  const std::size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) return "";
  const std::size_t at = data.find("Content-Length: ");
  const std::size_t length = at == std::string::npos || at > end ? 0 : std::stoul(data.substr(at + 16));
  while (data.size() < end + 4 + length) {
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return "";
    data.append(buffer, static_cast<std::size_t>(n));
  }
  carry = data.substr(end + 4 + length);
  data.resize(end + 4 + length);
  return data;
}

std::string ReadResponse(int fd) {
  std::string carry;
  return ReadResponse(fd, carry);
}

// Whether the server closes the connection after what was read: its end arrives within
// 10 s, with no more bytes before it.
bool ServerClosed(int fd) {
  pollfd ready{fd, POLLIN, 0};
  if (::poll(&ready, 1, 10'000) <= 0) return false;
  char byte;
  return ::recv(fd, &byte, 1, 0) == 0;
}

// The X-Consul-Index of a read of the key.
int IndexOf(httplib::Client& client, const std::string& key) {
  httplib::Result result = client.Get(("/v1/kv/" + key).c_str());
  return result ? std::stoi(result->get_header_value("X-Consul-Index")) : -1;
}

bool HasIndex(const std::string& response, int index) {
  return response.find("X-Consul-Index: " + std::to_string(index) + "\r\n") != std::string::npos;
}

TEST_CASE("the loop serves only a complete bodiless GET of a blocking read itself") {
  struct Case {
    std::string bytes;
    NextRequest expected;
  };
  const std::string end = " HTTP/1.1\r\nHost: r\r\n\r\n";
  const std::vector<Case> cases = {
      {"GET /v1/kv/a?index=5" + end, NextRequest::kServeOnLoop},
      {"GET /v1/kv/a?recurse&index=12&wait=1m" + end, NextRequest::kServeOnLoop},
      {"GET /v1/health/service/web?passing&index=3" + end, NextRequest::kServeOnLoop},
      {"GET /v1/catalog/services?index=9" + end, NextRequest::kServeOnLoop},
      {"GET /v1/session/list?index=9" + end, NextRequest::kServeOnLoop},
      {"GET /v1/kv/a?index=0" + end, NextRequest::kHandToWorker},  // answers at once
      {"GET /v1/kv/a" + end, NextRequest::kHandToWorker},
      {"GET /v1/kv/a?myindex=5" + end, NextRequest::kHandToWorker},
      {"GET /v1/watch?prefix=a&index=5" + end, NextRequest::kHandToWorker},
      {"GET /v1/status/leader?index=5" + end, NextRequest::kHandToWorker},
      {"PUT /v1/kv/a?index=5" + end, NextRequest::kHandToWorker},
      {"GET /v1/kv/a?index=5 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", NextRequest::kHandToWorker},
      {"GET /v1/kv/a?index=5 HTTP/1.1\r\ntransfer-ENCODING: chunked\r\n\r\n",
       NextRequest::kHandToWorker},
      {"GET /v1/kv/a?index=5 HTTP/1.1\r\nHost: r\r\n", NextRequest::kNeedMore},
      {"", NextRequest::kNeedMore},
      {std::string(kReadAheadBytes, 'x'), NextRequest::kHandToWorker},
  };
  for (const Case& c : cases) {
    INFO(c.bytes);
    CHECK(ClassifyNextRequest(c.bytes) == c.expected);
  }
}

TEST_CASE("a request the loop serves itself: its target, headers and whether it closes") {
  const std::string bytes =
      "GET /v1/kv/a?index=5&wait=1m HTTP/1.1\r\nHost: r\r\nX-Consul-Token:  t1 \r\n"
      "x-consul-token: t2\r\n\r\nGET /next";
  const std::optional<PeekedRequest> request = PeekServableRequest(bytes);
  REQUIRE(request.has_value());
  CHECK(request->target == "/v1/kv/a?index=5&wait=1m");
  CHECK(request->length == bytes.size() - std::string("GET /next").size());
  CHECK(request->Header("x-consul-token") == "t1");  // the first, trimmed
  CHECK(request->Header("Accept").empty());
  CHECK(!request->close);

  const std::string end = "\r\n\r\n";
  CHECK(PeekServableRequest("GET /v1/kv/a?index=5 HTTP/1.1\r\nConnection: Close" + end)->close);
  CHECK(PeekServableRequest("GET /v1/kv/a?index=5 HTTP/1.0" + end)->close);
  CHECK(!PeekServableRequest("GET /v1/kv/a?index=5 HTTP/1.0\r\nConnection: keep-alive" + end)
             ->close);
  // Malformed lines go to a worker, where httplib answers them.
  CHECK(!PeekServableRequest("GET /v1/kv/a?index=5 HTTP/1.1\r\nno colon" + end));
  CHECK(!PeekServableRequest("GET /v1/kv/a?index=5 HTTP/1.1\r\n: empty name" + end));
  CHECK(!PeekServableRequest("GET /v1/kv/a?index=5 HTTP/2.0" + end));
  CHECK(!PeekServableRequest("GET /v1/kv/a?index=5\x01 HTTP/1.1" + end));
  CHECK(!PeekServableRequest("GET  HTTP/1.1" + end));
}

TEST_CASE("an HTTP/1.0 re-arm served on the loop is answered, then closed") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/old", "v")->status == 200);
  const int index = IndexOf(client, "old");
  // The first request parks on a worker; the second one is read by the loop.
  const int fd = ConnectLoopback(server.port());
  REQUIRE(SendAll(fd, BlockingGet("/v1/kv/old?index=" + std::to_string(index))));
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  REQUIRE(Put(client, "/v1/kv/old", "w")->status == 200);
  REQUIRE(HasIndex(ReadResponse(fd), index + 1));
  REQUIRE(SendAll(fd, "GET /v1/kv/old?index=" + std::to_string(index) + " HTTP/1.0\r\n\r\n"));
  const std::string response = ReadResponse(fd);  // index + 1 is newer: at once
  CHECK(HasIndex(response, index + 1));
  CHECK(response.find("Connection: close\r\n") != std::string::npos);
  CHECK(ServerClosed(fd));
  ::close(fd);
}

TEST_CASE("a watcher re-arms on one kept-alive connection; other requests still work on it") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/loop/a", "v")->status == 200);
  const int fd = ConnectLoopback(server.port());
  REQUIRE(fd >= 0);
  int index = IndexOf(client, "loop/a");
  for (int round = 0; round < 20; ++round) {
    REQUIRE(SendAll(fd, BlockingGet("/v1/kv/loop/a?index=" + std::to_string(index))));
    REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
    REQUIRE(Put(client, "/v1/kv/loop/a", "v" + std::to_string(round))->status == 200);
    const std::string response = ReadResponse(fd);
    INFO("round " << round << ": " << response);
    REQUIRE(response.starts_with("HTTP/1.1 200"));
    REQUIRE(HasIndex(response, index + 1));
    CHECK(response.find("\"Key\":\"loop/a\"") != std::string::npos);
    ++index;
  }
  // A write on the same connection goes to a worker and comes back.
  REQUIRE(SendAll(fd, "PUT /v1/kv/loop/b HTTP/1.1\r\nHost: roster\r\nContent-Length: 1\r\n\r\nx"));
  const std::string put = ReadResponse(fd);
  CHECK(put.starts_with("HTTP/1.1 200"));
  CHECK(put.ends_with("true"));
  ::close(fd);
}

TEST_CASE("parked reads with equal keys share one run; parked replies hold no thread") {
  constexpr int kParked = 300;
  HttpOptions options = TestOptions();
  options.connections_per_client_max = 0;
  TestServer server(options);
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/shared", "v")->status == 200);
  const int index = IndexOf(client, "shared");
  const int threads_before = ThreadCount();
  std::vector<int> sockets;
  for (int i = 0; i < kParked; ++i) {
    sockets.push_back(ConnectLoopback(server.port()));
    REQUIRE(sockets.back() >= 0);
    // Different waits, one key: ?wait is not part of what is read.
    REQUIRE(SendAll(sockets.back(),
                    BlockingGet("/v1/kv/shared?index=" + std::to_string(index) +
                                "&wait=" + std::to_string(60 + i) + "s")));
    // One at a time, so that a burst of new connections does not grow the pool.
    REQUIRE(Eventually([&] { return server.backend.watch_count() == std::size_t(i) + 1; }));
  }
  // Each connection was served by a worker, then left to the loop: the workers that
  // parked 300 queries are free again.
  CHECK(ThreadCount() - threads_before < 10);

  const std::size_t reads_before = server.backend.read_count();
  REQUIRE(Put(client, "/v1/kv/shared", "w")->status == 200);
  int answered = 0;
  for (int fd : sockets) {
    answered += HasIndex(ReadResponse(fd), index + 1);
    ::close(fd);
  }
  CHECK(answered == kParked);
  // One run per key and round of wake-ups: the loop may wake a few times while the
  // write fires the 300 watches one by one, never once per watch.
  CHECK(server.backend.read_count() - reads_before < kParked / 10);
}

TEST_CASE("a client that hangs up while parked frees its watch") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/gone", "v")->status == 200);
  const int fd = ConnectLoopback(server.port());
  REQUIRE(SendAll(fd, BlockingGet("/v1/kv/gone?index=" + std::to_string(IndexOf(client, "gone")) +
                                  "&wait=5m")));
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  ::close(fd);
  CHECK(Eventually([&] { return server.backend.watch_count() == 0; }));
}

TEST_CASE("a request pipelined behind a parked one is answered after it") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/pipe", "v")->status == 200);
  const int index = IndexOf(client, "pipe");
  const int fd = ConnectLoopback(server.port());
  REQUIRE(SendAll(fd, BlockingGet("/v1/kv/pipe?index=" + std::to_string(index) + "&wait=5m") +
                          BlockingGet("/v1/kv/pipe")));
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  REQUIRE(Put(client, "/v1/kv/pipe", "w")->status == 200);
  std::string carry;
  const std::string first = ReadResponse(fd, carry);
  CHECK(HasIndex(first, index + 1));
  const std::string second = ReadResponse(fd, carry);
  CHECK(second.starts_with("HTTP/1.1 200"));
  CHECK(HasIndex(second, index + 1));
  ::close(fd);
}

TEST_CASE("requests sent while parked are answered after the parked reply") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/ahead", "v")->status == 200);
  const int index = IndexOf(client, "ahead");
  const int fd = ConnectLoopback(server.port());
  REQUIRE(SendAll(fd, BlockingGet("/v1/kv/ahead?index=" + std::to_string(index) + "&wait=5m")));
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  // Sent only once the read is parked, so the loop finds them after its reply: the
  // re-arm it serves itself; the PUT, larger than it reads ahead, goes to a worker.
  const std::string big(3 * kReadAheadBytes, 'x');
  REQUIRE(SendAll(fd, BlockingGet("/v1/kv/ahead?index=" + std::to_string(index)) +
                          "PUT /v1/kv/big HTTP/1.1\r\nHost: r\r\nContent-Length: " +
                          std::to_string(big.size()) + "\r\n\r\n" + big));
  REQUIRE(Put(client, "/v1/kv/ahead", "w")->status == 200);
  std::string carry;
  CHECK(HasIndex(ReadResponse(fd, carry), index + 1));  // the parked read
  CHECK(HasIndex(ReadResponse(fd, carry), index + 1));  // the re-arm, newer already
  CHECK(ReadResponse(fd, carry).starts_with("HTTP/1.1 200"));  // the PUT
  httplib::Result big_read = client.Get("/v1/kv/big?raw");
  REQUIRE(big_read);
  CHECK(big_read->body == big);
  ::close(fd);
}

TEST_CASE("a parked reply keeps the client's Connection: close") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/close", "v")->status == 200);
  const int fd = ConnectLoopback(server.port());
  REQUIRE(SendAll(fd, "GET /v1/kv/close?index=" + std::to_string(IndexOf(client, "close")) +
                          "&wait=5m HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n"));
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  REQUIRE(Put(client, "/v1/kv/close", "w")->status == 200);
  const std::string response = ReadResponse(fd);
  CHECK(response.find("Connection: close\r\n") != std::string::npos);
  CHECK(ServerClosed(fd));
  ::close(fd);
}

}  // namespace
}  // namespace roster::http::testing
