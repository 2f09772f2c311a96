// NodeLiveness: the leader's bookkeeping behind every node's serfHealth check
// (consul-api.md §4.1 "serfHealth"; docs/design/server.md, "Node liveness").
//
// Roster has no gossip: agents heartbeat to the servers, and the leader turns those
// heartbeats into catalog commands:
//  - a heartbeat restarts the node's failure timer; when the catalog does not already
//    show the node as it should (unknown, serfHealth not passing, another address, ID
//    or meta), it yields a CatalogRegister of the node with serfHealth passing. A live
//    node with a passing check costs no Raft write;
//  - a node whose failure timer runs out (the failure timeout without a heartbeat)
//    yields serfHealth critical ("Agent not live or unreachable"); the store then
//    invalidates the sessions bound to the check;
//  - a node whose serfHealth has been critical for the reconnect timeout is reaped: a
//    CatalogDeregister of the node;
//  - a graceful leave forgets the node's timers and remembers it as left for the
//    reconnect timeout (GET /v1/internal/members shows it with Status 3).
// Timers exist only on the leader and are not replicated: Restart, at the start of each
// term, gives every node with a serfHealth check a full period, so a change of leader
// never fails a node. Applied keeps the timers in step with catalog changes others made
// (a server registering itself, a deregistration through the API).
//
// Commands whose fate is unknown are retried: an expiry comes back after `retry_ms`
// until the catalog shows it done (DeadlineTimers), and a registration is proposed
// again by a heartbeat after `retry_ms` if it has not applied.
// Pure: the caller passes the time and the catalog in. Single-threaded: owned by the
// Raft loop.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "http/backend.h"
#include "server/deadline_timers.h"
#include "store/catalog.h"
#include "store/command.h"

namespace roster::server {

inline constexpr char kSerfHealthCheckId[] = "serfHealth";
inline constexpr char kSerfHealthName[] = "Serf Health Status";
inline constexpr char kSerfHealthAliveOutput[] = "Agent alive and reachable";
inline constexpr char kSerfHealthFailedOutput[] = "Agent not live or unreachable";

struct LivenessOptions {
  std::int64_t failure_timeout_ms = 10'000;
  std::int64_t reconnect_timeout_ms = 72LL * 60 * 60 * 1000;  // Consul's reconnect_timeout
  std::int64_t retry_ms = 5'000;  // a command not applied by then is proposed again
  std::string datacenter = "dc1";  // of the nodes it registers
};

// A node that left gracefully, as members shows it until the reconnect timeout.
struct LeftNode {
  std::string name;
  std::string address;
  std::string id;
  bool server = false;  // it carried service "consul"
  int server_port = 0;  // that service's port
  std::int64_t left_ms = 0;

  bool operator==(const LeftNode&) const = default;
};

class NodeLiveness {
 public:
  // REQUIRES: every timeout and retry_ms > 0.
  explicit NodeLiveness(LivenessOptions options);

  const LivenessOptions& options() const { return options_; }

  // Leadership begins: forgets everything, then gives every node with a serfHealth
  // check a full period: the failure timeout if passing (or warning), the reconnect
  // timeout if critical.
  void Restart(const store::CatalogTable& catalog, std::int64_t now_ms);
  // Leadership lost: forgets everything.
  void Clear();

  // A heartbeat: restarts the node's failure timer, ends its reap timer, and takes it
  // off the left list. Returns the registration to propose, if the catalog needs one
  // and none was proposed in the last retry_ms.
  std::optional<store::CatalogRegister> Heartbeat(const http::NodeHeartbeat& heartbeat,
                                                  const store::CatalogTable& catalog,
                                                  std::int64_t now_ms);

  // A graceful leave: forgets the node's timers and remembers it as left, with what the
  // catalog says of it. The caller deregisters the node.
  void Leave(const std::string& node, const store::CatalogTable& catalog, std::int64_t now_ms);

  // A catalog command applied (the catalog already shows it): a serfHealth check
  // registered passing starts a failure timer if the node had none; registered critical
  // starts a reap timer if it had none; a node (or its serfHealth) deregistered ends
  // its timers.
  void Applied(const store::Command& command, std::int64_t now_ms);

  // The commands due by now_ms, at most count_max: serfHealth critical for nodes whose
  // failure timer ran out, deregistrations for nodes critical for the reconnect
  // timeout. Also forgets left nodes older than the reconnect timeout.
  std::vector<store::Command> TakeDue(const store::CatalogTable& catalog, std::int64_t now_ms,
                                      std::size_t count_max);

  // Newest first.
  std::vector<LeftNode> left() const;

  // For tests and logs.
  std::int64_t FailureDeadlineMs(const std::string& node) const {
    return failure_.DeadlineMs(node);
  }
  std::int64_t ReapDeadlineMs(const std::string& node) const { return reap_.DeadlineMs(node); }
  std::size_t tracked() const { return failure_.size(); }

 private:
  std::optional<store::Command> FailureDue(const std::string& node,
                                           const store::CatalogTable& catalog,
                                           std::int64_t now_ms);
  std::optional<store::Command> ReapDue(const std::string& node,
                                        const store::CatalogTable& catalog);
  void Forget(const std::string& node);

  const LivenessOptions options_;
  DeadlineTimers failure_;  // alive nodes: when they fail without a heartbeat
  DeadlineTimers reap_;     // failed nodes: when they are deregistered
  std::map<std::string, std::int64_t> registering_;  // node -> when it may be proposed again
  std::map<std::string, LeftNode> left_;
};

// The members of GET /v1/internal/members: one per node of the catalog with a
// serfHealth check (Status 1 alive unless the check is critical: 4 failed), then the
// left nodes (Status 3) the catalog no longer has, with Consul's member tags (role
// "consul" and the server port for a node carrying service "consul", else "node").
// `version` goes into the "build" tag.
std::vector<http::AgentMember> MembersOf(const store::CatalogTable& catalog,
                                         const std::vector<LeftNode>& left,
                                         const std::string& datacenter,
                                         const std::string& version);

}  // namespace roster::server
