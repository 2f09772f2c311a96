// HttpClient: a small client for Roster's (Consul-compatible) HTTP API, used by the CLI.
//
// One instance talks to one address ("host:port", or "http://host:port"). Each call is
// a blocking request; thread-safety: one thread per instance, except Abort(), which any
// thread may call.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace roster::client {

struct Response {
  int status = 0;
  std::string body;
  std::uint64_t index = 0;  // X-Consul-Index, 0 if absent
  // Every header of the reply, in order (filled by Send; the typed calls leave it empty).
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// Any request, for callers that pass requests on (the agent's forwarder).
struct Request {
  std::string method;          // "GET", "PUT", "POST", "DELETE", ...
  std::string path_and_query;  // sent as is (already percent-encoded)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpClient {
 public:
  // Above a 10 min blocking wait (plus jitter): what a reply may take by default.
  static constexpr std::chrono::milliseconds kReadTimeoutDefault{660 * 1000};

  // `read_timeout`: how long a request may wait for its reply before it fails.
  explicit HttpClient(std::string address,
                      std::chrono::milliseconds read_timeout = kReadTimeoutDefault);
  ~HttpClient();

  // Unavailable if the server cannot be reached; any HTTP status is a Response.
  Result<Response> Get(const std::string& path_and_query);
  Result<Response> Put(const std::string& path_and_query, const std::string& body);
  Result<Response> Delete(const std::string& path_and_query);
  // Sends `request` with its headers; the Response carries the reply's headers.
  Result<Response> Send(const Request& request);

  // Keeps the connection open between requests (HTTP/1.1 keep-alive) instead of one
  // connection per request; a connection the server has closed meanwhile is noticed
  // before the next request and replaced. Off by default.
  void EnableKeepAlive();
  // Changes how long the next requests may wait for their replies.
  void SetReadTimeout(std::chrono::milliseconds read_timeout);

  // Makes a request in flight on another thread fail soon (Unavailable), e.g. to stop
  // a thread parked in a blocking query. A request that starts after the call is not
  // affected, so a caller stopping a loop sets its own stop flag first.
  void Abort();

  // Where the CLI should connect: -http-addr, else ROSTER_HTTP_ADDR, else
  // CONSUL_HTTP_ADDR, else 127.0.0.1:8500.
  static std::string DefaultAddress(const std::string& flag_value);

  // Percent-encodes a KV key for a URL path, keeping '/'.
  static std::string EscapePath(const std::string& key);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::client
