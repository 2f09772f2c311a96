#include "store/health.h"

namespace roster::store {

std::string_view AggregatedStatusName(AggregatedStatus status) {
  switch (status) {
    case AggregatedStatus::kPassing:
      return "passing";
    case AggregatedStatus::kWarning:
      return "warning";
    case AggregatedStatus::kCritical:
      return "critical";
    case AggregatedStatus::kMaintenance:
      return "maintenance";
  }
  return "";
}

bool IsMaintenanceCheck(std::string_view check_id) {
  return check_id == kNodeMaintenanceCheckId ||
         check_id.starts_with(kServiceMaintenanceCheckPrefix);
}

AggregatedStatus AggregateStatus(const std::vector<HealthCheck>& checks) {
  bool warning = false;
  bool critical = false;
  for (const HealthCheck& check : checks) {
    if (IsMaintenanceCheck(check.check_id)) return AggregatedStatus::kMaintenance;
    warning = warning || check.status == HealthStatus::kWarning;
    critical = critical || check.status == HealthStatus::kCritical;
  }
  if (critical) return AggregatedStatus::kCritical;
  if (warning) return AggregatedStatus::kWarning;
  return AggregatedStatus::kPassing;
}

}  // namespace roster::store
