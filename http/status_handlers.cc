// /v1/status/*, /v1/operator/raft/* and /v1/agent/self (consul-api.md §1.1, §1.7):
// what the cluster looks like, from this server's point of view.
#include <string>

#include "http/handlers.h"

namespace roster::http {

Reply HandleStatusLeader(const HandlerContext& context, const ApiRequest& request) {
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  // "host:port" of the leader's server port, or "" while there is none.
  return JsonReply(Json(context.backend.LeaderAddress()), request.query.Has("pretty"));
}

Reply HandleStatusPeers(const HandlerContext& context, const ApiRequest& request) {
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  return JsonReply(StringListJson(context.backend.PeerAddresses()), request.query.Has("pretty"));
}

Reply HandleRaftConfiguration(const HandlerContext& context, const ApiRequest& request) {
  Result<Consistency> consistency = ParseConsistency(request.query);
  if (!consistency.ok()) return StatusReply(consistency.status());
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  // Without ?stale this needs a leader; the backend says "No cluster leader" if none.
  Result<RaftConfiguration> configuration = context.backend.GetRaftConfiguration(*consistency);
  if (!configuration.ok()) return StatusReply(configuration.status());
  return JsonReply(RaftConfigurationJson(*configuration), request.query.Has("pretty"));
}

// DELETE /v1/operator/raft/peer?id=<id> or ?address=<ip:port>. Answers 200 with an
// empty body, like Consul.
Reply HandleRaftPeerDelete(const HandlerContext& context, const ApiRequest& request) {
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  const bool has_id = request.query.Has("id");
  const bool has_address = request.query.Has("address");
  if (!has_id && !has_address) {
    return TextReply(400,
                     "Must specify either ?id with the server's ID or ?address with IP:port of "
                     "peer to remove");
  }
  if (has_id && has_address) return TextReply(400, "Must specify only one of ?id or ?address");
  const Status removed =
      context.backend.RemovePeer(std::string(request.query.Get("id").value_or("")),
                                 std::string(request.query.Get("address").value_or("")));
  if (!removed.ok()) return StatusReply(removed);
  return EmptyReply(200);
}

Reply HandleAgentSelf(const HandlerContext& context, const ApiRequest& request) {
  return JsonReply(AgentSelfJson(context.backend.Self(), context.options.datacenter),
                   request.query.Has("pretty"));
}

}  // namespace roster::http
