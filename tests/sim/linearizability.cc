#include "tests/sim/linearizability.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace roster::sim {
namespace {

constexpr std::uint64_t kInfiniteTime = std::numeric_limits<std::uint64_t>::max();
constexpr int kAbsent = 0;  // Interned id of "no value": the key does not exist.
constexpr std::size_t kMaxListedOps = 30;
constexpr std::size_t kInitialCacheSlots = 64;

enum class SearchOutcome { kLinearizable, kNotLinearizable, kTimedOut };

// One key's state in the model. Values (with their flags) are interned to small ints,
// so steps compare ints instead of strings.
struct KvState {
  int value = kAbsent;
  // The log index of the last change to the key: its ModifyIndex while present, the
  // index of the delete that removed it once absent, 0 if it was never written.
  std::uint64_t index = 0;
  std::uint64_t create_index = 0;  // 0 while absent

  bool operator==(const KvState&) const = default;
};

// An operation on a single key, interned. A read's output is a state (its index being
// the ModifyIndex it saw, or 0 when it saw the key absent).
struct KeyOp {
  std::size_t history_index = 0;
  OpKind kind = OpKind::kRead;
  int value = kAbsent;
  std::uint64_t cas_index = 0;
  std::uint64_t index = 0;
  KvState output;
  bool completed = false;
  bool ok = false;
  std::uint64_t invoke_time = 0;
  std::uint64_t return_time = kInfiniteTime;
};

bool ReadMatches(const KvState& output, const KvState& state) {
  if (state.value == kAbsent) return output.value == kAbsent;
  return output == state;
}

KvState Written(const KeyOp& op, const KvState& state) {
  if (state.value == op.value) return state;  // Consul: an identical write changes nothing
  const std::uint64_t created = state.value == kAbsent ? op.index : state.create_index;
  return {op.value, op.index, created};
}

// Whether a CAS or delete-CAS condition holds in `state`.
bool CasMatches(const KeyOp& op, const KvState& state) {
  if (state.value == kAbsent) return op.kind == OpKind::kDeleteCas || op.cas_index == 0;
  return op.cas_index != 0 && op.cas_index == state.index;
}

// The KV model: sets *next to the state after applying `op` to `state` and returns
// true, or returns false if the recorded outcome of `op` is impossible in `state`.
// Incomplete reads never get here.
bool Step(const KeyOp& op, const KvState& state, KvState* next) {
  *next = state;
  if (op.kind == OpKind::kRead) return ReadMatches(op.output, state);
  if (op.index <= state.index) return false;  // writes take effect in log order
  // A conditional write that completed with a failure changes nothing; an incomplete one
  // is only worth linearising as a success (a failure is the same as skipping it).
  const bool conditional = op.kind == OpKind::kCas || op.kind == OpKind::kDeleteCas;
  if (conditional && op.completed && !op.ok) return !CasMatches(op, state);
  if (conditional && !CasMatches(op, state)) return false;
  switch (op.kind) {
    case OpKind::kSet:
    case OpKind::kCas:
      *next = Written(op, state);
      break;
    case OpKind::kDelete:
    case OpKind::kDeleteCas:
      if (state.value != kAbsent) *next = {kAbsent, op.index, 0};
      break;
    case OpKind::kRead:
      break;
  }
  // Linearising an incomplete op that changes nothing is the same as skipping it.
  return op.completed || !(*next == state);
}

// Whether `op` leaves the state unchanged whenever it is legal (completed reads and
// failed conditional writes). Linearising a legal pure op as soon as its call is reached
// loses no linearization: moving it earlier changes no state, and every op that had to
// precede it has already been linearised. So the search never needs to try an
// alternative to it.
bool IsPure(const KeyOp& op) {
  const bool conditional = op.kind == OpKind::kCas || op.kind == OpKind::kDeleteCas;
  return op.kind == OpKind::kRead || (conditional && op.completed && !op.ok);
}

std::uint64_t Mix64(std::uint64_t x) {  // SplitMix64 finaliser.
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::uint64_t HashState(const KvState& state) {
  return Mix64(static_cast<std::uint64_t>(state.value) ^
               Mix64(state.index ^ Mix64(state.create_index)));
}

// Set of visited (linearised-ops bitset, state) pairs: open addressing with linear
// probing over a flat arena, so inserting costs no per-entry allocation.
class StateCache {
 public:
  explicit StateCache(std::size_t words) : words_(words), slots_(kInitialCacheSlots, 0) {}

  // Adds (bits, state) and returns true, or returns false if it was already present.
  bool Insert(const std::vector<std::uint64_t>& bits, const KvState& state, std::uint64_t hash) {
    if ((hashes_.size() + 1) * 2 > slots_.size()) Grow();
    std::size_t mask = slots_.size() - 1;
    std::size_t slot = hash & mask;
    for (; slots_[slot] != 0; slot = (slot + 1) & mask) {
      if (Matches(slots_[slot] - 1, bits, state, hash)) return false;
    }
    slots_[slot] = hashes_.size() + 1;
    hashes_.push_back(hash);
    states_.push_back(state);
    bits_.insert(bits_.end(), bits.begin(), bits.end());
    return true;
  }

 private:
  bool Matches(std::size_t entry, const std::vector<std::uint64_t>& bits, const KvState& state,
               std::uint64_t hash) const {
    if (hashes_[entry] != hash || !(states_[entry] == state)) return false;
    return std::equal(bits.begin(), bits.end(), bits_.begin() + entry * words_);
  }

  void Grow() {
    std::vector<std::size_t> slots(slots_.size() * 2, 0);
    std::size_t mask = slots.size() - 1;
    for (std::size_t entry = 0; entry < hashes_.size(); ++entry) {
      std::size_t slot = hashes_[entry] & mask;
      while (slots[slot] != 0) slot = (slot + 1) & mask;
      slots[slot] = entry + 1;
    }
    slots_ = std::move(slots);
  }

  std::size_t words_;
  std::vector<std::size_t> slots_;  // 0 = empty, else entry index + 1.
  std::vector<std::uint64_t> hashes_;
  std::vector<KvState> states_;
  std::vector<std::uint64_t> bits_;  // words_ words per entry.
};

// Wing & Gong search over one key's operations. The history is a doubly linked list of
// call and return events in time order; the search linearises a call that precedes
// every remaining return, lifting it (and its return) out of the list, and backtracks on
// reaching a return whose call it has not linearised. Incomplete operations have no
// return event, so the search may linearise them anywhere after their call, or never.
class Searcher {
 public:
  static constexpr int kHead = 0;  // nodes_[kHead] is the list's sentinel.
  static constexpr int kExhausted = -2;

  explicit Searcher(const std::vector<KeyOp>& ops)
      : ops_(ops),
        bits_((ops.size() + 63) / 64, 0),
        op_hashes_(ops.size()),
        cache_(bits_.size()) {
    for (std::size_t i = 0; i < ops.size(); ++i) op_hashes_[i] = Mix64(i + 1);
    BuildList();
  }

  SearchOutcome Run(std::uint64_t max_steps) {
    int node = kHead;
    for (std::uint64_t steps = 0; pending_returns_ > 0; ++steps) {
      if (steps >= max_steps) return SearchOutcome::kTimedOut;
      node = Advance(node);
      if (node == kExhausted) return SearchOutcome::kNotLinearizable;
    }
    return SearchOutcome::kLinearizable;
  }

 private:
  struct Node {
    int prev = -1;
    int next = -1;
    int match = -1;  // Call node: its return node, or -1 if incomplete.
    int op = -1;
    bool is_call = false;
  };
  struct Frame {
    int node;
    KvState state;  // State before the call at `node` was linearised.
    bool forced;  // The op was pure, so it was the only choice worth trying here.
  };
  struct Event {
    std::uint64_t time;
    bool is_return;  // Calls sort before returns at the same time: closed intervals.
    int op;
    bool operator<(const Event& other) const {
      return std::tie(time, is_return, op) < std::tie(other.time, other.is_return, other.op);
    }
  };

  void BuildList() {
    std::vector<Event> events;
    for (std::size_t i = 0; i < ops_.size(); ++i) {
      int op = static_cast<int>(i);
      events.push_back({ops_[i].invoke_time, false, op});
      if (ops_[i].completed) events.push_back({ops_[i].return_time, true, op});
    }
    std::sort(events.begin(), events.end());
    nodes_.resize(events.size() + 1);  // nodes_[0] is the head sentinel.
    std::vector<int> call_node(ops_.size(), -1);
    for (std::size_t i = 0; i < events.size(); ++i) {
      int n = static_cast<int>(i) + 1;
      nodes_[n] = {n - 1, -1, -1, events[i].op, !events[i].is_return};
      nodes_[n - 1].next = n;
      if (events[i].is_return) nodes_[call_node[events[i].op]].match = n;
      else call_node[events[i].op] = n;
    }
    pending_returns_ = events.size() - ops_.size();
  }

  // One step of the search from `node`; returns the node to visit next, kHead to start
  // over from the first event, or kExhausted.
  int Advance(int node) {
    if (node == kHead) return Restart();
    if (nodes_[node].is_call) return TryLinearize(node);
    return Backtrack();
  }

  // At the head of the list, linearises a legal pure op if there is one (it needs no
  // alternatives, see IsPure); otherwise scans from the first event.
  int Restart() {
    for (int n = nodes_[0].next; n >= 0 && nodes_[n].is_call; n = nodes_[n].next) {
      const KeyOp& op = ops_[nodes_[n].op];
      KvState next;
      if (!IsPure(op) || !Step(op, state_, &next)) continue;
      return Linearize(n, /*forced=*/true) ? kHead : Backtrack();
    }
    return nodes_[0].next;
  }

  int TryLinearize(int node) {
    bool pure = IsPure(ops_[nodes_[node].op]);
    return Linearize(node, pure) ? kHead : nodes_[node].next;
  }

  // Linearises the call at `node` unless that is illegal or reaches a visited
  // configuration. Returns whether it did.
  bool Linearize(int node, bool forced) {
    int op = nodes_[node].op;
    KvState next_state;
    if (!Step(ops_[op], state_, &next_state)) return false;
    Toggle(op);
    if (!cache_.Insert(bits_, next_state, hash_ ^ HashState(next_state))) {
      Toggle(op);
      return false;
    }
    stack_.push_back({node, state_, forced});
    state_ = next_state;
    Lift(node);
    return true;
  }

  // Undoes linearisations up to and including the latest unforced one; returns the node
  // after that one, or kExhausted if there is none left: the history is not linearizable.
  int Backtrack() {
    while (!stack_.empty()) {
      Frame frame = stack_.back();
      stack_.pop_back();
      state_ = frame.state;
      Toggle(nodes_[frame.node].op);
      Unlift(frame.node);
      if (!frame.forced) return nodes_[frame.node].next;
    }
    return kExhausted;
  }

  void Toggle(int op) {
    bits_[op / 64] ^= std::uint64_t{1} << (op % 64);
    hash_ ^= op_hashes_[op];
  }

  void Lift(int call) {
    Unlink(call);
    if (nodes_[call].match < 0) return;
    Unlink(nodes_[call].match);
    --pending_returns_;
  }

  void Unlift(int call) {  // Relinks in the reverse order of Lift.
    if (nodes_[call].match >= 0) {
      Relink(nodes_[call].match);
      ++pending_returns_;
    }
    Relink(call);
  }

  void Unlink(int n) {
    nodes_[nodes_[n].prev].next = nodes_[n].next;
    if (nodes_[n].next >= 0) nodes_[nodes_[n].next].prev = nodes_[n].prev;
  }

  void Relink(int n) {
    nodes_[nodes_[n].prev].next = n;
    if (nodes_[n].next >= 0) nodes_[nodes_[n].next].prev = n;
  }

  const std::vector<KeyOp>& ops_;
  std::vector<Node> nodes_;
  std::vector<std::uint64_t> bits_;       // Which ops are linearised.
  std::vector<std::uint64_t> op_hashes_;  // Zobrist hash of each op's bit.
  std::uint64_t hash_ = 0;                // XOR of op_hashes_ of linearised ops.
  StateCache cache_;
  std::vector<Frame> stack_;
  KvState state_;
  std::size_t pending_returns_ = 0;  // Returns still in the list.
};

SearchOutcome Search(const std::vector<KeyOp>& ops, std::uint64_t max_steps) {
  return Searcher(ops).Run(max_steps);
}

// Interns the (value, flags) pairs of one key's operations; kAbsent is none of them.
class ValueIds {
 public:
  int Of(std::string_view value, std::uint64_t flags) {
    return ids_.emplace(std::make_pair(value, flags), ids_.size() + 1).first->second;
  }

 private:
  std::map<std::pair<std::string_view, std::uint64_t>, int> ids_;
};

KeyOp ToKeyOp(const Operation& op, std::size_t index, ValueIds& ids) {
  KeyOp k;
  k.history_index = index;
  k.kind = op.kind;
  if (op.kind == OpKind::kSet || op.kind == OpKind::kCas) k.value = ids.Of(op.value, op.flags);
  k.cas_index = op.cas_index;
  k.index = op.index;
  if (op.kind == OpKind::kRead && op.output.found) {
    k.output = {ids.Of(op.output.value, op.output.flags), op.output.modify_index,
                op.output.create_index};
  }
  k.completed = op.completed;
  k.ok = op.ok;
  k.invoke_time = op.invoke_time;
  k.return_time = op.completed ? op.return_time : kInfiniteTime;
  return k;
}

// Keeps the operations invoked by `cut`; those that returned after it become incomplete.
// Incomplete reads are dropped (they change nothing), as are operations invoked after
// every completed one returned (they can be linearised last, where nothing sees them).
std::vector<KeyOp> PrefixAt(const std::vector<KeyOp>& ops, std::uint64_t cut) {
  std::uint64_t last_return = 0;
  for (const KeyOp& op : ops) {
    if (op.completed && op.return_time <= cut) last_return = std::max(last_return, op.return_time);
  }
  std::vector<KeyOp> prefix;
  for (KeyOp op : ops) {
    if (op.invoke_time > std::min(cut, last_return)) continue;
    if (op.return_time > cut) {
      op.completed = false;
      op.return_time = kInfiniteTime;
    }
    if (op.completed || op.kind != OpKind::kRead) prefix.push_back(op);
  }
  return prefix;
}

std::vector<KeyOp> BuildKeyOps(const std::vector<Operation>& history,
                               const std::vector<std::size_t>& indices) {
  ValueIds ids;
  std::vector<KeyOp> ops;
  ops.reserve(indices.size());
  for (std::size_t i : indices) ops.push_back(ToKeyOp(history[i], i, ids));
  return PrefixAt(ops, kInfiniteTime);
}

// Operation indices grouped by key, in key order so results are deterministic.
std::vector<std::pair<std::string_view, std::vector<std::size_t>>> GroupByKey(
    const std::vector<Operation>& history) {
  std::unordered_map<std::string_view, std::vector<std::size_t>> by_key;
  for (std::size_t i = 0; i < history.size(); ++i) by_key[history[i].key].push_back(i);
  std::vector<std::pair<std::string_view, std::vector<std::size_t>>> groups(
      std::make_move_iterator(by_key.begin()), std::make_move_iterator(by_key.end()));
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return groups;
}

// Smallest cut time (a completed return time) at which the prefix is not linearizable,
// given that the whole of `ops` is not. Prefix failure is monotone in the cut, so binary
// search applies; a prefix whose search times out counts as passing.
std::uint64_t FindFailingCut(const std::vector<KeyOp>& ops, std::uint64_t max_steps) {
  std::vector<std::uint64_t> cuts;
  for (const KeyOp& op : ops) {
    if (op.completed) cuts.push_back(op.return_time);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::size_t lo = 0;
  std::size_t hi = cuts.size() - 1;
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo) / 2;
    if (Search(PrefixAt(ops, cuts[mid]), max_steps) == SearchOutcome::kNotLinearizable) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return cuts[lo];
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string DescribeRead(const ReadResult& read) {
  if (!read.found) return "absent";
  return Quote(read.value) + (read.flags != 0 ? " flags=" + std::to_string(read.flags) : "") +
         " modify=" + std::to_string(read.modify_index) +
         " create=" + std::to_string(read.create_index);
}

std::string DescribeEffect(const Operation& op) {
  const std::string at = " at " + std::to_string(op.index);
  const std::string condition = " if-modify=" + std::to_string(op.cas_index);
  const std::string outcome = op.completed ? (op.ok ? ": ok" : ": failed") : "";
  const std::string value =
      Quote(op.value) + (op.flags != 0 ? " flags=" + std::to_string(op.flags) : "");
  switch (op.kind) {
    case OpKind::kRead:
      return "read " + Quote(op.key) + (op.completed ? " -> " + DescribeRead(op.output) : "");
    case OpKind::kSet:
      return "set " + Quote(op.key) + " = " + value + at;
    case OpKind::kCas:
      return "cas " + Quote(op.key) + condition + " = " + value + at + outcome;
    case OpKind::kDelete:
      return "delete " + Quote(op.key) + at;
    case OpKind::kDeleteCas:
      return "delete-cas " + Quote(op.key) + condition + at + outcome;
  }
  return "?";
}

// Lists the ops of the failing prefix, most recent invocations last, at most
// kMaxListedOps of them plus the ops returning at the cut.
void ListPrefix(const std::vector<Operation>& history, const std::vector<KeyOp>& prefix,
                std::uint64_t cut, std::ostringstream& out) {
  std::vector<std::size_t> order(prefix.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(prefix[a].invoke_time, prefix[a].history_index) <
           std::tie(prefix[b].invoke_time, prefix[b].history_index);
  });
  std::size_t first_listed = order.size() > kMaxListedOps ? order.size() - kMaxListedOps : 0;
  if (first_listed > 0) out << "  ... (" << first_listed << " earlier operations omitted)\n";
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    const KeyOp& op = prefix[order[rank]];
    bool culprit = op.completed && op.return_time == cut;
    if (rank < first_listed && !culprit) continue;
    const Operation& original = history[op.history_index];
    out << "  #" << op.history_index << " " << DescribeOperation(original);
    if (original.completed && !op.completed) out << "  (still pending at time " << cut << ")";
    if (culprit) out << "  <== cannot be linearized";
    out << "\n";
  }
}

std::string ExplainFailure(const std::vector<Operation>& history, std::string_view key,
                           const std::vector<KeyOp>& ops, std::uint64_t max_steps) {
  std::uint64_t cut = FindFailingCut(ops, max_steps);
  std::vector<KeyOp> prefix = PrefixAt(ops, cut);
  std::ostringstream out;
  out << "key \"" << key << "\" is not linearizable: the history up to logical time " << cut
      << " already has no valid linearization.\n"
      << "Operations of that smallest failing prefix (" << prefix.size()
      << ", by invocation time; #n = index in the history):\n";
  ListPrefix(history, prefix, cut, out);
  return out.str();
}

CheckResult Malformed(const std::vector<Operation>& history, std::size_t i, std::string why) {
  return {false, history[i].key,
          "malformed history: operation #" + std::to_string(i) + " " + why + ": " +
              DescribeOperation(history[i]) + "\n",
          false};
}

// Recording bugs, and two completed writes at one log index (one entry holds one command).
CheckResult CheckMalformed(const std::vector<Operation>& history) {
  std::map<std::uint64_t, std::size_t> completed_at;  // log index -> history index
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Operation& op = history[i];
    if (op.completed && op.return_time < op.invoke_time) {
      return Malformed(history, i, "returned before it was invoked");
    }
    if (op.kind == OpKind::kRead) continue;
    if (op.index == 0) return Malformed(history, i, "is a write with no log index");
    if (!op.completed) continue;
    auto [it, inserted] = completed_at.emplace(op.index, i);
    if (!inserted) {
      return Malformed(history, i,
                       "completed at the same log index as #" + std::to_string(it->second) + " " +
                           DescribeOperation(history[it->second]));
    }
  }
  return {};
}

}  // namespace

