// ReplicaDnsCatalog: the DNS responder's view of the catalog (dns::DnsCatalog) over a
// server's local replica. Reads are stale by design (DESIGN.md, "Read"): a DNS query
// takes the store's read lock through Backend::Read(kStale) and never waits on the
// leader or on Raft. No JSON, no copies beyond the instances asked for.
//
// Names match ignoring ASCII case, as the DnsCatalog contract asks, while the store's
// names are case-sensitive: a small index from lowercase name to the catalog's
// spellings is rebuilt when the services (or nodes) table index moves, so a lookup is
// two map finds. Health is the worst of the node's checks and the instance's own
// checks, a maintenance check counting as critical (store/health.h).
//
// The instances of a name are built once per change: they are cached with the
// per-service-name indexes they were built at (store/catalog.h), which move with any
// change to an instance, its checks or its node, and reused while those stand still.
// Building costs a walk of every check on each instance's node; a query on a cached
// name costs one map find while the store has applied nothing new (a few more after
// any write) and hands out the shared vector (dns::DnsInstances), the same pointer
// until the instances change.
// Thread-safety: every method may run on several DNS worker threads at once.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dns/catalog.h"
#include "http/backend.h"
#include "store/catalog.h"

namespace roster::server {

class ReplicaDnsCatalog final : public dns::DnsCatalog {
 public:
  // REQUIRES: `backend` outlives this. `datacenter` is the only one this catalog knows.
  ReplicaDnsCatalog(http::Backend& backend, std::string datacenter);

  Result<dns::DnsInstances> ServiceInstances(std::string_view datacenter,
                                             std::string_view service) const override;
  Result<std::optional<dns::DnsNode>> Node(std::string_view datacenter,
                                           std::string_view node) const override;

 private:
  // Lowercase name -> the names in the catalog that fold to it, as of a table index.
  struct FoldedNames {
    bool built = false;
    store::Index index = 0;
    std::map<std::string, std::vector<std::string>, std::less<>> spellings;
  };

  struct CachedInstances {
    std::vector<std::string> spellings;
    std::vector<store::Index> versions;  // of each spelling, when built
    dns::DnsInstances instances;
    // The store's last applied index when the versions were last found current: while
    // it stands still nothing changed, and a query skips the spelling and version
    // lookups (the hot path of a DNS server under load).
    store::Index checked_at = 0;
  };
  // Beyond this many names the cache starts over (a bound, not an eviction policy:
  // real catalogs have far fewer service names).
  static constexpr std::size_t kMaxCachedNames = 10'000;

  static std::vector<dns::DnsInstance> BuildInstances(const store::CatalogTable& catalog,
                                                      const std::vector<std::string>& spellings);
  static std::vector<store::Index> Versions(const store::CatalogTable& catalog,
                                            const std::vector<std::string>& spellings);
  Status CheckDatacenter(std::string_view datacenter) const;
  dns::DnsInstances InstancesLocked(const store::Store& store, std::string_view service) const;
  // The catalog's names that equal `name` ignoring case. REQUIRES: the store read lock.
  std::vector<std::string> ServiceSpellings(const store::CatalogTable& catalog,
                                            std::string_view name) const;
  std::vector<std::string> NodeSpellings(const store::CatalogTable& catalog,
                                         std::string_view name) const;

  http::Backend& backend_;
  const std::string datacenter_;  // lowercase
  mutable std::shared_mutex folded_mutex_;
  mutable FoldedNames folded_services_;  // guarded by folded_mutex_
  mutable FoldedNames folded_nodes_;     // guarded by folded_mutex_
  mutable std::shared_mutex cache_mutex_;
  mutable std::map<std::string, CachedInstances, std::less<>> cache_;  // by lowercase name
};

}  // namespace roster::server
