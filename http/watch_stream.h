// WatchStream: one client's GET /v1/watch stream, Roster's streaming watch (DESIGN.md,
// "Streaming watch"; the wire format is in docs/api.md). It sends every KV change under
// a prefix after an index, in index order and without gaps, read from the store's
// event history (store/history.h), as NDJSON lines or Server-Sent Events, with a
// progress line whenever nothing else was sent for a while.
//
// Pull, not push. The stream keeps a cursor (every event through it has been sent)
// into the shared, bounded history and reads the next batch only once the client has
// taken the previous one. So a stream never buffers more than one batch, and a slow
// client holds up no one: a batch is copied under Backend::Read, and the socket is
// written with no lock held, on the connection's own thread. The watch on the prefix
// is registered before the first read, so no write is missed between a read and the
// wait. A stream ends when:
//  - its client goes away (noticed within a fraction of a second, even while idle);
//  - its client takes no bytes for stall_timeout while lines wait: a slow reader,
//    told so by a final error line if the socket has room for it, then dropped;
//  - the history no longer holds its cursor (the client fell behind, or a snapshot
//    was installed): a final error line names the oldest index it could resume from;
//  - the server stops (within a fraction of a second).
//
// Thread-safety: Run is called once, on the connection's thread; the Backend is
// thread-safe by contract.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "http/backend.h"
#include "http/handlers.h"
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

  WatchStream(Backend& backend, Options options, std::stop_token stop);

  // The StreamProducer of the reply: streams until one of the ends above. True when
  // the body may end cleanly, false to drop the connection.
  bool Run(StreamWriter& writer);

  // The lines of the stream, for the handler's 410 and for tests. `id` is the SSE
  // event id: the index the stream is complete through, set only where it is.
  static std::string Line(const Json& json, std::optional<store::Index> id, bool sse);
  static Json ProgressJson(store::Index index);
  static Json ErrorJson(store::Index index, const std::string& error,
                        std::optional<store::Index> oldest_index);

 private:
  struct Batch {
    bool gone = false;
    store::Index compacted_index = 0;
    std::vector<store::KvEvent> events;
    store::Index through_index = 0;
    store::Index last_index = 0;
  };
  enum class SendResult { kSent, kBroken, kStalled, kStopped };

  // Reads the next batch and sends it, with a progress line where one is due: nullopt
  // while the stream goes on, else how its body ends (Run's result).
  std::optional<bool> SendNextBatch(StreamWriter& writer, bool progress_due);
  Result<Batch> ReadBatch() const;
  std::string RenderEvents(const std::vector<store::KvEvent>& events) const;
  // Writes the lines in chunks, waiting while the socket is full.
  SendResult Send(StreamWriter& writer, const std::string& lines);
  // Waits until the socket takes bytes (kSent): kStalled after stall_timeout, kBroken
  // or kStopped if the client goes or the server stops meanwhile.
  SendResult WaitWritable(StreamWriter& writer);
  // Sends a final line and says how the body ends.
  bool Finish(StreamWriter& writer, const Json& line);
  // A client that took nothing for stall_timeout: a last word if there is room, then
  // the connection is dropped.
  bool CutOffSlowReader(StreamWriter& writer);

  Backend& backend_;
  const Options options_;
  const std::stop_token stop_;
  store::Index cursor_;              // every event through it has been read (and is being sent)
  store::Index sent_index_;          // every event through it has been written to the socket
  bool at_message_boundary_ = true;  // no message is half written
  bool more_ = true;                 // events may be waiting after cursor_
  bool announced_ = false;           // the progress line saying "caught up" went out
  std::chrono::steady_clock::time_point last_line_;  // when the last line went out
};

}  // namespace roster::http
