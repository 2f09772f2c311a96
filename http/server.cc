// HttpServer: setup, the route table, and the one place where errors and exceptions
// become status codes and plain-text messages.
#include "http/server.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <new>
#include <stop_token>
#include <string_view>
#include <thread>
#include <vector>

#include "base/ascii.h"
#include "base/check.h"
#include "base/logging.h"
#include "http/agent_handlers.h"
#include "http/connection.h"
#include "http/handlers.h"

// clang-format off
#include <httplib.h>
// clang-format on

namespace roster::http {
namespace {

using HandlerFunction = Reply (*)(const HandlerContext&, const ApiRequest&);

// One endpoint: a Backend handler (the table of Routes()) or a LocalAgent one (the
// table of AgentRoutes()).
struct Route {
  std::string_view path;
  bool prefix;  // the path is a prefix; the rest names the resource (a KV key)
  std::vector<std::string_view> methods;
  HandlerFunction handler;
  AgentHandlerFunction agent_handler = nullptr;
};

Reply HandleIndex(const HandlerContext&, const ApiRequest&) {
  return TextReply(200, "Roster Agent");  // Consul answers "/" with "Consul Agent"
}

const std::vector<Route>& Routes() {
  static const std::vector<Route> routes = {
      {"/v1/kv/", true, {"GET", "PUT", "DELETE"}, HandleKv},
      {"/v1/session/create", false, {"PUT"}, HandleSessionCreate},
      {"/v1/session/destroy/", true, {"PUT"}, HandleSessionDestroy},
      {"/v1/session/renew/", true, {"PUT"}, HandleSessionRenew},
      {"/v1/session/info/", true, {"GET"}, HandleSessionInfo},
      {"/v1/session/node/", true, {"GET"}, HandleSessionNode},
      {"/v1/session/list", false, {"GET"}, HandleSessionList},
      {"/v1/txn", false, {"PUT"}, HandleTxn},
      {"/v1/catalog/register", false, {"PUT"}, HandleCatalogRegister},
      {"/v1/catalog/deregister", false, {"PUT"}, HandleCatalogDeregister},
      {"/v1/catalog/datacenters", false, {"GET"}, HandleCatalogDatacenters},
      {"/v1/catalog/nodes", false, {"GET"}, HandleCatalogNodes},
      {"/v1/catalog/services", false, {"GET"}, HandleCatalogServices},
      {"/v1/catalog/service/", true, {"GET"}, HandleCatalogService},
      {"/v1/catalog/node/", true, {"GET"}, HandleCatalogNode},
      {"/v1/catalog/node-services/", true, {"GET"}, HandleCatalogNodeServices},
      {"/v1/coordinate/datacenters", false, {"GET"}, HandleCoordinateDatacenters},
      {"/v1/coordinate/nodes", false, {"GET"}, HandleCoordinateNodes},
      {"/v1/coordinate/node/", true, {"GET"}, HandleCoordinateNode},
      {"/v1/health/service/", true, {"GET"}, HandleHealthService},
      {"/v1/health/checks/", true, {"GET"}, HandleHealthChecks},
      {"/v1/health/node/", true, {"GET"}, HandleHealthNode},
      {"/v1/health/state/", true, {"GET"}, HandleHealthState},
      {"/v1/watch", false, {"GET"}, HandleWatch},
      {"/v1/status/leader", false, {"GET"}, HandleStatusLeader},
      {"/v1/status/peers", false, {"GET"}, HandleStatusPeers},
      {"/v1/operator/raft/configuration", false, {"GET"}, HandleRaftConfiguration},
      {"/v1/operator/raft/peer", false, {"DELETE"}, HandleRaftPeerDelete},
      {"/v1/agent/self", false, {"GET"}, HandleAgentSelf},
      {"/v1/agent/members", false, {"GET"}, HandleMembers},
      // GET too: Debian's python3-consul sends it (see AgentRoutes()).
      {"/v1/agent/force-leave/", true, {"PUT", "GET"}, HandleAgentForceLeave},
      {"/v1/internal/node/heartbeat", false, {"PUT"}, HandleNodeHeartbeat},
      {"/v1/internal/node/leave", false, {"PUT"}, HandleNodeLeave},
      {"/v1/internal/members", false, {"GET"}, HandleMembers},
      {"/", false, {"GET"}, HandleIndex},
  };
  return routes;
}

// The endpoints a LocalAgent serves. Old clients (Debian's python3-consul) send GET to
// the register, deregister and check pass/warn/fail endpoints, so those take GET too
// (DESIGN.md, "Deliberate differences"). More specific prefixes come first.
const std::vector<Route>& AgentRoutes() {
  // One route a line, as in Routes().
  // clang-format off
  static const std::vector<Route> routes = {
      {"/v1/agent/self", false, {"GET"}, nullptr, HandleLocalAgentSelf},
      {"/v1/agent/members", false, {"GET"}, nullptr, HandleAgentMembers},
      {"/v1/agent/services", false, {"GET"}, nullptr, HandleAgentServices},
      {"/v1/agent/checks", false, {"GET"}, nullptr, HandleAgentChecks},
      {"/v1/agent/service/register", false, {"PUT", "GET"}, nullptr, HandleAgentServiceRegister},
      {"/v1/agent/service/deregister/", true, {"PUT", "GET"}, nullptr, HandleAgentServiceDeregister},
      {"/v1/agent/service/maintenance/", true, {"PUT"}, nullptr, HandleAgentServiceMaintenance},
      {"/v1/agent/service/", true, {"GET"}, nullptr, HandleAgentService},
      {"/v1/agent/check/register", false, {"PUT", "GET"}, nullptr, HandleAgentCheckRegister},
      {"/v1/agent/check/deregister/", true, {"PUT", "GET"}, nullptr, HandleAgentCheckDeregister},
      {"/v1/agent/check/pass/", true, {"PUT", "GET"}, nullptr, HandleAgentCheckPass},
      {"/v1/agent/check/warn/", true, {"PUT", "GET"}, nullptr, HandleAgentCheckWarn},
      {"/v1/agent/check/fail/", true, {"PUT", "GET"}, nullptr, HandleAgentCheckFail},
      {"/v1/agent/check/update/", true, {"PUT"}, nullptr, HandleAgentCheckUpdate},
      {"/v1/agent/maintenance", false, {"PUT"}, nullptr, HandleAgentNodeMaintenance},
      {"/v1/agent/health/service/id/", true, {"GET"}, nullptr, HandleAgentHealthServiceById},
      {"/v1/agent/health/service/name/", true, {"GET"}, nullptr, HandleAgentHealthServiceByName},
      {"/v1/agent/leave", false, {"PUT"}, nullptr, HandleAgentLeave},
      {"/v1/agent/reload", false, {"PUT"}, nullptr, HandleAgentReload},
  };
  // clang-format on
  return routes;
}

const Route* FindRoute(const std::vector<Route>& routes, std::string_view path) {
  for (const Route& route : routes) {
    if (route.prefix ? path.starts_with(route.path) : path == route.path) return &route;
  }
  return nullptr;
}

// Consul's Allow header: OPTIONS first, then the route's methods, comma-separated.
std::string AllowHeader(const Route& route) {
  std::string allow = "OPTIONS";
  for (std::string_view method : route.methods) allow += "," + std::string(method);
  return allow;
}

Reply MethodReply(const Route& route, const std::string& method) {
  if (method == "OPTIONS") {
    Reply reply = EmptyReply(200);
    reply.headers = {{"Allow", AllowHeader(route)}};
    return reply;
  }
  Reply reply = TextReply(405, "method " + method + " not allowed");
  reply.headers = {{"Allow", AllowHeader(route)}};
  return reply;
}

bool Allows(const Route& route, std::string_view method) {
  for (std::string_view allowed : route.methods) {
    if (allowed == method) return true;
  }
  return false;
}

// What an exception escaping a handler means for the client.
Reply ExceptionReply(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const nlohmann::json::parse_error& e) {
    return TextReply(400, std::string("Request decode failed: ") + e.what());
  } catch (const nlohmann::json::exception& e) {
    return TextReply(500, std::string("Internal error while encoding JSON: ") + e.what());
  } catch (const std::bad_alloc&) {
    return TextReply(500, "The server ran out of memory serving this request; retry later");
  } catch (const std::exception& e) {
    return TextReply(500, std::string("Internal error: ") + e.what());
  } catch (...) {
    return TextReply(500, "Internal error");
  }
}

// What `produce` replies, an escaping exception turned into its reply; a 5xx is logged
// (a parked reply is logged, if at all, when the loop answers it).
template <typename Produce>
Reply Guarded(std::string_view method, std::string_view target, Produce produce) {
  Reply reply;
  try {
    reply = produce();
  } catch (...) {
    reply = ExceptionReply(std::current_exception());
  }
  if (!reply.parked() && reply.status >= 500) {
    LOG(WARNING) << "HTTP " << method << " " << target << " -> " << reply.status << ": "
                 << reply.body;
  }
  return reply;
}

// Bodies for the errors httplib answers by itself, before any handler runs.
std::string TransportErrorMessage(int status, const HttpOptions& options) {
  switch (status) {
    case 400:
      return "Malformed HTTP request";
    case 413:
      return "Request body too large: the limit is " +
             std::to_string(options.request_body_bytes_max) + " bytes";
    case 414:
      return "Request URI too long";
    default:
      return "HTTP error " + std::to_string(status);
  }
}

void WriteReply(const Reply& reply, httplib::Response& response) {
  response.status = reply.status;
  for (const auto& [name, value] : reply.headers) response.set_header(name, value);
  if (std::shared_ptr<BodyStream> stream = reply.streamed_body) {
    // Written chunk by chunk by this worker thread as the pieces come. A client that
    // hung up is noticed when a write fails, a piece or two later (a watch stream sends
    // one at least every 10 s); the stream is cancelled however the reply ends.
    response.set_chunked_content_provider(
        reply.content_type,
        [stream](std::size_t, httplib::DataSink& sink) {
          std::string piece;
          while (stream->Next(&piece)) {
            if (!sink.write(piece.data(), piece.size())) return false;
          }
          sink.done();
          return true;
        },
        [stream](bool) { stream->Cancel(); });
    return;
  }
  if (!reply.content_type.empty()) {
    response.set_content(reply.body, reply.content_type);
  }
}

// The request headers a server needs to answer as it would have answered the client:
// the token, the content negotiation, a watch stream's Last-Event-ID, and Consul's own
// (X-Consul-Token, -Namespace, ...).
// httplib's pseudo-headers (REMOTE_ADDR, ...) and hop-by-hop headers stay behind.
std::vector<std::pair<std::string, std::string>> ForwardedHeaders(const httplib::Request& request) {
  static constexpr std::string_view kPassed[] = {"Authorization", "Accept", "Cache-Control",
                                                 "Content-Type", "Last-Event-ID"};
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : request.headers) {
    bool passed = StartsWithIgnoringCase(name, "X-Consul-");
    for (std::string_view wanted : kPassed) passed = passed || EqualsIgnoringCase(name, wanted);
    if (passed) headers.emplace_back(name, value);
  }
  return headers;
}

