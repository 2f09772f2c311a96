// CatalogTable: the nodes, services and health checks of the replicated state machine
// (consul-api.md §1.2, §1.3, §2.2; Consul's agent/consul/state/catalog.go).
//
// Services and checks belong to a node (services_ and checks_ are keyed by node, then
// by id), so deregistering a node removes everything on it; removing a service removes
// its checks. Writes that change nothing (the same address, the same status and output)
// bump no index and wake no watcher. What a check turning critical does to sessions is
// the catalog commands' business (store/catalog_apply.cc, store/apply.h), not this
// table's.
//
// Indexes, as Consul's state store keeps them (docs/design/store.md, "Catalog"):
//  - the nodes, services and checks table indexes;
//  - a per-node index ("node.<name>"): the node's record or its services changed;
//  - a per-service-name index ("service.<name>"): an instance of the name, a check of
//    one, or a node check or the record of a node carrying one changed. It exists
//    while the name has instances;
//  - the "last extinction" indexes: when the last instance of some service name (or
//    some node) went away, so that a blocking query on something absent still sees an
//    index that never goes backwards.
// Watch keys follow them: Table::kNodes with key = node name, Table::kServices with key
// = service name, Table::kChecks with key = the node name of the check. A change that
// moves a name's index but not its table's (a check change, for the services) is
// recorded with ChangeSet::AddKeyOnly.
// Names are case-sensitive (Consul lowercases node names and check ids in its indexes;
// Roster does not yet).
//
// Thread-safety: none. One writer (the apply loop); readers must be synchronised with
// it by the caller. Design notes: docs/design/store.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
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

using StringMap = std::map<std::string, std::string, std::less<>>;

// The TaggedAddresses a Consul agent publishes for its node at `address`: "lan" and
// "wan" (Roster has no separate WAN address), plus "lan_ipv4"/"wan_ipv4" or
// "lan_ipv6"/"wan_ipv6" by the address's family. Prometheus's consul_sd_configs turns
// them into __meta_consul_tagged_address_<name> labels.
StringMap AgentTaggedAddresses(const std::string& address);

// Consul's Node. Fields added after the first form have default initializers, so
// initializers that name only the first fields stay valid (-Wmissing-field-initializers).
struct Node {
  std::string name;  // Consul's Node: the node's name, the catalog's key
  std::string id;    // Consul's ID: a UUID chosen by the agent; may be empty
  std::string address;
  std::string datacenter = {};
  StringMap tagged_addresses = {};  // "lan", "wan", ... -> address
  StringMap meta = {};
  Index create_index = 0;
  Index modify_index = 0;

  // Equal in everything but the indexes: a re-registration that changes nothing.
  bool SameAs(const Node& other) const;
  bool operator==(const Node&) const = default;
};

// Consul's ServiceAddress: an entry of a service's TaggedAddresses.
struct ServiceAddress {
  std::string address;
  std::uint64_t port = 0;  // 0..65535 (the HTTP edge checks)
  bool operator==(const ServiceAddress&) const = default;
};

// Consul's Weights: the DNS SRV weight of an instance by its health.
struct ServiceWeights {
  std::uint64_t passing = 1;
  std::uint64_t warning = 1;
  bool operator==(const ServiceWeights&) const = default;
};

// Consul's NodeService, plain services only (Kind ""). The node is the catalog's key.
struct NodeService {
  std::string id;       // unique on its node; Consul defaults it to the name
  std::string service;  // the service's name
  std::vector<std::string> tags;
  std::string address;  // empty: the node's address
  std::map<std::string, ServiceAddress, std::less<>> tagged_addresses;
  StringMap meta;
  std::uint64_t port = 0;
  ServiceWeights weights;
  bool enable_tag_override = false;
  Index create_index = 0;
  Index modify_index = 0;

  bool SameAs(const NodeService& other) const;
  bool operator==(const NodeService&) const = default;
};

