// Linearizability: checks a client history recorded by the cluster simulator against a
// sequential model of the KV store with Consul's semantics (store/kv.h), key by key:
//   set(value, flags)        always succeeds. Writing exactly the value and flags that
//                            are there changes nothing; otherwise the key holds them with
//                            ModifyIndex = the op's log index (and CreateIndex too if the
//                            key was absent).
//   cas(cas_index, ...)      a set if the key's ModifyIndex is cas_index, where 0 means
//                            "absent"; otherwise it fails and changes nothing.
//   delete                   the key becomes absent (a no-op if it already is).
//   delete-cas(cas_index)    succeeds on an absent key (changing nothing); on a present
//                            one, deletes it if cas_index is its ModifyIndex (never 0).
//   read                     returns absent, or the value, flags, CreateIndex and
//                            ModifyIndex.
// Every write carries the log index it applies at if it applies at all (a proposal can
// take effect at no other index), which is what ModifyIndex must then be; and writes on
// one key take effect in log order, so the model only linearises a write whose index is
// above that of the last change to its key. That makes a read that returns an old
// ModifyIndex, or a CAS that succeeds against one, as visible as a stale value.
//
// The search is Wing & Gong's, with Lowe's memoisation of (linearised set, state) as in
// Porcupine's checkSingle, run separately for each key: keys never interact in the
// model, so checking them one at a time is both sound and far cheaper than one search
// over the whole history.
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

enum class OpKind { kRead, kSet, kCas, kDelete, kDeleteCas };

// What a read returned: Consul's DirEntry fields the model tracks, or the key absent.
struct ReadResult {
  bool found = false;
  std::string value;
  std::uint64_t flags = 0;
  std::uint64_t create_index = 0;
  std::uint64_t modify_index = 0;

  bool operator==(const ReadResult&) const = default;
};

// One client call on one key. Every key starts absent.
struct Operation {
  int client_id = 0;
  OpKind kind = OpKind::kRead;
  std::string key;
  std::string value;            // kSet, kCas: the value written
  std::uint64_t flags = 0;      // kSet, kCas: the flags written
  std::uint64_t cas_index = 0;  // kCas, kDeleteCas: the ModifyIndex required; 0 = absent
  // Writes: the log index at which the write takes effect if it does (never 0).
  // Ignored for kRead.
  std::uint64_t index = 0;
  // Outcome, filled at response time.
  // completed == false: no response was seen (timeout, client crash). The operation may
  // have taken effect at any time after invocation, or never.
  bool completed = false;
  bool ok = false;    // kCas, kDeleteCas: whether the condition held. Ignored otherwise.
  ReadResult output;  // kRead only
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

// Checks `history` (any order) against the KV model. Each key's search stops after
// max_steps_per_key steps. A recording bug makes the result non-linearizable with an
// explanation: a completed operation with return_time < invoke_time, a write with
// index 0, or two completed writes (on any keys) at the same log index.
CheckResult CheckHistory(const std::vector<Operation>& history,
                         std::uint64_t max_steps_per_key);

// One line describing `op`, e.g.
// `client 2 cas "k" if-modify=5 = "c2.9" at 9: ok [invoke 4, return 9]`.
std::string DescribeOperation(const Operation& op);

}  // namespace roster::sim
