// KvTable: the key/value table of the replicated state machine, with Consul's
// semantics (consul-api.md §1.4, §2.2; Consul's agent/consul/state/kvs.go).
//
// Every write is stamped with the Raft index of the command that made it. Deletes
// leave tombstones (key -> index of the delete) so a prefix's index does not go
// backwards when its newest entry is deleted; tombstones go only when a reap command
// names an index at or above theirs. The table index is the highest index of any
// write or delete the table ever saw. Locks (acquire/release by a session) follow
// Consul's kvs.go; the table keeps a by-session index of held keys for invalidation.
// An undo log lets a transaction roll every write back (store/txn.h). Design notes:
// docs/design/store.md.
//
// Thread-safety: none. One writer (the apply loop); readers must be synchronised with
// it by the caller (the server holds a lock around both).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/types.h"

namespace roster::store {

// One key and its value: Consul's DirEntry.
struct DirEntry {
  std::string key;
  std::string value;
  std::uint64_t flags = 0;  // opaque to the store; clients use it for their own metadata
  Index create_index = 0;   // index of the write that created the key
  Index modify_index = 0;   // index of the last write that changed it
  Index lock_index = 0;     // successful lock acquisitions by a new holder
  std::string session;      // holder of the lock; empty when unlocked

  bool operator==(const DirEntry&) const = default;
};

class KvTable {
 public:
  using Entries = std::map<std::string, DirEntry, std::less<>>;
  using Tombstones = std::map<std::string, Index, std::less<>>;

  KvTable() = default;
  // Rebuilds a table from snapshot contents. Fails with Corruption when the parts
  // break an invariant: a map key differs from its entry's key, an entry has a zero
  // or inverted create/modify index, or any index exceeds table_index.
  static Result<KvTable> FromParts(Entries entries, Tombstones tombstones, Index table_index);

  // Writes. Each REQUIRES index >= TableIndex() (CHECKed: the store applies in log
  // order; the ops of one transaction share an index), records what it changed in
  // `changes`, and returns whether it succeeded (only the CAS forms can fail).

  // Sets key to value and flags; keeps the session and lock index. Writing what is
  // already there changes nothing and does not bump modify_index.
  void Set(Index index, std::string key, std::string value, std::uint64_t flags,
           ChangeSet& changes);
  // Set if cas_index matches: 0 means "only if absent"; otherwise it must equal the
  // entry's modify_index.
  bool Cas(Index index, std::string key, std::string value, std::uint64_t flags, Index cas_index,
           ChangeSet& changes);
  // Deletes key if present (leaving a tombstone). An absent key changes nothing.
  void Delete(Index index, std::string_view key, ChangeSet& changes);
  // Deletes key if cas_index equals its modify_index. An absent key succeeds.
  bool DeleteCas(Index index, std::string_view key, Index cas_index, ChangeSet& changes);
  // Deletes every key that starts with prefix ("" deletes everything). Leaves one
  // tombstone at the prefix itself, like Consul; the table-index fallback of
  // PrefixIndex covers prefixes below it.
  void DeleteTree(Index index, std::string_view prefix, ChangeSet& changes);
  // Drops tombstones whose index is <= up_to_index. Changes no visible state, so it
  // records nothing in `changes` and wakes no watcher. REQUIRES: no undo log.
  void ReapTombstones(Index up_to_index);

  // Locks (consul-api.md §1.4, §3.4). The caller checks that the session exists.

  // Acquires key for session. Succeeds when the key is absent, unheld, or already held
  // by session; writes value and flags. A new holder increments lock_index (a new key
  // starts at 1); a re-acquire keeps it, and one that writes nothing new changes
  // nothing. Returns false, changing nothing, when another session holds the key.
  bool Lock(Index index, std::string key, std::string value, std::uint64_t flags,
            std::string session, ChangeSet& changes);
  // Releases key if session holds it: clears the session, writes value and flags and
  // bumps modify_index; lock_index stays. Returns false, changing nothing, otherwise.
  bool Unlock(Index index, std::string_view key, std::string value, std::uint64_t flags,
              std::string_view session, ChangeSet& changes);
  // Session invalidation, behavior release: clears the session of every key it holds
  // and bumps their modify_index (lock_index stays). Returns the keys, in key order.
  std::vector<std::string> ReleaseAll(Index index, std::string_view session, ChangeSet& changes);
  // Session invalidation, behavior delete: deletes every key the session holds, leaving
  // tombstones. Returns the keys, in key order.
  std::vector<std::string> DeleteAll(Index index, std::string_view session, ChangeSet& changes);

  // Undo log, for transactions: while one is open, every write first saves what it
  // replaces, so RollBack restores the table exactly (entries, tombstones, table index
  // and the session index). Costs memory only for the keys a transaction touches.

  // REQUIRES: no undo log open.
  void OpenUndo();
  // Restores the state at OpenUndo and closes the log. REQUIRES: an undo log is open.
  void RollBack();
  // Keeps the writes and closes the log. REQUIRES: an undo log is open.
  void CloseUndo();

  // Reads.

  std::optional<DirEntry> Get(std::string_view key) const;
  // The entry, or null; valid until the next write.
  const DirEntry* Find(std::string_view key) const;
  // Every entry whose key starts with prefix, in key order.
  std::vector<DirEntry> List(std::string_view prefix) const;
  // Keys under prefix, in order. With a non-empty separator, a key is cut after the
  // first separator that follows the prefix, and repeats are dropped:
  // prefix "web/", separator "/" gives "web/bar", "web/foo", "web/subdir/".
  std::vector<std::string> Keys(std::string_view prefix, std::string_view separator) const;
  // The keys session holds, in key order.
  std::vector<std::string> KeysHeldBy(std::string_view session) const;

  // Blocking-query indexes (consul-api.md §2.2). They are 0 only for a table that
  // never saw a write; the HTTP edge clamps the header to at least 1.

  // The highest index of any write or delete in the table.
  Index TableIndex() const { return table_index_; }
  // The entry's modify_index, or the table index when the key is absent.
  Index KeyIndex(std::string_view key) const;
  // The highest modify_index among entries and tombstones under prefix; the table
  // index for the root prefix or when nothing (not even a tombstone) is under it.
  Index PrefixIndex(std::string_view prefix) const;

  const Entries& entries() const { return entries_; }
  const Tombstones& tombstones() const { return tombstones_; }

  bool operator==(const KvTable&) const = default;

 private:
  // What a transaction's first write to a key replaced.
  struct UndoRecord {
    std::string key;
    std::optional<DirEntry> entry;
    std::optional<Index> tombstone;
    bool operator==(const UndoRecord&) const = default;
  };
  struct UndoLog {
    Index table_index = 0;
    std::vector<UndoRecord> records;
    std::set<std::string, std::less<>> saved_keys;
    bool operator==(const UndoLog&) const = default;
  };

  void CheckOrder(Index index) const;
  // Saves key's entry and tombstone into the open undo log, once per key.
  void SaveForUndo(std::string_view key);
  // Changes an entry's holder, keeping the by-session index in step.
  void SetSession(DirEntry& entry, std::string session);
  // Removes an entry (and its by-session index) and returns its key.
  std::string EraseEntry(Entries::iterator it);
  // Leaves a tombstone for a deleted key and records the change.
  void MarkDeleted(Index index, std::string key, ChangeSet& changes);

  Entries entries_;
  Tombstones tombstones_;
  Index table_index_ = 0;
  // Derived from entries_: the keys each session holds.
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> keys_by_session_;
  std::optional<UndoLog> undo_;
};

}  // namespace roster::store
