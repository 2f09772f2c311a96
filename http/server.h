// HttpServer: Roster's HTTP API, wire-compatible with Consul's v1 API (reference:
// /work/shared/reference/consul-api.md; what is implemented and where Roster differs:
// docs/api.md; how it works: docs/design/http.md). It never sees Raft, peers or disks:
//  - in a server process it serves a Backend (http/backend.h, the server's replica and
//    Raft), and /v1/agent/* from the LocalAgent beside it when one is given;
//  - in an agent process (no Backend) it serves /v1/agent/* from the LocalAgent and
//    passes every other /v1/ request, unchanged, to a Forwarder (http/local_agent.h)
//    that sends it to a server ("forwarding mode", docs/design/http.md).
//
//   HttpServer server(backend, HttpOptions{.port = 0});                  // a bare server
//   HttpServer server(HttpServices{nullptr, &agent, &forwarder}, options);  // an agent
//   RETURN_IF_ERROR(server.Start());
//   ... server.port() ...
//   server.Stop();
//
// Each connection is served on its own thread from a pool that grows with demand
// (http/task_queue.h), so thousands of parked blocking queries do not delay a plain
// GET. Connection, body and other limits (HttpOptions) hold in both modes.
// Thread-safety: construct, Start and Stop from one thread; the services must outlive
// the server and are called from many threads at once.
#pragma once

#include <memory>

#include "base/status.h"
#include "http/backend.h"
#include "http/local_agent.h"
#include "http/options.h"

namespace roster::http {

// What an HttpServer serves. Exactly one of backend and forwarder is set (CHECKed).
struct HttpServices {
  Backend* backend = nullptr;      // a server's replica; null in an agent process
  LocalAgent* agent = nullptr;     // /v1/agent/*; null: /v1/agent/self from the Backend only
  Forwarder* forwarder = nullptr;  // set exactly when backend is null
};

class HttpServer {
 public:
  HttpServer(HttpServices services, HttpOptions options);
  // A server without an agent: HttpServices{&backend, nullptr, nullptr}.
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
