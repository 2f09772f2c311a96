// /v1/agent/* (consul-api.md §1.1, §4; Consul's agent/agent_endpoint.go): the agent's
// own services and checks, parsed and validated here (agent_params.h), kept and run by
// the LocalAgent. A request refused here never reaches the agent.
#include "http/agent_handlers.h"

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/agent_json.h"
#include "http/agent_params.h"
#include "http/blocking.h"
#include "http/handlers.h"
#include "http/params.h"
#include "http/result_filter.h"
#include "store/health.h"

namespace roster::http {
namespace {

constexpr std::string_view kServicePrefix = "/v1/agent/service/";
constexpr std::string_view kServiceDeregisterPrefix = "/v1/agent/service/deregister/";
constexpr std::string_view kServiceMaintenancePrefix = "/v1/agent/service/maintenance/";
constexpr std::string_view kCheckDeregisterPrefix = "/v1/agent/check/deregister/";
constexpr std::string_view kCheckPassPrefix = "/v1/agent/check/pass/";
constexpr std::string_view kCheckWarnPrefix = "/v1/agent/check/warn/";
constexpr std::string_view kCheckFailPrefix = "/v1/agent/check/fail/";
constexpr std::string_view kCheckUpdatePrefix = "/v1/agent/check/update/";
constexpr std::string_view kHealthByIdPrefix = "/v1/agent/health/service/id/";
constexpr std::string_view kHealthByNamePrefix = "/v1/agent/health/service/name/";

// The resource a prefix route names: what follows the prefix.
std::string Rest(const ApiRequest& request, std::string_view prefix) {
  return request.path.substr(prefix.size());
}

bool Pretty(const ApiRequest& request) { return request.query.Has("pretty"); }

// The agent's answers: NotFound is Consul's 404 here (an unknown service or check id);
// the rest as everywhere else.
Reply AgentStatusReply(const Status& status) {
  if (status.code() == StatusCode::kNotFound) return TextReply(404, status.message());
  return StatusReply(status);
}

Reply EmptyOr(const Status& status) {
  return status.ok() ? EmptyReply(200) : AgentStatusReply(status);
}

// Sets a TTL check. Consul answers an unknown or non-TTL check with a 500 whose text
// clients (spring-cloud-consul, go-kit) match to re-register, so that text is kept.
Reply UpdateTtl(const AgentHandlerContext& context, const std::string& check_id,
                store::HealthStatus status, const std::string& output) {
  if (check_id.empty()) return TextReply(400, "Missing check ID");
  const Status updated = context.agent.UpdateTtlCheck(check_id, status, output);
  if (updated.code() == StatusCode::kNotFound || updated.code() == StatusCode::kInvalidArgument) {
    return TextReply(500, "CheckID " + GoQuote(check_id) + " does not have associated TTL");
  }
  return EmptyOr(updated);
}

Reply CheckStatusPut(const AgentHandlerContext& context, const ApiRequest& request,
                     std::string_view prefix, store::HealthStatus status) {
  return UpdateTtl(context, Rest(request, prefix), status,
                   std::string(request.query.Get("note").value_or("")));
}

// A service's checks as Consul's ChecksForService(id, includeNode=true) gives them: the
// node's checks and the service's own.
std::vector<store::HealthCheck> ChecksOf(const std::vector<store::HealthCheck>& all,
                                         const std::string& service_id) {
  std::vector<store::HealthCheck> checks;
  for (const store::HealthCheck& check : all) {
    if (check.service_id.empty() || check.service_id == service_id) checks.push_back(check);
  }
  return checks;
}

// 200 passing, 429 warning, 503 critical or maintenance (Consul's agentHealthService).
int HealthCode(store::AggregatedStatus aggregated) {
  switch (aggregated) {
    case store::AggregatedStatus::kPassing:
      return 200;
    case store::AggregatedStatus::kWarning:
      return 429;
    default:
      return 503;
  }
}

Reply HealthReply(int code, Json body, std::string_view status, const ApiRequest& request) {
  if (WantsPlainText(request.query, request.header("Accept"))) {
    return TextReply(code, std::string(status));
  }
  Reply reply = JsonReply(body, Pretty(request));
  reply.status = code;
  return reply;
}

}  // namespace

Reply HandleLocalAgentSelf(const AgentHandlerContext& context, const ApiRequest& request) {
  const AgentInfo info = context.agent.Info();
  if (context.backend == nullptr)
    return JsonReply(LocalAgentSelfJson(info, nullptr), Pretty(request));
  const Backend::SelfInfo server = context.backend->Self();
  return JsonReply(LocalAgentSelfJson(info, &server), Pretty(request));
}

Reply HandleAgentMembers(const AgentHandlerContext& context, const ApiRequest& request) {
  Result<ResultFilter> filter = ResultFilter::Parse(request.query);
  if (!filter.ok()) return StatusReply(filter.status());
  Result<std::vector<AgentMember>> members = context.agent.Members();
  if (!members.ok()) return AgentStatusReply(members.status());
  Json list = AgentMembersJson(*members);
  if (Status filtered = filter->Apply(list); !filtered.ok()) return StatusReply(filtered);
  return JsonReply(list, Pretty(request));
}

Reply HandleAgentServices(const AgentHandlerContext& context, const ApiRequest& request) {
  Result<ResultFilter> filter = ResultFilter::Parse(request.query);
  if (!filter.ok()) return StatusReply(filter.status());
  const std::string datacenter = context.agent.Info().datacenter;
  Json map = AgentServicesJson(context.agent.Services(), datacenter);
  if (Status filtered = filter->Apply(map); !filtered.ok()) return StatusReply(filtered);
  return JsonReply(map, Pretty(request));
}

// GET /v1/agent/service/:id, with Consul's hash-based blocking: ?hash=<the
// ContentHash of a reply> waits (up to ?wait, 5 min by default) until the service's
// content hash differs, as Envoy sidecars and other agent watchers ask.
Reply HandleAgentService(const AgentHandlerContext& context, const ApiRequest& request) {
  const std::string id = Rest(request, kServicePrefix);
  Result<BlockingParams> blocking = ParseBlocking(request.query);
  if (!blocking.ok()) return StatusReply(blocking.status());
  const std::string wanted(request.query.Get("hash").value_or(""));
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          EffectiveWait(blocking->wait, BlockingLimitsOf(context.options)));
  while (true) {
    const std::uint64_t seen = context.agent.LocalChanges();
    std::optional<store::NodeService> found;
    for (store::NodeService& service : context.agent.Services()) {
      if (service.id == id) found = std::move(service);
    }
    if (!found.has_value()) return TextReply(404, "unknown service ID: " + id);
    Json json = AgentServiceJson(*found, context.agent.Info().datacenter);
    // Consul's ContentHash: changes whenever the service does. Roster's is a hash of
    // the JSON without it (std::hash: stable within one build, which is all a client
    // comparing it across requests to one agent needs).
    char hash[17];
    std::snprintf(hash, sizeof(hash), "%016zx", std::hash<std::string>()(json.dump()));
    if (wanted.empty() || wanted != hash || std::chrono::steady_clock::now() >= deadline ||
        context.stop.stop_requested()) {
      json["ContentHash"] = hash;
      Reply reply = JsonReply(json, Pretty(request));
      reply.headers.emplace_back("X-Consul-ContentHash", hash);
      return reply;
    }
    context.agent.WaitForLocalChange(seen, deadline, context.stop);
  }
}

