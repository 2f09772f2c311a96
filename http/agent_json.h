// The JSON shapes of the agent endpoints (consul-api.md §1.1), field for field as
// Consul's api package writes them: AgentService, the maps of GET /v1/agent/services
// and /v1/agent/checks, serf's Member, AgentServiceChecksInfo, and /v1/agent/self as
// the agent sees itself. HealthCheck and the values inside AgentService (tags, tagged
// addresses, weights, meta) come from catalog_json.h, so the agent and the catalog show
// the same check and service the same way.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "http/backend.h"
#include "http/json_mapping.h"
#include "http/local_agent.h"
#include "store/catalog.h"

namespace roster::http {

// {ID, Service, Tags, Meta, Port, Address, TaggedAddresses?, Weights, EnableTagOverride,
//  CreateIndex?, ModifyIndex?, Datacenter}: `?` fields are left out when empty or 0, as
// Consul's omitempty does.
Json AgentServiceJson(const store::NodeService& service, const std::string& datacenter);
// {"<service id>": AgentService, ...}
Json AgentServicesJson(const std::vector<store::NodeService>& services,
                       const std::string& datacenter);
// {"<check id>": HealthCheck, ...}; each check's ServiceTags are its service's tags.
Json AgentChecksJson(const std::vector<store::HealthCheck>& checks,
                     const std::vector<store::NodeService>& services);

// serf's Member: {Name, Addr, Port, Tags, Status, ProtocolMin, ProtocolMax, ProtocolCur,
// DelegateMin, DelegateMax, DelegateCur}, with the protocol numbers Consul 1.x shows.
Json AgentMemberJson(const AgentMember& member);
Json AgentMembersJson(const std::vector<AgentMember>& members);

// AgentServiceChecksInfo: {AggregatedStatus, Service: AgentService, Checks: [HealthCheck]},
// AggregatedStatus as store/health.h sums the checks up.
Json AgentServiceHealthJson(const store::NodeService& service,
                            const std::vector<store::HealthCheck>& checks,
                            const std::string& datacenter);

// GET /v1/agent/self when the process has a LocalAgent: Config, Member and Meta from the
// agent; Stats and the Roster section from the server's Backend::Self when the process
// is a server (`server` not null), else Stats with the build and `consul.server` only.
Json LocalAgentSelfJson(const AgentInfo& info, const Backend::SelfInfo* server);

}  // namespace roster::http
