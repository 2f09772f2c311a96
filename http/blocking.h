// Blocking queries (consul-api.md §2.1; Consul's blockingQuery in agent/consul/rpc.go).
//
// With ?index=0 (or none) the query runs once. Otherwise the watch on what the query
// reads is registered first, then the query runs, and when its result index is past the
// client's index, that is the reply. If not, the query is parked: the handler returns
// a Reply holding a ParkedRead, and the event loop (http/event_loop.h) runs it again
// after each write that fires its watch, replying once the index passes the client's,
// or at the deadline (the last result, with its unchanged index, status 200), or when
// the server stops. No thread waits meanwhile.
// Before the first run, a query not in ?stale mode looks at the local replica; when that
// shows nothing new and a leader is known, it parks at once, sparing a follower the
// ReadIndex round of a run that would only confirm it (docs/design/http.md). Every
// reply comes from a run in the client's mode.
// Thread-safety: ServeBlockingRead runs on an HTTP worker thread; a ParkedRead is run by
// one thread at a time (the event loop's, or a worker's it hands the run to).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/random.h"
#include "base/status.h"
#include "http/backend.h"
#include "http/params.h"
#include "http/reply.h"
#include "store/store.h"
#include "store/watch_set.h"

namespace roster::http {

struct BlockingLimits {
  std::chrono::nanoseconds wait_default;
  std::chrono::nanoseconds wait_max;
};

// The wait before jitter: the default for 0, capped at the max.
std::chrono::nanoseconds EffectiveWait(std::chrono::nanoseconds requested,
                                       const BlockingLimits& limits);
// Consul's jitter: uniform in [0, wait/16), so many watchers of one key that time out
// together do not come back together. 0 for a wait under 16 ns.
std::chrono::nanoseconds Jitter(std::chrono::nanoseconds wait, Random& random);

// A read served as a blocking query. `run` and `render` share what a run found, so
// they must own it (a parked read runs after the handler has returned).
struct BlockingRead {
  Consistency consistency = Consistency::kDefault;
  BlockingParams blocking;
  // What the query reads, so that exactly the writes that may change it wake it.
  std::vector<store::WatchKey> watch_keys;
  // Reads the store (held still by the backend) and returns the result's index. It
  // may run several times; each run replaces what the previous one produced.
  std::function<store::Index(const store::Store&)> run;
  // The reply to the last run, without the X-Consul-* read headers (added to it).
  std::function<Reply()> render;
};

// A blocking query waiting for a write (see the top of this file).
class ParkedRead {
 public:
  ParkedRead(Backend& backend, BlockingRead read, std::unique_ptr<Watch> watch,
             std::chrono::steady_clock::time_point deadline, std::string read_key);

  // One run in the client's mode; it may wait for the leader unless runs_locally().
  struct Outcome {
    Reply reply;             // with the read headers; an error's reply otherwise
    store::Index index = 0;  // the run's index; 0 with an error
    bool final = false;      // an error: the reply goes out whatever the index
  };
  Outcome Run();

  // Whether the reply to a run with this outcome goes out now (its index is past the
  // client's, or it is an error); when the deadline has passed it goes out anyway.
  bool Answers(const Outcome& outcome) const {
    return outcome.final || read_.blocking.min_index == 0 ||
           outcome.index > read_.blocking.min_index;
  }
  bool runs_locally() const { return backend_.ReadsLocally(read_.consistency); }
  // To run at once, not on a write: its first run in the client's mode is still to come.
  bool due_now() const { return due_now_; }
  void set_due_now() { due_now_ = true; }
  Watch& watch() { return *watch_; }
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  // Parked reads with equal keys read the same thing: one run answers all of them.
  const std::string& read_key() const { return read_key_; }

 private:
  Backend& backend_;
  BlockingRead read_;
  std::unique_ptr<Watch> watch_;
  std::chrono::steady_clock::time_point deadline_;
  std::string read_key_;
  bool due_now_ = false;
};

// While one lives, blocking reads on this thread never wait for the leader (see
// ServeBlockingRead): the event loop serves requests on its own thread under one.
class NoWaitingReadsScope {
 public:
  NoWaitingReadsScope();
  ~NoWaitingReadsScope();
  NoWaitingReadsScope(const NoWaitingReadsScope&) = delete;
  NoWaitingReadsScope& operator=(const NoWaitingReadsScope&) = delete;
};

// Serves the read: at once when ?index is 0 or the store already holds a newer result
// (or the read fails), otherwise a Reply with parked_read set. On a thread where reads
// must not wait (NoWaitingReadsScope), a run that would wait for the leader is parked
// instead, due at once: the event loop hands it to a worker.
Reply ServeBlockingRead(Backend& backend, const BlockingLimits& limits,
                        const std::function<std::string()>& read_key, BlockingRead read);

// The key of a read request: its path and query without ?index and ?wait.
std::string ReadKey(std::string_view path, const Query& query);

}  // namespace roster::http
