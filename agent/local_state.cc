#include "agent/local_state.h"

#include <utility>

#include <nlohmann/json.hpp>

namespace roster::agent {
namespace {

using Json = nlohmann::json;

constexpr std::int64_t kNsPerMs = 1'000'000;
// AgentDb meta key of ConfigIds: {"services": [ids], "checks": [ids]}.
constexpr const char* kConfigIdsKey = "config_ids";

// What the agent and the catalog must agree on for a check; the definition is left
// out (the catalog only keeps it, and any change to it is a registration, which
// marks the check out of sync anyway).
bool SameCheck(const store::HealthCheck& local, const store::HealthCheck& remote,
               bool ignore_output) {
  return local.name == remote.name && local.status == remote.status &&
         local.notes == remote.notes && local.service_id == remote.service_id &&
         local.type == remote.type && (ignore_output || local.output == remote.output);
}

bool SameService(store::NodeService local, const store::NodeService& remote) {
  // EnableTagOverride: tags changed in the catalog are left alone (consul-api.md §4.4).
  if (local.enable_tag_override) local.tags = remote.tags;
  return local.SameAs(remote);
}

}  // namespace

LocalState::LocalState(std::unique_ptr<AgentDb> db, const Clock& clock, std::string node_name,
                       std::int64_t output_sync_interval_ms)
    : db_(std::move(db)),
      clock_(clock),
      node_name_(std::move(node_name)),
      output_sync_interval_ms_(output_sync_interval_ms) {}

void LocalState::Changed() {
  if (on_change_) on_change_();
}

Status LocalState::Restore() {
  std::lock_guard<std::mutex> lock(mutex_);
  Result<std::vector<store::NodeService>> services = db_->LoadServices();
  if (!services.ok()) return services.status();
  Result<std::vector<http::AgentCheck>> checks = db_->LoadChecks();
  if (!checks.ok()) return checks.status();
  for (store::NodeService& service : *services) {
    const std::string id = service.id;
    services_[id] = ServiceEntry{std::move(service), false, next_version_++};
  }
  for (http::AgentCheck& check : *checks) {
    const std::string id = check.check.check_id;
    CheckEntry entry{std::move(check), false, next_version_++, 0, -1};
    if (entry.check.check.status == store::HealthStatus::kCritical) {
      entry.critical_since_ms = clock_.NowMs();
    }
    checks_[id] = std::move(entry);
  }
  node_in_sync_ = false;
  return Status::Ok();
}

Result<LocalState::ConfigIds> LocalState::LoadConfigIds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Result<std::string> text = db_->Meta(kConfigIdsKey);
  if (!text.ok()) return text.status();
  ConfigIds ids;
  if (text->empty()) return ids;
  const Json json = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("services") || !json.contains("checks") ||
      !json["services"].is_array() || !json["checks"].is_array()) {
    return Corruption(std::string("agent.db: meta ") + kConfigIdsKey + " is not valid");
  }
  for (const Json& id : json["services"]) {
    if (id.is_string()) ids.services.insert(id.get<std::string>());
  }
  for (const Json& id : json["checks"]) {
    if (id.is_string()) ids.checks.insert(id.get<std::string>());
  }
  return ids;
}

Status LocalState::SaveConfigIds(const ConfigIds& ids) {
  const Json json = {{"services", ids.services}, {"checks", ids.checks}};
  std::lock_guard<std::mutex> lock(mutex_);
  return db_->PutMeta(kConfigIdsKey, json.dump());
}

Status LocalState::PutService(const store::NodeService& service,
                              std::vector<http::AgentCheck> checks) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (http::AgentCheck& check : checks) CarryOverStatusLocked(check);
    RETURN_IF_ERROR(db_->PutService(service));
    for (const http::AgentCheck& check : checks) RETURN_IF_ERROR(db_->PutCheck(check));
    services_[service.id] = ServiceEntry{service, false, next_version_++};
    delete_services_.erase(service.id);
    for (const http::AgentCheck& check : checks) AddCheckLocked(check);
  }
  Changed();  // once: the syncer never sees the service without its checks
  return Status::Ok();
}

Result<std::vector<std::string>> LocalState::RemoveService(const std::string& service_id) {
  std::vector<std::string> removed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (services_.count(service_id) == 0) return NotFound("no such service");
    for (const auto& [id, entry] : checks_) {
      if (entry.check.check.service_id == service_id) removed.push_back(id);
    }
    for (const std::string& id : removed) RETURN_IF_ERROR(db_->DeleteCheck(id));
    RETURN_IF_ERROR(db_->DeleteService(service_id));
    for (const std::string& id : removed) checks_.erase(id);
    services_.erase(service_id);
    // Deregistering the service removes its checks from the catalog too.
    delete_services_.insert(service_id);
  }
  Changed();
  return removed;
}