// A server's reply as this server's own: its status, body and headers, minus what
// describes the upstream connection (httplib frames the reply to the client itself).
Reply ReplyFromForward(ForwardReply forwarded) {
  static constexpr std::string_view kHopByHop[] = {"Connection", "Content-Length", "Keep-Alive",
                                                   "Transfer-Encoding"};
  Reply reply = EmptyReply(forwarded.status);
  for (auto& [name, value] : forwarded.headers) {
    bool hop = false;
    for (std::string_view skipped : kHopByHop) hop = hop || EqualsIgnoringCase(name, skipped);
    if (hop) continue;
    if (EqualsIgnoringCase(name, "Content-Type")) {
      reply.content_type = std::move(value);
    } else {
      reply.headers.emplace_back(std::move(name), std::move(value));
    }
  }
  // A body needs a Content-Type to be written; a server's replies always carry one.
  if (!forwarded.body.empty() && reply.content_type.empty()) {
    reply.content_type = kTextContentType;
  }
  reply.body = std::move(forwarded.body);
  reply.streamed_body = std::move(forwarded.body_stream);
  return reply;
}

}  // namespace

Reply JsonReply(const Json& value, bool pretty) {
  Reply reply = EmptyReply(200);
  reply.content_type = kJsonContentType;
  reply.body = RenderJson(value, pretty);
  return reply;
}

