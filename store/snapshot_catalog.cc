// The catalog section of a snapshot (docs/design/store.md, "Snapshot format"): version 4
// with services, the per-name indexes and the extinction indexes; versions 2 and 3 with
// nodes and checks only.
#include <utility>

#include "store/encoding.h"
#include "store/record_encoding.h"
#include "store/snapshot_sections.h"

namespace roster::store::internal {
namespace {

constexpr std::uint8_t kServicesVersion = 4;  // the first version with services

void WriteServices(Writer& w, const CatalogTable& catalog, const std::string& node) {
  auto services = catalog.services().find(node);
  w.Varint(services == catalog.services().end() ? 0 : services->second.size());
  if (services == catalog.services().end()) return;
  for (const auto& [id, service] : services->second) {
    w.Varint(service.create_index);
    w.Varint(service.modify_index);
    WriteServiceFields(w, service);
  }
}

void WriteChecks(Writer& w, const CatalogTable& catalog, const std::string& node) {
  auto checks = catalog.checks().find(node);
  w.Varint(checks == catalog.checks().end() ? 0 : checks->second.size());
  if (checks == catalog.checks().end()) return;
  for (const auto& [id, check] : checks->second) {
    w.Varint(check.create_index);
    w.Varint(check.modify_index);
    WriteCheckFields(w, check);
    WriteCheckExtraFields(w, check);
  }
}

void WriteNode(Writer& w, const CatalogTable& catalog, const Node& node) {
  w.Bytes(node.name);
  w.Bytes(node.id);
  w.Bytes(node.address);
  w.Bytes(node.datacenter);
  WriteStringMap(w, node.tagged_addresses);
  WriteStringMap(w, node.meta);
  w.Varint(node.create_index);
  w.Varint(node.modify_index);
  w.Varint(catalog.node_indexes().at(node.name));
  WriteServices(w, catalog, node.name);
  WriteChecks(w, catalog, node.name);
}

// The services of one node, in strictly increasing id order.
Status ReadServices(Reader& r, const std::string& node, CatalogTable::Parts& parts) {
  std::uint64_t count = 0;
  if (!r.Count(&count)) return Corruption("snapshot: catalog service count truncated");
  CatalogTable::NodeServices services;
  for (std::uint64_t i = 0; i < count; ++i) {
    NodeService service;
    r.Varint(&service.create_index);
    r.Varint(&service.modify_index);
    if (!ReadServiceFields(r, service)) return Corruption("snapshot: service truncated");
    if (!services.empty() && service.id <= services.rbegin()->first) {
      return Corruption("snapshot: services out of order at " + node + "/" + service.id);
    }
    std::string id = service.id;
    services.emplace_hint(services.end(), std::move(id), std::move(service));
  }
  if (!services.empty()) parts.services.emplace(node, std::move(services));
  return Status::Ok();
}

// The checks of one node, in strictly increasing id order.
Status ReadChecks(Reader& r, const std::string& node, std::uint8_t version,
                  CatalogTable::Parts& parts) {
  std::uint64_t count = 0;
  if (!r.Count(&count)) return Corruption("snapshot: catalog check count truncated");
  CatalogTable::NodeChecks checks;
  for (std::uint64_t i = 0; i < count; ++i) {
    HealthCheck check;
    check.node = node;
    r.Varint(&check.create_index);
    r.Varint(&check.modify_index);
    ReadCheckFields(r, check);
    if (version >= kServicesVersion) ReadCheckExtraFields(r, check);
    if (!r.ok()) return Corruption("snapshot: check truncated");
    if (!checks.empty() && check.check_id <= checks.rbegin()->first) {
      return Corruption("snapshot: checks out of order at " + node + "/" + check.check_id);
    }
    std::string id = check.check_id;
    checks.emplace_hint(checks.end(), std::move(id), std::move(check));
  }
  if (!checks.empty()) parts.checks.emplace(node, std::move(checks));
  return Status::Ok();
}

// One node with its services and checks. Before version 4 a node had only its name, id,
// address and checks; its node index is then its modify index.
Status ReadNode(Reader& r, std::uint8_t version, CatalogTable::Parts& parts) {
  Node node;
  r.Bytes(&node.name);
  r.Bytes(&node.id);
  r.Bytes(&node.address);
  if (version >= kServicesVersion) {
    r.Bytes(&node.datacenter);
    ReadStringMap(r, node.tagged_addresses);
    ReadStringMap(r, node.meta);
  }
  r.Varint(&node.create_index);
  r.Varint(&node.modify_index);
  Index node_index = node.modify_index;
  if (version >= kServicesVersion) r.Varint(&node_index);
  if (!r.ok()) return Corruption("snapshot: catalog node truncated");
  if (!parts.nodes.empty() && node.name <= parts.nodes.rbegin()->first) {
    return Corruption("snapshot: catalog nodes out of order at " + node.name);
  }
  if (version >= kServicesVersion) RETURN_IF_ERROR(ReadServices(r, node.name, parts));
  RETURN_IF_ERROR(ReadChecks(r, node.name, version, parts));
  parts.node_indexes.emplace_hint(parts.node_indexes.end(), node.name, node_index);
  std::string name = node.name;
  parts.nodes.emplace_hint(parts.nodes.end(), std::move(name), std::move(node));
  return Status::Ok();
}

Status ReadServiceIndexes(Reader& r, CatalogTable::Parts& parts) {
  std::uint64_t count = 0;
  if (!r.Count(&count)) return Corruption("snapshot: service name index count truncated");
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string name;
    Index index = 0;
    r.Bytes(&name);
    if (!r.Varint(&index)) return Corruption("snapshot: service name index truncated");
    if (!parts.service_indexes.empty() && name <= parts.service_indexes.rbegin()->first) {
      return Corruption("snapshot: service name indexes out of order at " + name);
    }
    parts.service_indexes.emplace_hint(parts.service_indexes.end(), std::move(name), index);
  }
  return Status::Ok();
}

}  // namespace

