// Internal to http/: the /v1/agent/* endpoints a process with a LocalAgent serves
// itself (consul-api.md §1.1, §4; docs/api.md "Agent"). The router (server.cc) calls
// them when HttpServices::agent is set; without an agent, /v1/agent/self is answered
// from the Backend (status_handlers.cc) and the rest are unknown paths, as before.
// Thread-safety: handlers run concurrently on HTTP worker threads; the LocalAgent is
// thread-safe by contract.
#pragma once

#include <stop_token>

#include "http/backend.h"
#include "http/handlers.h"
#include "http/local_agent.h"
#include "http/options.h"

namespace roster::http {

struct AgentHandlerContext {
  LocalAgent& agent;
  Backend* backend;  // the server's replica; null in an agent process
  const HttpOptions& options;
  std::stop_token stop;
};

using AgentHandlerFunction = Reply (*)(const AgentHandlerContext&, const ApiRequest&);

// GET /v1/agent/self, /members, /services, /service/:id, /checks.
Reply HandleLocalAgentSelf(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentMembers(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentServices(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentService(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentChecks(const AgentHandlerContext& context, const ApiRequest& request);

// Registrations: 200 with an empty body, as Consul.
Reply HandleAgentServiceRegister(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentServiceDeregister(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentCheckRegister(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentCheckDeregister(const AgentHandlerContext& context, const ApiRequest& request);

// TTL checks: check/pass|warn|fail/:id?note= and check/update/:id.
Reply HandleAgentCheckPass(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentCheckWarn(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentCheckFail(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentCheckUpdate(const AgentHandlerContext& context, const ApiRequest& request);

// PUT /v1/agent/maintenance and /v1/agent/service/maintenance/:id.
Reply HandleAgentNodeMaintenance(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentServiceMaintenance(const AgentHandlerContext& context, const ApiRequest& request);

// GET /v1/agent/health/service/id/:id and /name/:name: 200 passing, 429 warning, 503
// critical or maintenance, 404 unknown.
Reply HandleAgentHealthServiceById(const AgentHandlerContext& context, const ApiRequest& request);
Reply HandleAgentHealthServiceByName(const AgentHandlerContext& context, const ApiRequest& request);

// PUT /v1/agent/leave.
Reply HandleAgentLeave(const AgentHandlerContext& context, const ApiRequest& request);
// PUT /v1/agent/reload: 200, or 500 with why the -config-dir could not be applied.
Reply HandleAgentReload(const AgentHandlerContext& context, const ApiRequest& request);

}  // namespace roster::http
