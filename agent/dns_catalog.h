// AgentDnsCatalog: the DNS responder's view of the catalog (dns::DnsCatalog) on an
// agent, answered from the agent's cache of stale server reads (agent/watched_reads.h)
// through its Upstream, so a question fails over across servers and never waits on
// the leader (issue 6; docs/design/dns.md, "Agents").
//
// Reads, each cached and kept fresh by a blocking query while asked for:
//  - /v1/catalog/services: the service names, to match a question ignoring ASCII case
//    (the catalog's names are case-sensitive);
//  - /v1/health/service/<name>, for each spelling that matches: nodes with address and
//    meta, instances with address, port, tags and weights, and every check of the
//    node and the instance. Health is store::AggregateStatus's rule (the worst check,
//    maintenance as critical), the same as on servers (server/dns_catalog.h);
//  - /v1/catalog/nodes: node names, addresses and meta for node answers.
// A question about a name nobody asked for lately waits up to first_wait_ms for its
// first fetch; failing that, it gets an error (SERVFAIL).
// Thread-safety: every method may run on several DNS worker threads at once.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/upstream.h"
#include "agent/watched_reads.h"
#include "base/clock.h"
#include "dns/catalog.h"

namespace roster::agent {

class AgentDnsCatalog final : public dns::DnsCatalog {
 public:
  // REQUIRES: `upstream` and `clock` outlive this. `datacenter` is the only one it knows.
  AgentDnsCatalog(Upstream& upstream, const Clock& clock, std::string datacenter,
                  WatchedReadsOptions options = {});

  // The instances of one spelling are the cached value itself (no copy; the same
  // pointer until a refresh brings a new body); several spellings of a name are merged
  // into a new vector on every call.
  Result<dns::DnsInstances> ServiceInstances(std::string_view datacenter,
                                             std::string_view service) const override;
  Result<std::optional<dns::DnsNode>> Node(std::string_view datacenter,
                                           std::string_view node) const override;

  // Ends the cache's refresh threads (before the Upstream shuts down). Idempotent.
  void Stop() { reads_.Stop(); }
  const WatchedReads& reads() const { return reads_; }

 private:
  Status CheckDatacenter(std::string_view datacenter) const;

  const std::string datacenter_;  // lowercase
  mutable WatchedReads reads_;
};

// The parsers, for tests. Each returns its values by lowercase name; InvalidArgument
// for a body that is not the shape the servers send.
// GET /v1/catalog/services: lowercase name -> the catalog's spellings, in byte order.
Result<std::map<std::string, std::vector<std::string>, std::less<>>> ParseServiceNames(
    std::string_view body);
// GET /v1/health/service/<name>: the instances, health aggregated.
Result<std::vector<dns::DnsInstance>> ParseHealthService(std::string_view body);
// GET /v1/catalog/nodes: lowercase name -> node; of names equal ignoring case the
// first in byte order wins (as on servers).
Result<std::map<std::string, dns::DnsNode, std::less<>>> ParseNodes(std::string_view body);

}  // namespace roster::agent
