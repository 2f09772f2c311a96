// The aggregated status of a set of checks (consul-api.md §1.3, §4.3):
// maintenance > critical > warning > passing, and no checks is passing.
#include <string>
#include <vector>

#include "store/health.h"
#include "tests/unit/store/fixtures.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::store {
namespace {

using testing::Check;

AggregatedStatus Of(std::vector<HealthCheck> checks) { return AggregateStatus(checks); }

TEST_CASE("no checks at all is passing") { CHECK(Of({}) == AggregatedStatus::kPassing); }

TEST_CASE("the worst status wins: critical over warning over passing") {
  const HealthCheck passing = Check("a", HealthStatus::kPassing);
  const HealthCheck warning = Check("b", HealthStatus::kWarning);
  const HealthCheck critical = Check("c", HealthStatus::kCritical);
  CHECK(Of({passing, passing}) == AggregatedStatus::kPassing);
  CHECK(Of({passing, warning}) == AggregatedStatus::kWarning);
  CHECK(Of({warning, passing}) == AggregatedStatus::kWarning);
  CHECK(Of({warning, critical, passing}) == AggregatedStatus::kCritical);
  CHECK(Of({critical}) == AggregatedStatus::kCritical);
}

TEST_CASE("a maintenance check wins over everything, whatever its own status") {
  const HealthCheck node_maintenance = Check("_node_maintenance", HealthStatus::kCritical);
  const HealthCheck service_maintenance =
      Check("_service_maintenance:web-1", HealthStatus::kCritical);
  CHECK(Of({Check("a", HealthStatus::kCritical), node_maintenance}) ==
        AggregatedStatus::kMaintenance);
  CHECK(Of({service_maintenance, Check("a", HealthStatus::kPassing)}) ==
        AggregatedStatus::kMaintenance);
  CHECK(Of({Check("_node_maintenance", HealthStatus::kPassing)}) ==
        AggregatedStatus::kMaintenance);
}

TEST_CASE("only the exact maintenance ids count") {
  CHECK(IsMaintenanceCheck("_node_maintenance"));
  CHECK(IsMaintenanceCheck("_service_maintenance:web"));
  CHECK(IsMaintenanceCheck("_service_maintenance:"));
  CHECK_FALSE(IsMaintenanceCheck("_node_maintenance2"));
  CHECK_FALSE(IsMaintenanceCheck("_service_maintenance"));
  CHECK_FALSE(IsMaintenanceCheck("node_maintenance"));
  CHECK(Of({Check("_node_maintenancex", HealthStatus::kPassing)}) == AggregatedStatus::kPassing);
}

TEST_CASE("the names are Consul's") {
  CHECK(AggregatedStatusName(AggregatedStatus::kPassing) == "passing");
  CHECK(AggregatedStatusName(AggregatedStatus::kWarning) == "warning");
  CHECK(AggregatedStatusName(AggregatedStatus::kCritical) == "critical");
  CHECK(AggregatedStatusName(AggregatedStatus::kMaintenance) == "maintenance");
}

}  // namespace
}  // namespace roster::store
