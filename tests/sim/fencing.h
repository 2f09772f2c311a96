// FencingChecker: what the lock clients believed and did with their locks, checked
// from the clients' side. It plays the downstream resource the locks protect (a
// storage service with a Chubby-style sequencer check): a request stamped with a
// fencing token is accepted only if its token is at least the highest the resource has
// accepted for that lock key; a stale one is rejected ("fenced").
//
// Checks, each on what a client saw in a store (a node's, right after its acquire
// applied, or at a linearizable read) and not on the lock model:
//   - two different sessions never see the same token for the same key;
//   - when a client starts to believe it holds a key while another client still
//     believes it holds it with an older token, the older holder's session must already
//     be gone in the store the newer holder saw: clients may overlap in real time only
//     because the older one's session was invalidated behind its back;
//   - the downstream never accepts a request of an older holder after one of a newer
//     holder: requests it accepts from different sessions carry strictly increasing
//     tokens and strictly increasing ModifyIndexes as seen at acquire (the token the
//     `roster lock` CLI hands out), so the two fencing tokens agree with the log.
// With a LockModel (lock_model.h) it also checks the overlap against the log: the older
// holding ended before the newer one began, and ended because its session ended or its
// key was deleted, never by its own unlock.
// Single-threaded: owned by the lock workload.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "consensus/types.h"
#include "store/store.h"
#include "tests/sim/lock_model.h"

namespace roster::sim {

// What a client saw when it learned that its session holds a lock key.
struct LockObservation {
  std::string key;
  std::string session;
  FencingToken token;
  consensus::Index modify_index = 0;    // the key's ModifyIndex then
  consensus::Index observed_index = 0;  // the applied index of the store it saw
};

struct FencingStats {
  std::uint64_t beliefs = 0;   // a client learned it holds a lock
  std::uint64_t overlaps = 0;  // ... while another client still believed it held it
  std::uint64_t accepted = 0;  // downstream requests accepted
  std::uint64_t fenced = 0;    // downstream requests rejected as stale
};

class FencingChecker {
 public:
  // `model` may be null: then only the checks on store observations run.
  explicit FencingChecker(const LockModel* model) : model_(model) {}

  // Client `client` learned from `store` that it holds a lock, as `seen` says, and
  // starts protected work. REQUIRES: the client holds no belief. Returns the first
  // violation, or "".
  std::string BeginBelief(int client, const LockObservation& seen, const store::Store& store);
  // The client stopped believing: it released, gave up, or learned the lock was lost.
  void EndBelief(int client) { beliefs_.erase(client); }
  bool Believes(int client) const { return beliefs_.contains(client); }

  // A request stamped with the client's belief leaves now and reaches the downstream at
  // arrival_ms. REQUIRES: Believes(client).
  void Send(int client, std::uint64_t arrival_ms);
  // Delivers the requests due by now_ms, in arrival order; returns the first violation.
  std::string Deliver(std::uint64_t now_ms);
  // Delivers every request still in flight (the end of the run).
  std::string DeliverAll() { return Deliver(UINT64_MAX); }

  const FencingStats& stats() const { return stats_; }

 private:
  struct Belief {
    int client = 0;
    LockObservation seen;
  };
  // The downstream's state for one lock key.
  struct Resource {
    bool accepted_any = false;
    FencingToken max_token;
    std::string last_session;
    consensus::Index last_modify_index = 0;
  };

  std::string CheckToken(const LockObservation& seen);
  std::string CheckOverlap(const Belief& other, const LockObservation& seen,
                           const store::Store& store) const;
  std::string CheckOverlapInLog(const Belief& older, const Belief& newer) const;
  std::string Accept(const Belief& request);

  const LockModel* model_;
  std::map<int, Belief> beliefs_;  // by client
  // Every (key, token) a client saw, and the session that held it.
  std::map<std::pair<std::string, FencingToken>, std::string> token_sessions_;
  // In flight to the downstream, by (arrival ms, send order).
  std::map<std::pair<std::uint64_t, std::uint64_t>, Belief> in_flight_;
  std::uint64_t sent_ = 0;
  std::map<std::string, Resource> resources_;  // by key
  FencingStats stats_;
};

}  // namespace roster::sim
