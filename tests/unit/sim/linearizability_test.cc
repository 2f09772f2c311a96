// The linearizability checker's KV model: Consul's set, CAS, delete and delete-CAS
// semantics with ModifyIndex, writes in log order, and the histories it must reject.
#include "tests/sim/linearizability.h"

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "store/command.h"
#include "store/store.h"

// base/check.h and Catch2 both define CHECK; the tests mean Catch2's.
#undef CHECK
#include <catch2/catch.hpp>

namespace roster::sim {
namespace {

constexpr std::uint64_t kSteps = 1'000'000;

// ---------------------------------------------------------------------------------------
// A small vocabulary: Set(client, key, value, index, invoke, return) is a completed set
// that applied at log index `index`; Pending(op) is the same op with no response seen.

ReadResult Absent() { return ReadResult{}; }

ReadResult Seen(std::string value, std::uint64_t modify_index, std::uint64_t create_index) {
  return ReadResult{true, std::move(value), 0, create_index, modify_index};
}

Operation Read(int client, std::string key, ReadResult output, std::uint64_t invoke_time,
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

Operation Write(OpKind kind, int client, std::string key, std::uint64_t index,
                std::uint64_t invoke_time, std::uint64_t return_time) {
  Operation op = Read(client, std::move(key), Absent(), invoke_time, return_time);
  op.kind = kind;
  op.index = index;
  return op;
}

Operation Set(int client, std::string key, std::string value, std::uint64_t index,
              std::uint64_t invoke_time, std::uint64_t return_time) {
  Operation op = Write(OpKind::kSet, client, std::move(key), index, invoke_time, return_time);
  op.value = std::move(value);
  return op;
}

Operation Cas(int client, std::string key, std::uint64_t cas_index, std::string value,
              std::uint64_t index, bool ok, std::uint64_t invoke_time, std::uint64_t return_time) {
  Operation op = Set(client, std::move(key), std::move(value), index, invoke_time, return_time);
  op.kind = OpKind::kCas;
  op.cas_index = cas_index;
  op.ok = ok;
  return op;
}

Operation Delete(int client, std::string key, std::uint64_t index, std::uint64_t invoke_time,
                 std::uint64_t return_time) {
  return Write(OpKind::kDelete, client, std::move(key), index, invoke_time, return_time);
}

Operation DeleteCas(int client, std::string key, std::uint64_t cas_index, std::uint64_t index,
                    bool ok, std::uint64_t invoke_time, std::uint64_t return_time) {
  Operation op = Write(OpKind::kDeleteCas, client, std::move(key), index, invoke_time, return_time);
  op.cas_index = cas_index;
  op.ok = ok;
  return op;
}

Operation Pending(Operation op) {
  op.completed = false;
  op.ok = false;
  op.output = Absent();
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
// Random histories from the real store applied atomically: every operation takes effect
// at one instant between its invocation and its response, writes at the next log index,
// so the history is linearizable, and the model must agree with the store about it.

struct SimOptions {
  int clients = 5;
  int ops_per_client = 200;
  int keys = 3;
  int crash_permille = 20;  // Chance an operation never gets a response.
};

class KvSimulator {
 public:
  KvSimulator(std::uint32_t seed, SimOptions options)
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
    std::map<std::string, ReadResult> last_seen;
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
    const int roll = Roll(10);
    const std::string key = "k" + std::to_string(Roll(options_.keys));
    const ReadResult& seen = c.last_seen[key];
    const std::uint64_t cas_index = Roll(4) == 0 ? 0 : seen.modify_index;
    // Values are unique per operation, so a stale read is easy to fabricate later; now
    // and then a set rewrites what the client saw, which changes nothing.
    std::string value = "c" + std::to_string(id) + "-" + std::to_string(c.remaining);
    c.op = roll < 4 ? Read(id, key, Absent(), now_, 0) : Set(id, key, value, 0, now_, 0);
    if (roll == 5 && seen.found) c.op.value = seen.value;
    c.op.flags = roll == 5 && seen.found ? seen.flags : Roll(2);
    if (roll == 6 || roll == 7) c.op = Cas(id, key, cas_index, value, 0, false, now_, 0);
    if (roll == 8) c.op = Delete(id, key, 0, now_, 0);
    if (roll == 9) c.op = DeleteCas(id, key, cas_index, 0, false, now_, 0);
    c.busy = true;
    c.applied = false;
    --c.remaining;
  }

  std::string Command(const Operation& op) const {
    switch (op.kind) {
      case OpKind::kSet:
        return store::Encode(store::KvSet{op.key, op.value, op.flags});
      case OpKind::kCas:
        return store::Encode(store::KvCas{op.key, op.value, op.flags, op.cas_index});
      case OpKind::kDelete:
        return store::Encode(store::KvDelete{op.key});
      case OpKind::kDeleteCas:
        return store::Encode(store::KvDeleteCas{op.key, op.cas_index});
      case OpKind::kRead:
        break;
    }
    return "";
  }

  void Apply(Client& c) {
    if (c.op.kind != OpKind::kRead) {
      c.op.index = ++index_;
      c.op.ok = store_.Apply(c.op.index, Command(c.op)).ok;
    }
    const std::optional<store::DirEntry> entry = store_.kv().Get(c.op.key);
    ReadResult now;
    if (entry) now = {true, entry->value, entry->flags, entry->create_index, entry->modify_index};
    if (c.op.kind == OpKind::kRead) c.op.output = now;
    c.last_seen[c.op.key] = now;
    c.applied = true;
  }

  void Finish(Client& c, bool completed) {
    if (!c.applied && c.op.kind != OpKind::kRead) c.op.index = ++index_;  // never applied
    c.op.completed = completed;
    c.op.return_time = now_;
    history_.push_back(completed ? c.op : Pending(c.op));
    c.busy = false;
  }

  std::mt19937 rng_;
  SimOptions options_;
  std::vector<Client> clients_;
  store::Store store_;
  std::uint64_t index_ = 0;
  std::vector<Operation> history_;
  std::uint64_t now_ = 0;
};

bool Produces(const Operation& op, const std::string& value) {
  return (op.kind == OpKind::kSet || op.kind == OpKind::kCas) && op.value == value;
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

// Whether a completed `op` certainly left its key without any value but its own.
bool Overwrites(const Operation& op) {
  if (!op.completed) return false;
  return op.kind == OpKind::kSet || op.kind == OpKind::kDelete ||
         ((op.kind == OpKind::kCas || op.kind == OpKind::kDeleteCas) && op.ok);
}

// Finds a completed read R and a completed write P such that P's value was certainly
// overwritten by a write W that returned before R was invoked, and nothing else could
// set that value again. R returning what P wrote is then impossible in any
// linearization. Returns R's position and P's entry.
std::optional<std::pair<std::size_t, ReadResult>> FindStaleRead(
    const std::vector<Operation>& history) {
  for (std::size_t r = history.size(); r-- > 0;) {
    const Operation& read = history[r];
    if (read.kind != OpKind::kRead || !read.completed) continue;
    for (const Operation& w : history) {
      if (w.key != read.key || !Overwrites(w) || w.return_time >= read.invoke_time) continue;
      for (const Operation& p : history) {
        if (p.key != read.key || !p.completed || !Produces(p, p.value) ||
            (p.kind == OpKind::kCas && !p.ok) || p.value == w.value ||
            p.value == read.output.value) {
          continue;
        }
        if (AllProducersBefore(history, read.key, p.value, w.invoke_time)) {
          return std::make_pair(r, ReadResult{true, p.value, p.flags, p.index, p.index});
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
      Read(1, "k", Absent(), 0, 1),
      Set(1, "k", "a", 3, 2, 3),
      Read(2, "k", Seen("a", 3, 3), 4, 5),
      Cas(1, "k", 3, "b", 6, true, 6, 7),
      Cas(2, "k", 3, "c", 8, false, 8, 9),
      Read(1, "k", Seen("b", 6, 3), 10, 11),
      Delete(2, "k", 12, 12, 13),
      Read(1, "k", Absent(), 14, 15),
      Set(2, "k", "", 20, 16, 17),  // an empty value is not an absent key
      Read(1, "k", Seen("", 20, 20), 18, 19),
  }));
}

TEST_CASE("Linearizability: stale read after a completed write fails", "[sim][linearizability]") {
  std::vector<Operation> history = {Set(1, "k", "1", 4, 0, 1), Read(2, "k", Absent(), 2, 3)};
  CheckResult result = CheckHistory(history, kSteps);
  CHECK_FALSE(result.linearizable);
  CHECK_FALSE(result.timed_out);
  CHECK(result.key == "k");
  CHECK_THAT(result.explanation, Catch::Contains("key \"k\""));
  CHECK_THAT(result.explanation,
             Catch::Contains("client 1 set \"k\" = \"1\" at 4 [invoke 0, return 1]"));
  CHECK_THAT(result.explanation,
             Catch::Contains("client 2 read \"k\" -> absent [invoke 2, return 3]  <== cannot"));
  // Overwritten values are stale too.
  CHECK_FALSE(Linearizable(
      {Set(1, "k", "1", 4, 0, 1), Set(1, "k", "2", 6, 2, 3), Read(2, "k", Seen("1", 4, 4), 4, 5)}));
  // A read may not see a write invoked after it returned.
  CHECK_FALSE(Linearizable({Read(2, "k", Seen("1", 4, 4), 0, 1), Set(1, "k", "1", 4, 2, 3)}));
  // A value nobody wrote.
  CHECK_FALSE(Linearizable({Set(1, "k", "1", 4, 0, 1), Read(2, "k", Seen("7", 4, 4), 2, 3)}));
  // Concurrent reads and writes.
  CHECK(Linearizable({Set(1, "k", "1", 4, 0, 10), Read(2, "k", Absent(), 1, 2),
                      Read(3, "k", Seen("1", 4, 4), 3, 4)}));
  CHECK_FALSE(Linearizable({Set(1, "k", "1", 4, 0, 10), Read(2, "k", Seen("1", 4, 4), 1, 2),
                            Read(3, "k", Absent(), 3, 4)}));
  // Touching intervals (same logical time) count as concurrent.
  CHECK(Linearizable({Set(1, "k", "1", 4, 0, 5), Read(2, "k", Absent(), 5, 6)}));
  CHECK_FALSE(Linearizable({Set(1, "k", "1", 4, 0, 5), Read(2, "k", Absent(), 6, 7)}));
}

TEST_CASE("Linearizability: a read must report the indexes of the write it saw",
          "[sim][linearizability]") {
  CHECK(Linearizable(
      {Set(1, "k", "a", 4, 0, 1), Set(1, "k", "b", 9, 2, 3), Read(2, "k", Seen("b", 9, 4), 4, 5)}));
  // The right value with an old ModifyIndex: the read saw a state that never existed.
  CHECK_FALSE(Linearizable(
      {Set(1, "k", "a", 4, 0, 1), Set(1, "k", "b", 9, 2, 3), Read(2, "k", Seen("b", 4, 4), 4, 5)}));
  // A CreateIndex from another life of the key.
  CHECK_FALSE(Linearizable({Set(1, "k", "a", 4, 0, 1), Delete(1, "k", 6, 2, 3),
                            Set(1, "k", "b", 9, 4, 5), Read(2, "k", Seen("b", 9, 4), 6, 7)}));
  CHECK(Linearizable({Set(1, "k", "a", 4, 0, 1), Delete(1, "k", 6, 2, 3), Set(1, "k", "b", 9, 4, 5),
                      Read(2, "k", Seen("b", 9, 9), 6, 7)}));
  // Flags are part of what was written.
  Operation flagged = Set(1, "k", "a", 4, 0, 1);
  flagged.flags = 7;
  CHECK_FALSE(Linearizable({flagged, Read(2, "k", Seen("a", 4, 4), 2, 3)}));
  ReadResult with_flags = Seen("a", 4, 4);
  with_flags.flags = 7;
  CHECK(Linearizable({flagged, Read(2, "k", with_flags, 2, 3)}));
}

TEST_CASE("Linearizability: writing what is there changes nothing", "[sim][linearizability]") {
  CHECK(Linearizable(
      {Set(1, "k", "x", 3, 0, 1), Set(1, "k", "x", 5, 2, 3), Read(2, "k", Seen("x", 3, 3), 4, 5)}));
  CHECK_FALSE(Linearizable(
      {Set(1, "k", "x", 3, 0, 1), Set(1, "k", "x", 5, 2, 3), Read(2, "k", Seen("x", 5, 3), 4, 5)}));
  // A CAS against the unchanged index still succeeds.
  CHECK(Linearizable(
      {Set(1, "k", "x", 3, 0, 1), Set(1, "k", "x", 5, 2, 3), Cas(2, "k", 3, "y", 7, true, 4, 5)}));
  // Other flags are a change.
  Operation reflagged = Set(1, "k", "x", 5, 2, 3);
  reflagged.flags = 1;
  ReadResult seen = Seen("x", 5, 3);
  seen.flags = 1;
  CHECK(Linearizable({Set(1, "k", "x", 3, 0, 1), reflagged, Read(2, "k", seen, 4, 5)}));
}

TEST_CASE("Linearizability: compare-and-set on ModifyIndex", "[sim][linearizability]") {
  // Two concurrent creations (index 0: only if absent): exactly one may win.
  CHECK(Linearizable({Cas(1, "k", 0, "a", 4, true, 0, 10), Cas(2, "k", 0, "b", 5, false, 1, 9),
                      Read(3, "k", Seen("a", 4, 4), 11, 12)}));
  CHECK_FALSE(
      Linearizable({Cas(1, "k", 0, "a", 4, true, 0, 10), Cas(2, "k", 0, "b", 5, true, 1, 9)}));
  // The winner must be the value read afterwards.
  CHECK_FALSE(
      Linearizable({Cas(1, "k", 0, "a", 4, true, 0, 10), Cas(2, "k", 0, "b", 5, false, 1, 9),
                    Read(3, "k", Seen("b", 5, 5), 11, 12)}));
  // A CAS succeeds against the current ModifyIndex, not a value.
  CHECK(Linearizable({Set(1, "k", "x", 3, 0, 1), Cas(2, "k", 3, "z", 5, true, 2, 3)}));
  CHECK_FALSE(Linearizable({Set(1, "k", "x", 3, 0, 1), Cas(2, "k", 2, "z", 5, true, 2, 3)}));
  // Creation only if absent.
  CHECK_FALSE(Linearizable({Set(1, "k", "x", 3, 0, 1), Cas(2, "k", 0, "z", 5, true, 2, 3)}));
  CHECK(Linearizable({Set(1, "k", "x", 3, 0, 1), Cas(2, "k", 0, "z", 5, false, 2, 3)}));
  // A nonzero index never matches an absent key.
  CHECK_FALSE(Linearizable({Cas(2, "k", 3, "z", 5, true, 0, 1)}));
}

TEST_CASE("Linearizability: a CAS that succeeded against an old ModifyIndex fails",
          "[sim][linearizability]") {
  std::vector<Operation> history = {Set(1, "k", "a", 3, 0, 1), Set(2, "k", "b", 5, 2, 3),
                                    Cas(3, "k", 3, "c", 7, true, 4, 5)};
  CheckResult result = CheckHistory(history, kSteps);
  CHECK_FALSE(result.linearizable);
  CHECK_THAT(result.explanation, Catch::Contains("cas \"k\" if-modify=3 = \"c\" at 7: ok"));
  CHECK_THAT(result.explanation, Catch::Contains("<== cannot be linearized"));
  // Even when the newer write overlaps the CAS: index 5 applies before index 7.
  CHECK_FALSE(Linearizable(
      {Set(1, "k", "a", 3, 0, 1), Set(2, "k", "b", 5, 2, 10), Cas(3, "k", 3, "c", 7, true, 4, 5)}));
  // With the newer write after it in the log, the CAS is fine.
  CHECK(Linearizable({Set(1, "k", "a", 3, 0, 1), Set(2, "k", "b", 8, 2, 10),
                      Cas(3, "k", 3, "c", 7, true, 4, 5), Read(1, "k", Seen("b", 8, 3), 11, 12)}));
}

TEST_CASE("Linearizability: a failed CAS when the index must have matched fails",
          "[sim][linearizability]") {
  std::vector<Operation> history = {Set(1, "k", "a", 3, 0, 1), Cas(2, "k", 3, "b", 5, false, 2, 3)};
  CheckResult result = CheckHistory(history, kSteps);
  CHECK_FALSE(result.linearizable);
  CHECK_THAT(result.explanation, Catch::Contains("cas \"k\" if-modify=3 = \"b\" at 5: failed"));
  // On an absent key, with index 0.
  CHECK_FALSE(Linearizable({Cas(2, "k", 0, "b", 5, false, 0, 1)}));
  // A concurrent write applied before it explains the failure.
  CHECK(Linearizable(
      {Set(1, "k", "a", 3, 0, 1), Set(3, "k", "c", 4, 2, 5), Cas(2, "k", 3, "b", 5, false, 2, 3)}));
  // One applied after it does not.
  CHECK_FALSE(Linearizable(
      {Set(1, "k", "a", 3, 0, 1), Set(3, "k", "c", 6, 2, 5), Cas(2, "k", 3, "b", 5, false, 2, 3)}));
}

TEST_CASE("Linearizability: deletes and delete-CAS", "[sim][linearizability]") {
  // A deleted key can be created again with index 0, and its CreateIndex starts over.
  CHECK(Linearizable({Set(1, "k", "a", 3, 0, 1), Delete(1, "k", 4, 2, 3),
                      Cas(2, "k", 0, "b", 6, true, 4, 5), Read(3, "k", Seen("b", 6, 6), 6, 7)}));
  CHECK_FALSE(Linearizable(
      {Set(1, "k", "a", 3, 0, 1), Delete(1, "k", 4, 2, 3), Read(3, "k", Seen("a", 3, 3), 4, 5)}));
  // Deleting an absent key is fine, and changes nothing.
  CHECK(Linearizable({Delete(1, "k", 3, 0, 1), Read(2, "k", Absent(), 2, 3)}));
  // Delete-CAS: succeeds on an absent key whatever the index.
  CHECK(Linearizable({DeleteCas(1, "k", 9, 3, true, 0, 1)}));
  CHECK_FALSE(Linearizable({DeleteCas(1, "k", 9, 3, false, 0, 1)}));
  // On a present key, only with its ModifyIndex; 0 never matches.
  CHECK(Linearizable({Set(1, "k", "a", 3, 0, 1), DeleteCas(2, "k", 3, 5, true, 2, 3),
                      Read(1, "k", Absent(), 4, 5)}));
  CHECK_FALSE(Linearizable({Set(1, "k", "a", 3, 0, 1), DeleteCas(2, "k", 2, 5, true, 2, 3)}));
  CHECK_FALSE(Linearizable({Set(1, "k", "a", 3, 0, 1), DeleteCas(2, "k", 0, 5, true, 2, 3)}));
  CHECK(Linearizable({Set(1, "k", "a", 3, 0, 1), DeleteCas(2, "k", 0, 5, false, 2, 3)}));
  CHECK_FALSE(Linearizable({Set(1, "k", "a", 3, 0, 1), DeleteCas(2, "k", 3, 5, false, 2, 3)}));
  // A failed delete-CAS leaves the key.
  CHECK_FALSE(Linearizable({Set(1, "k", "a", 3, 0, 1), DeleteCas(2, "k", 2, 5, false, 2, 3),
                            Read(1, "k", Absent(), 4, 5)}));
}

TEST_CASE("Linearizability: writes on a key take effect in log order", "[sim][linearizability]") {
  // Two overlapping sets: the one at the higher index is the one that stays.
  CHECK(Linearizable({Set(1, "k", "a", 5, 0, 10), Set(2, "k", "b", 3, 1, 9),
                      Read(3, "k", Seen("a", 5, 3), 11, 12)}));
  CHECK_FALSE(Linearizable({Set(1, "k", "a", 5, 0, 10), Set(2, "k", "b", 3, 1, 9),
                            Read(3, "k", Seen("b", 3, 3), 11, 12)}));
  // A write that returned before another was invoked has the lower index.
  CHECK_FALSE(Linearizable({Set(1, "k", "a", 5, 0, 1), Set(2, "k", "b", 3, 2, 3)}));
  // Keys do not share an order.
  CHECK(Linearizable({Set(1, "a", "a", 5, 0, 1), Set(2, "b", "b", 3, 2, 3)}));
}

TEST_CASE("Linearizability: incomplete operations may or may not take effect",
          "[sim][linearizability]") {
  // Visible long after its invocation, at its own index.
  CHECK(Linearizable({Pending(Set(1, "k", "x", 4, 0, 0)), Read(2, "k", Absent(), 1, 2),
                      Read(2, "k", Seen("x", 4, 4), 50, 51)}));
  CHECK_FALSE(
      Linearizable({Pending(Set(1, "k", "x", 4, 0, 0)), Read(2, "k", Seen("x", 6, 6), 1, 2)}));
  // Never visible.
  CHECK(Linearizable({Pending(Set(1, "k", "x", 4, 0, 0)), Read(2, "k", Absent(), 50, 51)}));
  // Not before it was invoked.
  CHECK_FALSE(
      Linearizable({Read(2, "k", Seen("x", 4, 4), 0, 1), Pending(Set(1, "k", "x", 4, 2, 0))}));
  // Not after a write at a higher index.
  CHECK_FALSE(Linearizable({Pending(Set(1, "k", "x", 4, 0, 0)), Set(2, "k", "y", 6, 1, 2),
                            Read(2, "k", Seen("x", 4, 4), 3, 4)}));
  // Incomplete reads are ignored, whatever they hold.
  Operation junk = Pending(Read(1, "k", Absent(), 0, 0));
  junk.output = Seen("junk", 1, 1);
  CHECK(Linearizable({junk, Read(2, "k", Absent(), 1, 2)}));
  // An incomplete CAS takes effect only if its index matches.
  CHECK(Linearizable(
      {Pending(Cas(1, "k", 0, "x", 4, false, 0, 0)), Read(2, "k", Seen("x", 4, 4), 1, 2)}));
  CHECK(Linearizable({Pending(Cas(1, "k", 0, "x", 4, false, 0, 0)), Read(2, "k", Absent(), 1, 2)}));
  CHECK_FALSE(Linearizable({Set(3, "k", "a", 2, 0, 1), Pending(Cas(1, "k", 0, "x", 4, false, 2, 0)),
                            Read(2, "k", Seen("x", 4, 4), 3, 4)}));
  // An incomplete delete may explain an absent key.
  CHECK(Linearizable(
      {Set(3, "k", "a", 2, 0, 1), Pending(Delete(1, "k", 4, 2, 0)), Read(2, "k", Absent(), 3, 4)}));
}

TEST_CASE("Linearizability: an incomplete write cannot become invisible again",
          "[sim][linearizability]") {
  std::vector<Operation> history = {Pending(Set(1, "k", "x", 4, 0, 0)),
                                    Read(2, "k", Seen("x", 4, 4), 5, 6),
                                    Read(3, "k", Absent(), 7, 8), Set(2, "k", "y", 9, 20, 21)};
  CheckResult result = CheckHistory(history, kSteps);
  CHECK_FALSE(result.linearizable);
  // The smallest failing prefix ends at the second read: the later write is not listed.
  CHECK_THAT(result.explanation, Catch::Contains("[invoke 0, no response]"));
  CHECK_THAT(result.explanation, Catch::Contains("[invoke 7, return 8]  <== cannot"));
  CHECK_THAT(result.explanation, !Catch::Contains("invoke 20"));
  // Two incomplete writes can follow each other in log order, not back again.
  CHECK(Linearizable({Pending(Set(1, "k", "x", 4, 0, 0)), Pending(Set(2, "k", "y", 5, 0, 0)),
                      Read(3, "k", Seen("x", 4, 4), 1, 2), Read(3, "k", Seen("y", 5, 4), 3, 4)}));
  CHECK_FALSE(
      Linearizable({Pending(Set(1, "k", "x", 5, 0, 0)), Pending(Set(2, "k", "y", 4, 0, 0)),
                    Read(3, "k", Seen("x", 5, 5), 1, 2), Read(3, "k", Seen("y", 4, 4), 3, 4)}));
}

TEST_CASE("Linearizability: keys are independent", "[sim][linearizability]") {
  CHECK(Linearizable({Set(1, "a", "1", 3, 0, 1), Read(2, "b", Absent(), 2, 3),
                      Set(1, "b", "2", 4, 4, 5), Read(2, "a", Seen("1", 3, 3), 6, 7)}));
  // A bad key is reported by name while the good key is ignored.
  std::vector<Operation> history = {Set(1, "a", "1", 3, 0, 1), Read(2, "a", Seen("1", 3, 3), 2, 3),
                                    Set(1, "b", "1", 4, 0, 1), Read(2, "b", Absent(), 2, 3)};
  CheckResult result = CheckHistory(history, kSteps);
  CHECK_FALSE(result.linearizable);
  CHECK(result.key == "b");
  CHECK_THAT(result.explanation, Catch::Contains("key \"b\""));
  CHECK_THAT(result.explanation, !Catch::Contains("\"a\""));
}

TEST_CASE("Linearizability: malformed histories are reported", "[sim][linearizability]") {
  CheckResult result = CheckHistory({Set(1, "k", "1", 3, 5, 4)}, kSteps);
  CHECK_FALSE(result.linearizable);
  CHECK_THAT(result.explanation, Catch::Contains("returned before it was invoked"));
  result = CheckHistory({Set(1, "k", "1", 0, 0, 1)}, kSteps);
  CHECK_FALSE(result.linearizable);
  CHECK_THAT(result.explanation, Catch::Contains("no log index"));
  // One log entry holds one command, whatever keys the writes name.
  result = CheckHistory({Set(1, "a", "1", 3, 0, 1), Delete(2, "b", 3, 0, 1)}, kSteps);
  CHECK_FALSE(result.linearizable);
  CHECK_THAT(result.explanation, Catch::Contains("same log index as #0"));
  CHECK(Linearizable({Pending(Set(1, "a", "1", 3, 0, 1)), Delete(2, "b", 3, 0, 1)}));
}

TEST_CASE("Linearizability: random store histories pass, stale reads fail",
          "[sim][linearizability]") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::vector<Operation> history = KvSimulator(seed, SimOptions{}).Run();
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

    mutated[stale->first].output = Seen("never-written", 1, 1);
    CHECK_FALSE(CheckHistory(mutated, kSteps).linearizable);
  }
}

TEST_CASE("Linearizability: random store histories with an index off by one fail",
          "[sim][linearizability]") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::vector<Operation> history = KvSimulator(seed, SimOptions{}).Run();
    // The last read that saw a value, told a ModifyIndex one below the real one.
    std::size_t r = history.size();
    while (r-- > 0 && !(history[r].kind == OpKind::kRead && history[r].output.found)) {
    }
    REQUIRE(r < history.size());
    --history[r].output.modify_index;
    CHECK_FALSE(CheckHistory(history, kSteps).linearizable);
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
    std::vector<Operation> history = KvSimulator(seed, options).Run();
    CheckResult result = CheckHistory(history, kSteps);
    INFO(result.explanation);
    CHECK(result.linearizable);
    CHECK_FALSE(result.timed_out);
  }
}

TEST_CASE("Linearizability: the step bound reports a timeout", "[sim][linearizability]") {
  // Twelve incomplete sets and a read of a value none wrote: proving failure means
  // visiting every subset of the sets.
  std::vector<Operation> history;
  for (int i = 0; i < 12; ++i) {
    history.push_back(Pending(Set(i, "k", std::to_string(i), 10 + i, 0, 0)));
  }
  history.push_back(Read(20, "k", Seen("missing", 1, 1), 50, 60));
  history.push_back(Set(1, "ok", "1", 1, 0, 1));

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