Reply HandleAgentChecks(const AgentHandlerContext& context, const ApiRequest& request) {
  Result<ResultFilter> filter = ResultFilter::Parse(request.query);
  if (!filter.ok()) return StatusReply(filter.status());
  Json map = AgentChecksJson(context.agent.Checks(), context.agent.Services());
  if (Status filtered = filter->Apply(map); !filtered.ok()) return StatusReply(filtered);
  return JsonReply(map, Pretty(request));
}

Reply HandleAgentServiceRegister(const AgentHandlerContext& context, const ApiRequest& request) {
  Result<AgentServiceRegistration> registration =
      ParseAgentServiceRegister(request.body, request.query);
  if (!registration.ok()) return StatusReply(registration.status());
  return EmptyOr(context.agent.RegisterService(std::move(*registration)));
}

Reply HandleAgentServiceDeregister(const AgentHandlerContext& context, const ApiRequest& request) {
  const std::string id = Rest(request, kServiceDeregisterPrefix);
  if (id.empty()) return TextReply(400, "Missing service ID");
  return EmptyOr(context.agent.DeregisterService(id));
}

Reply HandleAgentCheckRegister(const AgentHandlerContext& context, const ApiRequest& request) {
  Result<AgentCheck> check = ParseAgentCheckRegister(request.body);
  if (!check.ok()) return StatusReply(check.status());
  return EmptyOr(context.agent.RegisterCheck(std::move(*check)));
}

