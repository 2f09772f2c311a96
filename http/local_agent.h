// LocalAgent and Forwarder: what the HTTP front end needs from the agent of the process
// it runs in (/v1/agent/*, consul-api.md §4) and, in an agent process, from its link to
// the servers.
//
// Every Roster process is an agent: a server runs one beside its Raft node (its upstream
// is itself), and `roster agent` runs one whose upstream is a list of servers. The agent
// keeps this node's services and checks (agent/), runs the checks and syncs them into
// the catalog; http/ only parses and validates requests (Consul's messages) and maps
// the answers to JSON. http/ never sees the agent's threads, SQLite or sockets.
//
// An agent process has no Backend: HttpServer hands every /v1/ request it does not serve
// locally to the Forwarder: everything outside /v1/agent/*, and the /v1/agent/* paths
// it does not implement (force-leave, join, metrics, ...). GET /v1/agent/members is
// served locally through LocalAgent::Members (docs/design/http.md, "Forwarding").
//
// Thread-safety: every method may be called from any HTTP worker thread, concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "base/status.h"
#include "http/reply.h"
#include "store/catalog.h"

namespace roster::http {

// A check as the agent keeps and runs it. `check` holds what the catalog will show:
// check_id (defaulted to name by the handler), name, notes, service_id, the initial
// status (critical unless the request said otherwise), type ("ttl", "http", "tcp",
// "script", or "" for a check whose status only the API sets), and definition (HTTP
// url, method, header, body, TCP address, script args, interval, timeout, TTL,
// DeregisterCriticalServiceAfter). `check.node` is filled in by the agent.
struct AgentCheck {
  store::HealthCheck check;
  int success_before_passing = 0;   // consecutive successes before passing
  int failures_before_critical = 0;  // consecutive failures before critical
};

// PUT /v1/agent/service/register: the service and the checks it carries (Check and
// Checks in the body), each check's service_id set to the service's id.
struct AgentServiceRegistration {
  store::NodeService service;  // id defaulted to the name by the handler
  std::vector<AgentCheck> checks;
  bool replace_existing_checks = false;  // ?replace-existing-checks
};

// One row of GET /v1/agent/members (Consul's serf member).
struct AgentMember {
  std::string name;
  std::string address;
  int port = 8301;
  std::map<std::string, std::string> tags;  // Consul's: role, dc, id, vsn, port, ...
  int status = 1;  // Consul's serf status: 1 alive, 3 left, 4 failed
};

// What GET /v1/agent/self and the agent's other replies say about the agent itself.
struct AgentInfo {
  std::string node_name;
  std::string node_id;
  std::string datacenter = "dc1";
  std::string address;  // the node's advertised address
  bool server = false;
  std::string version;
  std::map<std::string, std::string> node_meta;
};

class LocalAgent {
 public:
  virtual ~LocalAgent() = default;

  virtual AgentInfo Info() = 0;

  // The services and checks of this node as the agent holds them (not the catalog's),
  // ordered by id. A service or check in maintenance mode shows its "_service_maintenance:
  // <id>" / "_node_maintenance" check.
  virtual std::vector<store::NodeService> Services() = 0;
  virtual std::vector<store::HealthCheck> Checks() = 0;

  // Registers (or replaces, same id) a service with its checks; persisted before it
  // returns, synced to the catalog soon after. InvalidArgument for what validation
  // above could not see (a check id used by another service's check).
  virtual Status RegisterService(AgentServiceRegistration registration) = 0;
  // NotFound("Unknown service ID \"<id>\". Ensure that the service ID is passed, not the
  // service name.") when there is no such service.
  virtual Status DeregisterService(const std::string& service_id) = 0;

  // NotFound("ServiceID \"<id>\" does not exist") when check.service_id names no
  // service of this agent.
  virtual Status RegisterCheck(AgentCheck check) = 0;
  // NotFound("Unknown check ID \"<id>\". Ensure that the check ID is passed, not the
  // check name.")
  virtual Status DeregisterCheck(const std::string& check_id) = 0;
  // check/pass|warn|fail and check/update: sets a TTL check's status and output (cut to
  // the agent's output limit) and restarts its TTL. NotFound as above; InvalidArgument
  // ("Check \"<id>\" is not a TTL check") for a check of another type.
  virtual Status UpdateTtlCheck(const std::string& check_id, store::HealthStatus status,
                                const std::string& output) = 0;

  // PUT /v1/agent/maintenance and /v1/agent/service/maintenance/:id. NotFound for an
  // unknown service id.
  virtual Status SetNodeMaintenance(bool enable, const std::string& reason) = 0;
  virtual Status SetServiceMaintenance(const std::string& service_id, bool enable,
                                       const std::string& reason) = 0;

  // A count that goes up whenever this node's services or checks change (for
  // GET /v1/agent/service/:id?hash=, a blocking query on the service's content hash).
  virtual std::uint64_t LocalChanges() = 0;
  // Returns once LocalChanges() > seen, at `deadline`, or when `stop` is requested.
  virtual void WaitForLocalChange(std::uint64_t seen,
                                  std::chrono::steady_clock::time_point deadline,
                                  std::stop_token stop) = 0;

  // GET /v1/agent/members: the cluster's nodes as the servers see them. Unavailable
  // when no server answers.
  virtual Result<std::vector<AgentMember>> Members() = 0;

  // PUT /v1/agent/leave: deregisters this node from the catalog, stops heartbeating and
  // asks the process to exit. PUT /v1/agent/force-leave/:node is the servers' business
  // and is forwarded.
  virtual Status Leave() = 0;

  // PUT /v1/agent/reload (and SIGHUP): reads the agent's -config-dir service and check
  // definitions again and applies them. An error (a bad file) changes nothing.
  virtual Status Reload() = 0;
};

// A request as it came in, to be sent on to a server unchanged (agent processes).
// HttpServer passes on Authorization, Accept, Cache-Control, Content-Type, Last-Event-ID
// and every X-Consul-* header.
struct ForwardRequest {
  std::string method;
  std::string target;  // path and query, as received (still percent-encoded)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // those worth passing on
  // Added after the first form (a trailing member, so existing initializers stay
  // valid): requested when the HttpServer stops. A Forwarder that honours it ends a
  // parked blocking GET early (with any error), so Stop() need not wait out its wait;
  // one that ignores it delays Stop() by at most that wait.
  std::stop_token stop = {};
};

struct ForwardReply {
  int status = 502;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type, X-Consul-*
  // A streamed reply (GET /v1/watch relayed): its body comes from here, not `body`.
  std::shared_ptr<BodyStream> body_stream = nullptr;
};

class Forwarder {
 public:
  virtual ~Forwarder() = default;
  // Sends the request to a server, failing over to another when one cannot be
  // reached; identical blocking GETs in flight share one upstream request (the agent
  // cache); GET /v1/watch comes back with a body_stream. Unavailable when no server
  // answers.
  virtual Result<ForwardReply> Forward(const ForwardRequest& request) = 0;
};

}  // namespace roster::http
