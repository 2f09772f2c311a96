#include "http/watch_stream.h"

#include <algorithm>
#include <memory>
#include <utility>

namespace roster::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// How often a waiting stream looks at its client and at the server's stop signal.
constexpr milliseconds kCheckInterval{200};
// Lines are written in chunks of at most this size, cut after a whole line where one
// ends, so that a stream cut off between chunks can still end with a whole error line.
constexpr std::size_t kChunkBytes = 16 * 1024;

milliseconds Until(steady_clock::time_point deadline) {
  const auto left = deadline - steady_clock::now();
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(left));
}

}  // namespace

WatchStream::WatchStream(Backend& backend, Options options, std::stop_token stop)
    : backend_(backend),
      options_(std::move(options)),
      stop_(std::move(stop)),
      cursor_(options_.after_index),
      sent_index_(options_.after_index) {}

std::string WatchStream::Line(const Json& json, std::optional<store::Index> id, bool sse) {
  const std::string text = RenderJson(json, /*pretty=*/false);  // one line: no newline inside
  if (!sse) return text + "\n";
  std::string line;
  if (id.has_value()) line = "id: " + std::to_string(*id) + "\n";
  return line + "data: " + text + "\n\n";
}

Json WatchStream::ProgressJson(store::Index index) {
  Json json = Json::object();
  json["Index"] = index;
  json["Op"] = "progress";
  return json;
}

Json WatchStream::ErrorJson(store::Index index, const std::string& error,
                            std::optional<store::Index> oldest_index) {
  Json json = Json::object();
  json["Index"] = index;
  json["Op"] = "error";
  json["Error"] = error;
  if (oldest_index.has_value()) json["OldestIndex"] = *oldest_index;
  return json;
}

bool WatchStream::Run(StreamWriter& writer) {
  // Registered before the first read: a write between a read and the wait still wakes.
  const std::unique_ptr<Watch> watch =
      backend_.NewWatch({store::WatchKey::Prefix(store::Table::kKvs, options_.prefix)});
  last_line_ = steady_clock::now();
  while (true) {
    // A stream ends cleanly on stop only if the last chunk cannot block.
    if (stop_.stop_requested()) return writer.WaitWritable(milliseconds(0));
    if (writer.ClientGone()) return false;
    const bool progress_due = steady_clock::now() - last_line_ >= options_.progress_interval;
    if (more_ || progress_due) {
      if (std::optional<bool> end = SendNextBatch(writer, progress_due)) return *end;
      continue;
    }
    const steady_clock::time_point wake =
        std::min(last_line_ + options_.progress_interval, steady_clock::now() + kCheckInterval);
    if (watch->WaitUntil(wake)) more_ = true;
  }
}

std::optional<bool> WatchStream::SendNextBatch(StreamWriter& writer, bool progress_due) {
  Result<Batch> batch = ReadBatch();
  if (!batch.ok()) {
    const std::string error = "reading the event history failed: " + batch.status().message();
    return Finish(writer, ErrorJson(sent_index_, error, std::nullopt));
  }
  if (batch->gone) {
    const std::string error = "the event history no longer holds the changes after index " +
                              std::to_string(sent_index_) +
                              "; re-read the keys and watch again from their index";
    return Finish(writer, ErrorJson(sent_index_, error, batch->compacted_index));
  }
  std::string lines = RenderEvents(batch->events);
  cursor_ = batch->through_index;
  more_ = batch->through_index < batch->last_index;
  if (!more_ && (!announced_ || (lines.empty() && progress_due))) {
    lines += Line(ProgressJson(cursor_), cursor_, options_.server_sent_events);
    announced_ = true;
  }
  if (lines.empty()) return std::nullopt;
  switch (Send(writer, lines)) {
    case SendResult::kSent:
      sent_index_ = cursor_;
      last_line_ = steady_clock::now();
      return std::nullopt;
    case SendResult::kStalled:
      return CutOffSlowReader(writer);
    case SendResult::kStopped:
    case SendResult::kBroken:
      break;
  }
  return false;
}

