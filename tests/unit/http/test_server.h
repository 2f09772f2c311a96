// A real HttpServer on an ephemeral loopback port over a TestBackend, and the small
// vocabulary the end-to-end tests speak: requests through httplib::Client, headers,
// polling with a deadline (never a bare sleep as an assertion).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "http/server.h"
#include "tests/unit/http/test_backend.h"

// clang-format off
#include <httplib.h>
// clang-format on

namespace roster::http::testing {

inline HttpOptions TestOptions() {
  HttpOptions options;
  options.port = 0;
  options.threads.threads_min = 2;
  options.keep_alive_timeout_ms = std::chrono::milliseconds(2000);
  return options;
}

class TestServer {
 public:
  explicit TestServer(HttpOptions options = TestOptions())
      : TestServer(std::move(options), store::StoreOptions{}) {}
  TestServer(HttpOptions options, store::StoreOptions store_options)
      : backend(store_options), server_(std::make_unique<HttpServer>(backend, std::move(options))) {
    const Status started = server_->Start();
    if (!started.ok()) throw std::runtime_error("HttpServer::Start: " + started.ToString());
  }

  int port() const { return server_->port(); }
  HttpServer& server() { return *server_; }

  // A client that sends the target exactly as written (tests percent-encode).
  httplib::Client Client() const {
    httplib::Client client("127.0.0.1", port());
    client.set_url_encode(false);
    client.set_read_timeout(std::chrono::seconds(30));
    return client;
  }

  TestBackend backend;

 private:
  std::unique_ptr<HttpServer> server_;
};

// Polls `done` until it holds or the deadline passes; the result is the assertion.
template <typename Predicate>
bool Eventually(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

inline std::int64_t MillisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace roster::http::testing
