// The forwarding mode of HttpServer (an agent process: no Backend): every /v1/ request
// the agent does not serve goes to the Forwarder as it came, and the server's reply goes
// back unchanged; the HTTP limits hold as on a server (docs/design/http.md, "Forwarding").
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/http/fake_agent.h"
#include "tests/unit/http/raw_http.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http::testing {
namespace {

// The value of a forwarded header (names compared as sent), or nullopt.
std::optional<std::string> HeaderOf(const ForwardRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

TEST_CASE("a request outside the agent's endpoints is forwarded as it came") {
  AgentTestServer server;
  auto client = server.Client();
  auto result = client.Put("/v1/kv/a%2Fb?cas=5&flags=3",
                           httplib::Headers{
                               {"X-Consul-Token", "secret"},
                               {"Accept", "application/json"},
                               {"X-Consul-Index", "12"},
                               {"User-Agent", "test/1.0"},
                           },
                           "value bytes", "application/octet-stream");
  REQUIRE(result->status == 200);
  CHECK(result->body == "true");
  CHECK(result->get_header_value("Content-Type") == "application/json");
  const std::vector<ForwardRequest> requests = server.forwarder.requests();
  REQUIRE(requests.size() == 1);
  const ForwardRequest& forwarded = requests[0];
  CHECK(forwarded.method == "PUT");
  CHECK(forwarded.target == "/v1/kv/a%2Fb?cas=5&flags=3");  // still percent-encoded
  CHECK(forwarded.body == "value bytes");
  CHECK(HeaderOf(forwarded, "X-Consul-Token") == "secret");
  CHECK(HeaderOf(forwarded, "Accept") == "application/json");
  CHECK(HeaderOf(forwarded, "X-Consul-Index") == "12");
  CHECK(HeaderOf(forwarded, "Content-Type") == "application/octet-stream");
  // Not the client's connection details, nor headers a server does not need.
  CHECK_FALSE(HeaderOf(forwarded, "User-Agent").has_value());
  CHECK_FALSE(HeaderOf(forwarded, "REMOTE_ADDR").has_value());
  CHECK_FALSE(HeaderOf(forwarded, "Host").has_value());
  CHECK(server.agent.calls().empty());
}

TEST_CASE("the server's status, headers and body come back unchanged") {
  AgentTestServer server;
  auto client = server.Client();
  server.forwarder.ReplyWith(ForwardReply{
      404,
      "",
      {{"X-Consul-Index", "42"}, {"X-Consul-KnownLeader", "true"}, {"Content-Length", "0"}}});
  auto miss = client.Get("/v1/kv/missing?index=41&wait=1s");
  CHECK(miss->status == 404);
  CHECK(miss->body.empty());
  CHECK(miss->get_header_value("X-Consul-Index") == "42");
  CHECK(miss->get_header_value("X-Consul-KnownLeader") == "true");
  CHECK(server.forwarder.requests().back().method == "GET");
  CHECK(server.forwarder.requests().back().target == "/v1/kv/missing?index=41&wait=1s");

  server.forwarder.ReplyWith(ForwardReply{500, "No cluster leader", {}});
  auto error = client.Get("/v1/catalog/services");
  CHECK(error->status == 500);
  CHECK(error->body == "No cluster leader");
}

TEST_CASE("unknown /v1/ paths and agent paths the agent lacks are forwarded too") {
  AgentTestServer server;
  auto client = server.Client();
  CHECK(client.Get("/v1/acl/tokens")->status == 200);
  CHECK(client.Put("/v1/agent/force-leave/node-9", "", "text/plain")->status == 200);
  CHECK(client.Delete("/v1/session/whatever")->status == 200);
  const std::vector<ForwardRequest> requests = server.forwarder.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].target == "/v1/acl/tokens");
  CHECK(requests[1].method == "PUT");
  CHECK(requests[1].target == "/v1/agent/force-leave/node-9");
  CHECK(requests[2].method == "DELETE");
}

