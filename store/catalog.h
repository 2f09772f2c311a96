// CatalogTable: the nodes and health checks of the replicated state machine
// (consul-api.md §1.2, §1.3; Consul's agent/consul/state/catalog.go). Services join
// next: a node's services will live beside its checks, in Table::kServices.
//
// A check belongs to a node (checks_ is keyed by node, then check id), so
// deregistering a node removes its checks. Writes that change nothing (the same
// address, the same status and output) bump no index and wake no watcher. What a
// check turning critical does to sessions is the catalog commands' business
// (store/catalog.cc, store/apply.h), not this table's.
// Watch keys: Table::kNodes with key = node name; Table::kChecks with key = the node
// name of the check (a check change wakes watchers of its node's checks).
// Names are case-sensitive (Consul lowercases node names and check ids in its
// indexes; Roster does not yet).
//
// Thread-safety: none. One writer (the apply loop); readers must be synchronised with
// it by the caller. Design notes: docs/design/store.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/types.h"

namespace roster::store {

// A check's state. The values are part of the log and snapshot formats.
enum class HealthStatus : std::uint8_t {
  kPassing = 0,
  kWarning = 1,
  kCritical = 2,  // invalidates the sessions bound to the check
};

// Consul's spelling: "passing", "warning", "critical".
std::string_view HealthStatusName(HealthStatus status);

// Consul's Node. Tagged addresses and meta come with the services issue.
struct Node {
  std::string name;  // Consul's Node: the node's name, the catalog's key
  std::string id;    // Consul's ID: a UUID chosen by the agent; may be empty
  std::string address;
  Index create_index = 0;
  Index modify_index = 0;

  bool operator==(const Node&) const = default;
};

// Consul's HealthCheck.
struct HealthCheck {
  std::string node;
  std::string check_id;
  std::string name;
  HealthStatus status = HealthStatus::kCritical;  // Consul's default for a new check
  std::string notes;
  std::string output;
  std::string service_id;  // empty: a node check
  std::string service_name;
  Index create_index = 0;
  Index modify_index = 0;

  // Equal in everything but the indexes: a re-registration that changes nothing.
  bool SameAs(const HealthCheck& other) const;
  bool operator==(const HealthCheck&) const = default;
};

class CatalogTable {
 public:
  using Nodes = std::map<std::string, Node, std::less<>>;
  using NodeChecks = std::map<std::string, HealthCheck, std::less<>>;  // by check id
  using Checks = std::map<std::string, NodeChecks, std::less<>>;       // by node name

  CatalogTable() = default;
  // Rebuilds a table from snapshot contents. Fails with Corruption when a map key
  // differs from its record's name or id, a check's node is missing, a node has an
  // empty check map, any record has a zero or inverted create/modify index, or an
  // index exceeds its table index.
  static Result<CatalogTable> FromParts(Nodes nodes, Checks checks, Index nodes_index,
                                        Index checks_index);

  // Writes. Each REQUIRES index >= the table indexes (CHECKed) and records what it
  // changed in `changes`; a write that changes nothing records nothing.

  // Creates node, or updates its id and address. Returns whether anything changed.
  bool UpsertNode(Index index, Node node, ChangeSet& changes);
  // Creates or updates a check. REQUIRES: its node exists (CHECKed). Returns whether
  // anything changed.
  bool UpsertCheck(Index index, HealthCheck check, ChangeSet& changes);
  // Removes one check; false (and no change) if it is absent.
  bool RemoveCheck(Index index, std::string_view node, std::string_view check_id,
                   ChangeSet& changes);
  // Removes a node and all its checks; false (and no change) if it is absent.
  bool RemoveNode(Index index, std::string_view node, ChangeSet& changes);

  // Reads.

  const Node* FindNode(std::string_view name) const;
  const HealthCheck* FindCheck(std::string_view node, std::string_view check_id) const;
  // Every node, in name order.
  std::vector<Node> ListNodes() const;
  // The checks of node, in check id order.
  std::vector<HealthCheck> ListChecks(std::string_view node) const;

  // Consul's "nodes" and "checks" table indexes: the highest index of any change.
  Index NodesIndex() const { return nodes_index_; }
  Index ChecksIndex() const { return checks_index_; }
  const Nodes& nodes() const { return nodes_; }
  const Checks& checks() const { return checks_; }

  bool operator==(const CatalogTable&) const = default;

 private:
  void CheckOrder(Index index) const;

  Nodes nodes_;
  Checks checks_;  // every key is in nodes_; no empty NodeChecks
  Index nodes_index_ = 0;
  Index checks_index_ = 0;
};

}  // namespace roster::store
