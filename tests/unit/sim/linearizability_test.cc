#include "tests/sim/linearizability.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace roster::sim {
namespace {

constexpr std::uint64_t kSteps = 1'000'000;

Operation Read(int client, std::string key, std::string output, std::uint64_t invoke_time,
               std::uint64_t return_time) {
  Operation op;
  op.client_id = client;
  op.kind = OpKind::kRead;
  op.key = std::move(key);
  op.output = std::move(output);
  op.completed = true;
  op.ok = true;
  op.invoke_time = invoke_time;
  op.return_time = return_time;
  return op;
}

Operation Write(int client, std::string key, std::string value, std::uint64_t invoke_time,
                std::uint64_t return_time) {
  Operation op = Read(client, std::move(key), "", invoke_time, return_time);
  op.kind = OpKind::kWrite;
  op.value = std::move(value);
  return op;
}

Operation Cas(int client, std::string key, std::string expected, std::string value, bool ok,
              std::uint64_t invoke_time, std::uint64_t return_time) {
  Operation op = Write(client, std::move(key), std::move(value), invoke_time, return_time);
  op.kind = OpKind::kCas;
  op.expected = std::move(expected);
  op.ok = ok;
  return op;
}

// The same operation with no response seen.
Operation Pending(Operation op) {
  op.completed = false;
  op.ok = false;
  op.return_time = 0;
  return op;
}

bool Linearizable(const std::vector<Operation>& history) {
  CheckResult result = CheckHistory(history, kSteps);
  INFO(result.explanation);
  REQUIRE_FALSE(result.timed_out);
  return result.linearizable;
}

// ---------------------------------------------------------------------------------------
// Random histories from an actual atomic register: every operation takes effect at one
// instant between its invocation and its response, so the history is linearizable.

struct SimOptions {
  int clients = 5;
  int ops_per_client = 200;
  int keys = 3;
  int crash_permille = 20;  // Chance an operation never gets a response.
};

class RegisterSimulator {
 public:
  RegisterSimulator(std::uint32_t seed, SimOptions options)
      : rng_(seed), options_(options), clients_(options.clients) {}

  std::vector<Operation> Run() {
    for (auto& client : clients_) client.remaining = options_.ops_per_client;
    while (AnyWork()) Tick(PickClient());
    return std::move(history_);
  }

 private:
  struct Client {
    int remaining = 0;
    bool busy = false;
    bool applied = false;
    Operation op;
    std::map<std::string, std::string> last_seen;
  };

