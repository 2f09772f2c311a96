// The aggregated health of a set of checks (consul-api.md §1.3 "AggregatedStatus",
// §4.3; Consul's api.HealthChecks.AggregatedStatus): what `?passing`, DNS, the agent's
// health endpoints and Prometheus's __meta_consul_health agree on.
//
//   maintenance > critical > warning > passing; no checks at all is passing.
//
// A maintenance check is the agent's `_node_maintenance` or
// `_service_maintenance:<service id>` check; it is stored critical, but reported as
// maintenance whatever its status.
// Thread-safety: pure functions.
#pragma once

#include <string_view>
#include <vector>

#include "store/catalog.h"

namespace roster::store {

inline constexpr std::string_view kNodeMaintenanceCheckId = "_node_maintenance";
inline constexpr std::string_view kServiceMaintenanceCheckPrefix = "_service_maintenance:";

enum class AggregatedStatus {
  kPassing,
  kWarning,
  kCritical,
  kMaintenance,
};

// Consul's spelling: "passing", "warning", "critical", "maintenance".
std::string_view AggregatedStatusName(AggregatedStatus status);

// True for `_node_maintenance` and `_service_maintenance:<id>`.
bool IsMaintenanceCheck(std::string_view check_id);

AggregatedStatus AggregateStatus(const std::vector<HealthCheck>& checks);

// `so_far` with one more check counted: the worse of the two by the order above. The
// fold behind AggregateStatus, for callers that walk checks without collecting them
// (the DNS catalogs of servers and agents).
AggregatedStatus WithCheck(AggregatedStatus so_far, std::string_view check_id,
                           HealthStatus status);

}  // namespace roster::store
