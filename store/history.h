// EventHistory: a bounded, in-memory record of recent KV changes, for the gapless
// streaming watch (DESIGN.md, "Streaming watch"; GET /v1/watch).
//
// The Store appends, after each applied entry, one event per KV key the entry changed:
// a set (the entry as written, its modify_index equal to the event's index) or a
// delete. Events come in index order; several may share an index (a transaction, a
// delete-tree, a session invalidation). Within one index there is one event per key,
// carrying the key's state after the entry, so replaying the events after a snapshot
// of index N yields exactly the KV entries of any later index.
//
// The history holds every event after its compacted index and drops the oldest
// indexes (all events of an index together) beyond a count or byte budget. A read
// that starts before the compacted index is Gone: the client re-lists and resumes. It
// is local and not replicated: not part of snapshots; after a restore it starts empty
// at the snapshot's index.
//
// Thread-safety: none. One writer (the apply loop); readers must be synchronised with
// it by the caller. Design notes: docs/design/store.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

#include "store/kv.h"
#include "store/types.h"

namespace roster::store {

enum class KvEventType : std::uint8_t { kSet, kDelete };

struct KvEvent {
  Index index = 0;
  KvEventType type = KvEventType::kSet;
  // kSet: the entry as written by the event's index. kDelete: only entry.key is set.
  DirEntry entry;

  bool operator==(const KvEvent&) const = default;
};

// The default keeps about the last ten thousand changes: a watcher that was away for
// longer re-lists (410). Each event costs about 300 bytes of memory beyond its key and
// value's size, so 100,000 would cost a server 30 MB (bench/README.md, RSS).
struct HistoryLimits {
  std::size_t events_max = 10'000;
  std::size_t bytes_max = 16 * 1024 * 1024;  // keys, values and sessions, plus overhead
};

struct HistoryRead {
  // True when events after the requested index are no longer all retained; `events`
  // is then empty and the client must re-list and resume from a newer index.
  bool gone = false;
  // The oldest index whose events are all retained: a read after any index >=
  // oldest_index - 1 is served.
  Index oldest_index = 0;
  // The matching events after the requested index, in index order.
  std::vector<KvEvent> events;
  // Events are complete through this index: resume the next read after it. The
  // history's last index unless events_max cut the read short (always at an index
  // boundary). At most the requested index when nothing new has been applied yet.
  Index through_index = 0;
};

class EventHistory {
 public:
  EventHistory() = default;
  explicit EventHistory(HistoryLimits limits) : limits_(limits) {}

  // Empties the history and restarts it at index (after a snapshot restore): reads
  // after any older index are Gone.
  void Reset(Index index);
  // Records that entry `index` was applied, with the KV events it produced (maybe
  // none), then drops the oldest indexes beyond the budget. REQUIRES: index greater
  // than the last recorded one, and every event's index equal to it (CHECKed).
  void Record(Index index, std::vector<KvEvent> events);

  // The events after after_index whose key starts with prefix. events_max > 0 bounds
  // the number of events returned, always ending at an index boundary (an index with
  // more matching events than events_max is still returned whole).
  HistoryRead Read(Index after_index, std::string_view prefix, std::size_t events_max = 0) const;

  // Every event after this index is retained.
  Index compacted_index() const { return compacted_index_; }
  // The last index recorded (or reset to).
  Index last_index() const { return last_index_; }
  std::size_t size() const { return events_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  static std::size_t BytesOf(const KvEvent& event);
  // Drops the oldest index while over budget.
  void Trim();

  HistoryLimits limits_;
  std::deque<KvEvent> events_;  // in index order
  std::size_t bytes_ = 0;
  Index compacted_index_ = 0;
  Index last_index_ = 0;
};

}  // namespace roster::store
