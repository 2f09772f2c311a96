// Internal to http/: what an endpoint handler receives and returns, the helpers they
// share, and the handlers. The router (server.cc) parses the request target, checks
// the method and calls one handler; handlers never see httplib.
// Thread-safety: handlers run concurrently on HTTP worker threads; they share only
// the Backend (thread-safe by contract) and the immutable options.
#pragma once

#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "http/backend.h"
#include "http/json_mapping.h"
#include "http/options.h"
#include "http/params.h"
#include "store/types.h"

namespace roster::http {

struct ApiRequest {
  std::string method;  // "GET" (also for HEAD), "PUT", "DELETE", ...
  std::string path;    // percent-decoded
  Query query;
  const std::string& body;
};

struct Reply {
  int status = 200;
  std::string content_type;  // empty: none (an empty 404 or 200)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HandlerContext {
  Backend& backend;
  const HttpOptions& options;
  std::stop_token stop;  // requested when the server stops: blocking queries return
};

inline constexpr char kJsonContentType[] = "application/json";
inline constexpr char kTextContentType[] = "text/plain; charset=utf-8";

// A reply with no body and no Content-Type (a KV miss, a peer removal).
Reply EmptyReply(int status);
Reply JsonReply(const Json& value, bool pretty);
// A plain-text reply; errors are plain text, as in Consul.
Reply TextReply(int status, std::string text);
// The one mapping from a Status (a parser's or the backend's) to a status code and a
// message a person can act on. Defined in server.cc with the exception mapping.
Reply StatusReply(const Status& status);
// 500 "No path to datacenter" when ?dc names a datacenter other than ours.
std::optional<Reply> CheckDatacenter(const HandlerContext& context, const Query& query);
// The headers of every read: X-Consul-Index (never 0), X-Consul-KnownLeader,
// X-Consul-LastContact and X-Consul-Effective-Consistency.
void AddReadHeaders(const ReadMeta& meta, store::Index index, Reply& reply);

// GET|PUT|DELETE /v1/kv/<key> (kv_handlers.cc).
Reply HandleKv(const HandlerContext& context, const ApiRequest& request);

// status_handlers.cc
Reply HandleStatusLeader(const HandlerContext& context, const ApiRequest& request);
Reply HandleStatusPeers(const HandlerContext& context, const ApiRequest& request);
Reply HandleRaftConfiguration(const HandlerContext& context, const ApiRequest& request);
Reply HandleRaftPeerDelete(const HandlerContext& context, const ApiRequest& request);
Reply HandleAgentSelf(const HandlerContext& context, const ApiRequest& request);

}  // namespace roster::http