std::string WriteCatalogSection(const CatalogTable& catalog) {
  std::string body;
  Writer w(&body);
  const CatalogIndexes& indexes = catalog.indexes();
  w.Varint(indexes.nodes);
  w.Varint(indexes.services);
  w.Varint(indexes.checks);
  w.Varint(indexes.node_extinction);
  w.Varint(indexes.service_extinction);
  w.Varint(catalog.nodes().size());
  for (const auto& [name, node] : catalog.nodes()) WriteNode(w, catalog, node);
  w.Varint(catalog.service_indexes().size());
  for (const auto& [name, index] : catalog.service_indexes()) {
    w.Bytes(name);
    w.Varint(index);
  }
  return body;
}

Result<CatalogTable> ReadCatalogSection(std::string_view body, std::uint8_t version) {
  Reader r(body);
  CatalogTable::Parts parts;
  CatalogIndexes& indexes = parts.indexes;
  r.Varint(&indexes.nodes);
  if (version >= kServicesVersion) r.Varint(&indexes.services);
  r.Varint(&indexes.checks);
  if (version >= kServicesVersion) {
    r.Varint(&indexes.node_extinction);
    r.Varint(&indexes.service_extinction);
  }
  std::uint64_t count = 0;
  if (!r.Count(&count)) return Corruption("snapshot: catalog section header truncated");
  for (std::uint64_t i = 0; i < count; ++i) RETURN_IF_ERROR(ReadNode(r, version, parts));
  if (version >= kServicesVersion) RETURN_IF_ERROR(ReadServiceIndexes(r, parts));
  if (!r.Finish()) return Corruption("snapshot: trailing bytes in the catalog section");
  return CatalogTable::FromParts(std::move(parts));
}

}  // namespace roster::store::internal