TEST_CASE("the agent's own endpoints, a wrong method included, are not forwarded") {
  AgentTestServer server;
  auto client = server.Client();
  CHECK(client.Get("/v1/agent/services")->status == 200);
  CHECK(client.Delete("/v1/agent/services")->status == 405);
  CHECK(server.forwarder.requests().empty());
}

TEST_CASE("no server to forward to: 500 with Consul's text") {
  AgentTestServer server;
  auto client = server.Client();
  server.forwarder.FailWith(Unavailable("10.0.0.1:8500: connection refused"));
  auto down = client.Get("/v1/catalog/nodes");
  CHECK(down->status == 500);
  CHECK(down->body == "No known Consul servers: 10.0.0.1:8500: connection refused");
  CHECK(down->get_header_value("Content-Type") == "text/plain; charset=utf-8");
  server.forwarder.FailWith(Unavailable(""));
  CHECK(client.Get("/v1/catalog/nodes")->body == "No known Consul servers");
  server.forwarder.FailWith(Internal("bad reply framing"));
  auto broken = client.Get("/v1/catalog/nodes");
  CHECK(broken->status == 500);
  CHECK(broken->body == "bad reply framing");
}

// A body that the test hands out piece by piece, as an agent's watch relay does.
class HandedBody final : public BodyStream {
 public:
  bool Next(std::string* piece) override {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return cancelled_ || ended_ || !pieces_.empty(); });
    if (cancelled_ || pieces_.empty()) return false;
    *piece = pieces_.front();
    pieces_.erase(pieces_.begin());
    return true;
  }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    cv_.notify_all();
  }
  void Hand(std::string piece) {
    std::lock_guard<std::mutex> lock(mutex_);
    pieces_.push_back(std::move(piece));
    cv_.notify_all();
  }
  void End() {
    std::lock_guard<std::mutex> lock(mutex_);
    ended_ = true;
    cv_.notify_all();
  }
  bool cancelled() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cancelled_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> pieces_;
  bool ended_ = false;
  bool cancelled_ = false;
};

TEST_CASE("the streaming watch is forwarded, and a streamed reply is written as it comes") {
  AgentTestServer server;
  auto body = std::make_shared<HandedBody>();
  ForwardReply streamed{200, "", {{"Content-Type", "application/x-ndjson"}, {"X-Consul-Index", "6"}}};
  streamed.body_stream = body;
  server.forwarder.ReplyWith(streamed);
  body->Hand("{\"Index\":6,\"Op\":\"progress\"}\n");

  const int fd = ConnectLoopback(server.port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /v1/watch?prefix=app/&index=5 HTTP/1.1\r\nHost: x\r\n"
                      "Last-Event-ID: 4\r\n\r\n"));
  // The first piece arrives while the body is still open: it was not held back.
  std::string got;
  REQUIRE(ReadUntil(fd, &got, "progress\"}\n"));
  CHECK(got.starts_with("HTTP/1.1 200"));
  CHECK(got.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(got.find("Content-Type: application/x-ndjson") != std::string::npos);
  CHECK(got.find("X-Consul-Index: 6") != std::string::npos);
  body->Hand("{\"Index\":7,\"Op\":\"delete\",\"Key\":\"app/a\"}\n");
  REQUIRE(ReadUntil(fd, &got, "app/a\"}\n"));
  body->End();
  REQUIRE(ReadUntil(fd, &got, "\r\n0\r\n\r\n"));  // the last chunk
  ::close(fd);

  const std::vector<ForwardRequest> requests = server.forwarder.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].target == "/v1/watch?prefix=app/&index=5");
  bool passed_last_event_id = false;
  for (const auto& [name, value] : requests[0].headers) {
    passed_last_event_id = passed_last_event_id || (name == "Last-Event-ID" && value == "4");
  }
  CHECK(passed_last_event_id);
}