// Consul's HealthCheckDefinition: how an agent runs the check. The store only keeps it
// (the agent runs checks); durations are nanoseconds, 0 when unset.
struct CheckDefinition {
  std::string http;
  std::string tls_server_name;
  bool tls_skip_verify = false;
  std::map<std::string, std::vector<std::string>, std::less<>> header;
  std::string method;
  std::string body;
  std::string tcp;
  std::vector<std::string> script_args;
  std::uint64_t interval_ns = 0;
  std::uint64_t timeout_ns = 0;
  std::uint64_t deregister_critical_service_after_ns = 0;
  std::uint64_t ttl_ns = 0;
  bool operator==(const CheckDefinition&) const = default;
};

// Consul's HealthCheck. ServiceTags are read from the service when a check is shown.
struct HealthCheck {
  std::string node;
  std::string check_id;
  std::string name;
  HealthStatus status = HealthStatus::kCritical;  // Consul's default for a new check
  std::string notes;
  std::string output;
  std::string service_id;    // empty: a node check
  std::string service_name;  // set from the service at apply
  Index create_index = 0;
  Index modify_index = 0;
  std::string type = {};  // "ttl", "http", "tcp", "script", ...; "" for serfHealth
  CheckDefinition definition = {};

  // Equal in everything but the indexes: a re-registration that changes nothing.
  bool SameAs(const HealthCheck& other) const;
  bool operator==(const HealthCheck&) const = default;
};

// The table-wide indexes (docs/design/store.md, "Catalog").
struct CatalogIndexes {
  Index nodes = 0;
  Index services = 0;
  Index checks = 0;
  Index node_extinction = 0;     // the last node removal
  Index service_extinction = 0;  // the last removal of a service name's last instance
  bool operator==(const CatalogIndexes&) const = default;
};

class CatalogTable {
 public:
  using Nodes = std::map<std::string, Node, std::less<>>;
  using NodeServices = std::map<std::string, NodeService, std::less<>>;  // by service id
  using Services = std::map<std::string, NodeServices, std::less<>>;      // by node name
  using NodeChecks = std::map<std::string, HealthCheck, std::less<>>;     // by check id
  using Checks = std::map<std::string, NodeChecks, std::less<>>;          // by node name
  using NameIndexes = std::map<std::string, Index, std::less<>>;

  // Everything a snapshot holds.
  struct Parts {
    Nodes nodes = {};
    Services services = {};
    Checks checks = {};
    CatalogIndexes indexes = {};
    NameIndexes node_indexes = {};     // one per node
    NameIndexes service_indexes = {};  // one per service name that has instances
  };

  CatalogTable() = default;
  // Rebuilds a table from snapshot contents. Fails with Corruption when a map key
  // differs from its record's name or id, a service or check is on a missing node, a
  // check names a missing service (or another service name), a node has an empty
  // service or check map, a record has a zero or inverted create/modify index, an index
  // exceeds its table index, or the per-name indexes do not match the nodes and the
  // service names that exist.
  static Result<CatalogTable> FromParts(Parts parts);

  // Writes. Each REQUIRES index >= every index of the table (CHECKed) and records what
  // it changed in `changes`; a write that changes nothing records nothing.

  // Creates node, or updates its fields. Returns whether anything changed.
  bool UpsertNode(Index index, Node node, ChangeSet& changes);
  // Creates or replaces service `service.id` on node. REQUIRES: the node exists, the
  // service has an id and a name (CHECKed). A service that changes its name moves its
  // checks' service_name along. Returns whether anything changed.
  bool UpsertService(Index index, std::string_view node, NodeService service,
                     ChangeSet& changes);
  // Creates or updates a check; its service_name is taken from its service. REQUIRES:
  // its node exists, and so does its service if it names one (CHECKed). Returns whether
  // anything changed.
  bool UpsertCheck(Index index, HealthCheck check, ChangeSet& changes);
  // Removes one check; false (and no change) if it is absent.
  bool RemoveCheck(Index index, std::string_view node, std::string_view check_id,
                   ChangeSet& changes);
  // Removes a service and its checks; false (and no change) if it is absent.
  bool RemoveService(Index index, std::string_view node, std::string_view service_id,
                     ChangeSet& changes);
  // Removes a node with its services and checks; false (and no change) if it is absent.
  bool RemoveNode(Index index, std::string_view node, ChangeSet& changes);