Reply TextReply(int status, std::string text) {
  Reply reply = EmptyReply(status);
  reply.content_type = kTextContentType;
  reply.body = std::move(text);
  return reply;
}

Reply EmptyReply(int status) {
  Reply reply;
  reply.status = status;
  return reply;
}

Reply StatusReply(const Status& status) {
  const std::string& message = status.message();
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return TextReply(400, message);
    case StatusCode::kIoError:
      return TextReply(500, "The server could not make the write durable (I/O error: " + message +
                                "); check its data disk and its log, then retry");
    case StatusCode::kResourceExhausted:
      return TextReply(500, "The server is refusing writes: " + message +
                                "; free space on its data disk (GET /v1/agent/self shows "
                                "Roster.WriteBlockedReason), then retry");
    default:
      // Unavailable ("No cluster leader"), NotFound and the rest: Consul answers RPC
      // errors with 500 and the error's text.
      return TextReply(500, message.empty() ? std::string(StatusCodeName(status.code())) : message);
  }
}

std::optional<Reply> CheckDatacenter(const HandlerContext& context, const Query& query) {
  std::optional<std::string_view> dc = query.Get("dc");
  if (!dc.has_value() || dc->empty() || *dc == context.options.datacenter) return std::nullopt;
  return TextReply(500, "No path to datacenter");
}

