// WatchStream: one client's GET /v1/watch stream, Roster's streaming watch (DESIGN.md,
// "Streaming watch"; the wire format is in docs/api.md). It produces every KV change
// under a prefix after an index, in index order and without gaps, read from the store's
// event history (store/history.h), as NDJSON lines or Server-Sent Events, with a
// progress line whenever nothing else was sent for a while.
//
// Pull, not push, and no I/O of its own: the event loop (http/event_loop.h) asks for the
// next lines only once the client has taken the previous ones, so a stream never
// buffers more than one batch, and a slow client holds up no one. The loop also keeps
// the time: progress lines, the stall timeout of a client that takes nothing (cut off
// with a final line saying so), the client going away, the server stopping. A stream
// ends by itself with a final error line when the history no longer holds its cursor
// (the client fell behind, or a snapshot was installed): the line names the oldest
// index it could resume from. The watch on the prefix is registered when the stream is
// made, before its first read, so no write is missed between a read and the wait.
//
// Thread-safety: made on a worker thread, then used by the event loop's thread only;
// the Backend is thread-safe by contract.
#pragma once

#include <chrono>
#include <compare>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/backend.h"
#include "http/json_mapping.h"
#include "store/history.h"

namespace roster::http {

class WatchStream {
 public:
  struct Options {
    std::string prefix;            // "" watches every key
    store::Index after_index = 0;  // send the changes after this index
    bool server_sent_events = false;
    std::chrono::milliseconds progress_interval{10'000};
    std::chrono::milliseconds stall_timeout{10'000};
    std::size_t batch_events_max = 256;
  };

  WatchStream(Backend& backend, Options options);

  // The next lines to send: the next batch of events when there may be some (more(),
  // or the watch fired), with a progress line where one is due or where the stream has
  // just caught up. Empty when there is nothing to send. `end`: the lines are a final
  // error line and the stream ends cleanly after them.
  struct Next {
    std::string lines;
    bool end = false;
  };
  // Batches read and rendered for other streams (same prefix, cursor and format): the
  // event loop's thousands of streams on one prefix read and render a write once. Only
  // valid while no write could come between its uses: the loop clears it after each
  // round of wake-ups (a write that lands meanwhile fires the watches again).
  class BatchCache;
  Next Produce(bool progress_due, BatchCache* cache = nullptr);
  // The lines of the last Produce are all written.
  void Sent() { sent_index_ = cursor_; }
  // The watch fired since the last Produce: events may be waiting.
  void MarkChanged() { more_ = true; }
  // The last word to a client that took nothing for stall_timeout.
  std::string SlowReaderLine() const;

  Watch& watch() { return *watch_; }
  const Options& options() const { return options_; }

  // The lines of the stream, for the handler's 410 and for tests. `id` is the SSE
  // event id: the index the stream is complete through, set only where it is.
  static std::string Line(const Json& json, std::optional<store::Index> id, bool sse);
  static Json ProgressJson(store::Index index);
  static Json ErrorJson(store::Index index, const std::string& error,
                        std::optional<store::Index> oldest_index);

 private:
  // One read of the history after the cursor, rendered.
  struct Batch {
    bool gone = false;
    store::Index compacted_index = 0;
    std::string lines;
    store::Index through_index = 0;
    store::Index last_index = 0;
  };

  Result<Batch> ReadBatch() const;
  std::string RenderEvents(const std::vector<store::KvEvent>& events) const;
  Next Final(const Json& line) const;

  Backend& backend_;
  const Options options_;
  const std::unique_ptr<Watch> watch_;
  store::Index cursor_;      // every event through it has been produced
  store::Index sent_index_;  // every event through it has been written to the socket
  bool more_ = true;         // events may be waiting after cursor_
  bool announced_ = false;   // the progress line saying "caught up" went out
};

class WatchStream::BatchCache {
 public:
  void Clear() { batches_.clear(); }

 private:
  friend class WatchStream;
  struct Key {
    std::string prefix;
    store::Index cursor;
    bool sse;
    std::size_t batch_events_max;
    auto operator<=>(const Key&) const = default;
  };
  std::map<Key, Batch> batches_;
};

}  // namespace roster::http
