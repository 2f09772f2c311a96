#include "agent/agent.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <utility>

#include "agent/catalog_wire.h"
#include "base/logging.h"
#include "base/random.h"

namespace roster::agent {
namespace {

constexpr const char* kNodeMaintenanceId = "_node_maintenance";
constexpr const char* kServiceMaintenancePrefix = "_service_maintenance:";

std::string NewUuid() {
  SystemRandom random;
  const std::uint64_t high = random.Next();
  // Version 4, variant 10 (RFC 4122).
  const std::uint64_t low = (random.Next() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char text[37];
  std::snprintf(text, sizeof(text), "%08llx-%04llx-4%03llx-%04llx-%012llx",
                static_cast<unsigned long long>(high >> 32),
                static_cast<unsigned long long>((high >> 16) & 0xffff),
                static_cast<unsigned long long>(high & 0xfff),
                static_cast<unsigned long long>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return text;
}

http::AgentCheck MaintenanceCheck(const std::string& id, const std::string& name,
                                  const std::string& service_id, const std::string& reason,
                                  const char* default_reason) {
  http::AgentCheck check;
  check.check.check_id = id;
  check.check.name = name;
  check.check.service_id = service_id;
  check.check.notes = reason.empty() ? default_reason : reason;
  check.check.status = store::HealthStatus::kCritical;
  check.check.type = "maintenance";
  return check;
}

}  // namespace

Result<std::unique_ptr<Agent>> Agent::Open(AgentOptions options, const Clock& clock) {
  CHECK(!options.node_name.empty() && !options.data_dir.empty());
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) return IoError("cannot create " + options.data_dir + ": " + error.message());
  Result<std::unique_ptr<AgentDb>> db = AgentDb::Open(options.data_dir + "/agent.db");
  if (!db.ok()) return db.status();
  Result<std::string> node_id = (*db)->NodeId(&NewUuid);
  if (!node_id.ok()) return node_id.status();
  NodeIdentity identity{.name = options.node_name,
                        .id = *node_id,
                        .address = options.advertise_address,
                        .datacenter = options.datacenter,
                        .meta = options.node_meta,
                        .tagged_addresses = store::AgentTaggedAddresses(options.advertise_address),
                        .node_owned_by_server = options.server};
  auto state = std::make_unique<LocalState>(std::move(*db), clock, options.node_name,
                                            options.output_sync_interval_ms);
  RETURN_IF_ERROR(state->Restore());
  Result<LocalState::ConfigIds> config_ids = state->LoadConfigIds();
  if (!config_ids.ok()) return config_ids.status();
  std::unique_ptr<Agent> agent(
      new Agent(std::move(options), clock, std::move(identity), std::move(state)));
  agent->config_ids_ = std::move(*config_ids);
  return agent;
}

Agent::Agent(AgentOptions options, const Clock& clock, NodeIdentity identity,
             std::unique_ptr<LocalState> state)
    : options_(std::move(options)),
      clock_(clock),
      identity_(std::move(identity)),
      state_(std::move(state)),
      upstream_(options_.servers),
      forwarder_(upstream_),
      anti_entropy_(*state_, upstream_, identity_),
      scheduler_(clock) {
  probe_pool_ = std::make_unique<WorkerPool>(options_.probe_threads);
  CheckRunner::Options runner_options;
  runner_options.enable_script_checks = options_.enable_script_checks;
  runner_ = std::make_unique<CheckRunner>(
      scheduler_, *probe_pool_, runner_options,
      [this](const std::string& id, store::HealthStatus status, const std::string& output) {
        state_->UpdateCheck(id, status, output);
      });
  state_->set_on_change([this] {
    {
      std::lock_guard<std::mutex> lock(changes_mutex_);
      ++changes_;
      changes_cv_.notify_all();
    }
    RequestSync(false);
  });
  // Restored checks run again (a TTL check's TTL starts over).
  for (const http::AgentCheck& check : state_->AgentChecks()) runner_->Add(check);
}

Agent::~Agent() { Stop(); }

std::uint64_t Agent::LocalChanges() {
  std::lock_guard<std::mutex> lock(changes_mutex_);
  return changes_;
}

void Agent::WaitForLocalChange(std::uint64_t seen, std::chrono::steady_clock::time_point deadline,
                               std::stop_token stop) {
  // Registered before taking the lock: it runs at once when a stop was requested.
  std::stop_callback wake_on_stop(stop, [this] {
    std::lock_guard<std::mutex> inner(changes_mutex_);
    changes_cv_.notify_all();
  });
  std::unique_lock<std::mutex> lock(changes_mutex_);
  changes_cv_.wait_until(lock, deadline, [&] { return changes_ > seen || stop.stop_requested(); });
}

void Agent::Start() {
  if (started_.exchange(true)) return;
  scheduler_.Start();
  scheduler_.After(options_.reap_interval_ms, [this] { Reap(); });
  RequestSync(/*full=*/true);
  sync_thread_ = std::thread([this] { SyncLoop(); });
  if (!options_.server) heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
  LOG(INFO) << "agent: node " << identity_.name << " (" << identity_.id << ") at "
            << identity_.address << ", servers " << upstream_.current() << " first";
}

void Agent::Stop() {
  {
    std::lock_guard<std::mutex> lock(loop_mutex_);
    if (stopping_) return;
    stopping_ = true;
    loop_wake_.notify_all();
  }
  upstream_.Shutdown();
  if (sync_thread_.joinable()) sync_thread_.join();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  scheduler_.Stop();
  runner_.reset();       // cancels its timers
  probe_pool_.reset();   // finishes the probes in flight
}

// ---- LocalAgent: what the agent holds ----

http::AgentInfo Agent::Info() {
  http::AgentInfo info;
  info.node_name = identity_.name;
  info.node_id = identity_.id;
  info.datacenter = identity_.datacenter;
  info.address = identity_.address;
  info.server = options_.server;
  info.version = options_.version;
  info.node_meta.insert(identity_.meta.begin(), identity_.meta.end());
  return info;
}

std::vector<store::NodeService> Agent::Services() { return state_->Services(); }
std::vector<store::HealthCheck> Agent::Checks() { return state_->Checks(); }

Status Agent::CheckAllowed(const http::AgentCheck& check) const {
  if (check.check.type == "script" && !options_.enable_script_checks) {
    return InvalidArgument(kScriptChecksDisabled);
  }
  return Status::Ok();
}

// REQUIRES: registration_mutex_.
Status Agent::AddCheck(http::AgentCheck check) {
  check.check.node = identity_.name;
  RETURN_IF_ERROR(state_->PutCheck(check));
  runner_->Add(check);
  return Status::Ok();
}

Status Agent::RegisterService(http::AgentServiceRegistration registration) {
  std::lock_guard<std::mutex> lock(registration_mutex_);
  const std::string service_id = registration.service.id;
  std::vector<std::string> check_ids;
  for (const http::AgentCheck& check : registration.checks) {
    check_ids.push_back(check.check.check_id);
  }
  RETURN_IF_ERROR(RegisterServiceLocked(std::move(registration)));
  RETURN_IF_ERROR(ReleaseFromConfig(config_ids_.services, service_id));
  for (const std::string& check_id : check_ids) {
    RETURN_IF_ERROR(ReleaseFromConfig(config_ids_.checks, check_id));
  }
  return Status::Ok();
}

Status Agent::DeregisterService(const std::string& service_id) {
  std::lock_guard<std::mutex> lock(registration_mutex_);
  RETURN_IF_ERROR(DeregisterServiceLocked(service_id));
  return ReleaseFromConfig(config_ids_.services, service_id);
}

Status Agent::RegisterCheck(http::AgentCheck check) {
  std::lock_guard<std::mutex> lock(registration_mutex_);
  const std::string check_id = check.check.check_id;
  RETURN_IF_ERROR(RegisterCheckLocked(std::move(check)));
  return ReleaseFromConfig(config_ids_.checks, check_id);
}

Status Agent::DeregisterCheck(const std::string& check_id) {
  std::lock_guard<std::mutex> lock(registration_mutex_);
  RETURN_IF_ERROR(DeregisterCheckLocked(check_id));
  return ReleaseFromConfig(config_ids_.checks, check_id);
}

Status Agent::RegisterServiceLocked(http::AgentServiceRegistration registration) {
  const std::string& service_id = registration.service.id;
  std::set<std::string> new_ids;
  for (const http::AgentCheck& check : registration.checks) {
    RETURN_IF_ERROR(CheckAllowed(check));
    std::optional<http::AgentCheck> existing = state_->Check(check.check.check_id);
    if (existing && existing->check.service_id != service_id) {
      return InvalidArgument("Check ID \"" + check.check.check_id +
                             "\" is already registered for another service or the node");
    }
    new_ids.insert(check.check.check_id);
  }
  for (http::AgentCheck& check : registration.checks) {
    check.check.service_id = service_id;
    check.check.node = identity_.name;
  }
  RETURN_IF_ERROR(state_->PutService(registration.service, registration.checks));
  for (const http::AgentCheck& check : registration.checks) runner_->Add(check);
  if (registration.replace_existing_checks) {
    for (const std::string& id : state_->ChecksOfService(service_id)) {
      std::optional<http::AgentCheck> check = state_->Check(id);
      if (new_ids.count(id) > 0 || (check && check->check.type == "maintenance")) continue;
      runner_->Remove(id);
      RETURN_IF_ERROR(state_->RemoveCheck(id));
    }
  }
  return Status::Ok();
}

Status Agent::DeregisterServiceLocked(const std::string& service_id) {
  Result<std::vector<std::string>> removed = state_->RemoveService(service_id);
  if (!removed.ok()) {
    if (removed.status().code() != StatusCode::kNotFound) return removed.status();
    return NotFound("Unknown service ID \"" + service_id +
                    "\". Ensure that the service ID is passed, not the service name.");
  }
  for (const std::string& id : *removed) runner_->Remove(id);
  return Status::Ok();
}

Status Agent::RegisterCheckLocked(http::AgentCheck check) {
  RETURN_IF_ERROR(CheckAllowed(check));
  const std::string& service_id = check.check.service_id;
  if (!service_id.empty() && !state_->Service(service_id)) {
    return NotFound("ServiceID \"" + service_id + "\" does not exist");
  }
  return AddCheck(std::move(check));
}

Status Agent::DeregisterCheckLocked(const std::string& check_id) {
  runner_->Remove(check_id);
  Status removed = state_->RemoveCheck(check_id);
  if (removed.code() == StatusCode::kNotFound) {
    return NotFound("Unknown check ID \"" + check_id +
                    "\". Ensure that the check ID is passed, not the check name.");
  }
  return removed;
}

Status Agent::ReleaseFromConfig(std::set<std::string>& owned, const std::string& id) {
  if (owned.erase(id) == 0) return Status::Ok();
  return state_->SaveConfigIds(config_ids_);
}

// ---- -config-dir ----

Status Agent::Reload() {
  // Without a -config-dir the files define nothing: what they defined before goes.
  Result<ConfigDefinitions> definitions =
      options_.config_dir.empty() ? ConfigDefinitions{} : LoadConfigDir(options_.config_dir);
  std::lock_guard<std::mutex> lock(registration_mutex_);
  if (options_.config_dir.empty() && config_ids_ == LocalState::ConfigIds{}) return Status::Ok();
  std::map<std::string, std::string> check_owners;  // check id -> service id ("": node)
  Status applies =
      definitions.ok() ? CheckConfigApplies(*definitions, &check_owners) : definitions.status();
  if (!applies.ok()) {
    return FailedPrecondition("-config-dir: " + applies.message() + "; nothing was changed");
  }
  LocalState::ConfigIds wanted;
  for (const http::AgentServiceRegistration& service : definitions->services) {
    wanted.services.insert(service.service.id);
  }
  for (const auto& [check_id, service_id] : check_owners) wanted.checks.insert(check_id);
  // Owned by the files from here: should the agent stop half-way, the next start or
  // reload still knows to remove what the files no longer define.
  LocalState::ConfigIds owned = wanted;
  owned.services.insert(config_ids_.services.begin(), config_ids_.services.end());
  owned.checks.insert(config_ids_.checks.begin(), config_ids_.checks.end());
  if (owned != config_ids_) RETURN_IF_ERROR(state_->SaveConfigIds(owned));
  config_ids_ = std::move(owned);

  Result<int> removed = RemoveConfigLeftovers(wanted, check_owners);
  if (!removed.ok()) return removed.status();
  for (http::AgentServiceRegistration& service : definitions->services) {
    RETURN_IF_ERROR(RegisterServiceLocked(std::move(service)));
  }
  for (http::AgentCheck& check : definitions->checks) {
    RETURN_IF_ERROR(RegisterCheckLocked(std::move(check)));
  }
  if (wanted != config_ids_) RETURN_IF_ERROR(state_->SaveConfigIds(wanted));
  config_ids_ = std::move(wanted);
  LOG(INFO) << "agent: loaded -config-dir \"" << options_.config_dir << "\": services "
            << config_ids_.services.size() << ", checks " << config_ids_.checks.size()
            << ", removed " << *removed;
  return Status::Ok();
}

Result<int> Agent::RemoveConfigLeftovers(const LocalState::ConfigIds& wanted,
                                         const std::map<std::string, std::string>& check_owners) {
  int removed = 0;
  for (const std::string& id : config_ids_.checks) {
    if (wanted.checks.count(id) > 0 || !state_->Check(id)) continue;
    RETURN_IF_ERROR(DeregisterCheckLocked(id));
    ++removed;
  }
  for (const std::string& id : config_ids_.services) {
    if (wanted.services.count(id) > 0 || !state_->Service(id)) continue;
    RETURN_IF_ERROR(DeregisterServiceLocked(id));
    ++removed;
  }
  // A check the files move to another service (or to the node) leaves its old one first.
  for (const auto& [check_id, service_id] : check_owners) {
    std::optional<http::AgentCheck> existing = state_->Check(check_id);
    if (existing && existing->check.service_id != service_id) {
      RETURN_IF_ERROR(DeregisterCheckLocked(check_id));
    }
  }
  return removed;
}

Status Agent::CheckConfigApplies(const ConfigDefinitions& definitions,
                                 std::map<std::string, std::string>* owners) const {
  std::set<std::string> services;
  std::map<std::string, std::string>& check_owners = *owners;
  for (const http::AgentServiceRegistration& service : definitions.services) {
    if (!services.insert(service.service.id).second) {
      return InvalidArgument("service ID \"" + service.service.id + "\" is defined twice");
    }
    for (const http::AgentCheck& check : service.checks) {
      RETURN_IF_ERROR(CheckAllowed(check));
      if (!check_owners.emplace(check.check.check_id, service.service.id).second) {
        return InvalidArgument("check ID \"" + check.check.check_id + "\" is defined twice");
      }
    }
  }
  for (const http::AgentCheck& check : definitions.checks) {
    RETURN_IF_ERROR(CheckAllowed(check));
    const std::string& service_id = check.check.service_id;
    const bool service_stays =
        services.count(service_id) > 0 ||
        (state_->Service(service_id) && config_ids_.services.count(service_id) == 0);
    if (!service_id.empty() && !service_stays) {
      return InvalidArgument("check \"" + check.check.check_id + "\": ServiceID \"" + service_id +
                             "\" does not exist");
    }
    if (!check_owners.emplace(check.check.check_id, service_id).second) {
      return InvalidArgument("check ID \"" + check.check.check_id + "\" is defined twice");
    }
  }
  // A check the files define must not take over another owner's check of the API.
  for (const auto& [check_id, service_id] : check_owners) {
    std::optional<http::AgentCheck> existing = state_->Check(check_id);
    if (existing && existing->check.service_id != service_id &&
        config_ids_.checks.count(check_id) == 0 &&
        config_ids_.services.count(existing->check.service_id) == 0) {
      return InvalidArgument("check ID \"" + check_id +
                             "\" is already registered for another service or the node");
    }
  }
  return Status::Ok();
}

Status Agent::UpdateTtlCheck(const std::string& check_id, store::HealthStatus status,
                             const std::string& output) {
  std::optional<http::AgentCheck> check = state_->Check(check_id);
  if (!check) {
    return NotFound("Unknown check ID \"" + check_id +
                    "\". Ensure that the check ID is passed, not the check name.");
  }
  if (check->check.type != "ttl") {
    return InvalidArgument("Check \"" + check_id + "\" is not a TTL check");
  }
  runner_->TtlUpdate(check_id, status, output);
  return Status::Ok();
}

Status Agent::SetNodeMaintenance(bool enable, const std::string& reason) {
  std::lock_guard<std::mutex> lock(registration_mutex_);
  if (!enable) {
    Status removed = state_->RemoveCheck(kNodeMaintenanceId);
    return removed.code() == StatusCode::kNotFound ? Status::Ok() : removed;
  }
  return AddCheck(MaintenanceCheck(
      kNodeMaintenanceId, "Node Maintenance Mode", "", reason,
      "Maintenance mode is enabled for this node, but no reason was provided. This is a "
      "default message."));
}

Status Agent::SetServiceMaintenance(const std::string& service_id, bool enable,
                                    const std::string& reason) {
  std::lock_guard<std::mutex> lock(registration_mutex_);
  if (!state_->Service(service_id)) {
    return NotFound("No service registered with ID \"" + service_id + "\"");
  }
  const std::string id = kServiceMaintenancePrefix + service_id;
  if (!enable) {
    Status removed = state_->RemoveCheck(id);
    return removed.code() == StatusCode::kNotFound ? Status::Ok() : removed;
  }
  return AddCheck(MaintenanceCheck(
      id, "Service Maintenance Mode", service_id, reason,
      "Maintenance mode is enabled for this service, but no reason was provided. This is a "
      "default message."));
}

Result<std::vector<http::AgentMember>> Agent::Members() {
  client::Request request{"GET", "/v1/internal/members", "", {}};
  Result<client::Response> response = upstream_.Send(request, std::chrono::seconds(15));
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return Unavailable("the servers answered " + std::to_string(response->status) + ": " +
                       response->body);
  }
  return ParseMembers(response->body);
}

Status Agent::Leave() {
  left_ = true;  // the heartbeat stops, so the node is not revived
  client::Request request{"PUT", "/v1/internal/node/leave", LeaveBody(identity_.name),
                          {{"Content-Type", "application/json"}}};
  Result<client::Response> response = upstream_.Send(request, std::chrono::seconds(15));
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return Unavailable("the servers answered " + std::to_string(response->status) + ": " +
                       response->body);
  }
  LOG(INFO) << "agent: node " << identity_.name << " left the cluster";
  if (options_.on_leave) options_.on_leave();
  return Status::Ok();
}

void Agent::Reap() {
  for (const std::string& service_id : state_->ServicesToReap()) {
    LOG(INFO) << "agent: deregistering service " << service_id
              << ": critical for longer than its DeregisterCriticalServiceAfter";
    Status status = DeregisterService(service_id);
    (void)status;  // NotFound: deregistered meanwhile
  }
  std::lock_guard<std::mutex> lock(loop_mutex_);
  if (!stopping_) scheduler_.After(options_.reap_interval_ms, [this] { Reap(); });
}

}  // namespace roster::agent
