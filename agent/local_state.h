// LocalState: the services and checks of this node as the agent holds them — the
// source of truth the catalog mirrors (consul-api.md §4.4) — with, per entry, whether
// the catalog is known to hold it as it is ("in sync"), and what the catalog holds that
// the agent must delete. Every registration is written to AgentDb before the call
// returns; TTL checks' status and output too (they are state only the API sets).
//
// Sync rules kept here:
//  - any registration or removal marks its entry out of sync at once;
//  - a check result that changes the status marks the check out of sync at once; one
//    that changes only the output is held back until `output_sync_interval_ms` after
//    it (PromoteDueOutputs), so a timestamp in the output does not write to Raft on
//    every run;
//  - a full sync (Reconcile) marks out of sync what the catalog lacks or has
//    differently, and schedules deletion of what it has and the agent does not know,
//    except what the servers own: the `serfHealth` check and the `consul` service.
// The AntiEntropy syncer reads Plan() and reports back with Mark*Synced; versions make
// sure a change made while a sync was in flight is not marked synced by it.
//
// Thread-safety: every method from any thread (one mutex). `on_change` is called
// without the lock held, after a change that needs a sync.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/agent_db.h"
#include "agent/catalog_wire.h"
#include "base/clock.h"
#include "http/local_agent.h"

namespace roster::agent {

// The ids the servers own on every node; the agent never deletes them.
inline constexpr const char* kSerfHealthCheckId = "serfHealth";
inline constexpr const char* kConsulServiceId = "consul";

class LocalState {
 public:
  LocalState(std::unique_ptr<AgentDb> db, const Clock& clock, std::string node_name,
             std::int64_t output_sync_interval_ms);

  void set_on_change(std::function<void()> on_change) { on_change_ = std::move(on_change); }

  // Loads what AgentDb holds (all out of sync: the catalog may have lost it).
  Status Restore();

  // Registration (persisted, then out of sync). PutService stores the service with its
  // `checks` at once, so a sync never pushes the service without them (it would show
  // as passing until they came). RemoveService also removes its checks and returns
  // their ids. A check registered again keeps the status and output it has, whatever
  // the new definition says, as Consul's agent does "to avoid potential flapping": a
  // service that re-registers on start-up or on a timer stays passing until its next
  // run or TTL update says otherwise.
  Status PutService(const store::NodeService& service, std::vector<http::AgentCheck> checks = {});
  Result<std::vector<std::string>> RemoveService(const std::string& service_id);
  Status PutCheck(http::AgentCheck check);
  Status RemoveCheck(const std::string& check_id);
  // A check's new status and output (a run, a TTL update or expiry). Unknown ids are
  // ignored (the check went away while it ran).
  void UpdateCheck(const std::string& check_id, store::HealthStatus status,
                   const std::string& output);

  std::optional<store::NodeService> Service(const std::string& service_id) const;
  std::optional<http::AgentCheck> Check(const std::string& check_id) const;
  // Ordered by id; checks with node and service_name filled in.
  std::vector<store::NodeService> Services() const;
  std::vector<store::HealthCheck> Checks() const;
  std::vector<http::AgentCheck> AgentChecks() const;
  std::vector<std::string> ChecksOfService(const std::string& service_id) const;

  // The ids of the services and checks (standalone, or in a service's definition) that
  // came from -config-dir files rather than the API (Agent::Reload), kept in AgentDb so
  // that a restart or a reload removes those whose definitions are gone from the files.
  struct ConfigIds {
    std::set<std::string> services;
    std::set<std::string> checks;
    bool operator==(const ConfigIds&) const = default;
  };
  Result<ConfigIds> LoadConfigIds() const;
  Status SaveConfigIds(const ConfigIds& ids);

  // Services with a check that has been critical longer than its
  // DeregisterCriticalServiceAfter.
  std::vector<std::string> ServicesToReap() const;

  // ---- For the syncer ----
  struct ServicePush {
    store::NodeService service;
    std::uint64_t version;
    std::vector<store::HealthCheck> checks;  // all of the service's checks
    std::vector<std::uint64_t> check_versions;
  };
  struct CheckPush {
    store::HealthCheck check;
    std::uint64_t version;
  };
  struct Plan {
    bool node = false;  // the node record must be (re-)registered
    std::vector<std::string> delete_services;
    std::vector<std::string> delete_checks;
    std::vector<ServicePush> services;
    std::vector<CheckPush> checks;  // checks out of sync whose service is in sync (or none)
    bool empty() const {
      return !node && delete_services.empty() && delete_checks.empty() && services.empty() &&
             checks.empty();
    }
  };
  Plan PlanChanges() const;
  void MarkNodeSynced();
  void MarkServiceDeleted(const std::string& service_id);
  void MarkCheckDeleted(const std::string& check_id);
  void MarkServiceSynced(const std::string& service_id, std::uint64_t version);
  void MarkCheckSynced(const std::string& check_id, std::uint64_t version);
  // A full sync: compares with what the catalog holds for this node.
  void Reconcile(const NodeIdentity& identity, const RemoteNode& remote);
  // Output-only changes whose hold-back has passed become out of sync; true if any.
  bool PromoteDueOutputs();

 private:
  struct ServiceEntry {
    store::NodeService service;
    bool in_sync = false;
    std::uint64_t version = 0;
  };
  struct CheckEntry {
    http::AgentCheck check;
    bool in_sync = false;
    std::uint64_t version = 0;
    std::int64_t output_due_ms = 0;      // an output-only change waits until then; 0: none
    std::int64_t critical_since_ms = -1;  // -1: not critical
  };

  store::HealthCheck Shown(const CheckEntry& entry) const;  // REQUIRES: mutex_
  void CarryOverStatusLocked(http::AgentCheck& check) const;  // REQUIRES: mutex_
  void AddCheckLocked(const http::AgentCheck& check);         // REQUIRES: mutex_
  void Changed();

  const std::unique_ptr<AgentDb> db_;
  const Clock& clock_;
  const std::string node_name_;
  const std::int64_t output_sync_interval_ms_;
  std::function<void()> on_change_;

  mutable std::mutex mutex_;
  std::map<std::string, ServiceEntry> services_;  // guarded by mutex_
  std::map<std::string, CheckEntry> checks_;      // guarded by mutex_
  std::set<std::string> delete_services_;         // guarded by mutex_
  std::set<std::string> delete_checks_;           // guarded by mutex_
  bool node_in_sync_ = false;                     // guarded by mutex_
  std::uint64_t next_version_ = 1;                // guarded by mutex_
};

}  // namespace roster::agent
