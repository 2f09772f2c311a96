// Internal to http/: what an endpoint handler receives and returns, the helpers they
// share, and the handlers. The router (server.cc) parses the request target, checks
// the method and calls one handler; handlers never see httplib.
// Thread-safety: handlers run concurrently on HTTP worker threads; they share only
// the Backend (thread-safe by contract) and the immutable options.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/backend.h"
#include "http/blocking.h"
#include "http/json_mapping.h"
#include "http/options.h"
#include "http/params.h"
#include "http/reply.h"
#include "store/types.h"

namespace roster::http {

struct ApiRequest {
  std::string method;  // "GET" (also for HEAD), "PUT", "DELETE", ...
  std::string path;    // percent-decoded
  Query query;
  const std::string& body;
  // A request header's value ("" when absent); names match without regard to case.
  std::function<std::string(const char* name)> header;
};

struct HandlerContext {
  Backend& backend;
  const HttpOptions& options;
  std::stop_token stop;  // requested when the server stops: blocking queries return
  // The request's path and query without ?index and ?wait (ReadKey): requests with
  // equal keys read the same thing, so one run answers all of them (http/event_loop.h).
  // Made only for a read that parks.
  std::function<std::string()> read_key;
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

// The blocking-query bounds the options set.
inline BlockingLimits BlockingLimitsOf(const HttpOptions& options) {
  return BlockingLimits{options.wait_default_ms, options.wait_max_ms};
}

// Serves a read as a blocking query (http/blocking.h) with the server's limits.
inline Reply ServeRead(const HandlerContext& context, BlockingRead read) {
  return ServeBlockingRead(context.backend, BlockingLimitsOf(context.options), context.read_key,
                           std::move(read));
}

// GET|PUT|DELETE /v1/kv/<key> (kv_handlers.cc).
Reply HandleKv(const HandlerContext& context, const ApiRequest& request);

// /v1/session/* (session_handlers.cc).
Reply HandleSessionCreate(const HandlerContext& context, const ApiRequest& request);
Reply HandleSessionDestroy(const HandlerContext& context, const ApiRequest& request);
Reply HandleSessionRenew(const HandlerContext& context, const ApiRequest& request);
Reply HandleSessionInfo(const HandlerContext& context, const ApiRequest& request);
Reply HandleSessionNode(const HandlerContext& context, const ApiRequest& request);
Reply HandleSessionList(const HandlerContext& context, const ApiRequest& request);

// /v1/catalog/* (catalog_handlers.cc).
Reply HandleCatalogRegister(const HandlerContext& context, const ApiRequest& request);
Reply HandleCatalogDeregister(const HandlerContext& context, const ApiRequest& request);
Reply HandleCatalogDatacenters(const HandlerContext& context, const ApiRequest& request);
Reply HandleCatalogNodes(const HandlerContext& context, const ApiRequest& request);
Reply HandleCatalogServices(const HandlerContext& context, const ApiRequest& request);
Reply HandleCatalogService(const HandlerContext& context, const ApiRequest& request);
Reply HandleCatalogNode(const HandlerContext& context, const ApiRequest& request);
Reply HandleCatalogNodeServices(const HandlerContext& context, const ApiRequest& request);
Reply HandleCoordinateDatacenters(const HandlerContext& context, const ApiRequest& request);
Reply HandleCoordinateNodes(const HandlerContext& context, const ApiRequest& request);
Reply HandleCoordinateNode(const HandlerContext& context, const ApiRequest& request);

// /v1/health/* (health_handlers.cc).
Reply HandleHealthService(const HandlerContext& context, const ApiRequest& request);
Reply HandleHealthChecks(const HandlerContext& context, const ApiRequest& request);
Reply HandleHealthNode(const HandlerContext& context, const ApiRequest& request);
Reply HandleHealthState(const HandlerContext& context, const ApiRequest& request);

// PUT /v1/txn (txn_handlers.cc).
Reply HandleTxn(const HandlerContext& context, const ApiRequest& request);

// GET /v1/watch, Roster's streaming watch (watch_handler.cc).
Reply HandleWatch(const HandlerContext& context, const ApiRequest& request);

// status_handlers.cc
Reply HandleStatusLeader(const HandlerContext& context, const ApiRequest& request);
Reply HandleStatusPeers(const HandlerContext& context, const ApiRequest& request);
Reply HandleRaftConfiguration(const HandlerContext& context, const ApiRequest& request);
Reply HandleRaftPeerDelete(const HandlerContext& context, const ApiRequest& request);
Reply HandleAgentSelf(const HandlerContext& context, const ApiRequest& request);

// Node liveness (liveness_handlers.cc): PUT /v1/internal/node/heartbeat and
// /v1/internal/node/leave, GET /v1/internal/members (also /v1/agent/members on a server).
Reply HandleNodeHeartbeat(const HandlerContext& context, const ApiRequest& request);
Reply HandleNodeLeave(const HandlerContext& context, const ApiRequest& request);
Reply HandleAgentForceLeave(const HandlerContext& context, const ApiRequest& request);
Reply HandleMembers(const HandlerContext& context, const ApiRequest& request);

}  // namespace roster::http
