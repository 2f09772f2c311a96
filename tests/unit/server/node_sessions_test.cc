// Sessions on real Nodes in this process, over loopback (server/node_sessions.cc):
// each server registers itself with a passing serfHealth check; the leader ends a
// session that stops renewing after TTL x 2 (not before its TTL) and releases its
// locks; lock-delay refuses acquires and fails transactions' lock ops; renewals and
// writes through a follower reach the leader and bring back the whole outcome (a
// refusal's text, a sequential entry, a txn's results, a lock-delay's false or a txn's
// lock-delay errors); a new leader restarts every timer. TTLs are a fraction of a second
// so the cases stay short. Every wait polls a condition with a deadline; nothing sleeps
// and then asserts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/logging.h"
#include "server/node.h"
#include "store/command.h"
#include "tests/unit/server/temp_dir.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace roster::server {
namespace {

using SteadyClock = std::chrono::steady_clock;
using testing::TempDir;

constexpr std::int64_t kPatienceMs = 15'000;  // elections and joins on a busy machine
constexpr std::uint64_t kTtlMs = 300;         // expiry at 600 ms without renewals

std::int64_t NowMs() { return SystemClock().NowMs(); }

// Polls `condition` until it holds or kPatienceMs pass; returns whether it held.
bool Eventually(const std::function<bool()>& condition, std::int64_t patience_ms = kPatienceMs) {
  const std::int64_t deadline = NowMs() + patience_ms;
  while (!condition()) {
    if (NowMs() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the polling period
  }
  return true;
}

// A port the kernel had free a moment ago. A node listening on port 0 would tell its
// peers (in its Hello) to dial port 0, so each server gets a real one.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t size = sizeof(address);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

// One server with its own data dir. Not started until Start().
struct TestServer {
  TestServer(std::string name, std::vector<std::string> join)
      : dir(TempDir::Where::kMemoryIfAvailable) {
    options.node_name = std::move(name);
    options.data_dir = dir.path();
    options.server_port = FreePort();
    options.join = std::move(join);
    options.session_invalidate_retry_ms = 500;
  }
  void Start() {
    Result<std::unique_ptr<Node>> started = Node::Start(options);
    INFO(started.status().ToString());
    REQUIRE(started.ok());
    node = std::move(started).value();
  }
  bool leading() { return node && node->Self().raft_state == "Leader"; }

  TempDir dir;
  NodeOptions options;
  std::unique_ptr<Node> node;
};

template <typename T>
T ReadStale(Node& node, const std::function<T(const store::Store&)>& read) {
  T value{};
  Result<http::ReadMeta> meta =
      node.Read(http::Consistency::kStale, [&](const store::Store& store) { value = read(store); });
  REQUIRE(meta.ok());
  return value;
}

bool HasSession(Node& node, const std::string& id) {
  return ReadStale<bool>(node, [&](const store::Store& s) { return s.sessions().Find(id); });
}

std::string HolderOf(Node& node, const std::string& key) {
  return ReadStale<std::string>(node, [&](const store::Store& s) {
    const store::DirEntry* entry = s.kv().Find(key);
    return entry == nullptr ? std::string("<absent>") : entry->session;
  });
}

bool IsRegistered(Node& node, const std::string& name) {
  return ReadStale<bool>(node, [&](const store::Store& s) {
    const store::HealthCheck* check = s.catalog().FindCheck(name, "serfHealth");
    return s.catalog().FindNode(name) != nullptr && check != nullptr &&
           check->status == store::HealthStatus::kPassing;
  });
}

Result<http::WriteOutcome> CreateSession(Node& node, const std::string& id, const std::string& on,
                                         std::uint64_t ttl_ms, std::uint64_t lock_delay_ms = 0) {
  store::Session session;
  session.id = id;
  session.node = on;
  session.ttl_ms = ttl_ms;
  session.lock_delay_ms = lock_delay_ms;
  session.node_checks = {"serfHealth"};
  return node.Apply(store::Encode(store::SessionCreate{session}));
}

Result<http::WriteOutcome> Acquire(Node& node, const std::string& key, const std::string& session) {
  return node.Apply(store::Encode(store::KvLock{key, "held", 0, session}));
}

store::TxnKvOp SetOp(const std::string& key, const std::string& value) {
  return {.verb = store::TxnVerb::kSet, .key = key, .value = value, .flags = 0, .index = 0,
          .session = ""};
}

store::TxnKvOp LockOp(const std::string& key, const std::string& session) {
  return {.verb = store::TxnVerb::kLock, .key = key, .value = "held", .flags = 0, .index = 0,
          .session = session};
}

http::WriteOutcome Must(Result<http::WriteOutcome> result) {
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return *result;
}

// Renews every period_ms for duration_ms, checking that each renewal succeeds.
void KeepRenewing(Node& node, const std::string& id, std::int64_t duration_ms,
                  std::int64_t period_ms = 100) {
  const std::int64_t until = NowMs() + duration_ms;
  while (NowMs() < until) {
    Result<store::Session> renewed = node.RenewSession(id);
    INFO(renewed.status().ToString());
    REQUIRE(renewed.ok());
    REQUIRE(renewed->id == id);
    std::this_thread::sleep_for(std::chrono::milliseconds(period_ms));  // the client's pace
  }
}

// ---- One server ----------------------------------------------------------------------

TEST_CASE("a session that stops renewing loses its lock after TTL x 2, not before its TTL",
          "[node][sessions]") {
  TestServer server("solo", {});
  server.Start();
  Node& node = *server.node;
  REQUIRE(Eventually([&] { return IsRegistered(node, "solo"); }));

  REQUIRE(Must(CreateSession(node, "s-ttl", "solo", kTtlMs)).ok);
  REQUIRE(Must(Acquire(node, "locks/a", "s-ttl")).ok);
  KeepRenewing(node, "s-ttl", 4 * static_cast<std::int64_t>(kTtlMs));  // outlives 2 x TTL
  REQUIRE(HasSession(node, "s-ttl"));
  const std::int64_t last_renewal_ms = NowMs();

  REQUIRE(Eventually([&] { return !HasSession(node, "s-ttl"); }));
  const std::int64_t gone_after_ms = NowMs() - last_renewal_ms;
  CHECK(gone_after_ms >= static_cast<std::int64_t>(kTtlMs));
  CHECK(gone_after_ms <= 2 * static_cast<std::int64_t>(kTtlMs) + 1000);
  CHECK(HolderOf(node, "locks/a").empty());  // released, the key stays (behavior release)
}

TEST_CASE("renewing an unknown session is NotFound with Consul's text", "[node][sessions]") {
  TestServer server("solo", {});
  server.Start();
  REQUIRE(Eventually([&] { return server.leading(); }));
  Result<store::Session> renewed = server.node->RenewSession("nope");
  REQUIRE(renewed.status().code() == StatusCode::kNotFound);
  CHECK(renewed.status().message() == "Session id 'nope' not found");
}

TEST_CASE("a lock-delay refuses acquires of a released key until it passes", "[node][sessions]") {
  TestServer server("solo", {});
  server.Start();
  Node& node = *server.node;
  REQUIRE(Eventually([&] { return IsRegistered(node, "solo"); }));
  REQUIRE(Must(CreateSession(node, "old", "solo", 0, /*lock_delay_ms=*/1500)).ok);
  REQUIRE(Must(CreateSession(node, "new", "solo", 0)).ok);
  REQUIRE(Must(Acquire(node, "locks/b", "old")).ok);
  // The delay starts when the destroy applies: after it is sent, before it is answered.
  const std::int64_t destroy_sent_ms = NowMs();
  const http::WriteOutcome destroyed =
      Must(node.Apply(store::Encode(store::SessionDestroy{"old"})));

  const http::WriteOutcome refused = Must(Acquire(node, "locks/b", "new"));
  CHECK_FALSE(refused.ok);  // a soft refusal, not an error
  CHECK(refused.index >= destroyed.index);
  CHECK(Must(Acquire(node, "locks/other", "new")).ok);  // other keys are free
  REQUIRE(Eventually([&] { return Must(Acquire(node, "locks/b", "new")).ok; }));
  CHECK(NowMs() - destroy_sent_ms >= 1500);
  CHECK(HolderOf(node, "locks/b") == "new");
}

TEST_CASE("a lock-delay fails a transaction's lock ops whole, in Consul's words",
          "[node][sessions]") {
  TestServer server("solo", {});
  server.Start();
  Node& node = *server.node;
  REQUIRE(Eventually([&] { return IsRegistered(node, "solo"); }));
  REQUIRE(Must(CreateSession(node, "old", "solo", 0, /*lock_delay_ms=*/1500)).ok);
  REQUIRE(Must(CreateSession(node, "new", "solo", 0)).ok);
  REQUIRE(Must(Acquire(node, "locks/t", "old")).ok);
  const std::int64_t destroy_sent_ms = NowMs();
  Must(node.Apply(store::Encode(store::SessionDestroy{"old"})));

  const store::Txn txn{{SetOp("side/effect", "1"), LockOp("locks/t", "new"),
                        LockOp("locks/free", "new")}};
  const http::WriteOutcome refused = Must(node.Apply(store::Encode(txn)));
  CHECK_FALSE(refused.ok);
  CHECK(refused.txn.results.empty());
  CHECK(refused.txn.errors ==
        std::vector<store::TxnError>{{1, "failed to lock key \"locks/t\" due to lock delay"}});
  // Nothing of it applied: not the set before the delayed op, nor the lock after it.
  CHECK(HolderOf(node, "side/effect") == "<absent>");
  CHECK(HolderOf(node, "locks/free") == "<absent>");
  // A transaction without a lock on a delayed key is not held up.
  CHECK(Must(node.Apply(store::Encode(store::Txn{{LockOp("locks/free", "new")}}))).ok);

  REQUIRE(Eventually([&] { return Must(node.Apply(store::Encode(txn))).ok; }));
  CHECK(NowMs() - destroy_sent_ms >= 1500);
  CHECK(HolderOf(node, "locks/t") == "new");
  CHECK(HolderOf(node, "side/effect").empty());  // set, and held by nobody
}

// ---- Three servers -------------------------------------------------------------------

// A cluster grown from one server: the others join it.
struct TestCluster {
  TestCluster() {
    servers.push_back(std::make_unique<TestServer>("s1", std::vector<std::string>{}));
    servers[0]->Start();
    const std::string seed = servers[0]->node->server_address();
    for (const char* name : {"s2", "s3"}) {
      servers.push_back(std::make_unique<TestServer>(name, std::vector<std::string>{seed}));
      servers.back()->Start();
    }
    REQUIRE(Eventually([&] {
      for (auto& server : servers) {
        for (const char* name : {"s1", "s2", "s3"}) {
          if (!IsRegistered(*server->node, name)) return false;
        }
      }
      return Voters() == 3;
    }));
  }
  std::size_t Voters() {
    Result<http::RaftConfiguration> configuration =
        servers[0]->node->GetRaftConfiguration(http::Consistency::kStale);
    if (!configuration.ok()) return 0;
    std::size_t voters = 0;
    for (const http::RaftServer& server : configuration->servers) voters += server.voter;
    return voters;
  }
  TestServer* Leader() {
    for (auto& server : servers) {
      if (server->leading()) return server.get();
    }
    return nullptr;
  }
  TestServer* AFollower() {
    for (auto& server : servers) {
      if (server->node && !server->leading()) return server.get();
    }
    return nullptr;
  }

  std::vector<std::unique_ptr<TestServer>> servers;
};

TEST_CASE("writes through a follower bring back the whole outcome", "[node][sessions]") {
  TestCluster cluster;
  TestServer* follower = cluster.AFollower();
  REQUIRE(follower != nullptr);
  Node& node = *follower->node;

  SECTION("a refusal at apply is FailedPrecondition with the store's text") {
    Result<http::WriteOutcome> refused = Acquire(node, "k", "no-such-session");
    REQUIRE(refused.status().code() == StatusCode::kFailedPrecondition);
    CHECK(refused.status().message() == "invalid session \"no-such-session\"");
  }
  SECTION("a sequential entry") {
    const http::WriteOutcome created =
        Must(node.Apply(store::Encode(store::KvCreateSequential{"queue/", "job", 7, ""})));
    REQUIRE(created.entry.has_value());
    CHECK(created.entry->key == "queue/" +
                                    std::string(20 - std::to_string(created.index).size(), '0') +
                                    std::to_string(created.index));
    CHECK(created.entry->flags == 7);
    CHECK(created.entry->create_index == created.index);
  }
  SECTION("a transaction's results and errors") {
    store::Txn txn;
    txn.ops = {store::TxnKvOp{.verb = store::TxnVerb::kSet,
                              .key = "t/a",
                              .value = "1",
                              .flags = 0,
                              .index = 0,
                              .session = ""}};
    const http::WriteOutcome committed = Must(node.Apply(store::Encode(txn)));
    REQUIRE(committed.ok);
    REQUIRE(committed.txn.results.size() == 1);
    CHECK(committed.txn.results[0].kv.key == "t/a");
    txn.ops[0] = store::TxnKvOp{.verb = store::TxnVerb::kCas,
                                .key = "t/a",
                                .value = "2",
                                .flags = 0,
                                .index = 1,
                                .session = ""};
    const http::WriteOutcome rolled_back = Must(node.Apply(store::Encode(txn)));
    CHECK_FALSE(rolled_back.ok);
    REQUIRE(rolled_back.txn.errors.size() == 1);
    CHECK(rolled_back.txn.errors[0].op_index == 0);
  }
  SECTION("a renewal, and an unknown session's NotFound") {
    REQUIRE(Must(CreateSession(node, "via-follower", follower->options.node_name, kTtlMs)).ok);
    Result<store::Session> renewed = node.RenewSession("via-follower");
    INFO(renewed.status().ToString());
    REQUIRE(renewed.ok());
    CHECK(renewed->ttl_ms == kTtlMs);
    CHECK(renewed->node == follower->options.node_name);
    Result<store::Session> missing = node.RenewSession("nope");
    CHECK(missing.status().code() == StatusCode::kNotFound);
    CHECK(missing.status().message() == "Session id 'nope' not found");
  }
  SECTION("a lock-delay's soft refusal") {
    REQUIRE(Must(CreateSession(node, "old", "s1", 0, /*lock_delay_ms=*/60'000)).ok);
    REQUIRE(Must(CreateSession(node, "new", "s1", 0)).ok);
    REQUIRE(Must(Acquire(node, "locks/c", "old")).ok);
    Must(node.Apply(store::Encode(store::SessionDestroy{"old"})));
    const http::WriteOutcome refused = Must(Acquire(node, "locks/c", "new"));
    CHECK_FALSE(refused.ok);
    CHECK(refused.index > 0);
    // The leader refuses a transaction's lock the same way, errors and all.
    const http::WriteOutcome txn_refused = Must(node.Apply(store::Encode(
        store::Txn{{SetOp("t/side", "1"), LockOp("locks/c", "new")}})));
    CHECK_FALSE(txn_refused.ok);
    CHECK(txn_refused.txn.errors ==
          std::vector<store::TxnError>{{1, "failed to lock key \"locks/c\" due to lock delay"}});
    TestServer* leader = cluster.Leader();
    REQUIRE(leader != nullptr);
    CHECK(HolderOf(*leader->node, "t/side") == "<absent>");
  }
}

TEST_CASE("a new leader restarts every session's timer and ends those not renewed",
          "[node][sessions]") {
  TestCluster cluster;
  TestServer* old_leader = cluster.Leader();
  REQUIRE(old_leader != nullptr);
  Node& leader = *old_leader->node;
  REQUIRE(Must(CreateSession(leader, "renewed", "s1", kTtlMs)).ok);
  REQUIRE(Must(CreateSession(leader, "abandoned", "s1", kTtlMs)).ok);
  REQUIRE(Must(Acquire(leader, "locks/d", "abandoned")).ok);

  old_leader->node->Stop();
  old_leader->node.reset();
  TestServer* survivor = cluster.AFollower();
  REQUIRE(survivor != nullptr);
  // Renewals through a survivor wait for the new leader (at most the 7 s leader wait),
  // then keep "renewed" alive well past its TTL x 2 on the new leader's fresh timers.
  KeepRenewing(*survivor->node, "renewed", 6 * static_cast<std::int64_t>(kTtlMs));
  TestServer* new_leader = cluster.Leader();
  REQUIRE(new_leader != nullptr);
  CHECK(HasSession(*new_leader->node, "renewed"));
  REQUIRE(Eventually([&] { return !HasSession(*new_leader->node, "abandoned"); }));
  CHECK(HolderOf(*new_leader->node, "locks/d").empty());
  CHECK(HasSession(*new_leader->node, "renewed"));
}

}  // namespace
}  // namespace roster::server