  int Roll(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  bool AnyWork() const {
    for (const auto& c : clients_) {
      if (c.busy || c.remaining > 0) return true;
    }
    return false;
  }

  int PickClient() {
    for (;;) {
      int id = Roll(options_.clients);
      if (clients_[id].busy || clients_[id].remaining > 0) return id;
    }
  }

  void Tick(int id) {
    ++now_;
    Client& c = clients_[id];
    if (!c.busy) return Invoke(id);
    if (Roll(1000) < options_.crash_permille) return Finish(c, /*completed=*/false);
    if (!c.applied) return Apply(c);
    Finish(c, /*completed=*/true);
  }

  void Invoke(int id) {
    Client& c = clients_[id];
    int roll = Roll(10);
    std::string key = "k" + std::to_string(Roll(options_.keys));
    // Values are unique per operation, so a stale read is easy to fabricate later.
    std::string value = "c" + std::to_string(id) + "-" + std::to_string(c.remaining);
    c.op = roll < 4 ? Read(id, key, "", now_, 0) : Write(id, key, value, now_, 0);
    if (roll >= 7) c.op = Cas(id, key, c.last_seen[key], value, false, now_, 0);
    c.busy = true;
    c.applied = false;
    --c.remaining;
  }

  void Apply(Client& c) {
    std::string& current = store_[c.op.key];
    switch (c.op.kind) {
      case OpKind::kRead:
        c.op.output = current;
        break;
      case OpKind::kWrite:
        current = c.op.value;
        break;
      case OpKind::kCas:
        c.op.ok = current == c.op.expected;
        if (c.op.ok) current = c.op.value;
        break;
    }
    c.last_seen[c.op.key] = current;
    c.applied = true;
  }

  void Finish(Client& c, bool completed) {
    c.op.completed = completed;
    c.op.return_time = now_;
    history_.push_back(completed ? c.op : Pending(c.op));
    c.busy = false;
  }

  std::mt19937 rng_;
  SimOptions options_;
  std::vector<Client> clients_;
  std::map<std::string, std::string> store_;
  std::vector<Operation> history_;
  std::uint64_t now_ = 0;
};

bool Produces(const Operation& op, const std::string& value) {
  return op.kind != OpKind::kRead && op.value == value;
}

// True if every op on `key` that could set `value` completed before `time`.
bool AllProducersBefore(const std::vector<Operation>& history, const std::string& key,
                        const std::string& value, std::uint64_t time) {
  for (const Operation& op : history) {
    if (op.key != key || !Produces(op, value)) continue;
    if (!op.completed || op.return_time >= time) return false;
  }
  return true;
}

// Finds a completed read R and a value v such that v was set, then certainly overwritten
// by a completed write/CAS W that returned before R was invoked, and nothing else could
// set v again. R returning v is then impossible in any linearization.
std::optional<std::pair<std::size_t, std::string>> FindStaleRead(
    const std::vector<Operation>& history) {
  for (std::size_t r = history.size(); r-- > 0;) {
    const Operation& read = history[r];
    if (read.kind != OpKind::kRead || !read.completed) continue;
    for (const Operation& w : history) {
      bool sets = w.kind == OpKind::kWrite || (w.kind == OpKind::kCas && w.ok);
      if (w.key != read.key || !w.completed || !sets || w.return_time >= read.invoke_time) {
        continue;
      }
      for (const Operation& p : history) {
        if (p.key != read.key || !p.completed || p.kind == OpKind::kRead || p.value == "" ||
            p.value == w.value || p.value == read.output) {
          continue;
        }
        if (AllProducersBefore(history, read.key, p.value, w.invoke_time)) {
          return std::make_pair(r, p.value);
        }
      }
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------

TEST_CASE("Linearizability: empty and sequential histories pass", "[sim][linearizability]") {
  CHECK(Linearizable({}));
  CHECK(Linearizable({
      Read(1, "k", "", 0, 1),
      Write(1, "k", "a", 2, 3),
      Read(2, "k", "a", 4, 5),
      Cas(1, "k", "a", "b", true, 6, 7),
      Cas(2, "k", "a", "c", false, 8, 9),
      Read(1, "k", "b", 10, 11),
      Write(2, "k", "", 12, 13),
      Read(1, "k", "", 14, 15),
  }));
}

TEST_CASE("Linearizability: stale read after a completed write fails", "[sim][linearizability]") {
  std::vector<Operation> history = {Write(1, "k", "1", 0, 1), Read(2, "k", "", 2, 3)};
  CheckResult result = CheckHistory(history, kSteps);
  CHECK_FALSE(result.linearizable);
  CHECK_FALSE(result.timed_out);
  CHECK(result.key == "k");
  CHECK_THAT(result.explanation, Catch::Contains("key \"k\""));
  CHECK_THAT(result.explanation,
             Catch::Contains("client 1 write \"k\" = \"1\" [invoke 0, return 1]"));
  CHECK_THAT(result.explanation,
             Catch::Contains("client 2 read \"k\" -> \"\" [invoke 2, return 3]  <== cannot"));
  // Overwritten values are stale too.
  CHECK_FALSE(
      Linearizable({Write(1, "k", "1", 0, 1), Write(1, "k", "2", 2, 3), Read(2, "k", "1", 4, 5)}));
  // A read may not see a write invoked after it returned.
  CHECK_FALSE(Linearizable({Read(2, "k", "1", 0, 1), Write(1, "k", "1", 2, 3)}));
  // A value nobody wrote.
  CHECK_FALSE(Linearizable({Write(1, "k", "1", 0, 1), Read(2, "k", "7", 2, 3)}));
}

TEST_CASE("Linearizability: a read overlapping a write may see either value",
          "[sim][linearizability]") {
  CHECK(Linearizable({Write(1, "k", "1", 0, 10), Read(2, "k", "", 1, 2)}));
  CHECK(Linearizable({Write(1, "k", "1", 0, 10), Read(2, "k", "1", 1, 2)}));
  CHECK(Linearizable({Read(2, "k", "1", 0, 5), Write(1, "k", "1", 3, 10)}));
  // Once one overlapping read saw the new value, a later read cannot see the old one.
  CHECK_FALSE(
      Linearizable({Write(1, "k", "1", 0, 10), Read(2, "k", "1", 1, 2), Read(3, "k", "", 3, 4)}));
  // Touching intervals (same logical time) count as concurrent.
  CHECK(Linearizable({Write(1, "k", "1", 0, 5), Read(2, "k", "", 5, 6)}));
  CHECK_FALSE(Linearizable({Write(1, "k", "1", 0, 5), Read(2, "k", "", 6, 7)}));
  CHECK(Linearizable({Read(2, "k", "1", 0, 5), Pending(Write(1, "k", "1", 5, 0))}));
  CHECK_FALSE(Linearizable({Read(2, "k", "1", 0, 5), Pending(Write(1, "k", "1", 6, 0))}));
}

TEST_CASE("Linearizability: compare-and-set outcomes", "[sim][linearizability]") {
  // Two concurrent CAS from the same expected value: exactly one may win.
  CHECK(Linearizable({Cas(1, "k", "", "a", true, 0, 10), Cas(2, "k", "", "b", false, 1, 9),
                      Read(3, "k", "a", 11, 12)}));
  CHECK_FALSE(Linearizable({Cas(1, "k", "", "a", true, 0, 10), Cas(2, "k", "", "b", true, 1, 9)}));
  // The winner must be the value read afterwards.
  CHECK_FALSE(Linearizable({Cas(1, "k", "", "a", true, 0, 10), Cas(2, "k", "", "b", false, 1, 9),
                            Read(3, "k", "b", 11, 12)}));
  // A successful CAS needs its expected value to be current.
  CHECK_FALSE(Linearizable({Write(1, "k", "x", 0, 1), Cas(2, "k", "y", "z", true, 2, 3)}));
  CHECK(Linearizable(
      {Write(1, "k", "x", 0, 1), Cas(2, "k", "y", "z", false, 2, 3), Read(1, "k", "x", 4, 5)}));
}

TEST_CASE("Linearizability: a failed CAS when the value must have matched fails",
          "[sim][linearizability]") {
  std::vector<Operation> history = {Write(1, "k", "a", 0, 1), Cas(2, "k", "a", "b", false, 2, 3)};
  CheckResult result = CheckHistory(history, kSteps);
  CHECK_FALSE(result.linearizable);
  CHECK_THAT(result.explanation, Catch::Contains("cas \"k\" \"a\"->\"b\": failed"));
  // On the initial value, too.
  CHECK_FALSE(Linearizable({Cas(2, "k", "", "b", false, 0, 1)}));
  // A concurrent write that changed the value explains the failure.
  CHECK(Linearizable(
      {Write(1, "k", "a", 0, 1), Write(3, "k", "c", 2, 5), Cas(2, "k", "a", "b", false, 2, 3)}));
}

TEST_CASE("Linearizability: incomplete operations may or may not take effect",
          "[sim][linearizability]") {
  // Visible long after its invocation.
  CHECK(Linearizable(
      {Pending(Write(1, "k", "x", 0, 0)), Read(2, "k", "", 1, 2), Read(2, "k", "x", 50, 51)}));
  // Never visible.
  CHECK(Linearizable({Pending(Write(1, "k", "x", 0, 0)), Read(2, "k", "", 50, 51)}));
  // Not before it was invoked.
  CHECK_FALSE(Linearizable({Read(2, "k", "x", 0, 1), Pending(Write(1, "k", "x", 2, 0))}));
  // Incomplete reads are ignored, whatever they hold.
  CHECK(Linearizable({Pending(Read(1, "k", "junk", 0, 0)), Read(2, "k", "", 1, 2)}));
  // An incomplete CAS takes effect only if its expected value is current.
  CHECK(Linearizable({Pending(Cas(1, "k", "", "x", false, 0, 0)), Read(2, "k", "x", 1, 2)}));
  CHECK(Linearizable({Pending(Cas(1, "k", "", "x", false, 0, 0)), Read(2, "k", "", 1, 2)}));
  CHECK_FALSE(Linearizable({Write(3, "k", "a", 0, 1), Pending(Cas(1, "k", "", "x", false, 2, 0)),
                            Read(2, "k", "x", 3, 4)}));
}

TEST_CASE("Linearizability: an incomplete write cannot become invisible again",
          "[sim][linearizability]") {
  std::vector<Operation> history = {Pending(Write(1, "k", "x", 0, 0)), Read(2, "k", "x", 5, 6),
                                    Read(3, "k", "", 7, 8), Write(2, "k", "y", 20, 21)};
  CheckResult result = CheckHistory(history, kSteps);
  CHECK_FALSE(result.linearizable);
  // The smallest failing prefix ends at the second read: the later write is not listed.
  CHECK_THAT(result.explanation, Catch::Contains("[invoke 0, no response]"));
  CHECK_THAT(result.explanation, Catch::Contains("[invoke 7, return 8]  <== cannot"));
  CHECK_THAT(result.explanation, !Catch::Contains("invoke 20"));
  // Two incomplete writes can alternate at most once each.
  CHECK(Linearizable({Pending(Write(1, "k", "x", 0, 0)), Pending(Write(2, "k", "y", 0, 0)),
                      Read(3, "k", "x", 1, 2), Read(3, "k", "y", 3, 4)}));
  CHECK_FALSE(
      Linearizable({Pending(Write(1, "k", "x", 0, 0)), Pending(Write(2, "k", "y", 0, 0)),
                    Read(3, "k", "x", 1, 2), Read(3, "k", "y", 3, 4), Read(3, "k", "x", 5, 6)}));
}

TEST_CASE("Linearizability: keys are independent", "[sim][linearizability]") {
  // Each key on its own is fine, even though a single register could not explain it.
  CHECK(Linearizable({Write(1, "a", "1", 0, 1), Read(2, "b", "", 2, 3), Write(1, "b", "2", 4, 5),
                      Read(2, "a", "1", 6, 7)}));
  // A bad key is reported by name while the good key is ignored.
  std::vector<Operation> history = {Write(1, "a", "1", 0, 1), Read(2, "a", "1", 2, 3),
                                    Write(1, "b", "1", 0, 1), Read(2, "b", "", 2, 3)};
  CheckResult result = CheckHistory(history, kSteps);
  CHECK_FALSE(result.linearizable);
  CHECK(result.key == "b");
  CHECK_THAT(result.explanation, Catch::Contains("key \"b\""));
  CHECK_THAT(result.explanation, !Catch::Contains("\"a\""));
}

TEST_CASE("Linearizability: malformed intervals are reported", "[sim][linearizability]") {
  CheckResult result = CheckHistory({Write(1, "k", "1", 5, 4)}, kSteps);
  CHECK_FALSE(result.linearizable);
  CHECK_THAT(result.explanation, Catch::Contains("malformed"));
}

TEST_CASE("Linearizability: random atomic-register histories pass, stale reads fail",
          "[sim][linearizability]") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::vector<Operation> history = RegisterSimulator(seed, SimOptions{}).Run();
    REQUIRE(history.size() == 1000);
    CheckResult result = CheckHistory(history, kSteps);
    INFO(result.explanation);
    REQUIRE(result.linearizable);
    REQUIRE_FALSE(result.timed_out);

    auto stale = FindStaleRead(history);
    REQUIRE(stale.has_value());
    std::vector<Operation> mutated = history;
    mutated[stale->first].output = stale->second;
    CheckResult bad = CheckHistory(mutated, kSteps);
    CHECK_FALSE(bad.linearizable);
    CHECK_FALSE(bad.timed_out);
    CHECK(bad.key == history[stale->first].key);
    CHECK_THAT(bad.explanation, Catch::Contains("#" + std::to_string(stale->first) + " "));

    mutated[stale->first].output = "never-written";
    CHECK_FALSE(CheckHistory(mutated, kSteps).linearizable);
  }
}

TEST_CASE("Linearizability: heavy contention on a single key", "[sim][linearizability]") {
  SimOptions options;
  options.clients = 10;
  options.ops_per_client = 100;
  options.keys = 1;
  options.crash_permille = 30;
  for (std::uint32_t seed = 100; seed < 105; ++seed) {
    INFO("seed " << seed);
    std::vector<Operation> history = RegisterSimulator(seed, options).Run();
    CheckResult result = CheckHistory(history, kSteps);
    INFO(result.explanation);
    CHECK(result.linearizable);
    CHECK_FALSE(result.timed_out);
  }
}

TEST_CASE("Linearizability: the step bound reports a timeout", "[sim][linearizability]") {
  // Twelve concurrent writes and a read of a value none wrote: proving failure means
  // visiting every subset of the writes.
  std::vector<Operation> history;
  for (int i = 0; i < 12; ++i) history.push_back(Write(i, "k", std::to_string(i), 0, 100));
  history.push_back(Read(20, "k", "missing", 50, 60));
  history.push_back(Write(1, "ok", "1", 0, 1));

  CheckResult bounded = CheckHistory(history, 1000);
  CHECK(bounded.linearizable);
  CHECK(bounded.timed_out);
  CHECK(bounded.key == "k");
  CHECK_THAT(bounded.explanation, Catch::Contains("1000 steps"));

  CheckResult full = CheckHistory(history, 100'000'000);
  CHECK_FALSE(full.linearizable);
  CHECK_FALSE(full.timed_out);
}

}  // namespace
}  // namespace roster::sim