std::string DescribeOperation(const Operation& op) {
  std::string times = "[invoke " + std::to_string(op.invoke_time) + ", " +
                      (op.completed ? "return " + std::to_string(op.return_time)
                                    : std::string("no response")) +
                      "]";
  return "client " + std::to_string(op.client_id) + " " + DescribeEffect(op) + " " + times;
}

CheckResult CheckHistory(const std::vector<Operation>& history,
                         std::uint64_t max_steps_per_key) {
  CheckResult result = CheckMalformed(history);
  if (!result.linearizable) return result;
  for (const auto& [key, indices] : GroupByKey(history)) {
    std::vector<KeyOp> ops = BuildKeyOps(history, indices);
    SearchOutcome outcome = Search(ops, max_steps_per_key);
    if (outcome == SearchOutcome::kNotLinearizable) {
      return {false, std::string(key), ExplainFailure(history, key, ops, max_steps_per_key), false};
    }
    if (outcome == SearchOutcome::kTimedOut && !result.timed_out) {
      result = {true, std::string(key),
                "key \"" + std::string(key) + "\": search gave up after " +
                    std::to_string(max_steps_per_key) + " steps over " +
                    std::to_string(ops.size()) + " operations; linearizability unknown.\n",
                true};
    }
  }
  return result;
}

}  // namespace roster::sim
