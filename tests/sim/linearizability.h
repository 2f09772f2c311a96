// Linearizability: checks a client history recorded by the cluster simulator against a
// map of independent string registers that support read, write and compare-and-set.
//
// The search is Wing & Gong's, with Lowe's memoisation of (linearised set, state) as in
// Porcupine's checkSingle, run separately for each key: keys never interact, so checking
// them one at a time is both sound and far cheaper than one search over the whole history.
//
// Time: invoke_time and return_time come from any monotone logical counter. Intervals are
// closed, so an operation invoked at the same time another returns counts as concurrent
// with it (a shared tick does not say which came first).
// Thread-safety: pure functions over caller-owned data with no shared state; each call is
// single-threaded, and separate calls may run on separate threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace roster::sim {

enum class OpKind { kRead, kWrite, kCas };

// One client call on one key. Every key starts absent, which reads as "".
struct Operation {
  int client_id = 0;
  OpKind kind = OpKind::kRead;
  std::string key;
  std::string value;     // kWrite: value written; kCas: new value.
  std::string expected;  // kCas only: value the key must hold for the swap to happen.
  // Outcome, filled at response time.
  // completed == false: no response was seen (timeout, client crash). The operation may
  // have taken effect at any time after invocation, or never.
  bool completed = false;
  bool ok = false;             // kCas: whether the swap happened. Ignored for kRead/kWrite.
  std::string output;          // kRead: value read ("" = absent).
  std::uint64_t invoke_time = 0;
  std::uint64_t return_time = 0;  // Ignored when !completed (treated as +infinity).
};

struct CheckResult {
  bool linearizable = true;
  // Key the result is about: the failing key, else the first key whose search timed out,
  // else empty.
  std::string key;
  // Human-readable, multi-line. Empty when linearizable and not timed out.
  std::string explanation;
  // Only with linearizable: some key's search exceeded max_steps_per_key, so for that key
  // the answer is unknown. Callers should report it, not treat it as a pass. A failure
  // found on another key takes precedence and clears this.
  bool timed_out = false;
};

// Checks `history` (any order) against the register-with-CAS model. Each key's search
// stops after max_steps_per_key steps. A completed operation with return_time <
// invoke_time is a recording bug and makes the result non-linearizable with an explanation.
CheckResult CheckHistory(const std::vector<Operation>& history,
                         std::uint64_t max_steps_per_key);

// One line describing `op`, e.g. `client 2 cas "k" "a"->"b": ok [invoke 4, return 9]`.
std::string DescribeOperation(const Operation& op);

}  // namespace roster::sim
