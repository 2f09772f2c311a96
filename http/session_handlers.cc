// /v1/session/* (consul-api.md §1.6, §3; Consul's agent/session_endpoint.go). Create
// and destroy are store commands through Raft; renew goes to the leader's TTL timers
// (Backend::RenewSession, no log entry); info, node and list are blocking queries
// whose index is the sessions table's, as in Consul.
#include <string>
#include <utility>
#include <vector>

#include "http/blocking.h"
#include "http/handlers.h"
#include "http/session_params.h"
#include "store/command.h"

namespace roster::http {
namespace {

constexpr std::string_view kDestroyPrefix = "/v1/session/destroy/";
constexpr std::string_view kRenewPrefix = "/v1/session/renew/";
constexpr std::string_view kInfoPrefix = "/v1/session/info/";
constexpr std::string_view kNodePrefix = "/v1/session/node/";

Reply MissingSession() { return TextReply(400, "Missing session"); }

// A blocking read of sessions: `select` picks them from the table, which it watches
// through `watch_key`. Answers [] rather than null, like Consul.
Reply ReadSessions(
    const HandlerContext& context, const ApiRequest& request, store::WatchKey watch_key,
    const std::function<std::vector<store::Session>(const store::SessionTable&)>& select) {
  Result<ReadOptions> options = ParseReadOptions(request.query);
  if (!options.ok()) return StatusReply(options.status());
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  auto sessions = std::make_shared<std::vector<store::Session>>();
  BlockingRead read;
  read.consistency = options->consistency;
  read.blocking = options->blocking;
  read.watch_keys = {std::move(watch_key)};
  read.run = [sessions, select](const store::Store& store) {
    *sessions = select(store.sessions());
    return store.sessions().TableIndex();
  };
  read.render = [sessions, pretty = options->pretty] {
    return JsonReply(SessionsJson(*sessions), pretty);
  };
  return ServeRead(context, std::move(read));
}

}  // namespace

Reply HandleSessionCreate(const HandlerContext& context, const ApiRequest& request) {
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  SessionCreateRules rules;
  rules.default_node = context.backend.Self().node_name;
  rules.ttl_min = context.options.session_ttl_min_ms;
  rules.ttl_max = context.options.session_ttl_max_ms;
  Result<store::Session> session = ParseSessionCreate(request.body, rules);
  if (!session.ok()) return StatusReply(session.status());
  session->id = NewSessionId();
  const std::string id = session->id;
  Result<WriteOutcome> outcome =
      context.backend.Apply(store::Encode(store::SessionCreate{std::move(*session)}));
  // A missing node or check, or a critical check: the store's text, Consul's 500.
  if (!outcome.ok()) return StatusReply(outcome.status());
  Json reply = Json::object();
  reply["ID"] = id;
  return JsonReply(reply, request.query.Has("pretty"));
}

Reply HandleSessionDestroy(const HandlerContext& context, const ApiRequest& request) {
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  std::string id = request.path.substr(kDestroyPrefix.size());
  if (id.empty()) return MissingSession();
  // A session that is already gone is not an error, as in Consul.
  Result<WriteOutcome> outcome =
      context.backend.Apply(store::Encode(store::SessionDestroy{std::move(id)}));
  if (!outcome.ok()) return StatusReply(outcome.status());
  return JsonReply(Json(true), request.query.Has("pretty"));
}

Reply HandleSessionRenew(const HandlerContext& context, const ApiRequest& request) {
  Result<ReadOptions> options = ParseReadOptions(request.query);  // Consul parses them too
  if (!options.ok()) return StatusReply(options.status());
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  const std::string id = request.path.substr(kRenewPrefix.size());
  if (id.empty()) return MissingSession();
  Result<store::Session> session = context.backend.RenewSession(id);
  if (!session.ok()) {
    if (session.status().code() == StatusCode::kNotFound) {
      return TextReply(404, "Session id '" + id + "' not found");
    }
    return StatusReply(session.status());
  }
  return JsonReply(SessionsJson({*session}), options->pretty);
}

Reply HandleSessionInfo(const HandlerContext& context, const ApiRequest& request) {
  const std::string id = request.path.substr(kInfoPrefix.size());
  if (id.empty()) return MissingSession();
  return ReadSessions(context, request, store::WatchKey::Key(store::Table::kSessions, id),
                      [id](const store::SessionTable& table) {
                        std::vector<store::Session> found;
                        if (const store::Session* session = table.Find(id)) {
                          found.push_back(*session);
                        }
                        return found;
                      });
}

Reply HandleSessionNode(const HandlerContext& context, const ApiRequest& request) {
  const std::string node = request.path.substr(kNodePrefix.size());
  if (node.empty()) return TextReply(400, "Missing node name");
  // Session watch keys are session ids, so a node's sessions watch the whole table.
  return ReadSessions(context, request, store::WatchKey::WholeTable(store::Table::kSessions),
                      [node](const store::SessionTable& table) { return table.ForNode(node); });
}

Reply HandleSessionList(const HandlerContext& context, const ApiRequest& request) {
  return ReadSessions(context, request, store::WatchKey::WholeTable(store::Table::kSessions),
                      [](const store::SessionTable& table) { return table.List(); });
}

}  // namespace roster::http
