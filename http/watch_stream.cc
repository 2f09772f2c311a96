#include "http/watch_stream.h"

#include <utility>

#include "http/handlers.h"

namespace roster::http {

WatchStream::WatchStream(Backend& backend, Options options)
    : backend_(backend),
      options_(std::move(options)),
      // Registered before the first read: a write between a read and the wait still fires.
      watch_(backend_.NewWatch({store::WatchKey::Prefix(store::Table::kKvs, options_.prefix)})),
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

WatchStream::Next WatchStream::Produce(bool progress_due, BatchCache* cache) {
  if (!more_ && !progress_due) return {};
  const BatchCache::Key key{options_.prefix, cursor_, options_.server_sent_events,
                            options_.batch_events_max};
  Result<Batch> batch = Batch{};
  auto cached = cache != nullptr ? cache->batches_.find(key) : decltype(cache->batches_.end()){};
  if (cache != nullptr && cached != cache->batches_.end()) {
    batch = cached->second;
  } else {
    batch = ReadBatch();
    if (batch.ok() && cache != nullptr) cache->batches_.emplace(key, *batch);
  }
  if (!batch.ok()) {
    const std::string error = "reading the event history failed: " + batch.status().message();
    return Final(ErrorJson(sent_index_, error, std::nullopt));
  }
  if (batch->gone) {
    const std::string error = "the event history no longer holds the changes after index " +
                              std::to_string(sent_index_) +
                              "; re-read the keys and watch again from their index";
    return Final(ErrorJson(sent_index_, error, batch->compacted_index));
  }
  Next next;
  next.lines = std::move(batch->lines);
  cursor_ = batch->through_index;
  more_ = batch->through_index < batch->last_index;
  if (!more_ && (!announced_ || (next.lines.empty() && progress_due))) {
    next.lines += Line(ProgressJson(cursor_), cursor_, options_.server_sent_events);
    announced_ = true;
  }
  return next;
}

WatchStream::Next WatchStream::Final(const Json& line) const {
  return Next{Line(line, std::nullopt, options_.server_sent_events), /*end=*/true};
}

std::string WatchStream::SlowReaderLine() const {
  const Json error = ErrorJson(sent_index_,
                               "slow reader: the client took no data for " +
                                   std::to_string(options_.stall_timeout.count()) +
                                   " ms; the stream is closed, watch again from index " +
                                   std::to_string(sent_index_),
                               std::nullopt);
  return Line(error, std::nullopt, options_.server_sent_events);
}

Result<WatchStream::Batch> WatchStream::ReadBatch() const {
  Batch batch;
  std::vector<store::KvEvent> events;
  // The history is this server's own; reading it needs no leader (the handler's first
  // read honoured the client's consistency mode).
  Result<ReadMeta> meta = backend_.Read(Consistency::kStale, [&](const store::Store& store) {
    const store::EventHistory& history = store.history();
    store::HistoryRead read = history.Read(cursor_, options_.prefix, options_.batch_events_max);
    batch.gone = read.gone;
    batch.compacted_index = history.compacted_index();
    events = std::move(read.events);
    batch.through_index = read.through_index;
    batch.last_index = history.last_index();
  });
  if (!meta.ok()) return meta.status();
  batch.lines = RenderEvents(events);  // with the store no longer held
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

}  // namespace roster::http
