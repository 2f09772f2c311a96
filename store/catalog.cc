#include "store/catalog.h"

#include <algorithm>
#include <utility>

#include "base/check.h"
#include "store/apply.h"

namespace roster::store {
namespace {

Status CheckIndexes(std::string_view what, const std::string& name, Index create, Index modify,
                    Index table_index) {
  if (create == 0 || create > modify || modify > table_index) {
    return Corruption("catalog " + std::string(what) + " with invalid indexes: " + name);
  }
  return Status::Ok();
}

Status CheckNodeChecks(const std::string& node, const CatalogTable::NodeChecks& checks,
                       Index checks_index) {
  if (checks.empty()) return Corruption("catalog node with an empty check list: " + node);
  for (const auto& [id, check] : checks) {
    if (id.empty() || id != check.check_id || check.node != node) {
      return Corruption("catalog check stored under another key: " + node + "/" + id);
    }
    RETURN_IF_ERROR(CheckIndexes("check", node + "/" + id, check.create_index, check.modify_index,
                                 checks_index));
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

bool HealthCheck::SameAs(const HealthCheck& other) const {
  return node == other.node && check_id == other.check_id && name == other.name &&
         status == other.status && notes == other.notes && output == other.output &&
         service_id == other.service_id && service_name == other.service_name;
}

Result<CatalogTable> CatalogTable::FromParts(Nodes nodes, Checks checks, Index nodes_index,
                                             Index checks_index) {
  for (const auto& [name, node] : nodes) {
    if (name != node.name || name.empty()) {
      return Corruption("catalog node stored under another key: " + name);
    }
    RETURN_IF_ERROR(CheckIndexes("node", name, node.create_index, node.modify_index, nodes_index));
  }
  for (const auto& [node, node_checks] : checks) {
    if (!nodes.contains(node)) return Corruption("catalog check of a missing node: " + node);
    RETURN_IF_ERROR(CheckNodeChecks(node, node_checks, checks_index));
  }
  CatalogTable table;
  table.nodes_ = std::move(nodes);
  table.checks_ = std::move(checks);
  table.nodes_index_ = nodes_index;
  table.checks_index_ = checks_index;
  return table;
}

void CatalogTable::CheckOrder(Index index) const {
  CHECK(index > 0) << "catalog write at index 0";
  CHECK_GE(index, std::max(nodes_index_, checks_index_)) << "catalog write out of log order";
}

bool CatalogTable::UpsertNode(Index index, Node node, ChangeSet& changes) {
  CheckOrder(index);
  auto [it, inserted] = nodes_.try_emplace(node.name);
  Node& stored = it->second;
  if (!inserted && stored.id == node.id && stored.address == node.address) return false;
  node.create_index = inserted ? index : stored.create_index;
  node.modify_index = index;
  stored = std::move(node);
  nodes_index_ = index;
  changes.AddKey(Table::kNodes, stored.name);
  return true;
}

bool CatalogTable::UpsertCheck(Index index, HealthCheck check, ChangeSet& changes) {
  CheckOrder(index);
  CHECK(nodes_.contains(check.node)) << "check registered on a missing node " << check.node;
  NodeChecks& node_checks = checks_[check.node];
  auto [it, inserted] = node_checks.try_emplace(check.check_id);
  HealthCheck& stored = it->second;
  if (!inserted && stored.SameAs(check)) return false;
  check.create_index = inserted ? index : stored.create_index;
  check.modify_index = index;
  stored = std::move(check);
  checks_index_ = index;
  changes.AddKey(Table::kChecks, stored.node);
  return true;
}

bool CatalogTable::RemoveCheck(Index index, std::string_view node, std::string_view check_id,
                               ChangeSet& changes) {
  CheckOrder(index);
  auto node_it = checks_.find(node);
  if (node_it == checks_.end()) return false;
  auto it = node_it->second.find(check_id);
  if (it == node_it->second.end()) return false;
  node_it->second.erase(it);
  changes.AddKey(Table::kChecks, node_it->first);
  if (node_it->second.empty()) checks_.erase(node_it);
  checks_index_ = index;
  return true;
}

bool CatalogTable::RemoveNode(Index index, std::string_view node, ChangeSet& changes) {
  CheckOrder(index);
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return false;
  if (auto checks_it = checks_.find(node); checks_it != checks_.end()) {
    checks_.erase(checks_it);
    checks_index_ = index;
    changes.AddKey(Table::kChecks, it->first);
  }
  changes.AddKey(Table::kNodes, it->first);
  nodes_.erase(it);
  nodes_index_ = index;
  return true;
}

const Node* CatalogTable::FindNode(std::string_view name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
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

std::vector<HealthCheck> CatalogTable::ListChecks(std::string_view node) const {
  std::vector<HealthCheck> result;
  auto node_it = checks_.find(node);
  if (node_it == checks_.end()) return result;
  for (const auto& [id, check] : node_it->second) result.push_back(check);
  return result;
}

// ---- Commands (store/apply.h) ------------------------------------------------------------

namespace internal {
namespace {

// Invalidates the sessions bound to the check, in id order.
void InvalidateBoundSessions(ApplyContext& context, std::string_view node,
                             std::string_view check_id) {
  for (const std::string& id : context.state.sessions.IdsBoundTo(node, check_id)) {
    InvalidateSession(context, id);
  }
}

}  // namespace

void ApplyCommand(ApplyContext& context, CatalogRegister&& command) {
  // Consul's texts. The leader validates first, so these only guard the snapshot's
  // invariants against a proposer that did not.
  if (command.node.empty()) return context.Refuse(InvalidArgument("Must provide node"));
  for (const HealthCheck& check : command.checks) {
    if (check.check_id.empty()) return context.Refuse(InvalidArgument("Missing check ID"));
  }
  CatalogTable& catalog = context.state.catalog;
  ChangeSet& changes = context.result.changes;
  catalog.UpsertNode(context.index,
                     Node{command.node, std::move(command.id), std::move(command.address), 0, 0},
                     changes);
  for (HealthCheck& check : command.checks) {
    check.node = command.node;
    const std::string check_id = check.check_id;
    const bool critical = check.status == HealthStatus::kCritical;
    catalog.UpsertCheck(context.index, std::move(check), changes);
    // consul-api.md §3.1: a bound check going critical ends its sessions in this entry.
    if (critical) InvalidateBoundSessions(context, command.node, check_id);
  }
}

void ApplyCommand(ApplyContext& context, CatalogDeregister&& command) {
  CatalogTable& catalog = context.state.catalog;
  ChangeSet& changes = context.result.changes;
  if (!command.check_id.empty()) {
    // Sessions go first: they are bound to a check that must still exist for them.
    InvalidateBoundSessions(context, command.node, command.check_id);
    catalog.RemoveCheck(context.index, command.node, command.check_id, changes);
    return;
  }
  if (catalog.FindNode(command.node) == nullptr) return;
  // Every session on the node ends, bound to a check or not (consul-api.md §3.1).
  for (const std::string& id : context.state.sessions.IdsForNode(command.node)) {
    InvalidateSession(context, id);
  }
  catalog.RemoveNode(context.index, command.node, changes);
}

}  // namespace internal
}  // namespace roster::store
