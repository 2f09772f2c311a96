#include "store/catalog.h"

#include <arpa/inet.h>

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace roster::store {
namespace {

Status CheckIndexes(std::string_view what, const std::string& name, Index create, Index modify,
                    Index table_index) {
  if (create == 0 || create > modify || modify > table_index) {
    return Corruption("catalog " + std::string(what) + " with invalid indexes: " + name);
  }
  return Status::Ok();
}

}  // namespace

std::string_view HealthStatusName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kPassing:
      return "passing";
    case HealthStatus::kWarning:
      return "warning";
    case HealthStatus::kCritical:
      return "critical";
  }
  CHECK(false) << "unknown health status " << static_cast<int>(status);
  return "";
}

StringMap AgentTaggedAddresses(const std::string& address) {
  StringMap tagged{{"lan", address}, {"wan", address}};
  unsigned char bytes[16];
  if (inet_pton(AF_INET, address.c_str(), bytes) == 1) {
    tagged.emplace("lan_ipv4", address);
    tagged.emplace("wan_ipv4", address);
  } else if (inet_pton(AF_INET6, address.c_str(), bytes) == 1) {
    tagged.emplace("lan_ipv6", address);
    tagged.emplace("wan_ipv6", address);
  }
  return tagged;
}

bool Node::SameAs(const Node& other) const {
  return name == other.name && id == other.id && address == other.address &&
         datacenter == other.datacenter && tagged_addresses == other.tagged_addresses &&
         meta == other.meta;
}

bool NodeService::SameAs(const NodeService& other) const {
  return id == other.id && service == other.service && tags == other.tags &&
         address == other.address && tagged_addresses == other.tagged_addresses &&
         meta == other.meta && port == other.port && weights == other.weights &&
         enable_tag_override == other.enable_tag_override;
}

bool HealthCheck::SameAs(const HealthCheck& other) const {
  return node == other.node && check_id == other.check_id && name == other.name &&
         status == other.status && notes == other.notes && output == other.output &&
         service_id == other.service_id && service_name == other.service_name &&
         type == other.type && definition == other.definition;
}

// ---- Snapshot contents ---------------------------------------------------------------

