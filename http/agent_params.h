// Agent request parsing (consul-api.md §1.1, §4.1): the bodies of
// PUT /v1/agent/service/register (Consul's ServiceDefinition), /v1/agent/check/register
// (CheckDefinition) and /v1/agent/check/update/:id, and the query parameters of the
// maintenance and agent health endpoints.
//
// As Consul's agent/agent_endpoint.go does it:
//  - bodies decode like encoding/json (names match without regard to case, unknown
//    fields are ignored), and the check fields also take Consul's snake_case spellings
//    (check_id, service_id, script_args, args, tls_skip_verify, tls_server_name,
//    deregister_critical_service_after, success_before_passing,
//    failures_before_critical; and enable_tag_override on a service). A body that does
//    not decode is 400 "Request decode failed: <why>";
//  - durations (Interval, Timeout, TTL, DeregisterCriticalServiceAfter) are Go duration
//    strings or numbers of nanoseconds; an Interval under 10ms is raised to 10ms, as
//    Consul's check runners do (checks.MinInterval);
//  - service: 400 "Missing service name", "Invalid service address" (0.0.0.0, ::),
//    "Invalid Weights: ...", "Invalid Service Meta: ...", then for each check (an empty
//    Check object is skipped, as in Consul) "Invalid check: <CheckType.Validate's
//    text>", then "Status for checks must 'passing', 'warning', 'critical'";
//  - check: 400 "Missing check name", "Bad check status", "Invalid check: ...";
//  - a check must be exactly one of TTL, HTTP, TCP or Args (Roster refuses a check that
//    sets several, where Consul silently picks one: "Invalid check: only one of TTL,
//    HTTP, TCP or Args may be set"); HTTP, TCP and Args need an Interval;
//  - what Roster cannot store is 400 as in catalog registration: a service Kind, a port
//    outside 0-65535, a negative duration or flap-damping count.
// Defaults filled in here, as Consul's handler and AddService do: a service's ID is its
// Name; a standalone check's ID is its Name; a service's checks are
// "service:<id>" (or "service:<id>:<n>", n from 1, when there are several) named
// "Service '<name>' check", and carry the service's id; a check starts critical unless
// Status says otherwise; check.type is "ttl", "http", "tcp" or "script".
//
// Pure: no LocalAgent or httplib, so tests and a fuzzer can drive it directly.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "http/local_agent.h"
#include "http/params.h"
#include "store/catalog.h"

namespace roster::http {

// PUT /v1/agent/service/register?replace-existing-checks. Errors are InvalidArgument
// (400) with Consul's texts.
Result<AgentServiceRegistration> ParseAgentServiceRegister(std::string_view body,
                                                           const Query& query);

// PUT /v1/agent/check/register. check.service_id is left for the agent to resolve (it
// answers NotFound for a service it does not have).
Result<AgentCheck> ParseAgentCheckRegister(std::string_view body);

// PUT /v1/agent/check/update/:id: {"Status": "passing|warning|critical", "Output": "..."}.
// Any other status is 400 "Invalid check status: '<status>'".
struct AgentCheckUpdate {
  store::HealthStatus status = store::HealthStatus::kCritical;
  std::string output;
};
Result<AgentCheckUpdate> ParseAgentCheckUpdate(std::string_view body);

// ?enable=<Go bool>&reason= of the maintenance endpoints. 400 "Missing value for
// enable" or "Invalid value for enable: \"<value>\"".
struct MaintenanceRequest {
  bool enable = false;
  std::string reason;
};
Result<MaintenanceRequest> ParseMaintenance(const Query& query);

// The agent health endpoints answer with just the status word when ?format=text is
// given or the Accept header starts with text/plain (Consul's returnTextPlain).
bool WantsPlainText(const Query& query, std::string_view accept_header);

}  // namespace roster::http
