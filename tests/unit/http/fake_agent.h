// A FakeLocalAgent and a FakeForwarder for the agent endpoint tests, and a server that
// runs an HttpServer over them on a loopback port.
//
// FakeLocalAgent keeps services and checks in memory with the LocalAgent contract's
// rules (http/local_agent.h: NotFound for unknown ids, InvalidArgument for a TTL update
// of another kind of check, maintenance as "_node_maintenance" / "_service_maintenance:
// <id>" checks) and records every call, so a test can see what reached the agent and
// that a refused request reached nothing. FakeForwarder records each request and answers
// with a canned reply or error.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "http/local_agent.h"
#include "http/server.h"
#include "tests/unit/http/test_backend.h"
#include "tests/unit/http/test_server.h"

namespace roster::http::testing {

class FakeLocalAgent final : public LocalAgent {
 public:
  struct TtlUpdate {
    std::string check_id;
    store::HealthStatus status;
    std::string output;
  };

  AgentInfo Info() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return info_;
  }
  std::vector<store::NodeService> Services() override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<store::NodeService> services;
    for (const auto& [id, service] : services_) services.push_back(service);
    return services;
  }
  std::vector<store::HealthCheck> Checks() override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<store::HealthCheck> checks;
    for (const auto& [id, check] : checks_) checks.push_back(check.check);
    return checks;
  }

  Status RegisterService(AgentServiceRegistration registration) override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back("RegisterService " + registration.service.id);
    registrations_.push_back(registration);
    const std::string id = registration.service.id;
    services_[id] = registration.service;
    for (AgentCheck& check : registration.checks) {
      check.check.node = info_.node_name;
      check.check.service_name = registration.service.service;
      checks_[check.check.check_id] = std::move(check);
    }
    ++changes_;
    changes_cv_.notify_all();
    return Status::Ok();
  }
  Status DeregisterService(const std::string& service_id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back("DeregisterService " + service_id);
    if (services_.erase(service_id) == 0) {
      return NotFound("Unknown service ID \"" + service_id +
                      "\". Ensure that the service ID is passed, not the service name.");
    }
    std::erase_if(checks_,
                  [&](const auto& item) { return item.second.check.service_id == service_id; });
    ++changes_;
    changes_cv_.notify_all();
    return Status::Ok();
  }
  Status RegisterCheck(AgentCheck check) override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back("RegisterCheck " + check.check.check_id);
    registered_checks_.push_back(check);
    const std::string& service_id = check.check.service_id;
    if (!service_id.empty() && services_.count(service_id) == 0) {
      return NotFound("ServiceID \"" + service_id + "\" does not exist");
    }
    check.check.node = info_.node_name;
    checks_[check.check.check_id] = std::move(check);
    return Status::Ok();
  }
  Status DeregisterCheck(const std::string& check_id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back("DeregisterCheck " + check_id);
    if (checks_.erase(check_id) == 0) return UnknownCheck(check_id);
    return Status::Ok();
  }
  Status UpdateTtlCheck(const std::string& check_id, store::HealthStatus status,
                        const std::string& output) override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back("UpdateTtlCheck " + check_id);
    ttl_updates_.push_back({check_id, status, output});
    auto it = checks_.find(check_id);
    if (it == checks_.end()) return UnknownCheck(check_id);
    if (it->second.check.type != "ttl") {
      return InvalidArgument("Check \"" + check_id + "\" is not a TTL check");
    }
    it->second.check.status = status;
    it->second.check.output = output;
    return Status::Ok();
  }
  Status SetNodeMaintenance(bool enable, const std::string& reason) override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back("SetNodeMaintenance " + std::string(enable ? "on " : "off ") + reason);
    SetMaintenanceCheck("_node_maintenance", "", enable, reason);
    return Status::Ok();
  }
  Status SetServiceMaintenance(const std::string& service_id, bool enable,
                               const std::string& reason) override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back("SetServiceMaintenance " + service_id + (enable ? " on " : " off ") + reason);
    if (services_.count(service_id) == 0) {
      return NotFound("No service registered with ID \"" + service_id + "\"");
    }
    SetMaintenanceCheck("_service_maintenance:" + service_id, service_id, enable, reason);
    return Status::Ok();
  }
  Result<std::vector<AgentMember>> Members() override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back("Members");
    if (!members_status_.ok()) return members_status_;
    return members_;
  }
  Status Leave() override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back("Leave");
    return Status::Ok();
  }
  Status Reload() override {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back("Reload");
    return reload_status;
  }
  Status reload_status = Status::Ok();  // what Reload answers
  // Register and deregister a service count as changes.
  std::uint64_t LocalChanges() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return changes_;
  }
  void WaitForLocalChange(std::uint64_t seen, std::chrono::steady_clock::time_point deadline,
                          std::stop_token stop) override {
    std::stop_callback wake_on_stop(stop, [this] {
      std::lock_guard<std::mutex> inner(mutex_);
      changes_cv_.notify_all();
    });
    std::unique_lock<std::mutex> lock(mutex_);
    changes_cv_.wait_until(lock, deadline,
                           [&] { return changes_ > seen || stop.stop_requested(); });
  }

  // Knobs.
  void SetInfo(AgentInfo info) {
    std::lock_guard<std::mutex> lock(mutex_);
    info_ = std::move(info);
  }
  void SetMembers(std::vector<AgentMember> members) {
    std::lock_guard<std::mutex> lock(mutex_);
    members_ = std::move(members);
  }
  void FailMembersWith(Status status) {
    std::lock_guard<std::mutex> lock(mutex_);
    members_status_ = std::move(status);
  }
  // Sets a check's status directly (as a check runner would).
  void SetCheckStatus(const std::string& check_id, store::HealthStatus status) {
    std::lock_guard<std::mutex> lock(mutex_);
    checks_.at(check_id).check.status = status;
  }

  // Observations.
  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }
  std::vector<AgentServiceRegistration> registrations() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return registrations_;
  }
  std::vector<AgentCheck> registered_checks() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return registered_checks_;
  }
  std::vector<TtlUpdate> ttl_updates() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return ttl_updates_;
  }

 private:
  static Status UnknownCheck(const std::string& check_id) {
    return NotFound("Unknown check ID \"" + check_id +
                    "\". Ensure that the check ID is passed, not the check name.");
  }
  // REQUIRES: mutex_ held.
  void SetMaintenanceCheck(const std::string& id, const std::string& service_id, bool enable,
                           const std::string& reason) {
    if (!enable) {
      checks_.erase(id);
      return;
    }
    AgentCheck check;
    check.check.node = info_.node_name;
    check.check.check_id = id;
    check.check.name = service_id.empty() ? "Node Maintenance Mode" : "Service Maintenance Mode";
    check.check.notes = reason;
    check.check.service_id = service_id;
    check.check.status = store::HealthStatus::kCritical;
    checks_[id] = std::move(check);
  }

  mutable std::mutex mutex_;
  std::condition_variable changes_cv_;
  std::uint64_t changes_ = 0;
  AgentInfo info_{.node_name = "node-a",
                  .node_id = "6f5b3e2a-1d4c-4b7e-9a8f-0c1d2e3f4a5b",
                  .datacenter = "dc1",
                  .address = "10.0.0.7",
                  .server = false,
                  .version = "0.1.0",
                  .node_meta = {{"rack", "r1"}}};
  std::map<std::string, store::NodeService> services_;
  std::map<std::string, AgentCheck> checks_;
  std::vector<AgentMember> members_;
  Status members_status_;
  std::vector<std::string> calls_;
  std::vector<AgentServiceRegistration> registrations_;
  std::vector<AgentCheck> registered_checks_;
  std::vector<TtlUpdate> ttl_updates_;
};