Status LocalState::PutCheck(http::AgentCheck check) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    CarryOverStatusLocked(check);
    RETURN_IF_ERROR(db_->PutCheck(check));
    AddCheckLocked(check);
  }
  Changed();
  return Status::Ok();
}

void LocalState::CarryOverStatusLocked(http::AgentCheck& check) const {
  auto existing = checks_.find(check.check.check_id);
  if (existing == checks_.end()) return;
  check.check.status = existing->second.check.check.status;
  check.check.output = existing->second.check.check.output;
}

void LocalState::AddCheckLocked(const http::AgentCheck& check) {
  CheckEntry entry{check, false, next_version_++, 0, -1};
  if (check.check.status == store::HealthStatus::kCritical) {
    // A check registered again while critical has been critical since then, so
    // re-registering does not put off DeregisterCriticalServiceAfter.
    auto existing = checks_.find(check.check.check_id);
    entry.critical_since_ms = existing != checks_.end() && existing->second.critical_since_ms >= 0
                                  ? existing->second.critical_since_ms
                                  : clock_.NowMs();
  }
  checks_[check.check.check_id] = std::move(entry);
  delete_checks_.erase(check.check.check_id);
}

Status LocalState::RemoveCheck(const std::string& check_id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (checks_.count(check_id) == 0) return NotFound("no such check");
    RETURN_IF_ERROR(db_->DeleteCheck(check_id));
    checks_.erase(check_id);
    delete_checks_.insert(check_id);
  }
  Changed();
  return Status::Ok();
}

void LocalState::UpdateCheck(const std::string& check_id, store::HealthStatus status,
                             const std::string& output) {
  bool sync_now = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = checks_.find(check_id);
    if (found == checks_.end()) return;
    CheckEntry& entry = found->second;
    store::HealthCheck& check = entry.check.check;
    if (check.status == status && check.output == output) return;
    const bool status_changed = check.status != status;
    check.status = status;
    check.output = output;
    entry.version = next_version_++;
    if (status != store::HealthStatus::kCritical) {
      entry.critical_since_ms = -1;
    } else if (entry.critical_since_ms < 0) {
      entry.critical_since_ms = clock_.NowMs();
    }
    // A TTL check's state is set only through the API: it survives a restart.
    if (check.type == "ttl") {
      Status persisted = db_->PutCheck(entry.check);
      (void)persisted;  // the in-memory state stays right; the next update retries
    }
    if (status_changed) {
      entry.in_sync = false;
      entry.output_due_ms = 0;
      sync_now = true;
    } else if (entry.in_sync && entry.output_due_ms == 0) {
      entry.output_due_ms = clock_.NowMs() + output_sync_interval_ms_;
    }
  }
  if (sync_now) Changed();
}

std::optional<store::NodeService> LocalState::Service(const std::string& service_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = services_.find(service_id);
  if (found == services_.end()) return std::nullopt;
  return found->second.service;
}

std::optional<http::AgentCheck> LocalState::Check(const std::string& check_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = checks_.find(check_id);
  if (found == checks_.end()) return std::nullopt;
  http::AgentCheck check = found->second.check;
  check.check = Shown(found->second);
  return check;
}

store::HealthCheck LocalState::Shown(const CheckEntry& entry) const {
  store::HealthCheck check = entry.check.check;
  check.node = node_name_;
  if (!check.service_id.empty()) {
    auto service = services_.find(check.service_id);
    if (service != services_.end()) check.service_name = service->second.service.service;
  }
  return check;
}

std::vector<store::NodeService> LocalState::Services() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<store::NodeService> services;
  for (const auto& [id, entry] : services_) services.push_back(entry.service);
  return services;
}

std::vector<store::HealthCheck> LocalState::Checks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<store::HealthCheck> checks;
  for (const auto& [id, entry] : checks_) checks.push_back(Shown(entry));
  return checks;
}

std::vector<http::AgentCheck> LocalState::AgentChecks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<http::AgentCheck> checks;
  for (const auto& [id, entry] : checks_) checks.push_back(entry.check);
  return checks;
}

std::vector<std::string> LocalState::ChecksOfService(const std::string& service_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, entry] : checks_) {
    if (entry.check.check.service_id == service_id) ids.push_back(id);
  }
  return ids;
}