namespace {

Status CheckNodes(const CatalogTable::Parts& parts) {
  for (const auto& [name, node] : parts.nodes) {
    if (name != node.name || name.empty()) {
      return Corruption("catalog node stored under another key: " + name);
    }
    RETURN_IF_ERROR(
        CheckIndexes("node", name, node.create_index, node.modify_index, parts.indexes.nodes));
    auto node_index = parts.node_indexes.find(name);
    if (node_index == parts.node_indexes.end() || node_index->second < node.modify_index ||
        node_index->second > parts.indexes.nodes) {
      return Corruption("catalog node without a valid node index: " + name);
    }
  }
  if (parts.node_indexes.size() != parts.nodes.size()) {
    return Corruption("catalog node index of a missing node");
  }
  return Status::Ok();
}

Status CheckServices(const CatalogTable::Parts& parts) {
  for (const auto& [node, services] : parts.services) {
    if (!parts.nodes.contains(node)) return Corruption("catalog service of a missing node: " + node);
    if (services.empty()) return Corruption("catalog node with an empty service list: " + node);
    for (const auto& [id, service] : services) {
      if (id.empty() || id != service.id || service.service.empty()) {
        return Corruption("catalog service stored under another key: " + node + "/" + id);
      }
      RETURN_IF_ERROR(CheckIndexes("service", node + "/" + id, service.create_index,
                                   service.modify_index, parts.indexes.services));
      auto name_index = parts.service_indexes.find(service.service);
      if (name_index == parts.service_indexes.end() || name_index->second < service.modify_index) {
        return Corruption("catalog service without a valid name index: " + service.service);
      }
    }
  }
  return Status::Ok();
}

Status CheckChecks(const CatalogTable::Parts& parts) {
  for (const auto& [node, checks] : parts.checks) {
    if (!parts.nodes.contains(node)) return Corruption("catalog check of a missing node: " + node);
    if (checks.empty()) return Corruption("catalog node with an empty check list: " + node);
    for (const auto& [id, check] : checks) {
      if (id.empty() || id != check.check_id || check.node != node) {
        return Corruption("catalog check stored under another key: " + node + "/" + id);
      }
      RETURN_IF_ERROR(CheckIndexes("check", node + "/" + id, check.create_index,
                                   check.modify_index, parts.indexes.checks));
      if (check.service_id.empty()) {
        if (!check.service_name.empty()) {
          return Corruption("catalog node check with a service name: " + node + "/" + id);
        }
        continue;
      }
      auto services = parts.services.find(node);
      const NodeService* service = nullptr;
      if (services != parts.services.end()) {
        auto it = services->second.find(check.service_id);
        if (it != services->second.end()) service = &it->second;
      }
      if (service == nullptr || service->service != check.service_name) {
        return Corruption("catalog check of a missing service: " + node + "/" + id);
      }
    }
  }
  return Status::Ok();
}

Status CheckTableIndexes(const CatalogTable::Parts& parts) {
  const CatalogIndexes& indexes = parts.indexes;
  const Index highest = std::max({indexes.nodes, indexes.services, indexes.checks});
  if (indexes.node_extinction > indexes.nodes || indexes.service_extinction > indexes.services) {
    return Corruption("catalog extinction index beyond its table index");
  }
  for (const auto& [name, index] : parts.service_indexes) {
    if (name.empty() || index == 0 || index > highest) {
      return Corruption("catalog service name index out of range: " + name);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<CatalogTable> CatalogTable::FromParts(Parts parts) {
  RETURN_IF_ERROR(CheckNodes(parts));
  RETURN_IF_ERROR(CheckServices(parts));
  RETURN_IF_ERROR(CheckChecks(parts));
  RETURN_IF_ERROR(CheckTableIndexes(parts));
  CatalogTable table;
  table.nodes_ = std::move(parts.nodes);
  table.services_ = std::move(parts.services);
  table.checks_ = std::move(parts.checks);
  table.indexes_ = parts.indexes;
  table.node_indexes_ = std::move(parts.node_indexes);
  table.service_indexes_ = std::move(parts.service_indexes);
  table.RebuildInstances();
  if (table.instances_.size() != table.service_indexes_.size()) {
    return Corruption("catalog service name index of a name without instances");
  }
  return table;
}

void CatalogTable::RebuildInstances() {
  instances_.clear();
  for (const auto& [node, services] : services_) {
    for (const auto& [id, service] : services) instances_[service.service].emplace(node, id);
  }
}

// ---- Writes ----------------------------------------------------------------------------

void CatalogTable::CheckOrder(Index index) const {
  CHECK(index > 0) << "catalog write at index 0";
  CHECK_GE(index, std::max({indexes_.nodes, indexes_.services, indexes_.checks}))
      << "catalog write out of log order";
}

void CatalogTable::TouchServiceName(Index index, const std::string& name, ChangeSet& changes) {
  service_indexes_[name] = index;
  changes.AddKeyOnly(Table::kServices, name);
}

void CatalogTable::TouchServicesOfNode(Index index, std::string_view node, ChangeSet& changes) {
  auto services = services_.find(node);
  if (services == services_.end()) return;
  for (const auto& [id, service] : services->second) TouchServiceName(index, service.service, changes);
}

void CatalogTable::TouchNode(Index index, const std::string& node, ChangeSet& changes) {
  indexes_.nodes = index;
  node_indexes_[node] = index;
  changes.AddKey(Table::kNodes, node);
}

bool CatalogTable::UpsertNode(Index index, Node node, ChangeSet& changes) {
  CheckOrder(index);
  auto [it, inserted] = nodes_.try_emplace(node.name);
  Node& stored = it->second;
  if (!inserted && stored.SameAs(node)) return false;
  node.create_index = inserted ? index : stored.create_index;
  node.modify_index = index;
  stored = std::move(node);
  TouchNode(index, stored.name, changes);
  // The node's fields are part of every health result of its services.
  TouchServicesOfNode(index, stored.name, changes);
  return true;
}

bool CatalogTable::UpsertService(Index index, std::string_view node, NodeService service,
                                 ChangeSet& changes) {
  CheckOrder(index);
  auto node_it = nodes_.find(node);
  CHECK(node_it != nodes_.end()) << "service registered on a missing node " << node;
  CHECK(!service.id.empty() && !service.service.empty()) << "service without an id or a name";
  const std::string& node_name = node_it->first;
  auto [it, inserted] = services_[node_name].try_emplace(service.id);
  NodeService& stored = it->second;
  if (!inserted && stored.SameAs(service)) return false;
  const std::string old_name = inserted ? std::string() : stored.service;
  service.create_index = inserted ? index : stored.create_index;
  service.modify_index = index;
  stored = std::move(service);
  indexes_.services = index;
  changes.AddTable(Table::kServices);
  TouchNode(index, node_name, changes);
  instances_[stored.service].emplace(node_name, stored.id);
  service_indexes_[stored.service] = index;
  changes.AddKey(Table::kServices, stored.service);
  if (!old_name.empty() && old_name != stored.service) {
    DropInstance(index, old_name, node_name, stored.id, changes);
    RenameServiceChecks(index, node_name, stored.id, stored.service, changes);
  }
  return true;
}

void CatalogTable::DropInstance(Index index, const std::string& name, const std::string& node,
                                const std::string& id, ChangeSet& changes) {
  auto instances = instances_.find(name);
  CHECK(instances != instances_.end()) << "service name index lost " << name;
  instances->second.erase(std::pair<std::string, std::string>(node, id));
  changes.AddKey(Table::kServices, name);
  if (!instances->second.empty()) {
    service_indexes_[name] = index;
    return;
  }
  // The last instance: the name's index goes (Consul deletes "service.<name>") and the
  // extinction index keeps blocking queries on the absent name from going backwards.
  instances_.erase(instances);
  service_indexes_.erase(name);
  indexes_.service_extinction = index;
}

void CatalogTable::RenameServiceChecks(Index index, const std::string& node,
                                       const std::string& id, const std::string& name,
                                       ChangeSet& changes) {
  auto node_checks = checks_.find(node);
  if (node_checks == checks_.end()) return;
  for (auto& [check_id, check] : node_checks->second) {
    if (check.service_id != id) continue;
    check.service_name = name;
    check.modify_index = index;
    indexes_.checks = index;
    changes.AddKey(Table::kChecks, node);
  }
}

bool CatalogTable::UpsertCheck(Index index, HealthCheck check, ChangeSet& changes) {
  CheckOrder(index);
  CHECK(nodes_.contains(check.node)) << "check registered on a missing node " << check.node;
  const NodeService* service = nullptr;
  if (!check.service_id.empty()) {
    service = FindService(check.node, check.service_id);
    CHECK(service != nullptr) << "check of a missing service " << check.service_id;
    check.service_name = service->service;
  } else {
    check.service_name.clear();
  }
  NodeChecks& node_checks = checks_[check.node];
  auto [it, inserted] = node_checks.try_emplace(check.check_id);
  HealthCheck& stored = it->second;
  if (!inserted && stored.SameAs(check)) return false;
  check.create_index = inserted ? index : stored.create_index;
  check.modify_index = index;
  stored = std::move(check);
  indexes_.checks = index;
  changes.AddKey(Table::kChecks, stored.node);
  if (service != nullptr) {
    TouchServiceName(index, service->service, changes);
  } else {
    TouchServicesOfNode(index, stored.node, changes);  // a node check counts for all of them
  }
  return true;
}

void CatalogTable::EraseCheck(Index index, Checks::iterator node_it, NodeChecks::iterator it,
                              ChangeSet& changes) {
  const std::string node = node_it->first;
  node_it->second.erase(it);
  if (node_it->second.empty()) checks_.erase(node_it);
  indexes_.checks = index;
  changes.AddKey(Table::kChecks, node);
}

bool CatalogTable::RemoveCheck(Index index, std::string_view node, std::string_view check_id,
                               ChangeSet& changes) {
  CheckOrder(index);
  auto node_it = checks_.find(node);
  if (node_it == checks_.end()) return false;
  auto it = node_it->second.find(check_id);
  if (it == node_it->second.end()) return false;
  if (!it->second.service_id.empty()) {
    TouchServiceName(index, it->second.service_name, changes);
  } else {
    // As Consul's deleteCheckTxn: every service of the node, and the services table.
    TouchServicesOfNode(index, node, changes);
    indexes_.services = index;
    changes.AddTable(Table::kServices);
  }
  EraseCheck(index, node_it, it, changes);
  return true;
}

bool CatalogTable::RemoveService(Index index, std::string_view node, std::string_view service_id,
                                 ChangeSet& changes) {
  CheckOrder(index);
  auto node_services = services_.find(node);
  if (node_services == services_.end()) return false;
  auto it = node_services->second.find(service_id);
  if (it == node_services->second.end()) return false;
  const std::string node_name = node_services->first;
  const NodeService removed = std::move(it->second);
  node_services->second.erase(it);
  if (node_services->second.empty()) services_.erase(node_services);
  if (auto node_checks = checks_.find(node_name); node_checks != checks_.end()) {
    for (auto check = node_checks->second.begin(); check != node_checks->second.end();) {
      if (check->second.service_id == removed.id) {
        check = node_checks->second.erase(check);
        changes.AddKey(Table::kChecks, node_name);
      } else {
        ++check;
      }
    }
    if (node_checks->second.empty()) checks_.erase(node_checks);
  }
  // Consul moves the checks table index on every service removal, checks or not.
  indexes_.checks = index;
  changes.AddTable(Table::kChecks);
  indexes_.services = index;
  changes.AddTable(Table::kServices);
  TouchNode(index, node_name, changes);
  DropInstance(index, removed.service, node_name, removed.id, changes);
  return true;
}

bool CatalogTable::RemoveNode(Index index, std::string_view node, ChangeSet& changes) {
  CheckOrder(index);
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return false;
  const std::string name = it->first;
  for (const NodeService& service : ListServices(name)) RemoveService(index, name, service.id, changes);
  for (const HealthCheck& check : ListChecks(name)) RemoveCheck(index, name, check.check_id, changes);
  nodes_.erase(name);
  indexes_.nodes = index;
  node_indexes_.erase(name);
  indexes_.node_extinction = index;
  changes.AddKey(Table::kNodes, name);
  return true;
}

// ---- Reads -----------------------------------------------------------------------------

const Node* CatalogTable::FindNode(std::string_view name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

const NodeService* CatalogTable::FindService(std::string_view node,
                                             std::string_view service_id) const {
  auto node_it = services_.find(node);
  if (node_it == services_.end()) return nullptr;
  auto it = node_it->second.find(service_id);
  return it == node_it->second.end() ? nullptr : &it->second;
}

const HealthCheck* CatalogTable::FindCheck(std::string_view node, std::string_view check_id) const {
  auto node_it = checks_.find(node);
  if (node_it == checks_.end()) return nullptr;
  auto it = node_it->second.find(check_id);
  return it == node_it->second.end() ? nullptr : &it->second;
}

std::vector<Node> CatalogTable::ListNodes() const {
  std::vector<Node> result;
  result.reserve(nodes_.size());
  for (const auto& [name, node] : nodes_) result.push_back(node);
  return result;
}

std::vector<NodeService> CatalogTable::ListServices(std::string_view node) const {
  std::vector<NodeService> result;
  auto node_it = services_.find(node);
  if (node_it == services_.end()) return result;
  for (const auto& [id, service] : node_it->second) result.push_back(service);
  return result;
}

std::vector<HealthCheck> CatalogTable::ListChecks(std::string_view node) const {
  std::vector<HealthCheck> result;
  auto node_it = checks_.find(node);
  if (node_it == checks_.end()) return result;
  for (const auto& [id, check] : node_it->second) result.push_back(check);
  return result;
}

const CatalogTable::InstanceSet& CatalogTable::InstancesOf(std::string_view service_name) const {
  static const InstanceSet kNone;
  auto it = instances_.find(service_name);
  return it == instances_.end() ? kNone : it->second;
}

Index CatalogTable::ServiceQueryIndex(std::string_view service_name, bool with_checks) const {
  if (auto it = service_indexes_.find(service_name); it != service_indexes_.end()) {
    return it->second;
  }
  if (indexes_.service_extinction > 0) return indexes_.service_extinction;
  const Index catalog = std::max(indexes_.nodes, indexes_.services);
  return with_checks ? std::max(catalog, indexes_.checks) : catalog;
}

Index CatalogTable::NodeQueryIndex(std::string_view node) const {
  auto it = node_indexes_.find(node);
  return it == node_indexes_.end() ? indexes_.node_extinction : it->second;
}

}  // namespace roster::store