class FakeForwarder final : public Forwarder {
 public:
  Result<ForwardReply> Forward(const ForwardRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
    if (!status_.ok()) return status_;
    return reply_;
  }

  void ReplyWith(ForwardReply reply) {
    std::lock_guard<std::mutex> lock(mutex_);
    reply_ = std::move(reply);
    status_ = Status::Ok();
  }
  void FailWith(Status status) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = std::move(status);
  }
  std::vector<ForwardRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  mutable std::mutex mutex_;
  ForwardReply reply_{200, "true", {{"Content-Type", "application/json"}}};
  Status status_;
  std::vector<ForwardRequest> requests_;
};

// An HttpServer over a FakeLocalAgent: as an agent process (forwarding to the
// FakeForwarder), or as a server process (a TestBackend beside the agent).
class AgentTestServer {
 public:
  enum class Mode { kAgent, kServer };

  explicit AgentTestServer(Mode mode = Mode::kAgent, HttpOptions options = TestOptions()) {
    HttpServices services{nullptr, &agent, nullptr};
    if (mode == Mode::kAgent) {
      services.forwarder = &forwarder;
    } else {
      services.backend = &backend;
    }
    server_ = std::make_unique<HttpServer>(services, std::move(options));
    const Status started = server_->Start();
    if (!started.ok()) throw std::runtime_error("HttpServer::Start: " + started.ToString());
  }

  int port() const { return server_->port(); }
  HttpServer& server() { return *server_; }

  httplib::Client Client() const {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_url_encode(false);
    client.set_read_timeout(std::chrono::seconds(30));
    return client;
  }

  FakeLocalAgent agent;
  FakeForwarder forwarder;
  TestBackend backend;

 private:
  std::unique_ptr<HttpServer> server_;
};

}  // namespace roster::http::testing