TEST_CASE("a client that hangs up cancels the streamed body") {
  AgentTestServer server;
  auto body = std::make_shared<HandedBody>();
  ForwardReply streamed{200, "", {{"Content-Type", "application/x-ndjson"}}};
  streamed.body_stream = body;
  server.forwarder.ReplyWith(streamed);
  const int fd = ConnectLoopback(server.port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /v1/watch HTTP/1.1\r\nHost: x\r\n\r\n"));
  body->Hand("{\"Index\":1,\"Op\":\"progress\"}\n");
  std::string got;
  REQUIRE(ReadUntil(fd, &got, "progress\"}\n"));
  ::close(fd);
  // A later piece finds the client gone (the first write after the close may still
  // succeed); the worker stops writing and cancels the body.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!body->cancelled() && std::chrono::steady_clock::now() < deadline) {
    body->Hand("{\"Index\":2,\"Op\":\"progress\"}\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling for the cancel
  }
  CHECK(body->cancelled());
}

TEST_CASE("paths outside /v1/ are answered by the agent itself") {
  AgentTestServer server;
  auto client = server.Client();
  auto index = client.Get("/");
  CHECK(index->status == 200);
  CHECK(index->body == "Roster Agent");
  auto other = client.Get("/favicon.ico");
  CHECK(other->status == 404);
  CHECK(other->body == "Unknown path /favicon.ico");
  CHECK(server.forwarder.requests().empty());
}

TEST_CASE("an agent keeps the body limit: an oversized body is 413 and not forwarded") {
  HttpOptions options = TestOptions();
  options.request_body_bytes_max = 1024;
  AgentTestServer server(AgentTestServer::Mode::kAgent, options);
  auto client = server.Client();
  auto result = client.Put("/v1/kv/big", std::string(2048, 'x'), "application/octet-stream");
  CHECK(result->status == 413);
  CHECK(server.forwarder.requests().empty());
}

TEST_CASE("an agent keeps the per-IP connection limit") {
  HttpOptions options = TestOptions();
  options.connections_per_client_max = 1;
  AgentTestServer server(AgentTestServer::Mode::kAgent, options);
  const int held = ConnectLoopback(server.port());
  REQUIRE(held >= 0);
  REQUIRE(SendAll(held, "GET /v1/agent/self HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(ReadHeaders(held, std::chrono::seconds(5)).starts_with("HTTP/1.1 200"));
  auto client = server.Client();
  auto refused = client.Get("/v1/kv/a");
  REQUIRE(refused);
  CHECK(refused->status == 429);
  CHECK(server.forwarder.requests().empty());
  ::close(held);
}

// Parks every request until the request's stop token fires, as a Forwarder holding a
// blocking query upstream would.
class ParkingForwarder final : public Forwarder {
 public:
  Result<ForwardReply> Forward(const ForwardRequest& request) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++parked_;
    parked_changed_.notify_all();
    std::condition_variable_any woken;
    std::stop_token stop = request.stop;
    woken.wait(lock, stop, [] { return false; });
    return Unavailable("the agent is stopping");
  }

  bool WaitParked(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return parked_changed_.wait_for(lock, timeout, [this] { return parked_ > 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable parked_changed_;
  int parked_ = 0;
};

TEST_CASE("Stop() ends a forwarded blocking query through the request's stop token") {
  FakeLocalAgent agent;
  ParkingForwarder forwarder;
  HttpServer server(HttpServices{nullptr, &agent, &forwarder}, TestOptions());
  REQUIRE(server.Start().ok());
  httplib::Client client("127.0.0.1", server.port());
  auto reply = std::async(std::launch::async, [&client] {
    auto result = client.Get("/v1/kv/app?index=7&wait=10m");
    return result ? result->status : -1;
  });
  REQUIRE(forwarder.WaitParked(std::chrono::seconds(10)));
  const auto start = std::chrono::steady_clock::now();
  server.Stop();
  CHECK(MillisecondsSince(start) < 5000);
  CHECK(reply.get() == 500);
}

}  // namespace
}  // namespace roster::http::testing
