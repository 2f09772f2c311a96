// GET /v1/watch?prefix=P&index=N: Roster's streaming watch (DESIGN.md, "Streaming
// watch"; docs/api.md). The handler checks the request and the history, answers 410
// when the history no longer reaches back to N, and otherwise hands the connection to
// a WatchStream (watch_stream.h), which the event loop (event_loop.h) runs once the
// status line and headers are out.
//
//  - index=N (N > 0): every change after N. index absent or 0: from now (etcd's
//    convention; the X-Consul-Index header and the first progress line tell "now").
//    An SSE client's Last-Event-ID header stands for ?index when that is absent, so a
//    browser's EventSource resumes where it stopped.
//  - Accept: text/event-stream gives Server-Sent Events; otherwise NDJSON.
#include <memory>
#include <string>
#include <utility>

#include "http/handlers.h"
#include "http/watch_stream.h"

namespace roster::http {
namespace {

constexpr char kNdjsonContentType[] = "application/x-ndjson";
constexpr char kEventStreamContentType[] = "text/event-stream";

// The index to stream after, from ?index or else Last-Event-ID; 0 means "from now".
Result<store::Index> StartIndex(const ApiRequest& request) {
  if (std::optional<std::string_view> index = request.query.Get("index")) {
    std::optional<std::uint64_t> parsed = ParseUint64(*index);
    if (!parsed.has_value()) return InvalidArgument("Invalid index");
    return *parsed;
  }
  const std::string last_event_id = request.header("Last-Event-ID");
  if (last_event_id.empty()) return store::Index{0};
  std::optional<std::uint64_t> parsed = ParseUint64(last_event_id);
  if (!parsed.has_value())
    return InvalidArgument("Invalid Last-Event-ID: " + GoQuote(last_event_id));
  return *parsed;
}

struct HistoryBounds {
  store::Index compacted_index = 0;  // the oldest index a stream can start after
  store::Index last_index = 0;       // "now"
};

// 410: the history has dropped changes after `index`. JSON, like the stream's lines,
// so a client can read OldestIndex.
Reply GoneReply(store::Index index, const HistoryBounds& bounds, const ReadMeta& meta,
                bool pretty) {
  Json json = Json::object();
  json["Error"] = "index " + std::to_string(index) +
                  " is older than the event history this server keeps (oldest index: " +
                  std::to_string(bounds.compacted_index) +
                  "); re-read the keys and watch again from the index of that read";
  json["OldestIndex"] = bounds.compacted_index;
  json["Index"] = bounds.last_index;
  Reply reply = JsonReply(json, pretty);
  reply.status = 410;
  AddReadHeaders(meta, bounds.last_index, reply);
  return reply;
}

WatchStream::Options StreamOptions(const HttpOptions& options, std::string prefix,
                                   store::Index after_index, bool sse) {
  WatchStream::Options stream;
  stream.prefix = std::move(prefix);
  stream.after_index = after_index;
  stream.server_sent_events = sse;
  stream.progress_interval = options.watch_progress_interval_ms;
  stream.stall_timeout = options.watch_stall_timeout_ms;
  stream.batch_events_max = options.watch_batch_events_max;
  return stream;
}

}  // namespace

Reply HandleWatch(const HandlerContext& context, const ApiRequest& request) {
  Result<Consistency> consistency = ParseConsistency(request.query);
  if (!consistency.ok()) return StatusReply(consistency.status());
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  std::string prefix(request.query.Get("prefix").value_or(""));
  if (prefix.size() > context.options.key_bytes_max) {
    return TextReply(400, "Prefix too long: " + std::to_string(prefix.size()) +
                              " bytes, the limit is " +
                              std::to_string(context.options.key_bytes_max) + " bytes");
  }
  Result<store::Index> start = StartIndex(request);
  if (!start.ok()) return StatusReply(start.status());
  const bool pretty = request.query.Has("pretty");
  const bool sse = request.header("Accept").find(kEventStreamContentType) != std::string::npos;

  HistoryBounds bounds;
  Result<ReadMeta> meta = context.backend.Read(*consistency, [&](const store::Store& store) {
    bounds.compacted_index = store.history().compacted_index();
    bounds.last_index = store.history().last_index();
  });
  if (!meta.ok()) return StatusReply(meta.status());
  if (*start != 0 && *start < bounds.compacted_index) {
    return GoneReply(*start, bounds, *meta, pretty);
  }

  const store::Index after_index = *start == 0 ? bounds.last_index : *start;
  Reply reply = EmptyReply(200);
  reply.content_type = sse ? kEventStreamContentType : kNdjsonContentType;
  AddReadHeaders(*meta, bounds.last_index, reply);
  if (sse) reply.headers.emplace_back("Cache-Control", "no-cache");
  reply.parked_stream = std::make_shared<WatchStream>(
      context.backend, StreamOptions(context.options, std::move(prefix), after_index, sse));
  return reply;
}

}  // namespace roster::http