std::vector<std::string> LocalState::ServicesToReap() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t now_ms = clock_.NowMs();
  std::set<std::string> reap;
  for (const auto& [id, entry] : checks_) {
    const store::HealthCheck& check = entry.check.check;
    const std::uint64_t after_ns = check.definition.deregister_critical_service_after_ns;
    if (check.service_id.empty() || after_ns == 0 || entry.critical_since_ms < 0) continue;
    if (now_ms - entry.critical_since_ms >= static_cast<std::int64_t>(after_ns / kNsPerMs)) {
      reap.insert(check.service_id);
    }
  }
  return {reap.begin(), reap.end()};
}

LocalState::Plan LocalState::PlanChanges() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Plan plan;
  plan.node = !node_in_sync_;
  plan.delete_services.assign(delete_services_.begin(), delete_services_.end());
  plan.delete_checks.assign(delete_checks_.begin(), delete_checks_.end());
  for (const auto& [id, entry] : services_) {
    if (entry.in_sync) continue;
    ServicePush push{entry.service, entry.version, {}, {}};
    for (const auto& [check_id, check] : checks_) {
      if (check.check.check.service_id != id) continue;
      push.checks.push_back(Shown(check));
      push.check_versions.push_back(check.version);
    }
    plan.services.push_back(std::move(push));
  }
  for (const auto& [id, entry] : checks_) {
    if (entry.in_sync) continue;
    const std::string& service_id = entry.check.check.service_id;
    auto service = services_.find(service_id);
    if (!service_id.empty() && (service == services_.end() || !service->second.in_sync)) {
      continue;  // goes with its service
    }
    plan.checks.push_back(CheckPush{Shown(entry), entry.version});
  }
  return plan;
}

void LocalState::MarkNodeSynced() {
  std::lock_guard<std::mutex> lock(mutex_);
  node_in_sync_ = true;
}

void LocalState::MarkServiceDeleted(const std::string& service_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (services_.count(service_id) == 0) delete_services_.erase(service_id);
}

void LocalState::MarkCheckDeleted(const std::string& check_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (checks_.count(check_id) == 0) delete_checks_.erase(check_id);
}

void LocalState::MarkServiceSynced(const std::string& service_id, std::uint64_t version) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = services_.find(service_id);
  if (found != services_.end() && found->second.version == version) found->second.in_sync = true;
}

void LocalState::MarkCheckSynced(const std::string& check_id, std::uint64_t version) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = checks_.find(check_id);
  if (found == checks_.end() || found->second.version != version) return;
  found->second.in_sync = true;
  found->second.output_due_ms = 0;
}

void LocalState::Reconcile(const NodeIdentity& identity, const RemoteNode& remote) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!identity.node_owned_by_server) {
    node_in_sync_ = remote.node.has_value() && remote.node->address == identity.address &&
                    remote.node->id == identity.id && remote.node->meta == identity.meta &&
                    remote.node->tagged_addresses == identity.tagged_addresses;
  }
  std::map<std::string, const store::NodeService*> remote_services;
  for (const store::NodeService& service : remote.services) {
    if (service.id == kConsulServiceId) continue;  // the servers'
    remote_services[service.id] = &service;
    if (services_.count(service.id) == 0) delete_services_.insert(service.id);
  }
  for (auto& [id, entry] : services_) {
    auto found = remote_services.find(id);
    if (found == remote_services.end() || !SameService(entry.service, *found->second)) {
      entry.in_sync = false;
    }
  }
  std::map<std::string, const store::HealthCheck*> remote_checks;
  for (const store::HealthCheck& check : remote.checks) {
    if (check.check_id == kSerfHealthCheckId || check.service_id == kConsulServiceId) continue;
    remote_checks[check.check_id] = &check;
    if (checks_.count(check.check_id) == 0 && delete_services_.count(check.service_id) == 0) {
      delete_checks_.insert(check.check_id);
    }
  }
  for (auto& [id, entry] : checks_) {
    auto found = remote_checks.find(id);
    if (found == remote_checks.end() ||
        !SameCheck(Shown(entry), *found->second, entry.output_due_ms != 0)) {
      entry.in_sync = false;
    }
  }
}

bool LocalState::PromoteDueOutputs() {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t now_ms = clock_.NowMs();
  bool any = false;
  for (auto& [id, entry] : checks_) {
    if (entry.output_due_ms != 0 && entry.output_due_ms <= now_ms) {
      entry.output_due_ms = 0;
      entry.in_sync = false;
      any = true;
    }
  }
  return any;
}

}  // namespace roster::agent
