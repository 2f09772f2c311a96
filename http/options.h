// HttpOptions: every setting of Roster's HTTP front end, with the defaults of
// DESIGN.md ("Limits") and Consul's (consul-api.md §0, §2.1). Plain values; the server
// copies them at construction. Documented for users in docs/api.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "store/limits.h"

namespace roster::http {

// The pool of threads that serve requests (http/task_queue.h). A connection holds its
// thread while its client sends requests; a parked reply (a blocking query, a watch
// stream) leaves it to the event loop (http/event_loop.h). Forwarded blocking queries
// (an agent) still hold a thread for minutes, so the pool grows with demand instead of
// queueing behind them.
struct ThreadPoolOptions {
  std::size_t threads_min = 4;     // started up front and never retired
  std::size_t threads_max = 4096;  // beyond this, new connections wait in FIFO order
  // A thread above threads_min exits after this long without work.
  std::chrono::milliseconds idle_timeout_ms{30'000};
  // Stack of each thread; 0 keeps the system default (8 MiB on Linux). 1 MiB leaves
  // ample room (a request never recurses deeply) and keeps 4096 threads at 4 GiB of
  // address space rather than 32.
  std::size_t stack_bytes = 1 << 20;
};

struct HttpOptions {
  std::string bind_address = "127.0.0.1";  // Consul's client_addr default
  int port = 8500;                         // 0 picks a free port; HttpServer::port() tells it
  std::string datacenter = "dc1";          // the only dc this server answers for

  // Limits. A breach is a clear 4xx, never a crash.
  std::size_t kv_value_bytes_max = store::kKvValueBytesMax;  // 413 beyond (kv_max_value_size)
  std::size_t key_bytes_max = store::kKeyBytesMax;           // 400 beyond
  std::size_t request_body_bytes_max = 1 << 20;              // 413 beyond
  std::size_t connections_per_client_max = 200;  // per client IP; 429 beyond; 0 = no limit

  // Blocking queries (consul-api.md §2.1): a wait of 0 or none means the default; a
  // longer one is cut to the max; then up to wait/16 of random jitter is added.
  std::chrono::milliseconds wait_default_ms{5 * 60 * 1000};
  std::chrono::milliseconds wait_max_ms{10 * 60 * 1000};

  // Transactions (PUT /v1/txn): Consul's txn_max_req_len (never below
  // kv_value_bytes_max, as in Consul) and the op limit; 413 beyond either.
  std::size_t txn_body_bytes_max = 512 * 1024;
  std::size_t txn_ops_max = store::kTxnOpsMax;

  // Sessions (consul-api.md §3.2): a TTL is "" or within these bounds (Consul's
  // session_ttl_min and its fixed 24 h maximum).
  std::chrono::milliseconds session_ttl_min_ms{10'000};
  std::chrono::milliseconds session_ttl_max_ms{24 * 60 * 60 * 1000};

  // The streaming watch (GET /v1/watch; docs/api.md, "Streaming watch").
  // A progress line goes out after this long without any other line.
  std::chrono::milliseconds watch_progress_interval_ms{10'000};
  // A stream whose client takes no bytes for this long while lines wait is cut off.
  std::chrono::milliseconds watch_stall_timeout_ms{10'000};
  // Events read from the history per batch (a batch always ends at an index boundary,
  // so one index with more events is still read whole). Bounds a stream's memory.
  std::size_t watch_batch_events_max = 256;

  // Connections. An idle keep-alive connection is closed after keep_alive_timeout_ms
  // (clients such as Go's reopen transparently); after keep_alive_requests_max
  // requests the response says "Connection: close".
  std::chrono::milliseconds keep_alive_timeout_ms{30'000};
  std::size_t keep_alive_requests_max = 10'000;
  std::chrono::milliseconds read_timeout_ms{10'000};   // for the rest of a started request
  std::chrono::milliseconds write_timeout_ms{10'000};  // for each chunk of a response
  int listen_backlog = 1024;

  ThreadPoolOptions threads;
};

}  // namespace roster::http
