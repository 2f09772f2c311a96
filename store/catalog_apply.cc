// The catalog commands (store/apply.h): register and deregister, and the sessions they
// end (consul-api.md §3.1): a bound check registered critical, a bound check removed
// (alone, with its service or with its node), or the node removed.
#include <string>
#include <utility>

#include "store/apply.h"

namespace roster::store::internal {
namespace {

// Invalidates the sessions bound to the check, in id order.
void InvalidateBoundSessions(ApplyContext& context, std::string_view node,
                             std::string_view check_id) {
  for (const std::string& id : context.state.sessions.IdsBoundTo(node, check_id)) {
    InvalidateSession(context, id);
  }
}

// Why the register cannot apply, in Consul's words. The leader's HTTP edge validates
// the request's own fields first; these guard the table's invariants against a proposer
// that did not, and catch what only the state can tell (a check's service).
Status CheckRegister(const CatalogTable& catalog, const CatalogRegister& command) {
  if (command.node.empty()) return InvalidArgument("Must provide node");
  if (command.service.has_value() &&
      (command.service->id.empty() || command.service->service.empty())) {
    return InvalidArgument("Must provide service name with ID");
  }
  for (const HealthCheck& check : command.checks) {
    if (check.check_id.empty()) return InvalidArgument("Missing check ID");
    if (check.service_id.empty()) continue;
    const bool in_request = command.service.has_value() && command.service->id == check.service_id;
    if (!in_request && catalog.FindService(command.node, check.service_id) == nullptr) {
      // Consul's ensureCheckIfNodeMatches around ErrMissingService.
      return FailedPrecondition("failed inserting check on node \"" + command.node +
                                "\": Missing service registration");
    }
  }
  return Status::Ok();
}

}  // namespace

void ApplyCommand(ApplyContext& context, CatalogRegister&& command) {
  CatalogTable& catalog = context.state.catalog;
  if (Status status = CheckRegister(catalog, command); !status.ok()) {
    return context.Refuse(std::move(status));
  }
  ChangeSet& changes = context.result.changes;
  // Consul's RegisterRequest.ChangesNode: SkipNodeUpdate leaves an existing node alone.
  if (!command.skip_node_update || catalog.FindNode(command.node) == nullptr) {
    Node node;
    node.name = command.node;
    node.id = std::move(command.id);
    node.address = std::move(command.address);
    node.datacenter = std::move(command.datacenter);
    node.tagged_addresses = std::move(command.tagged_addresses);
    node.meta = std::move(command.node_meta);
    catalog.UpsertNode(context.index, std::move(node), changes);
  }
  if (command.service.has_value()) {
    catalog.UpsertService(context.index, command.node, std::move(*command.service), changes);
  }
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
  if (command.node.empty()) return context.Refuse(InvalidArgument("Must provide node"));
  CatalogTable& catalog = context.state.catalog;
  ChangeSet& changes = context.result.changes;
  if (!command.service_id.empty()) {
    if (catalog.FindService(command.node, command.service_id) == nullptr) return;
    // Sessions go first: they are bound to checks that must still exist for them.
    for (const HealthCheck& check : catalog.ListChecks(command.node)) {
      if (check.service_id == command.service_id) {
        InvalidateBoundSessions(context, command.node, check.check_id);
      }
    }
    catalog.RemoveService(context.index, command.node, command.service_id, changes);
    return;
  }
  if (!command.check_id.empty()) {
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

}  // namespace roster::store::internal
