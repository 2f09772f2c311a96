// DnsCatalog: what the DNS responder needs to know about the catalog, and nothing more.
//
// dns/ does not read the store itself: a server implements DnsCatalog over its local
// replica (stale reads), an agent over its cache, and the tests over a fake. The
// instances come back unfiltered; dns/ applies the health filter, the tag filter and the
// shuffle, so every implementation answers the same way.
// Thread-safety: implementations must allow calls from several DNS worker threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/health.h"

namespace roster::dns {

// An instance's health, aggregated over its node's and its own checks: the worst of
// them, with maintenance counting as critical (consul-api.md §5.3, "Health filter").
enum class DnsHealth : std::uint8_t { kPassing, kWarning, kCritical };

// The store's aggregated status of an instance's checks (store/health.h, the one place
// the rule is written) as DNS sees it: maintenance leaves an instance out like critical.
inline DnsHealth DnsHealthOf(store::AggregatedStatus status) {
  switch (status) {
    case store::AggregatedStatus::kPassing:
      return DnsHealth::kPassing;
    case store::AggregatedStatus::kWarning:
      return DnsHealth::kWarning;
    case store::AggregatedStatus::kCritical:
    case store::AggregatedStatus::kMaintenance:
      break;
  }
  return DnsHealth::kCritical;
}

// Consul's Weights: the SRV weight of an instance by its health.
struct DnsWeights {
  std::uint32_t passing = 1;
  std::uint32_t warning = 1;

  bool operator==(const DnsWeights&) const = default;
};

struct DnsNode {
  std::string name;
  std::string address;  // an IPv4 or IPv6 address, or a hostname
  std::map<std::string, std::string> meta;

  bool operator==(const DnsNode&) const = default;
};

struct DnsInstance {
  DnsNode node;
  std::string service_address;  // empty: the node's address
  std::uint16_t port = 0;
  std::vector<std::string> tags;
  DnsWeights weights;
  DnsHealth health = DnsHealth::kPassing;

  bool operator==(const DnsInstance&) const = default;
};

// The instances of a service as one immutable value, shared by the catalog and every
// query reading it, so a query copies a pointer, not the instances. Never null.
// The pointer is the version: a catalog makes a new vector whenever the instances may
// have changed and hands out the same one while they have not, so two reads returning
// the same pointer saw the same instances. (Whoever holds the pointer keeps the vector
// alive, so its address cannot be reused for another while it is held; the answer cache,
// dns/answer_cache.h, relies on this.)
using DnsInstances = std::shared_ptr<const std::vector<DnsInstance>>;

class DnsCatalog {
 public:
  virtual ~DnsCatalog() = default;

  // Every instance of `service` in `datacenter`, whatever its health and tags. The
  // service name matches ignoring ASCII case. NotFound means the datacenter is unknown
  // (the answer is NXDOMAIN); any other error is answered SERVFAIL. An unknown service
  // has no instances.
  virtual Result<DnsInstances> ServiceInstances(std::string_view datacenter,
                                                std::string_view service) const = 0;

  // The node named `node` (matched ignoring ASCII case), nullopt if there is none.
  // Errors as for ServiceInstances.
  virtual Result<std::optional<DnsNode>> Node(std::string_view datacenter,
                                              std::string_view node) const = 0;
};

// The service whose instances are the servers, named in NS answers (as Consul's are).
inline constexpr std::string_view kServerServiceName = "consul";

}  // namespace roster::dns
