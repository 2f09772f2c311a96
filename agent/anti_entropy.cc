#include "agent/anti_entropy.h"

#include <chrono>

#include "base/logging.h"
#include "client/http_client.h"

namespace roster::agent {
namespace {

constexpr std::chrono::milliseconds kRequestTimeout{15'000};

}  // namespace

Status AntiEntropy::Put(const std::string& path, const std::string& body) {
  client::Request request{"PUT", path, body, {{"Content-Type", "application/json"}}};
  Result<client::Response> response = upstream_.Send(request, kRequestTimeout);
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return Unavailable(path + ": HTTP " + std::to_string(response->status) + " " + response->body);
  }
  return Status::Ok();
}

Status AntiEntropy::SyncChanges() {
  const LocalState::Plan plan = state_.PlanChanges();
  if (plan.empty()) return Status::Ok();
  const std::string& node = identity_.name;
  if (plan.node) {
    if (!identity_.node_owned_by_server) {
      RETURN_IF_ERROR(Put("/v1/catalog/register", RegisterBody(identity_, nullptr, {})));
    }
    state_.MarkNodeSynced();
  }
  Status first_error;
  // Records the first failure; true when `status` is OK.
  auto note = [&first_error](Status status) {
    const bool ok = status.ok();
    if (!ok && first_error.ok()) first_error = std::move(status);
    return ok;
  };
  for (const std::string& id : plan.delete_services) {
    if (note(Put("/v1/catalog/deregister", DeregisterBody(node, id, "")))) {
      state_.MarkServiceDeleted(id);
      LOG(DEBUG) << "agent: deregistered service " << id << " from the catalog";
    }
  }
  for (const std::string& id : plan.delete_checks) {
    if (note(Put("/v1/catalog/deregister", DeregisterBody(node, "", id)))) {
      state_.MarkCheckDeleted(id);
    }
  }
  for (const LocalState::ServicePush& push : plan.services) {
    if (!note(Put("/v1/catalog/register", RegisterBody(identity_, &push.service, push.checks)))) {
      continue;
    }
    state_.MarkServiceSynced(push.service.id, push.version);
    for (std::size_t i = 0; i < push.checks.size(); ++i) {
      state_.MarkCheckSynced(push.checks[i].check_id, push.check_versions[i]);
    }
    LOG(DEBUG) << "agent: synced service " << push.service.id;
  }
  for (const LocalState::CheckPush& push : plan.checks) {
    if (note(Put("/v1/catalog/register", RegisterBody(identity_, nullptr, {push.check})))) {
      state_.MarkCheckSynced(push.check.check_id, push.version);
    }
  }
  return first_error;
}

Status AntiEntropy::SyncFull() {
  const std::string node_path = client::HttpClient::EscapePath(identity_.name);
  RemoteNode remote;
  for (const auto& [path, parse] :
       {std::pair{"/v1/catalog/node-services/" + node_path, &ParseNodeServices},
        std::pair{"/v1/health/node/" + node_path, &ParseNodeChecks}}) {
    client::Request request{"GET", path, "", {}};
    Result<client::Response> response = upstream_.Send(request, kRequestTimeout);
    if (!response.ok()) return response.status();
    if (response->status != 200) {
      return Unavailable(path + ": HTTP " + std::to_string(response->status) + " " + response->body);
    }
    RETURN_IF_ERROR(parse(response->body, identity_.name, &remote));
  }
  state_.Reconcile(identity_, remote);
  return SyncChanges();
}

}  // namespace roster::agent
