// The JSON the agent sends to and reads from the servers (consul-api.md §1.2, §1.3 and
// the internal liveness endpoints), built and read with http/'s mappings so that the
// agent and the servers agree on every field: catalog/register and deregister bodies,
// the heartbeat and leave bodies, and the replies of catalog/node-services, health/node
// and internal/members. nlohmann/json stays behind this file (DESIGN.md).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "http/local_agent.h"
#include "store/catalog.h"

namespace roster::agent {

// Who this agent is in the catalog.
struct NodeIdentity {
  std::string name;
  std::string id;  // UUID
  std::string address;
  std::string datacenter = "dc1";
  store::StringMap meta;
  store::StringMap tagged_addresses;  // store::AgentTaggedAddresses(address)
  // A server's agent: the server registers its own node record (with this agent's
  // UUID, NodeOptions::node_uuid), so the agent's registrations say SkipNodeUpdate and
  // leave the record alone.
  bool node_owned_by_server = false;
};

// PUT /v1/catalog/register: the node, optionally a service, and checks.
std::string RegisterBody(const NodeIdentity& node, const store::NodeService* service,
                         const std::vector<store::HealthCheck>& checks);
// PUT /v1/catalog/deregister: a service (service_id set) or a check (check_id set).
std::string DeregisterBody(const std::string& node, const std::string& service_id,
                           const std::string& check_id);
// PUT /v1/internal/node/heartbeat: {"Node","ID","Address","Meta"}.
std::string HeartbeatBody(const NodeIdentity& node);
// PUT /v1/internal/node/leave: {"Node"}.
std::string LeaveBody(const std::string& node);

// What the catalog holds for this node.
struct RemoteNode {
  std::optional<store::Node> node;  // nullopt: the catalog does not know the node
  std::vector<store::NodeService> services;
  std::vector<store::HealthCheck> checks;
};
// GET /v1/catalog/node-services/<node> ({"Node": ..., "Services": [...]}, nulls for an
// unknown node) into node and services.
Status ParseNodeServices(std::string_view body, const std::string& node, RemoteNode* out);
// GET /v1/health/node/<node> ([HealthCheck...]) into checks.
Status ParseNodeChecks(std::string_view body, const std::string& node, RemoteNode* out);
// GET /v1/internal/members: [{Name, Addr, Port, Tags, Status, ...}].
Result<std::vector<http::AgentMember>> ParseMembers(std::string_view body);
// {"FailureTimeout": "10s"} of the heartbeat reply, in ms; nullopt when absent.
std::optional<std::int64_t> ParseFailureTimeoutMs(std::string_view body);

}  // namespace roster::agent
