// Watches on a real Node (server/node.cc, "Watches"): watches of identical keys share one
// registration and one wake-up, yet each behaves as a watch of its own. A write wakes
// every watch on what it changed, each once; a watch does not see writes from before it
// was made; dropping one watch of a group leaves the others registered; watches on
// other keys, or on a different list of keys, are not woken. One server, KV writes
// through Node::Apply. A watch "not woken" is checked with a short WaitUntil that must
// time out: only a wrong wake-up could make it return true.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/node.h"
#include "store/command.h"
#include "tests/unit/server/temp_dir.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::TempDir;

constexpr milliseconds kPatience{15'000};  // for what must happen (a busy machine)
constexpr milliseconds kQuiet{100};        // for what must not

class SoloServer {
 public:
  SoloServer() : dir_(TempDir::Where::kMemoryIfAvailable) {
    NodeOptions options;
    options.node_name = "solo";
    options.data_dir = dir_.path();
    options.server_port = 0;
    Result<std::unique_ptr<Node>> started = Node::Start(options);
    INFO(started.status().ToString());
    REQUIRE(started.ok());
    node_ = std::move(started).value();
    // Writes need a leader: a lone server elects itself.
    const auto deadline = steady_clock::now() + kPatience;
    while (node_->Self().raft_state != "Leader") {
      REQUIRE(steady_clock::now() < deadline);
      std::this_thread::sleep_for(milliseconds(5));  // the polling period
    }
  }

  Node& node() { return *node_; }

  // A new value every time: writing a key's current value again changes nothing (as
  // in Consul), so it wakes no one.
  void Set(const std::string& key) {
    const std::string value = "v" + std::to_string(++writes_);
    Result<http::WriteOutcome> written = node_->Apply(store::Encode(store::KvSet{key, value, 0}));
    INFO(written.status().ToString());
    REQUIRE(written.ok());
    REQUIRE(written->ok);
  }

  std::unique_ptr<http::Watch> Watch(std::vector<store::WatchKey> keys) {
    return node_->NewWatch(std::move(keys));
  }

 private:
  TempDir dir_;
  std::unique_ptr<Node> node_;
  int writes_ = 0;
};

store::WatchKey Key(const std::string& key) { return store::WatchKey::Key(store::Table::kKvs, key); }
store::WatchKey Prefix(const std::string& prefix) {
  return store::WatchKey::Prefix(store::Table::kKvs, prefix);
}

bool Woken(http::Watch& watch) { return watch.WaitUntil(steady_clock::now() + kPatience); }
bool WokenSoon(http::Watch& watch) { return watch.WaitUntil(steady_clock::now() + kQuiet); }

TEST_CASE("identical watches are each woken by a write, once", "[node][watch]") {
  SoloServer server;
  std::vector<std::unique_ptr<http::Watch>> watches;
  for (int i = 0; i < 3; ++i) watches.push_back(server.Watch({Prefix("config/")}));
  server.Set("config/a");
  for (auto& watch : watches) CHECK(Woken(*watch));
  for (auto& watch : watches) CHECK_FALSE(WokenSoon(*watch));  // that write is consumed
  server.Set("config/b");
  for (auto& watch : watches) CHECK(Woken(*watch));
}

TEST_CASE("a watch made after a write is not woken by it", "[node][watch]") {
  SoloServer server;
  auto before = server.Watch({Key("k")});
  server.Set("k");
  auto after = server.Watch({Key("k")});  // joins the group the write just fired
  CHECK(Woken(*before));
  CHECK_FALSE(WokenSoon(*after));
  server.Set("k");
  CHECK(Woken(*after));
}

TEST_CASE("dropping one of identical watches leaves the others registered", "[node][watch]") {
  SoloServer server;
  auto first = server.Watch({Key("k")});
  auto second = server.Watch({Key("k")});
  first.reset();
  server.Set("k");
  CHECK(Woken(*second));
  // The last one gone, a new watch registers afresh and is woken as before.
  second.reset();
  auto third = server.Watch({Key("k")});
  server.Set("k");
  CHECK(Woken(*third));
}

TEST_CASE("a write wakes only the watches on what it changed", "[node][watch]") {
  SoloServer server;
  auto on_a = server.Watch({Key("a")});
  auto on_b = server.Watch({Key("b")});
  auto on_a_and_b = server.Watch({Key("a"), Key("b")});
  auto on_b_and_a = server.Watch({Key("b"), Key("a")});
  server.Set("b");
  CHECK(Woken(*on_b));
  CHECK(Woken(*on_a_and_b));
  CHECK(Woken(*on_b_and_a));
  CHECK_FALSE(WokenSoon(*on_a));
}

TEST_CASE("a key watch and a prefix watch of the same name are different watches",
          "[node][watch]") {
  SoloServer server;
  auto key = server.Watch({Key("app")});
  auto prefix = server.Watch({Prefix("app")});
  server.Set("app/x");
  CHECK(Woken(*prefix));
  CHECK_FALSE(WokenSoon(*key));
}

TEST_CASE("one write wakes 200 threads parked on the same prefix", "[node][watch]") {
  SoloServer server;
  constexpr int kThreads = 200;
  std::atomic<int> parked{0}, woken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto watch = server.Watch({Prefix("herd/")});
      ++parked;
      if (Woken(*watch)) ++woken;
    });
  }
  const auto deadline = steady_clock::now() + kPatience;
  while (parked < kThreads && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));  // the polling period
  }
  REQUIRE(parked == kThreads);
  server.Set("herd/x");
  for (std::thread& thread : threads) thread.join();
  CHECK(woken == kThreads);
}

}  // namespace
}  // namespace roster::server
