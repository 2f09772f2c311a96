#include "store/health.h"

#include <algorithm>

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

AggregatedStatus WithCheck(AggregatedStatus so_far, std::string_view check_id,
                           HealthStatus status) {
  AggregatedStatus check = AggregatedStatus::kPassing;
  if (IsMaintenanceCheck(check_id)) {
    check = AggregatedStatus::kMaintenance;
  } else if (status == HealthStatus::kCritical) {
    check = AggregatedStatus::kCritical;
  } else if (status == HealthStatus::kWarning) {
    check = AggregatedStatus::kWarning;
  }
  return std::max(so_far, check);
}

AggregatedStatus AggregateStatus(const std::vector<HealthCheck>& checks) {
  AggregatedStatus status = AggregatedStatus::kPassing;
  for (const HealthCheck& check : checks) status = WithCheck(status, check.check_id, check.status);
  return status;
}

}  // namespace roster::store
