// /v1/health/* (consul-api.md §1.3, §2.2; Consul's agent/health_endpoint.go and
// agent/consul/health_endpoint.go). Blocking reads of checks and of instances with their
// checks. health/service's index is the per-service-name index (with checks), and it
// watches only that name; the check lists use the checks table index, as Consul does.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/catalog_json.h"
#include "http/catalog_params.h"
#include "http/catalog_read.h"
#include "http/handlers.h"

namespace roster::http {
namespace {

constexpr std::string_view kServicePrefix = "/v1/health/service/";
constexpr std::string_view kChecksPrefix = "/v1/health/checks/";
constexpr std::string_view kNodePrefix = "/v1/health/node/";
constexpr std::string_view kStatePrefix = "/v1/health/state/";

using store::Table;
using store::WatchKey;

// A check with the tags of its service, copied under the store's lock.
struct ShownCheck {
  store::HealthCheck check;
  std::vector<std::string> service_tags;
};

ShownCheck Show(const store::CatalogTable& catalog, const store::HealthCheck& check) {
  return ShownCheck{check, ServiceTagsOf(catalog, check)};
}

Json ChecksJson(const std::vector<ShownCheck>& checks) {
  Json list = Json::array();
  for (const ShownCheck& shown : checks) {
    list.push_back(HealthCheckJson(shown.check, shown.service_tags));
  }
  return list;
}

// Serves a list of checks: `select` copies them (the node-meta filter applied) and
// returns the index.
Reply ChecksReply(const HandlerContext& context, CatalogReadParams params,
                  std::vector<WatchKey> watch_keys,
                  std::function<store::Index(const store::CatalogTable&,
                                             std::vector<ShownCheck>&)> select) {
  auto shared = std::make_shared<const CatalogReadParams>(std::move(params));
  auto checks = std::make_shared<std::vector<ShownCheck>>();
  return CatalogReadReply(
      context, *shared, std::move(watch_keys),
      [checks, select = std::move(select)](const store::Store& store) {
        checks->clear();
        return select(store.catalog(), *checks);
      },
      [params = shared, checks]() -> Result<Json> {
        Json list = ChecksJson(*checks);
        RETURN_IF_ERROR(params->filter.Apply(list));
        return list;
      });
}

bool OnMatchingNode(const store::CatalogTable& catalog, const std::string& node,
                    const store::StringMap& node_meta) {
  if (node_meta.empty()) return true;
  const store::Node* found = catalog.FindNode(node);
  return found != nullptr && MatchesNodeMeta(found->meta, node_meta);
}

// One instance with its node and its checks: the node's checks, then its own.
struct Instance {
  store::Node node;
  store::NodeService service;
  std::vector<ShownCheck> checks;
};

std::vector<Instance> InstancesOf(const store::CatalogTable& catalog, std::string_view name,
                                  const store::StringMap& node_meta,
                                  const std::vector<std::string>& tags) {
  std::vector<Instance> instances;
  for (const auto& [node_name, id] : catalog.InstancesOf(name)) {
    const store::Node* node = catalog.FindNode(node_name);
    const store::NodeService* service = catalog.FindService(node_name, id);
    if (node == nullptr || service == nullptr) continue;  // cannot happen: same table
    if (!MatchesNodeMeta(node->meta, node_meta) || !HasAllTags(service->tags, tags)) continue;
    Instance instance{*node, *service, {}};
    const std::vector<store::HealthCheck> checks = catalog.ListChecks(node_name);
    for (const store::HealthCheck& check : checks) {
      if (check.service_id.empty()) instance.checks.push_back(Show(catalog, check));
    }
    for (const store::HealthCheck& check : checks) {
      if (check.service_id == id) instance.checks.push_back(ShownCheck{check, service->tags});
    }
    instances.push_back(std::move(instance));
  }
  return instances;
}

bool AllPassing(const Json& check_service_node) {
  for (const Json& check : check_service_node["Checks"]) {
    if (check["Status"] != "passing") return false;
  }
  return true;
}

}  // namespace

Reply HandleHealthService(const HandlerContext& context, const ApiRequest& request) {
  const std::string name = request.path.substr(kServicePrefix.size());
  if (name.empty()) return TextReply(400, "Missing service name");
  Result<CatalogReadParams> params = ParseCatalogRead(context, request);
  if (!params.ok()) return StatusReply(params.status());
  // Consul checks ?passing after its RPC; Roster before blocking, to change nothing.
  Result<bool> passing = ParsePassing(request.query);
  if (!passing.ok()) return StatusReply(passing.status());
  const std::vector<std::string> tags = QueryValues(request.query, "tag");
  auto shared = std::make_shared<const CatalogReadParams>(std::move(params).value());
  auto instances = std::make_shared<std::vector<Instance>>();
  return CatalogReadReply(
      context, *shared, {WatchKey::Key(Table::kServices, name)},
      [params = shared, instances, name, tags](const store::Store& store) {
        *instances = InstancesOf(store.catalog(), name, params->node_meta, tags);
        return store.catalog().ServiceQueryIndex(name, /*with_checks=*/true);
      },
      [params = shared, instances, passing = *passing]() -> Result<Json> {
        Json list = Json::array();
        for (const Instance& instance : *instances) {
          Json item = Json::object();
          item["Node"] = NodeJson(instance.node);
          item["Service"] = NodeServiceJson(instance.service);
          item["Checks"] = ChecksJson(instance.checks);
          list.push_back(std::move(item));
        }
        RETURN_IF_ERROR(params->filter.Apply(list));
        // After the filter, as Consul's agent does: an instance with any check not
        // passing (its node's included) is left out; the index still covers it.
        if (passing) {
          Json kept = Json::array();
          for (Json& item : list) {
            if (AllPassing(item)) kept.push_back(std::move(item));
          }
          list = std::move(kept);
        }
        return list;
      });
}

Reply HandleHealthChecks(const HandlerContext& context, const ApiRequest& request) {
  const std::string name = request.path.substr(kChecksPrefix.size());
  if (name.empty()) return TextReply(400, "Missing service name");
  Result<CatalogReadParams> params = ParseCatalogRead(context, request);
  if (!params.ok()) return StatusReply(params.status());
  const store::StringMap node_meta = params->node_meta;
  return ChecksReply(
      context, std::move(params).value(), {WatchKey::Key(Table::kServices, name)},
      [name, node_meta](const store::CatalogTable& catalog, std::vector<ShownCheck>& checks) {
        for (const auto& [node, id] : catalog.InstancesOf(name)) {
          if (!OnMatchingNode(catalog, node, node_meta)) continue;
          for (const store::HealthCheck& check : catalog.ListChecks(node)) {
            if (check.service_id == id) checks.push_back(Show(catalog, check));
          }
        }
        // Consul: the checks table index, or the service's own with a node-meta filter
        // (ServiceChecksByNodeMeta).
        return node_meta.empty() ? catalog.ChecksIndex() : catalog.ServiceQueryIndex(name, true);
      });
}

Reply HandleHealthNode(const HandlerContext& context, const ApiRequest& request) {
  const std::string node = request.path.substr(kNodePrefix.size());
  if (node.empty()) return TextReply(400, "Missing node name");
  Result<CatalogReadParams> params = ParseCatalogRead(context, request);
  if (!params.ok()) return StatusReply(params.status());
  return ChecksReply(context, std::move(params).value(), {WatchKey::Key(Table::kChecks, node)},
                     [node](const store::CatalogTable& catalog, std::vector<ShownCheck>& checks) {
                       for (const store::HealthCheck& check : catalog.ListChecks(node)) {
                         checks.push_back(Show(catalog, check));
                       }
                       return catalog.ChecksIndex();
                     });
}

Reply HandleHealthState(const HandlerContext& context, const ApiRequest& request) {
  Result<std::optional<store::HealthStatus>> state =
      ParseCheckState(std::string_view(request.path).substr(kStatePrefix.size()));
  if (!state.ok()) return StatusReply(state.status());
  Result<CatalogReadParams> params = ParseCatalogRead(context, request);
  if (!params.ok()) return StatusReply(params.status());
  const store::StringMap node_meta = params->node_meta;
  std::vector<WatchKey> watch_keys = {WatchKey::WholeTable(Table::kChecks)};
  if (!node_meta.empty()) watch_keys.push_back(WatchKey::WholeTable(Table::kNodes));
  return ChecksReply(
      context, std::move(params).value(), std::move(watch_keys),
      [node_meta, state = *state](const store::CatalogTable& catalog,
                                  std::vector<ShownCheck>& checks) {
        for (const auto& [node, node_checks] : catalog.checks()) {
          if (!OnMatchingNode(catalog, node, node_meta)) continue;
          for (const auto& [id, check] : node_checks) {
            if (!state.has_value() || check.status == *state) {
              checks.push_back(Show(catalog, check));
            }
          }
        }
        return catalog.ChecksIndex();
      });
}

}  // namespace roster::http