void AddReadHeaders(const ReadMeta& meta, store::Index index, Reply& reply) {
  // An index of 0 would make a client's next ?index=0 return at once, forever.
  reply.headers.emplace_back("X-Consul-Index", std::to_string(index == 0 ? 1 : index));
  reply.headers.emplace_back("X-Consul-KnownLeader", meta.known_leader ? "true" : "false");
  reply.headers.emplace_back("X-Consul-LastContact",
                             std::to_string(meta.last_contact_ms < 0 ? 0 : meta.last_contact_ms));
  const char* consistency = meta.effective == Consistency::kStale        ? "stale"
                            : meta.effective == Consistency::kConsistent ? "consistent"
                                                                         : "leader";
  reply.headers.emplace_back("X-Consul-Effective-Consistency", consistency);
}

class HttpServer::Impl {
 public:
  Impl(HttpServices services, HttpOptions options)
      : backend_(services.backend),
        agent_(services.agent),
        forwarder_(services.forwarder),
        options_(std::move(options)) {
    CHECK((backend_ == nullptr) != (forwarder_ == nullptr))
        << "an HttpServer serves a Backend or forwards, exactly one of the two";
  }
  ~Impl() { Stop(); }

  Status Start();
  int port() const { return port_; }
  void Stop();

 private:
  void RegisterHandlers();
  void Serve(const httplib::Request& request, httplib::Response& response);
  Reply Dispatch(const httplib::Request& request);
  // Routes a request to its handler (a server's or the local agent's). REQUIRES: the
  // request is not forwarded (backend_ is set or the agent serves the path).
  Reply RouteRequest(const std::string& method, std::string_view raw_target,
                     const std::string& body,
                     const std::function<std::string(const char*)>& header);
  // A request the event loop read itself (Listener::DirectHandler).
  Reply ServeDirect(std::string_view raw_target,
                    const std::function<std::string(const char*)>& header);
  Reply Forward(const httplib::Request& request, const std::string& path);
  bool WaitUntilListening();

