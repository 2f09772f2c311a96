#include "server/dns_catalog.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <utility>

#include "dns/domain_name.h"
#include "store/health.h"

namespace roster::server {
namespace {

// Where the folded-name index for a table stands: any change to the table, a removal
// included, moves one of these.
store::Index ServicesVersion(const store::CatalogTable& catalog) {
  return std::max(catalog.ServicesIndex(), catalog.indexes().service_extinction);
}
store::Index NodesVersion(const store::CatalogTable& catalog) {
  return std::max(catalog.NodesIndex(), catalog.indexes().node_extinction);
}

// The worst of the node's checks and the checks of service `service_id` on it, by the
// store's aggregation rule (maintenance counts as critical to DNS).
dns::DnsHealth InstanceHealth(const store::CatalogTable& catalog, std::string_view node,
                              std::string_view service_id) {
  store::AggregatedStatus status = store::AggregatedStatus::kPassing;
  const auto checks = catalog.checks().find(node);
  if (checks != catalog.checks().end()) {
    for (const auto& [check_id, check] : checks->second) {
      if (!check.service_id.empty() && check.service_id != service_id) continue;
      status = store::WithCheck(status, check.check_id, check.status);
    }
  }
  return dns::DnsHealthOf(status);
}

dns::DnsNode ToDnsNode(const store::Node& node) {
  dns::DnsNode out;
  out.name = node.name;
  out.address = node.address;
  out.meta.insert(node.meta.begin(), node.meta.end());
  return out;
}

std::uint32_t ClampWeight(std::uint64_t weight) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(weight, UINT32_MAX));
}

// `names` maps a catalog name to anything; folded is rebuilt from its keys when stale.
template <typename NamedMap>
std::vector<std::string> FoldedLookup(std::shared_mutex& mutex, auto& folded, store::Index version,
                                      const NamedMap& names, std::string_view name) {
  const std::string lower = dns::AsciiLower(name);
  const auto find = [&folded, &lower] {
    const auto it = folded.spellings.find(lower);
    return it == folded.spellings.end() ? std::vector<std::string>{} : it->second;
  };
  {
    std::shared_lock<std::shared_mutex> lock(mutex);
    if (folded.built && folded.index == version) return find();
  }
  std::unique_lock<std::shared_mutex> lock(mutex);
  if (!folded.built || folded.index != version) {
    folded.spellings.clear();
    for (const auto& [key, value] : names) folded.spellings[dns::AsciiLower(key)].push_back(key);
    folded.index = version;
    folded.built = true;
  }
  return find();
}

}  // namespace

ReplicaDnsCatalog::ReplicaDnsCatalog(http::Backend& backend, std::string datacenter)
    : backend_(backend), datacenter_(dns::AsciiLower(datacenter)) {}

Status ReplicaDnsCatalog::CheckDatacenter(std::string_view datacenter) const {
  if (dns::AsciiEqualsIgnoreCase(datacenter, datacenter_)) return Status::Ok();
  return NotFound("no datacenter \"" + std::string(datacenter) + "\"");
}

std::vector<std::string> ReplicaDnsCatalog::ServiceSpellings(const store::CatalogTable& catalog,
                                                             std::string_view name) const {
  return FoldedLookup(folded_mutex_, folded_services_, ServicesVersion(catalog),
                      catalog.instances(), name);
}

std::vector<std::string> ReplicaDnsCatalog::NodeSpellings(const store::CatalogTable& catalog,
                                                          std::string_view name) const {
  return FoldedLookup(folded_mutex_, folded_nodes_, NodesVersion(catalog), catalog.nodes(), name);
}

// The instances of the names in `spellings`, built from the table. REQUIRES: the store
// read lock.
std::vector<dns::DnsInstance> ReplicaDnsCatalog::BuildInstances(
    const store::CatalogTable& catalog, const std::vector<std::string>& spellings) {
  std::vector<dns::DnsInstance> instances;
  for (const std::string& spelling : spellings) {
    for (const auto& [node_name, service_id] : catalog.InstancesOf(spelling)) {
      const store::Node* node = catalog.FindNode(node_name);
      const store::NodeService* found = catalog.FindService(node_name, service_id);
      if (node == nullptr || found == nullptr) continue;  // the table keeps both
      dns::DnsInstance instance;
      instance.node = ToDnsNode(*node);
      instance.service_address = found->address;
      instance.port = static_cast<std::uint16_t>(found->port);
      instance.tags = found->tags;
      instance.weights = {ClampWeight(found->weights.passing), ClampWeight(found->weights.warning)};
      instance.health = InstanceHealth(catalog, node_name, service_id);
      instances.push_back(std::move(instance));
    }
  }
  return instances;
}

