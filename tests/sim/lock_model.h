// LockModel: an independent reference model of sessions, locks and ephemeral keys, as
// consul-api.md §3 describes them, fed every committed entry once, in log order (the
// first time any node applies it), and compared with the real store right after that
// entry. Every other replica must then reach the same state at that index (the safety
// checker's state hash), so the model's verdict holds for every node and snapshot.
//
// The model is written from the contract, not from store/: a small, separate
// implementation of
//   sessions     created if the node exists and every bound check exists and is not
//                critical; ended by destroy or invalidate, by a bound check registered
//                critical (not warning) or deregistered, or by their node deregistered.
//   locks        acquire succeeds when the key is absent, unheld or held by the same
//                session; a new holder increments LockIndex (a new key starts at 1), a
//                re-acquire keeps it; release needs the holder's session. Ending a
//                session releases its keys (ModifyIndex bumped, LockIndex kept) or, with
//                behavior delete, deletes them: ephemeral keys.
//   sequential   prefix + the entry's index in 20 digits, acquired by its session.
//   txn          lock and unlock ops, all or nothing.
// for the keys under a prefix (the lock workload's), every session and every catalog
// node. After each entry the tracked keys (every DirEntry field), the sessions and the
// checks' statuses must equal the store's, and so must the entry's ok. The first
// difference is explained in the contract's terms: two holders of a key, a LockIndex
// that moved without a new holder (or did not move with one), an ephemeral key deleted
// while its session lived or kept after it ended, a session ended by an entry that
// cannot end it (or kept by one that must).
//
// It also records every holding: which session held which key with which fencing
// token (CreateIndex, LockIndex), from which index to which, and how it ended; the
// fencing checks (fencing.h) look them up.
// Single-threaded: owned by the lock workload.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "consensus/types.h"
#include "store/command.h"
#include "store/store.h"

namespace roster::sim {

// A Chubby-style sequencer for a lock key: the key's generation (its CreateIndex: a key
// deleted and created again starts a new one, and its LockIndex starts again at 1)
// and the LockIndex within it. Holders of one key get strictly increasing tokens.
struct FencingToken {
  consensus::Index create_index = 0;
  consensus::Index lock_index = 0;
  auto operator<=>(const FencingToken&) const = default;
};
std::string DescribeToken(const FencingToken& token);

enum class HoldingEnd : std::uint8_t {
  kHeld,          // not ended yet
  kUnlocked,      // released by its session (unlock)
  kSessionEnded,  // the session was destroyed or invalidated
  kKeyDeleted,    // the key was deleted while held
};
const char* HoldingEndName(HoldingEnd end);

// One session's hold on a key, from the acquire that made it the holder until the
// entry that ended it.
struct Holding {
  std::string key;
  std::string session;
  FencingToken token;
  consensus::Index acquired_index = 0;
  consensus::Index ended_index = 0;  // 0 while held
  HoldingEnd end = HoldingEnd::kHeld;
};

class LockModel {
 public:
  // Tracks the keys under `key_prefix` (non-empty).
  explicit LockModel(std::string key_prefix);

  // The entry after last_index() was applied for the first time, by a node whose store
  // is now `store`, with apply outcome `ok`. Returns the first disagreement with the
  // store, or "". With compare == false only advances the model (for mutation tests
  // of the client-side checks alone).
  std::string OnCommitted(const consensus::Entry& entry, bool ok, const store::Store& store,
                          bool compare = true);

  consensus::Index last_index() const { return last_index_; }
  // The holding of `key` with `token`, or null if no session ever held it so.
  const Holding* FindHolding(std::string_view key, const FencingToken& token) const;
  // The index at which session `id` ended, 0 if it is live or never existed.
  consensus::Index SessionEndIndex(std::string_view id) const;

  std::uint64_t sessions_ended() const { return sessions_ended_; }
  std::uint64_t ephemeral_deleted() const { return ephemeral_deleted_; }

 private:
  using Keys = std::map<std::string, store::DirEntry, std::less<>>;
  using Checks = std::map<std::string, store::HealthStatus, std::less<>>;
  struct Transition {  // a holding that begins or ends in the current entry
    bool begin = false;
    std::string key;
    std::string session;
    FencingToken token;
    HoldingEnd end = HoldingEnd::kHeld;
  };

  bool Tracked(std::string_view key) const { return key.starts_with(prefix_); }
  // Applies the command to the model; returns the ok the contract expects, or nullopt
  // for a command on keys the model does not track. Sets unmodelled_ for a command it
  // cannot follow on tracked keys.
  std::optional<bool> Apply(store::Command& command);
  std::optional<bool> ApplyOther(const store::Command& command);
  bool ApplyLock(const std::string& key, const std::string& value, std::uint64_t flags,
                 const std::string& session);
  bool ApplyUnlock(const std::string& key, const std::string& value, std::uint64_t flags,
                   const std::string& session);
  bool ApplySequential(const store::KvCreateSequential& c);
  std::optional<bool> ApplyTxn(const store::Txn& txn);
  bool ApplySessionCreate(store::Session session);
  bool ApplyRegister(const store::CatalogRegister& c);
  void ApplyDeregister(const store::CatalogDeregister& c);
  void ApplyDelete(const std::string& key);
  void EndBoundSessions(const std::string& node, const std::string& check_id);
  void EndSession(const std::string& id);
  void BeginHolding(const store::DirEntry& entry);
  void EndHolding(const store::DirEntry& entry, HoldingEnd end);
  void CommitTransitions();

  // Comparison with the store (lock_model_compare.cc).
  std::string Compare(bool ok, std::optional<bool> expected_ok, const store::Store& store) const;
  std::string CompareKeys(const store::Store& store) const;
  std::string ExplainKey(const std::string& key, const store::DirEntry* model,
                         const store::DirEntry* actual) const;
  std::string ExplainMissingKey(const std::string& key, const store::DirEntry& model) const;
  std::string ExplainExtraKey(const std::string& key, const store::DirEntry& actual) const;
  std::string ExplainHolder(const std::string& key, const store::DirEntry& model,
                            const store::DirEntry& actual) const;
  std::string CompareSessions(const store::Store& store) const;
  std::string ExplainSession(const std::string& id, const store::Session* model,
                             const store::Session* actual) const;
  std::string CompareCatalog(const store::Store& store) const;
  // "at index 57 (57@3 lock lock/m0 by s2.1)": the entry being applied.
  std::string At() const;

  std::string prefix_;
  consensus::Index last_index_ = 0;
  // The entry being applied (valid inside OnCommitted only), and why the contract
  // refuses it, if it does.
  consensus::Index index_ = 0;
  const consensus::Entry* entry_ = nullptr;
  std::string why_;
  std::string unmodelled_;
  Keys keys_;  // tracked keys only
  std::map<std::string, store::Session, std::less<>> sessions_;
  std::map<std::string, Checks, std::less<>> catalog_;  // node -> its checks
  std::vector<Transition> transitions_;                 // of the entry being applied
  // Ephemeral keys the entry being applied deleted with their session: key -> session.
  std::map<std::string, std::string, std::less<>> ephemeral_deleted_now_;
  std::map<std::string, consensus::Index, std::less<>> ended_at_;  // session -> index
  std::map<std::pair<std::string, FencingToken>, Holding, std::less<>> holdings_;
  std::uint64_t sessions_ended_ = 0;
  std::uint64_t ephemeral_deleted_ = 0;
};

}  // namespace roster::sim