  Backend* const backend_;      // null in an agent process
  LocalAgent* const agent_;     // null: no /v1/agent/* beyond self
  Forwarder* const forwarder_;  // set exactly when backend_ is null
  const HttpOptions options_;
  std::stop_source stop_;
  std::unique_ptr<Listener> listener_;
  std::thread listen_thread_;
  std::atomic<bool> listen_returned_{false};
  int port_ = -1;
};

Status HttpServer::Impl::Start() {
  if (listener_ != nullptr) return FailedPrecondition("the HTTP server is already started");
  stop_ = std::stop_source();
  listener_ = std::make_unique<Listener>(options_);
  RegisterHandlers();
  if (backend_ != nullptr) {
    listener_->set_direct_handler(
        [this](std::string_view target, const std::function<std::string(const char*)>& header) {
          return ServeDirect(target, header);
        });
  }
  const int bound = listener_->Bind(options_.bind_address, options_.port);
  if (bound < 0) {
    const std::string reason = std::strerror(errno);
    listener_.reset();
    return IoError("cannot listen for HTTP on " + options_.bind_address + ":" +
                   std::to_string(options_.port) + ": " + reason);
  }
  port_ = bound;
  listen_returned_ = false;
  listen_thread_ = std::thread([this] {
    listener_->listen_after_bind();
    listen_returned_ = true;
  });
  if (!WaitUntilListening()) {
    Stop();
    return Internal("the HTTP accept loop did not start");
  }
  LOG(INFO) << "HTTP API listening on " << options_.bind_address << ":" << port_;
  return Status::Ok();
}

// httplib's stop() only works once its accept loop runs; Stop() must not race it.
bool HttpServer::Impl::WaitUntilListening() {
  while (!listener_->is_running()) {
    if (listen_returned_) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void HttpServer::Impl::Stop() {
  if (listener_ == nullptr) return;
  stop_.request_stop();     // parked blocking queries answer
  listener_->SignalStop();  // idle keep-alive connections close
  listener_->stop();        // the accept loop ends, then joins every worker
  listen_thread_.join();
  listener_.reset();
  port_ = -1;
}

void HttpServer::Impl::RegisterHandlers() {
  // Every request reaches Serve: Roster routes on the request target itself (see
  // kRouteServe in connection.h). Registering per method makes httplib read the body
  // (bounded by request_body_bytes_max) before the handler runs.
  const httplib::Server::Handler serve = [this](const httplib::Request& request,
                                                httplib::Response& response) {
    Serve(request, response);
  };
  listener_->Get(".*", serve);  // and HEAD
  listener_->Put(".*", serve);
  listener_->Post(".*", serve);
  listener_->Patch(".*", serve);
  listener_->Delete(".*", serve);
  listener_->Options(".*", serve);
  listener_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
        WriteReply(ExceptionReply(error), response);
      });
  // httplib calls this for every status >= 400, handlers' too: fill in only the empty
  // bodies of errors httplib produced itself. A KV miss is an empty 404 on purpose.
  const HttpOptions& options = options_;
  listener_->set_error_handler(httplib::Server::HandlerWithResponse(
      [&options](const httplib::Request&, httplib::Response& response) {
        if (!response.body.empty() || response.status == 404) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        response.set_content(TransportErrorMessage(response.status, options), kTextContentType);
        return httplib::Server::HandlerResponse::Handled;
      }));
}

void HttpServer::Impl::Serve(const httplib::Request& request, httplib::Response& response) {
  Reply reply = Guarded(request.method, request.target, [&] { return Dispatch(request); });
  if (reply.parked_stream != nullptr && request.method == "HEAD") {
    reply.parked_stream.reset();  // a HEAD reply has no body: the stream's head only
  }
  if (reply.parked()) {
    // The event loop writes the reply once it is ready; httplib writes nothing.
    if (ParkCurrentRequest(std::move(reply), request.method == "HEAD")) return;
    LOG(ERROR) << "HTTP " << request.method << " " << request.target
               << ": a parked reply outside a connection";
    reply = TextReply(500, "Internal error: a parked reply outside a connection");
  }
  WriteReply(reply, response);
}

