// LockClient: one simulated client of the lock workload (lock_workload.h), a small
// state machine with one request in flight at a time (requests.h):
//
//   no session --create--> idle --acquire--> holding --n protected requests-->
//        ^                  |  \                         \--> release --> idle
//        |                  |   \--> sequential / contender key, delete own key
//        +--- destroy, abandon (stop renewing), or learn the session ended
//
// It believes it holds a mutex from the moment it learns its acquire succeeded (its
// proposal applied with ok; the fencing token is read from that node's store right
// after the entry) until it sends its release, stops, or its monitor (the store of the
// node it last talked to, as a blocking query would see it) shows the lock or the
// session gone. While it believes, it sends protected requests to the downstream;
// now and then it pauses (a GC pause) between checking its monitor and sending, so the
// request lands after the lock may have moved on. The monitor is a blocking query to
// the node that answered the acquire or to any server (stale reads). An acquire of unknown outcome
// is settled by a linearizable read: held means held; not held means the session is abandoned,
// since the acquire may still apply later. Single-threaded: owned by the LockWorkload.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "consensus/types.h"
#include "store/session.h"
#include "tests/sim/lock_workload.h"
#include "tests/sim/requests.h"

namespace roster::sim {

class LockClient {
 public:
  LockClient(int id, const LockEnv& env);

  void Step();
  void OnApplied(SimNode& node, const consensus::Entry& entry, bool ok);
  void OnReadServed(SimNode& node, const std::string& context);
  void OnNodeDown(consensus::NodeId node);
  void OnSnapshotInstalled(SimNode& node, consensus::Index index);

  // From now on: no more stops or destroys; done once it acquired and released a mutex.
  void StartFinalRound() { final_round_ = true; }
  bool FinalRoundDone() const { return final_released_; }

  std::uint64_t acquired() const { return acquired_; }
  std::uint64_t contended() const { return contended_; }
  std::uint64_t abandoned() const { return abandoned_; }
  std::string Describe() const;

 private:
  enum class State : std::uint8_t {
    kNoSession,
    kCreatingSession,
    kIdle,
    kAcquiring,
    kRecovering,  // reading the key after an acquire of unknown outcome
    kHolding,
    kReleasing,
    kCreatingKey,  // a sequential or contender key
    kDeletingKey,
    kDestroying,
  };
  static const char* StateName(State state);

  void Act();
  void ActIdle();
  void ActHolding();
  void StartSession();
  void Acquire();
  void CreateSequential();
  void AcquireContender();
  void DeleteOwnKey();
  void DestroySession();
  void Release();
  void Propose(const store::Command& command, State next);

  void Handle(const RequestResult& result);
  void HandleSessionCreated(const RequestResult& result);
  void HandleAcquired(const RequestResult& result);
  void HandleRecovered(const RequestResult& result);
  void HandleReleased(const RequestResult& result);
  void HandleKeyCreated(const RequestResult& result);
  void HandleDestroyed(const RequestResult& result);

  // Starts believing it holds key_, as `store` (at `observed_index`, on `node`) shows.
  void BeginHolding(const store::Store& store, consensus::Index observed_index,
                    consensus::NodeId node);
  // What the monitor shows; false (and acts on it) when the lock or session is gone.
  bool CheckMonitor();
  void StopBelieving();
  void LoseSession(const std::string& why);
  void Abandon(const std::string& why);
  bool SessionGoneAt(const SimNode& node) const;
  void Think();
  void Note(const std::string& text) const;

  int id_;
  std::string name_;
  LockEnv env_;
  Request request_;
  State state_ = State::kNoSession;
  std::uint64_t next_action_ms_ = 0;
  std::uint64_t paused_until_ms_ = 0;  // a process pause: the monitor is not heard
  std::uint64_t sessions_made_ = 0;
  std::uint64_t writes_ = 0;  // makes every value written unique
  std::string session_;
  store::SessionBehavior behavior_ = store::SessionBehavior::kRelease;
  // The monitor: a node's store, once it has applied known_index_ (what this client
  // already learned), so that a lagging node does not look like a lost session.
  consensus::NodeId monitor_node_ = consensus::kNoNode;
  consensus::Index known_index_ = 0;
  std::string key_;            // the mutex being acquired, held or released
  std::string contender_key_;  // acquired with it in a txn, or ""
  std::string creating_key_;   // the contender key being acquired; "" for a sequential key
  int requests_left_ = 0;
  std::vector<std::string> own_keys_;  // ephemeral keys of this session
  bool final_round_ = false;
  bool final_acquired_ = false;
  bool final_released_ = false;
  std::uint64_t acquired_ = 0;
  std::uint64_t contended_ = 0;
  std::uint64_t abandoned_ = 0;
};

}  // namespace roster::sim