  // Reads.

  const Node* FindNode(std::string_view name) const;
  const NodeService* FindService(std::string_view node, std::string_view service_id) const;
  const HealthCheck* FindCheck(std::string_view node, std::string_view check_id) const;
  // Every node, in name order.
  std::vector<Node> ListNodes() const;
  // The services of node, in id order.
  std::vector<NodeService> ListServices(std::string_view node) const;
  // The checks of node (node and service checks), in check id order.
  std::vector<HealthCheck> ListChecks(std::string_view node) const;

  // The instances of a service name as (node name, service id), in that order.
  using InstanceSet = std::set<std::pair<std::string, std::string>, std::less<>>;
  const InstanceSet& InstancesOf(std::string_view service_name) const;
  // Every service name with at least one instance, with its instances.
  const std::map<std::string, InstanceSet, std::less<>>& instances() const { return instances_; }

  // Consul's "nodes", "services" and "checks" table indexes: the highest index of any
  // change.
  Index NodesIndex() const { return indexes_.nodes; }
  Index ServicesIndex() const { return indexes_.services; }
  Index ChecksIndex() const { return indexes_.checks; }
  // The index of a blocking query on one service name (Consul's maxIndexForService):
  // the name's index while it has instances; else the last extinction index if any
  // service ever went extinct; else the catalog's highest table index (checks included
  // when with_checks, as for the health endpoints).
  Index ServiceQueryIndex(std::string_view service_name, bool with_checks) const;
  // The index of a blocking query on one node: its per-node index, or the last node
  // extinction index when the node is absent (0 if none ever went).
  Index NodeQueryIndex(std::string_view node) const;

  const Nodes& nodes() const { return nodes_; }
  const Services& services() const { return services_; }
  const Checks& checks() const { return checks_; }
  const CatalogIndexes& indexes() const { return indexes_; }
  const NameIndexes& node_indexes() const { return node_indexes_; }
  const NameIndexes& service_indexes() const { return service_indexes_; }

  bool operator==(const CatalogTable&) const = default;

 private:
  void CheckOrder(Index index) const;
  // Moves a service name's own index (not the services table's).
  void TouchServiceName(Index index, const std::string& name, ChangeSet& changes);
  // Moves the name index of every service on node: its node or a node check changed.
  void TouchServicesOfNode(Index index, std::string_view node, ChangeSet& changes);
  // Moves the node's own index and the nodes table's.
  void TouchNode(Index index, const std::string& node, ChangeSet& changes);
  // Instance (node, id) no longer carries `name`: moves the name's index, or ends the
  // name (its index goes, the extinction index moves) when it was the last.
  void DropInstance(Index index, const std::string& name, const std::string& node,
                    const std::string& id, ChangeSet& changes);
  // The service's checks follow its new name.
  void RenameServiceChecks(Index index, const std::string& node, const std::string& id,
                           const std::string& name, ChangeSet& changes);
  void EraseCheck(Index index, Checks::iterator node_it, NodeChecks::iterator it,
                  ChangeSet& changes);
  void RebuildInstances();

  Nodes nodes_;
  Services services_;  // every key is in nodes_; no empty NodeServices
  Checks checks_;      // every key is in nodes_; no empty NodeChecks
  CatalogIndexes indexes_;
  NameIndexes node_indexes_;     // exactly the keys of nodes_
  NameIndexes service_indexes_;  // exactly the keys of instances_
  // Derived from services_: service name -> its instances.
  std::map<std::string, InstanceSet, std::less<>> instances_;
};

}  // namespace roster::store
