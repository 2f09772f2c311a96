#include "agent/forwarder.h"

#include <chrono>
#include <utility>

#include "agent/watch_relay.h"
#include "base/ascii.h"
#include "client/http_client.h"

namespace roster::agent {
namespace {

// Above the longest blocking wait (10 min) plus its jitter.
constexpr std::chrono::milliseconds kForwardTimeout{660'000};

}  // namespace

bool IsPassedBackHeader(const std::string& name) {
  // What a server says about the answer itself; hop-by-hop and framing headers
  // (Connection, Content-Length, Transfer-Encoding, ...) describe the upstream connection.
  static constexpr std::string_view kExact[] = {
      "Content-Type",  "Age", "Allow", "Cache-Control", "X-Content-Type-Options",
      "Content-Security-Policy", "Retry-After"};
  for (std::string_view exact : kExact) {
    if (EqualsIgnoringCase(name, exact)) return true;
  }
  return StartsWithIgnoringCase(name, "X-Consul-") || StartsWithIgnoringCase(name, "X-Cache") ||
         StartsWithIgnoringCase(name, "X-Roster-");
}

namespace {

// The key of a shareable request: the target plus the headers that change the answer.
std::string FlightKey(const http::ForwardRequest& request) {
  std::string key = request.target;
  for (const auto& [name, value] : request.headers) {
    key += '\n';
    key += name;
    key += ':';
    key += value;
  }
  return key;
}

}  // namespace

bool IsBlockingTarget(const std::string& target) {
  const std::size_t query = target.find('?');
  if (query == std::string::npos) return false;
  std::size_t at = query + 1;
  while (at < target.size()) {
    if (target.compare(at, 6, "index=") == 0) return true;
    at = target.find('&', at);
    if (at == std::string::npos) return false;
    ++at;
  }
  return false;
}

std::uint64_t UpstreamForwarder::upstream_requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return upstream_requests_;
}

std::uint64_t UpstreamForwarder::shared_requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return shared_requests_;
}

Result<http::ForwardReply> UpstreamForwarder::Send(const http::ForwardRequest& request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++upstream_requests_;
  }
  client::Request out{request.method, request.target, request.body, request.headers};
  Result<client::Response> response = upstream_.Send(out, kForwardTimeout, request.stop);
  if (!response.ok()) return response.status();
  http::ForwardReply reply;
  reply.status = response->status;
  reply.body = std::move(response->body);
  for (auto& [name, value] : response->headers) {
    if (IsPassedBackHeader(name)) reply.headers.emplace_back(name, std::move(value));
  }
  return reply;
}

Result<http::ForwardReply> UpstreamForwarder::Forward(const http::ForwardRequest& request) {
  if (request.method == "GET" && IsWatchTarget(request.target)) {
    return RelayWatch(upstream_, request);
  }
  if (request.method != "GET" || !IsBlockingTarget(request.target)) return Send(request);
  const std::string key = FlightKey(request);
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::shared_ptr<Flight>& slot = flights_[key];
    if (!slot) {
      slot = std::make_shared<Flight>();
      leader = true;
    } else {
      ++shared_requests_;
    }
    flight = slot;
  }
  if (leader) {
    Result<http::ForwardReply> reply = Send(request);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      flights_.erase(key);  // later callers start a new request
    }
    std::lock_guard<std::mutex> lock(flight->mutex);
    flight->reply = reply;
    flight->done = true;
    flight->done_cv.notify_all();
    return reply;
  }
  // Registered before taking the lock: it runs at once when a stop was requested.
  std::stop_callback wake_on_stop(request.stop, [&flight] {
    std::lock_guard<std::mutex> inner(flight->mutex);
    flight->done_cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(flight->mutex);
  flight->done_cv.wait(lock, [&] { return flight->done || request.stop.stop_requested(); });
  if (!flight->done) return Unavailable("the request was stopped");
  return flight->reply;
}

}  // namespace roster::agent