Reply HttpServer::Impl::Dispatch(const httplib::Request& request) {
  if (request.path == kRouteTooManyConnections) {
    return TextReply(429,
                     "Your IP is issuing too many concurrent connections, please rate limit your "
                     "calls\n");
  }
  if (backend_ == nullptr) {
    Result<Target> target = ParseTarget(request.target);
    if (!target.ok()) return StatusReply(target.status());
    if (agent_ == nullptr || FindRoute(AgentRoutes(), target->path) == nullptr) {
      return Forward(request, target->path);
    }
  }
  return RouteRequest(request.method, request.target, request.body,
                      [&request](const char* name) { return request.get_header_value(name); });
}

Reply HttpServer::Impl::RouteRequest(const std::string& request_method, std::string_view raw_target,
                                     const std::string& body,
                                     const std::function<std::string(const char*)>& header) {
  Result<Target> target = ParseTarget(raw_target);
  if (!target.ok()) return StatusReply(target.status());
  const std::string method = request_method == "HEAD" ? "GET" : request_method;
  const Route* agent_route = agent_ == nullptr ? nullptr : FindRoute(AgentRoutes(), target->path);
  const Route* route = agent_route != nullptr ? agent_route : FindRoute(Routes(), target->path);
  if (route == nullptr) return TextReply(404, "Unknown path " + target->path);
  if (method == "OPTIONS" || !Allows(*route, method)) return MethodReply(*route, method);
  const ApiRequest api{method, std::move(target->path), std::move(target->query), body, header};
  if (agent_route != nullptr) {
    const AgentHandlerContext context{*agent_, backend_, options_, stop_.get_token()};
    return route->agent_handler(context, api);
  }
  const HandlerContext context{*backend_, options_, stop_.get_token(),
                               [&api] { return ReadKey(api.path, api.query); }};
  return route->handler(context, api);
}

Reply HttpServer::Impl::ServeDirect(std::string_view raw_target,
                                    const std::function<std::string(const char*)>& header) {
  static const std::string kNoBody;
  return Guarded("GET", raw_target,
                 [&] { return RouteRequest("GET", raw_target, kNoBody, header); });
}

// An agent process: every /v1/ request the agent does not serve goes to a server as it
// came (docs/design/http.md, "Forwarding").
Reply HttpServer::Impl::Forward(const httplib::Request& request, const std::string& path) {
  if (path == "/") return TextReply(200, "Roster Agent");
  if (!path.starts_with("/v1/")) return TextReply(404, "Unknown path " + path);
  ForwardRequest forward{request.method, request.target, request.body, ForwardedHeaders(request),
                         stop_.get_token()};
  Result<ForwardReply> reply = forwarder_->Forward(forward);
  if (reply.ok()) return ReplyFromForward(std::move(*reply));
  if (reply.status().code() == StatusCode::kUnavailable) {
    // Consul's agent says "No known Consul servers" (structs.ErrNoServers) when it has
    // no server to send a request to; clients match that text.
    const std::string& why = reply.status().message();
    return TextReply(500,
                     why.empty() ? "No known Consul servers" : "No known Consul servers: " + why);
  }
  return StatusReply(reply.status());
}

HttpServer::HttpServer(HttpServices services, HttpOptions options)
    : impl_(std::make_unique<Impl>(services, std::move(options))) {}

HttpServer::HttpServer(Backend& backend, HttpOptions options)
    : HttpServer(HttpServices{&backend, nullptr, nullptr}, std::move(options)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Start() { return impl_->Start(); }

int HttpServer::port() const { return impl_->port(); }

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace roster::http