Reply HandleAgentCheckDeregister(const AgentHandlerContext& context, const ApiRequest& request) {
  const std::string id = Rest(request, kCheckDeregisterPrefix);
  if (id.empty()) return TextReply(400, "Missing check ID");
  return EmptyOr(context.agent.DeregisterCheck(id));
}

Reply HandleAgentCheckPass(const AgentHandlerContext& context, const ApiRequest& request) {
  return CheckStatusPut(context, request, kCheckPassPrefix, store::HealthStatus::kPassing);
}

Reply HandleAgentCheckWarn(const AgentHandlerContext& context, const ApiRequest& request) {
  return CheckStatusPut(context, request, kCheckWarnPrefix, store::HealthStatus::kWarning);
}

Reply HandleAgentCheckFail(const AgentHandlerContext& context, const ApiRequest& request) {
  return CheckStatusPut(context, request, kCheckFailPrefix, store::HealthStatus::kCritical);
}

Reply HandleAgentCheckUpdate(const AgentHandlerContext& context, const ApiRequest& request) {
  Result<AgentCheckUpdate> update = ParseAgentCheckUpdate(request.body);
  if (!update.ok()) return StatusReply(update.status());
  return UpdateTtl(context, Rest(request, kCheckUpdatePrefix), update->status, update->output);
}

Reply HandleAgentNodeMaintenance(const AgentHandlerContext& context, const ApiRequest& request) {
  Result<MaintenanceRequest> maintenance = ParseMaintenance(request.query);
  if (!maintenance.ok()) return StatusReply(maintenance.status());
  return EmptyOr(context.agent.SetNodeMaintenance(maintenance->enable, maintenance->reason));
}

Reply HandleAgentServiceMaintenance(const AgentHandlerContext& context, const ApiRequest& request) {
  const std::string id = Rest(request, kServiceMaintenancePrefix);
  if (id.empty()) return TextReply(400, "Missing service ID");
  Result<MaintenanceRequest> maintenance = ParseMaintenance(request.query);
  if (!maintenance.ok()) return StatusReply(maintenance.status());
  return EmptyOr(context.agent.SetServiceMaintenance(id, maintenance->enable, maintenance->reason));
}

Reply HandleAgentHealthServiceById(const AgentHandlerContext& context, const ApiRequest& request) {
  const std::string id = Rest(request, kHealthByIdPrefix);
  if (id.empty()) return TextReply(400, "Missing serviceID");
  const std::string datacenter = context.agent.Info().datacenter;
  for (const store::NodeService& service : context.agent.Services()) {
    if (service.id != id) continue;
    const std::vector<store::HealthCheck> checks = ChecksOf(context.agent.Checks(), id);
    const store::AggregatedStatus status = store::AggregateStatus(checks);
    return HealthReply(HealthCode(status), AgentServiceHealthJson(service, checks, datacenter),
                       store::AggregatedStatusName(status), request);
  }
  const std::string not_found = "ServiceId " + id + " not found";
  Json body = {{"AggregatedStatus", "critical"}, {"Service", nullptr}, {"Checks", nullptr}};
  return HealthReply(404, std::move(body), not_found, request);
}

Reply HandleAgentHealthServiceByName(const AgentHandlerContext& context,
                                     const ApiRequest& request) {
  const std::string name = Rest(request, kHealthByNamePrefix);
  if (name.empty()) return TextReply(400, "Missing service Name");
  const std::string datacenter = context.agent.Info().datacenter;
  const std::vector<store::HealthCheck> all = context.agent.Checks();
  int code = 404;
  std::string status = "ServiceName " + name + " Not Found";
  Json list = Json::array();
  for (const store::NodeService& service : context.agent.Services()) {
    if (service.service != name) continue;
    const std::vector<store::HealthCheck> checks = ChecksOf(all, service.id);
    const store::AggregatedStatus aggregated = store::AggregateStatus(checks);
    list.push_back(AgentServiceHealthJson(service, checks, datacenter));
    // The worst instance wins: passing 200 < warning 429 < critical 503.
    if (code == 404 || HealthCode(aggregated) > code) {
      code = HealthCode(aggregated);
      status = store::AggregatedStatusName(aggregated);
    }
  }
  return HealthReply(code, std::move(list), status, request);
}

Reply HandleAgentLeave(const AgentHandlerContext& context, const ApiRequest& /*request*/) {
  return EmptyOr(context.agent.Leave());
}

Reply HandleAgentReload(const AgentHandlerContext& context, const ApiRequest& /*request*/) {
  return EmptyOr(context.agent.Reload());
}

}  // namespace roster::http
