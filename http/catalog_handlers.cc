// /v1/catalog/* (consul-api.md §1.2, §2.2; Consul's agent/catalog_endpoint.go and
// agent/consul/catalog_endpoint.go). Register and deregister are one store command each
// through Raft; the reads are blocking queries whose index and watch keys are the ones
// Consul's state store uses (store/catalog.h): the nodes or services table for the
// lists, the per-service-name index for one service, the per-node index for one node.
// Also /v1/coordinate/*, which has no coordinates to give (below).
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "http/catalog_json.h"
#include "http/catalog_params.h"
#include "http/catalog_read.h"
#include "http/handlers.h"
#include "store/command.h"

namespace roster::http {
namespace {

constexpr std::string_view kServicePrefix = "/v1/catalog/service/";
constexpr std::string_view kNodePrefix = "/v1/catalog/node/";
constexpr std::string_view kNodeServicesPrefix = "/v1/catalog/node-services/";

using store::Table;
using store::WatchKey;

// One instance as a catalog row shows it: its node and itself.
struct Row {
  store::Node node;
  store::NodeService service;
};

// The instances of `name` whose node matches the meta filter and which carry every tag.
std::vector<Row> RowsOf(const store::CatalogTable& catalog, std::string_view name,
                        const store::StringMap& node_meta, const std::vector<std::string>& tags) {
  std::vector<Row> rows;
  for (const auto& [node_name, id] : catalog.InstancesOf(name)) {
    const store::Node* node = catalog.FindNode(node_name);
    const store::NodeService* service = catalog.FindService(node_name, id);
    if (node == nullptr || service == nullptr) continue;  // cannot happen: same table
    if (!MatchesNodeMeta(node->meta, node_meta) || !HasAllTags(service->tags, tags)) continue;
    rows.push_back(Row{*node, *service});
  }
  return rows;
}

Json RowsJson(const std::vector<Row>& rows) {
  Json list = Json::array();
  for (const Row& row : rows) list.push_back(ServiceNodeJson(row.node, row.service));
  return list;
}

// {name: [tags]} from ServiceNode items (after a filter).
Json ServicesMapJson(const Json& service_nodes) {
  std::map<std::string, std::set<std::string>> tags;
  for (const Json& item : service_nodes) {
    std::set<std::string>& of_name = tags[item["ServiceName"].get<std::string>()];
    for (const Json& tag : item["ServiceTags"]) of_name.insert(tag.get<std::string>());
  }
  Json json = Json::object();
  for (const auto& [name, set] : tags) json[name] = Json(std::vector<std::string>(set.begin(), set.end()));
  return json;
}

Reply WriteReply(const HandlerContext& context, const ApiRequest& request,
                 const std::string& command) {
  Result<WriteOutcome> outcome = context.backend.Apply(command);
  // A check naming a missing service: the store's text, Consul's 500.
  if (!outcome.ok()) return StatusReply(outcome.status());
  return JsonReply(Json(true), request.query.Has("pretty"));
}

Reply NoPathToDatacenter() { return TextReply(500, "No path to datacenter"); }

// Consul's minUUIDLookupLen: shorter strings are names only.
constexpr std::size_t kNodeIdPrefixMin = 2;

// Whether `text` could be (a prefix of) a node ID: hex digits and dashes.
bool IsNodeIdPrefix(std::string_view text) {
  if (text.size() < kNodeIdPrefixMin || text.size() > 36) return false;
  for (char c : text) {
    if (!IsAsciiHexDigit(c) && c != '-') return false;
  }
  return true;
}

// The node named `name_or_id`, or else the one node whose ID starts with it (case
// aside), as Consul's catalog/node and node-services look nodes up; null when none, or
// when the prefix fits several.
const store::Node* FindNodeByNameOrId(const store::CatalogTable& catalog,
                                      std::string_view name_or_id) {
  if (const store::Node* node = catalog.FindNode(name_or_id)) return node;
  if (!IsNodeIdPrefix(name_or_id)) return nullptr;
  const store::Node* found = nullptr;
  for (const auto& [name, node] : catalog.nodes()) {
    if (!StartsWithIgnoringCase(node.id, name_or_id)) continue;
    if (found != nullptr) return nullptr;
    found = &node;
  }
  return found;
}

}  // namespace

Reply HandleCatalogRegister(const HandlerContext& context, const ApiRequest& request) {
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  Result<store::CatalogRegister> command =
      ParseCatalogRegister(request.body, CatalogRules{context.options.datacenter});
  if (!command.ok()) return StatusReply(command.status());
  if (command->datacenter != context.options.datacenter) return NoPathToDatacenter();
  return WriteReply(context, request, store::Encode(*command));
}

Reply HandleCatalogDeregister(const HandlerContext& context, const ApiRequest& request) {
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  Result<CatalogDeregisterRequest> parsed =
      ParseCatalogDeregister(request.body, CatalogRules{context.options.datacenter});
  if (!parsed.ok()) return StatusReply(parsed.status());
  if (parsed->datacenter != context.options.datacenter) return NoPathToDatacenter();
  return WriteReply(context, request, store::Encode(parsed->command));
}

Reply HandleCatalogDatacenters(const HandlerContext& context, const ApiRequest& request) {
  Json list = Json::array();
  list.push_back(context.options.datacenter);  // no WAN federation: ours only
  return JsonReply(list, request.query.Has("pretty"));
}

Reply HandleCatalogNodes(const HandlerContext& context, const ApiRequest& request) {
  Result<CatalogReadParams> params = ParseCatalogRead(context, request);
  if (!params.ok()) return StatusReply(params.status());
  auto shared = std::make_shared<const CatalogReadParams>(std::move(params).value());
  auto nodes = std::make_shared<std::vector<store::Node>>();
  return CatalogReadReply(
      context, *shared, {WatchKey::WholeTable(Table::kNodes)},
      [params = shared, nodes](const store::Store& store) {
        nodes->clear();
        for (const auto& [name, node] : store.catalog().nodes()) {
          if (MatchesNodeMeta(node.meta, params->node_meta)) nodes->push_back(node);
        }
        return store.catalog().NodesIndex();
      },
      [params = shared, nodes]() -> Result<Json> {
        Json list = Json::array();
        for (const store::Node& node : *nodes) list.push_back(NodeJson(node));
        RETURN_IF_ERROR(params->filter.Apply(list));
        return list;
      });
}

Reply HandleCatalogServices(const HandlerContext& context, const ApiRequest& request) {
  Result<CatalogReadParams> params = ParseCatalogRead(context, request);
  if (!params.ok()) return StatusReply(params.status());
  const bool by_meta = !params->node_meta.empty();
  std::vector<WatchKey> watch_keys = {WatchKey::WholeTable(Table::kServices)};
  // Node meta can change under the same services (Consul's ServicesByNodeMeta).
  if (by_meta) watch_keys.push_back(WatchKey::WholeTable(Table::kNodes));
  auto shared = std::make_shared<const CatalogReadParams>(std::move(params).value());
  auto rows = std::make_shared<std::vector<Row>>();
  return CatalogReadReply(
      context, *shared, std::move(watch_keys),
      [params = shared, rows, by_meta](const store::Store& store) {
        const store::CatalogTable& catalog = store.catalog();
        rows->clear();
        for (const auto& [name, instances] : catalog.instances()) {
          for (Row& row : RowsOf(catalog, name, params->node_meta, {})) rows->push_back(std::move(row));
        }
        return by_meta ? std::max(catalog.ServicesIndex(), catalog.NodesIndex())
                       : catalog.ServicesIndex();
      },
      [params = shared, rows]() -> Result<Json> {
        Json service_nodes = RowsJson(*rows);
        RETURN_IF_ERROR(params->filter.Apply(service_nodes));
        return ServicesMapJson(service_nodes);
      });
}

Reply HandleCatalogService(const HandlerContext& context, const ApiRequest& request) {
  const std::string name = request.path.substr(kServicePrefix.size());
  if (name.empty()) return TextReply(400, "Missing service name");
  Result<CatalogReadParams> params = ParseCatalogRead(context, request);
  if (!params.ok()) return StatusReply(params.status());
  const std::vector<std::string> tags = QueryValues(request.query, "tag");
  auto shared = std::make_shared<const CatalogReadParams>(std::move(params).value());
  auto rows = std::make_shared<std::vector<Row>>();
  return CatalogReadReply(
      context, *shared, {WatchKey::Key(Table::kServices, name)},
      [params = shared, rows, name, tags](const store::Store& store) {
        *rows = RowsOf(store.catalog(), name, params->node_meta, tags);
        return store.catalog().ServiceQueryIndex(name, /*with_checks=*/false);
      },
      [params = shared, rows]() -> Result<Json> {
        Json list = RowsJson(*rows);
        RETURN_IF_ERROR(params->filter.Apply(list));
        return list;
      });
}

namespace {

// A node with its services, as /v1/catalog/node and node-services show it.
struct NodeWithServices {
  std::optional<store::Node> node;
  std::vector<store::NodeService> services;
};

// Serves one node's services: `shape` makes the body from the node and the (filtered)
// services; the body is `absent` when there is no such node.
Reply NodeServicesReply(const HandlerContext& context, const ApiRequest& request,
                        std::string_view prefix, bool as_map) {
  const std::string node = request.path.substr(prefix.size());
  if (node.empty()) return TextReply(400, "Missing node name");
  Result<CatalogReadParams> params = ParseCatalogRead(context, request);
  if (!params.ok()) return StatusReply(params.status());
  auto shared = std::make_shared<const CatalogReadParams>(std::move(params).value());
  auto found = std::make_shared<NodeWithServices>();
  // Looked up by ID, the node's name is not known before the read: any node's change
  // may be one to it (a service change touches its node's key, and so the table).
  std::vector<WatchKey> watch = {WatchKey::Key(Table::kNodes, node)};
  if (IsNodeIdPrefix(node)) watch.push_back(WatchKey::WholeTable(Table::kNodes));
  return CatalogReadReply(
      context, *shared, std::move(watch),
      [found, node](const store::Store& store) {
        const store::CatalogTable& catalog = store.catalog();
        *found = NodeWithServices{};
        const store::Node* stored = FindNodeByNameOrId(catalog, node);
        if (stored == nullptr) return catalog.NodeQueryIndex(node);
        found->node = *stored;
        found->services = catalog.ListServices(stored->name);
        return catalog.NodeQueryIndex(stored->name);
      },
      [params = shared, found, as_map]() -> Result<Json> {
        // Consul: catalog/node of an unknown node is null; node-services has null fields.
        if (!found->node.has_value()) {
          return as_map ? Json(nullptr) : Json{{"Node", nullptr}, {"Services", nullptr}};
        }
        Json services = as_map ? Json::object() : Json::array();
        for (const store::NodeService& service : found->services) {
          if (as_map) {
            services[service.id] = NodeServiceJson(service);
          } else {
            services.push_back(NodeServiceJson(service));
          }
        }
        RETURN_IF_ERROR(params->filter.Apply(services));
        Json json = Json::object();
        json["Node"] = NodeJson(*found->node);
        json["Services"] = std::move(services);
        return json;
      });
}

}  // namespace

Reply HandleCatalogNode(const HandlerContext& context, const ApiRequest& request) {
  return NodeServicesReply(context, request, kNodePrefix, /*as_map=*/true);
}

Reply HandleCatalogNodeServices(const HandlerContext& context, const ApiRequest& request) {
  return NodeServicesReply(context, request, kNodeServicesPrefix, /*as_map=*/false);
}

// /v1/coordinate/* (consul-api.md §1.9). Roster has no Serf and so no network
// coordinates; these answer as a Consul with coordinates not yet computed would: no
// coordinates in our datacenter, an empty node list, and 404 for one node. The node
// reads are blocking queries on the nodes table with the X-Consul-* headers, which
// clients read (python-consul fails on a reply without X-Consul-Index).
Reply HandleCoordinateDatacenters(const HandlerContext& context, const ApiRequest& request) {
  Json area = {{"Datacenter", context.options.datacenter},
               {"AreaID", "wan"},
               {"Coordinates", Json::array()}};
  return JsonReply(Json::array({std::move(area)}), request.query.Has("pretty"));
}

Reply HandleCoordinateNodes(const HandlerContext& context, const ApiRequest& request) {
  Result<CatalogReadParams> params = ParseCatalogRead(context, request);
  if (!params.ok()) return StatusReply(params.status());
  return CatalogReadReply(
      context, *params, {WatchKey::WholeTable(Table::kNodes)},
      [](const store::Store& store) { return store.catalog().NodesIndex(); },
      []() -> Result<Json> { return Json::array(); });
}

Reply HandleCoordinateNode(const HandlerContext& context, const ApiRequest& request) {
  constexpr std::string_view kCoordinateNodePrefix = "/v1/coordinate/node/";
  const std::string node = request.path.substr(kCoordinateNodePrefix.size());
  if (node.empty()) return TextReply(400, "Missing node name");
  Result<CatalogReadParams> params = ParseCatalogRead(context, request);
  if (!params.ok()) return StatusReply(params.status());
  BlockingRead read;
  read.consistency = params->options.consistency;
  read.blocking = params->options.blocking;
  read.watch_keys = {WatchKey::Key(Table::kNodes, node)};
  read.run = [node](const store::Store& store) { return store.catalog().NodeQueryIndex(node); };
  read.render = [] { return TextReply(404, ""); };  // Consul: 404, no body, the headers
  return ServeRead(context, std::move(read));
}

}  // namespace roster::http
