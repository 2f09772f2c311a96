// HttpServer: Roster's HTTP API, wire-compatible with Consul's v1 API (reference:
// /work/shared/reference/consul-api.md; what is implemented and where Roster differs:
// docs/api.md; how it works: docs/design/http.md). It serves a Backend (http/backend.h) — a
// server's local replica and Raft today, an agent's forwarding later — and never sees Raft, peers
// or disks.
//
//   HttpServer server(backend, HttpOptions{.port = 0});
//   RETURN_IF_ERROR(server.Start());
//   ... server.port() ...
//   server.Stop();
//
// Each connection is served on its own thread from a pool that grows with demand
// (http/task_queue.h), so thousands of parked blocking queries do not delay a plain
// GET. Thread-safety: construct, Start and Stop from one thread; the Backend must
// outlive the server and is called from many threads at once.
#pragma once

#include <memory>

#include "base/status.h"
#include "http/backend.h"
#include "http/options.h"

namespace roster::http {

class HttpServer {
 public:
  HttpServer(Backend& backend, HttpOptions options);
  ~HttpServer();  // Stop()s

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds options.bind_address:options.port and starts serving. IoError when the
  // address cannot be bound (e.g. in use); FailedPrecondition when already started.
  Status Start();
  // The bound port once started (the ephemeral one when options.port is 0), else -1.
  int port() const;
  // Stops accepting, ends idle connections at once and blocking queries within half a
  // second (they answer with their current result), and returns when every connection
  // thread has finished. Idempotent; Start() may follow.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::http
