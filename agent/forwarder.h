// UpstreamForwarder: the http::Forwarder of an agent process — every request the agent
// does not answer itself goes to a server through the Upstream (with its failover);
// GET /v1/watch is relayed and resumed across servers (agent/watch_relay.h) — plus the
// agent cache: identical blocking GETs in flight share one upstream request.
//
// Two GETs are identical when their target (path and query, so index and wait too) and
// their token headers are the same. The first caller sends the request; callers that
// arrive while it is in flight wait for it and get a copy of its reply, so a thousand
// local watchers of one service cost the servers one blocking query (consul-api.md
// §2.4). Only blocking GETs (with ?index=) share; other GETs and every write go
// upstream on their own.
//
// Thread-safety: Forward from any number of threads.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/upstream.h"
#include "http/local_agent.h"

namespace roster::agent {

class UpstreamForwarder final : public http::Forwarder {
 public:
  explicit UpstreamForwarder(Upstream& upstream) : upstream_(upstream) {}

  Result<http::ForwardReply> Forward(const http::ForwardRequest& request) override;

  // How many requests went upstream, and how many joined one already in flight (for
  // tests of the sharing).
  std::uint64_t upstream_requests() const;
  std::uint64_t shared_requests() const;

 private:
  struct Flight {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    Result<http::ForwardReply> reply = Unavailable("in flight");
  };

  Result<http::ForwardReply> Send(const http::ForwardRequest& request);

  Upstream& upstream_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;  // guarded by mutex_
  std::uint64_t upstream_requests_ = 0;                      // guarded by mutex_
  std::uint64_t shared_requests_ = 0;                        // guarded by mutex_
};

// Whether `target`'s query carries index= (a blocking query).
bool IsBlockingTarget(const std::string& target);

// Whether a server's reply header goes back to the client: Content-Type, X-Consul-*,
// X-Cache, Age, X-Roster-*, Allow (405 and OPTIONS), Cache-Control (SSE), Retry-After,
// and ?raw's X-Content-Type-Options and Content-Security-Policy. The rest describe the
// upstream connection.
bool IsPassedBackHeader(const std::string& name);

}  // namespace roster::agent
