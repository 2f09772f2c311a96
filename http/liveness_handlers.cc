// Node liveness (docs/api.md, "Node liveness"): the Roster-internal endpoints agents
// call, PUT /v1/internal/node/heartbeat and /v1/internal/node/leave, and the member
// list, GET /v1/internal/members (served as /v1/agent/members too by a server without
// a LocalAgent). The Backend does the work (server/node_liveness.cc); this file parses
// and renders.
#include <chrono>
#include <string>
#include <utility>

#include "http/agent_json.h"
#include "http/handlers.h"
#include "http/liveness_params.h"

namespace roster::http {

Reply HandleNodeHeartbeat(const HandlerContext& context, const ApiRequest& request) {
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  Result<NodeHeartbeat> heartbeat = ParseNodeHeartbeat(request.body);
  if (!heartbeat.ok()) return StatusReply(heartbeat.status());
  Result<NodeHeartbeatReply> taken = context.backend.Heartbeat(*heartbeat);
  if (!taken.ok()) return StatusReply(taken.status());
  Json json = Json::object();
  json["FailureTimeout"] =
      FormatGoDuration(std::chrono::milliseconds(taken->failure_timeout_ms));
  return JsonReply(json, request.query.Has("pretty"));
}

Reply HandleNodeLeave(const HandlerContext& context, const ApiRequest& request) {
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  Result<std::string> node = ParseNodeLeave(request.body);
  if (!node.ok()) return StatusReply(node.status());
  const Status left = context.backend.LeaveNode(*node);
  if (!left.ok()) return StatusReply(left);
  return JsonReply(Json(true), request.query.Has("pretty"));
}

// Consul moves a failed member to "left" and the leader deregisters it. Here that is
// the node's graceful leave done on its behalf: the leader stops its timers, lists it as
// left and removes it from the catalog. A node that is in fact alive comes back with
// its next heartbeat, as a Consul agent rejoins. ?prune (Consul: drop it from the
// member list at once) needs nothing more; there is no WAN pool for ?wan.
Reply HandleAgentForceLeave(const HandlerContext& context, const ApiRequest& request) {
  constexpr std::string_view kForceLeavePrefix = "/v1/agent/force-leave/";
  const std::string node = request.path.substr(kForceLeavePrefix.size());
  if (node.empty()) return TextReply(400, "Missing node name");
  if (request.query.Has("wan")) return TextReply(400, "Roster has no WAN pool: drop ?wan");
  const Status left = context.backend.LeaveNode(node);
  if (!left.ok()) return StatusReply(left);
  return TextReply(200, "");
}

Reply HandleMembers(const HandlerContext& context, const ApiRequest& request) {
  Result<std::vector<AgentMember>> members = context.backend.Members();
  if (!members.ok()) return StatusReply(members.status());
  return JsonReply(AgentMembersJson(*members), request.query.Has("pretty"));
}

}  // namespace roster::http
