#include "server/liveness.h"

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace roster::server {
namespace {

// The service every server registers itself as (node_sessions.cc, MaybeRegisterSelf).
constexpr char kServerServiceId[] = "consul";
// serf's LAN port: what a member shows, as Consul's would.
constexpr int kSerfLanPort = 8301;

// Serf's member status numbers (consul-api.md §1.1).
constexpr int kMemberAlive = 1;
constexpr int kMemberLeft = 3;
constexpr int kMemberFailed = 4;

const store::HealthCheck* SerfHealthOf(const store::CatalogTable& catalog, std::string_view node) {
  const store::HealthCheck* check = catalog.FindCheck(node, kSerfHealthCheckId);
  return check != nullptr && check->service_id.empty() ? check : nullptr;
}

store::HealthCheck SerfHealth(const std::string& node, store::HealthStatus status) {
  store::HealthCheck check;
  check.node = node;
  check.check_id = kSerfHealthCheckId;
  check.name = kSerfHealthName;
  check.status = status;
  check.output = status == store::HealthStatus::kPassing ? kSerfHealthAliveOutput
                                                         : kSerfHealthFailedOutput;
  return check;
}

// True when the catalog already shows the node as this heartbeat says it is.
bool Current(const http::NodeHeartbeat& heartbeat, const store::CatalogTable& catalog) {
  const store::Node* node = catalog.FindNode(heartbeat.node);
  const store::HealthCheck* check = SerfHealthOf(catalog, heartbeat.node);
  return node != nullptr && check != nullptr && check->status == store::HealthStatus::kPassing &&
         node->address == heartbeat.address &&
         (heartbeat.id.empty() || heartbeat.id == node->id) &&
         (!heartbeat.meta.has_value() || *heartbeat.meta == node->meta);
}

}  // namespace

NodeLiveness::NodeLiveness(LivenessOptions options)
    : options_(std::move(options)), failure_(options_.retry_ms), reap_(options_.retry_ms) {
  CHECK(options_.failure_timeout_ms > 0 && options_.reconnect_timeout_ms > 0);
}

void NodeLiveness::Restart(const store::CatalogTable& catalog, std::int64_t now_ms) {
  failure_.Clear();
  reap_.Clear();
  registering_.clear();
  for (const auto& [node, checks] : catalog.checks()) {
    const store::HealthCheck* check = SerfHealthOf(catalog, node);
    if (check == nullptr) continue;
    if (check->status == store::HealthStatus::kCritical) {
      reap_.Set(node, now_ms + options_.reconnect_timeout_ms);
    } else {
      failure_.Set(node, now_ms + options_.failure_timeout_ms);
    }
  }
}

void NodeLiveness::Clear() {
  failure_.Clear();
  reap_.Clear();
  registering_.clear();
  left_.clear();
}

void NodeLiveness::Forget(const std::string& node) {
  failure_.Remove(node);
  reap_.Remove(node);
  registering_.erase(node);
}

std::optional<store::CatalogRegister> NodeLiveness::Heartbeat(
    const http::NodeHeartbeat& heartbeat, const store::CatalogTable& catalog,
    std::int64_t now_ms) {
  failure_.Set(heartbeat.node, now_ms + options_.failure_timeout_ms);
  reap_.Remove(heartbeat.node);
  left_.erase(heartbeat.node);
  if (Current(heartbeat, catalog)) {
    registering_.erase(heartbeat.node);
    return std::nullopt;
  }
  auto [it, inserted] = registering_.try_emplace(heartbeat.node, 0);
  if (!inserted && now_ms < it->second) return std::nullopt;  // one is in flight
  it->second = now_ms + options_.retry_ms;
  // What the heartbeat does not say, the catalog keeps.
  const store::Node* node = catalog.FindNode(heartbeat.node);
  store::CatalogRegister command{
      .node = heartbeat.node,
      .id = !heartbeat.id.empty() || node == nullptr ? heartbeat.id : node->id,
      .address = heartbeat.address,
      .checks = {SerfHealth(heartbeat.node, store::HealthStatus::kPassing)},
      .datacenter = node != nullptr && !node->datacenter.empty() ? node->datacenter
                                                                 : options_.datacenter};
  if (node != nullptr) command.tagged_addresses = node->tagged_addresses;
  // Built from the catalog as it is now: if the node is not there yet, a registration
  // already in the log (the agent's own, or this server's) may create it before this
  // applies, with TaggedAddresses the heartbeat does not carry. Then that one stands.
  command.skip_node_update = node == nullptr;
  if (heartbeat.meta.has_value()) {
    command.node_meta = *heartbeat.meta;
  } else if (node != nullptr) {
    command.node_meta = node->meta;
  }
  return command;
}

void NodeLiveness::Leave(const std::string& node, const store::CatalogTable& catalog,
                         std::int64_t now_ms) {
  Forget(node);
  const store::Node* record = catalog.FindNode(node);
  if (record == nullptr) return;  // never registered (or reaped): nothing to show
  LeftNode left{.name = node, .address = record->address, .id = record->id, .left_ms = now_ms};
  if (const store::NodeService* server = catalog.FindService(node, kServerServiceId)) {
    left.server = true;
    left.server_port = static_cast<int>(server->port);
  }
  left_[node] = std::move(left);
}

void NodeLiveness::Applied(const store::Command& command, std::int64_t now_ms) {
  if (const auto* registered = std::get_if<store::CatalogRegister>(&command)) {
    for (const store::HealthCheck& check : registered->checks) {
      if (check.check_id != kSerfHealthCheckId || !check.service_id.empty()) continue;
      if (check.status == store::HealthStatus::kCritical) {
        if (!reap_.Contains(registered->node)) {
          reap_.Set(registered->node, now_ms + options_.reconnect_timeout_ms);
        }
        continue;
      }
      registering_.erase(registered->node);
      reap_.Remove(registered->node);
      if (!failure_.Contains(registered->node)) {
        failure_.Set(registered->node, now_ms + options_.failure_timeout_ms);
      }
    }
    return;
  }
  if (const auto* removed = std::get_if<store::CatalogDeregister>(&command)) {
    const bool whole_node = removed->service_id.empty() && removed->check_id.empty();
    if (whole_node || (removed->service_id.empty() && removed->check_id == kSerfHealthCheckId)) {
      Forget(removed->node);
    }
  }
}

// A node whose failure timer ran out: serfHealth critical, unless the catalog already
// says so (then its reap timer runs) or no longer has the check (nothing to drive).
std::optional<store::Command> NodeLiveness::FailureDue(const std::string& node,
                                                       const store::CatalogTable& catalog,
                                                       std::int64_t now_ms) {
  const store::HealthCheck* check = SerfHealthOf(catalog, node);
  const store::Node* record = catalog.FindNode(node);
  if (check == nullptr || record == nullptr) {
    failure_.Remove(node);
    return std::nullopt;
  }
  if (check->status == store::HealthStatus::kCritical) {
    failure_.Remove(node);
    if (!reap_.Contains(node)) reap_.Set(node, now_ms + options_.reconnect_timeout_ms);
    return std::nullopt;
  }
  // The timer stays: if this is lost, it comes back after retry_ms.
  return store::CatalogRegister{.node = node,
                                .id = record->id,
                                .address = record->address,
                                .checks = {SerfHealth(node, store::HealthStatus::kCritical)},
                                .datacenter = record->datacenter,
                                .tagged_addresses = record->tagged_addresses,
                                .node_meta = record->meta,
                                .skip_node_update = true};
}

// A node critical for the reconnect timeout: deregistered, unless it is no longer
// critical (or gone).
std::optional<store::Command> NodeLiveness::ReapDue(const std::string& node,
                                                    const store::CatalogTable& catalog) {
  const store::HealthCheck* check = SerfHealthOf(catalog, node);
  if (check == nullptr || check->status != store::HealthStatus::kCritical) {
    reap_.Remove(node);
    return std::nullopt;
  }
  return store::CatalogDeregister{.node = node, .check_id = ""};
}

std::vector<store::Command> NodeLiveness::TakeDue(const store::CatalogTable& catalog,
                                                  std::int64_t now_ms, std::size_t count_max) {
  std::vector<store::Command> due;
  for (const std::string& node : failure_.TakeExpired(now_ms, count_max)) {
    if (std::optional<store::Command> command = FailureDue(node, catalog, now_ms)) {
      due.push_back(std::move(*command));
    }
  }
  if (due.size() < count_max) {
    for (const std::string& node : reap_.TakeExpired(now_ms, count_max - due.size())) {
      if (std::optional<store::Command> command = ReapDue(node, catalog)) {
        due.push_back(std::move(*command));
      }
    }
  }
  std::erase_if(left_, [&](const auto& item) {
    return now_ms - item.second.left_ms >= options_.reconnect_timeout_ms;
  });
  return due;
}

std::vector<LeftNode> NodeLiveness::left() const {
  std::vector<LeftNode> nodes;
  for (const auto& [name, node] : left_) nodes.push_back(node);
  std::stable_sort(nodes.begin(), nodes.end(),
                   [](const LeftNode& a, const LeftNode& b) { return a.left_ms > b.left_ms; });
  return nodes;
}

// ---- Members -----------------------------------------------------------------------

namespace {

http::AgentMember Member(const std::string& name, const std::string& address,
                         const std::string& id, const std::string& datacenter,
                         const std::string& version) {
  http::AgentMember member;
  member.name = name;
  member.address = address;
  member.port = kSerfLanPort;
  member.tags = {{"role", "node"}, {"dc", datacenter}, {"id", id},    {"build", version},
                 {"vsn", "2"},     {"vsn_min", "2"},   {"vsn_max", "3"}};
  return member;
}

// A server's extra tags (Consul's: role consul, its RPC port, the Raft version, and
// "expect" when its self-registration recorded -bootstrap-expect).
void AddServerTags(const store::NodeService& server, http::AgentMember& member) {
  member.tags["role"] = "consul";
  member.tags["port"] = std::to_string(server.port);
  member.tags["raft_vsn"] = "3";
  auto expect = server.meta.find("expect");
  if (expect != server.meta.end()) member.tags["expect"] = expect->second;
}

}  // namespace

std::vector<http::AgentMember> MembersOf(const store::CatalogTable& catalog,
                                         const std::vector<LeftNode>& left,
                                         const std::string& datacenter,
                                         const std::string& version) {
  std::vector<http::AgentMember> members;
  for (const auto& [name, checks] : catalog.checks()) {
    const store::HealthCheck* check = SerfHealthOf(catalog, name);
    const store::Node* node = catalog.FindNode(name);
    if (check == nullptr || node == nullptr) continue;
    http::AgentMember member =
        Member(name, node->address, node->id,
               node->datacenter.empty() ? datacenter : node->datacenter, version);
    member.status =
        check->status == store::HealthStatus::kCritical ? kMemberFailed : kMemberAlive;
    if (const store::NodeService* server = catalog.FindService(name, kServerServiceId)) {
      AddServerTags(*server, member);
    }
    members.push_back(std::move(member));
  }
  for (const LeftNode& node : left) {
    if (catalog.FindNode(node.name) != nullptr) continue;  // back already
    http::AgentMember member = Member(node.name, node.address, node.id, datacenter, version);
    member.status = kMemberLeft;
    if (node.server) {
      member.tags["role"] = "consul";
      member.tags["port"] = std::to_string(node.server_port);
    }
    members.push_back(std::move(member));
  }
  return members;
}

}  // namespace roster::server