Result<WatchStream::Batch> WatchStream::ReadBatch() const {
  Batch batch;
  // The history is this server's own; reading it needs no leader (the handler's first
  // read honoured the client's consistency mode).
  Result<ReadMeta> meta = backend_.Read(Consistency::kStale, [&](const store::Store& store) {
    const store::EventHistory& history = store.history();
    store::HistoryRead read = history.Read(cursor_, options_.prefix, options_.batch_events_max);
    batch.gone = read.gone;
    batch.compacted_index = history.compacted_index();
    batch.events = std::move(read.events);
    batch.through_index = read.through_index;
    batch.last_index = history.last_index();
  });
  if (!meta.ok()) return meta.status();
  return batch;
}

std::string WatchStream::RenderEvents(const std::vector<store::KvEvent>& events) const {
  std::string lines;
  for (std::size_t i = 0; i < events.size(); ++i) {
    // Several events may share an index (a transaction, a delete-tree); only after the
    // last of them is the stream complete through it, so only that one carries the id
    // an SSE client resumes from.
    const bool last_of_index = i + 1 == events.size() || events[i + 1].index != events[i].index;
    const std::optional<store::Index> id =
        last_of_index ? std::optional<store::Index>(events[i].index) : std::nullopt;
    lines += Line(KvEventJson(events[i]), id, options_.server_sent_events);
  }
  return lines;
}

WatchStream::SendResult WatchStream::Send(StreamWriter& writer, const std::string& lines) {
  // An NDJSON line ends at "\n", an SSE event at "\n\n".
  const std::string_view terminator = options_.server_sent_events ? "\n\n" : "\n";
  std::size_t begin = 0;
  while (begin < lines.size()) {
    // Up to kChunkBytes, ending after a whole message when one ends in that span; only
    // a message longer than a chunk is split.
    std::size_t end = std::min(lines.size(), begin + kChunkBytes);
    const std::size_t last_end = lines.rfind(terminator, end - terminator.size());
    if (end < lines.size() && last_end != std::string::npos && last_end >= begin) {
      end = last_end + terminator.size();
    }
    at_message_boundary_ =
        begin == 0 || std::string_view(lines).substr(0, begin).ends_with(terminator);
    if (SendResult ready = WaitWritable(writer); ready != SendResult::kSent) return ready;
    if (!writer.Write(std::string_view(lines).substr(begin, end - begin))) {
      return SendResult::kBroken;
    }
    begin = end;
  }
  at_message_boundary_ = true;
  return SendResult::kSent;
}

WatchStream::SendResult WatchStream::WaitWritable(StreamWriter& writer) {
  const steady_clock::time_point deadline = steady_clock::now() + options_.stall_timeout;
  while (!writer.WaitWritable(std::min(kCheckInterval, Until(deadline)))) {
    if (stop_.stop_requested()) return SendResult::kStopped;
    if (writer.ClientGone()) return SendResult::kBroken;
    if (steady_clock::now() >= deadline) return SendResult::kStalled;
  }
  return SendResult::kSent;
}

bool WatchStream::Finish(StreamWriter& writer, const Json& line) {
  const std::string text = Line(line, std::nullopt, options_.server_sent_events);
  switch (Send(writer, text)) {
    case SendResult::kSent:
      return true;
    case SendResult::kStalled:
      return CutOffSlowReader(writer);
    case SendResult::kStopped:
    case SendResult::kBroken:
      return false;
  }
  return false;
}

bool WatchStream::CutOffSlowReader(StreamWriter& writer) {
  // A last word only between whole messages, and only if it cannot block.
  if (at_message_boundary_ && writer.WaitWritable(milliseconds(0))) {
    const Json error = ErrorJson(sent_index_,
                                 "slow reader: the client took no data for " +
                                     std::to_string(options_.stall_timeout.count()) +
                                     " ms; the stream is closed, watch again from index " +
                                     std::to_string(sent_index_),
                                 std::nullopt);
    writer.Write(Line(error, std::nullopt, options_.server_sent_events));
  }
  return false;  // the last chunk could block: drop the connection
}

}  // namespace roster::http