// The per-name indexes of `spellings`: they move with any change to an instance of the
// name, a check of one, or a node carrying one (store/catalog.h), so equal versions mean
// equal instances.
std::vector<store::Index> ReplicaDnsCatalog::Versions(const store::CatalogTable& catalog,
                                                      const std::vector<std::string>& spellings) {
  std::vector<store::Index> versions;
  versions.reserve(spellings.size());
  for (const std::string& spelling : spellings) {
    const auto it = catalog.service_indexes().find(spelling);
    versions.push_back(it == catalog.service_indexes().end() ? 0 : it->second);
  }
  return versions;
}

// The instances of `service`, from the cache while they are current. REQUIRES: the
// store read lock.
dns::DnsInstances ReplicaDnsCatalog::InstancesLocked(const store::Store& store,
                                                     std::string_view service) const {
  const store::CatalogTable& catalog = store.catalog();
  const store::Index applied = store.last_applied_index();
  const std::string lower = dns::AsciiLower(service);
  {
    std::shared_lock<std::shared_mutex> lock(cache_mutex_);
    const auto it = cache_.find(lower);
    if (it != cache_.end() && it->second.checked_at == applied) return it->second.instances;
  }
  std::vector<std::string> spellings = ServiceSpellings(catalog, service);
  if (spellings.empty()) {  // no such service: nothing to build, nothing to cache
    return std::make_shared<const std::vector<dns::DnsInstance>>();
  }
  std::vector<store::Index> versions = Versions(catalog, spellings);
  {
    std::unique_lock<std::shared_mutex> lock(cache_mutex_);
    const auto it = cache_.find(lower);
    if (it != cache_.end() && it->second.spellings == spellings &&
        it->second.versions == versions) {
      it->second.checked_at = applied;
      return it->second.instances;
    }
  }
  dns::DnsInstances instances =
      std::make_shared<const std::vector<dns::DnsInstance>>(BuildInstances(catalog, spellings));
  // Only names with instances get here, so a scan of random names cannot grow the cache
  // (an entry whose service went away is replaced when it returns).
  std::unique_lock<std::shared_mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCachedNames) cache_.clear();
  cache_[lower] = CachedInstances{std::move(spellings), std::move(versions), instances, applied};
  return instances;
}

Result<dns::DnsInstances> ReplicaDnsCatalog::ServiceInstances(std::string_view datacenter,
                                                              std::string_view service) const {
  RETURN_IF_ERROR(CheckDatacenter(datacenter));
  // Every DNS answer, cached or not, comes through here. Two pointers are all the
  // lambda captures, so std::function keeps it inline: no allocation per query.
  struct Lookup {
    std::string_view service;
    dns::DnsInstances instances;
  } lookup{service, {}};
  Result<http::ReadMeta> read =
      backend_.Read(http::Consistency::kStale, [this, &lookup](const store::Store& store) {
        lookup.instances = InstancesLocked(store, lookup.service);
      });
  if (!read.ok()) return read.status();
  return std::move(lookup.instances);
}

Result<std::optional<dns::DnsNode>> ReplicaDnsCatalog::Node(std::string_view datacenter,
                                                            std::string_view node) const {
  RETURN_IF_ERROR(CheckDatacenter(datacenter));
  std::optional<dns::DnsNode> out;
  Result<http::ReadMeta> read =
      backend_.Read(http::Consistency::kStale, [&](const store::Store& store) {
        const store::CatalogTable& catalog = store.catalog();
        // Names that differ only in case are one node to DNS; the first in byte order wins.
        for (const std::string& spelling : NodeSpellings(catalog, node)) {
          if (const store::Node* found = catalog.FindNode(spelling)) {
            out = ToDnsNode(*found);
            return;
          }
        }
      });
  if (!read.ok()) return read.status();
  return out;
}

}  // namespace roster::server
