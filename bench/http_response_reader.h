// ResponseReader: an incremental reader of HTTP/1.1 responses on one keep-alive
// connection, for coord_bench's non-blocking watchers (bench/watcher_pool.h). Bytes go
// in as they arrive; the head, body pieces (chunked encoding removed) and the end of
// each response come out through a Handler, so a stream that never ends is read line
// by line as it comes.
//
// Enough of HTTP/1.1 for Roster's replies: a status line, headers, and a body framed by
// Content-Length or chunked transfer encoding (chunk extensions and trailers are
// skipped). A response with neither is read until the connection closes. Not
// thread-safe: one reader per connection, used by the thread that owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace roster::bench {

struct ResponseHead {
  int status = 0;
  bool chunked = false;
  std::optional<std::size_t> content_length;
  std::optional<std::uint64_t> consul_index;  // X-Consul-Index
  bool close = false;                         // "Connection: close"
};

class ResponseReader {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void OnHead(const ResponseHead& head) = 0;
    virtual void OnBody(std::string_view bytes) = 0;
    virtual void OnComplete() = 0;
  };

  // Reads what `bytes` completes; keeps the rest for the next call. InvalidArgument on
  // a reply that is not HTTP/1.x (the connection is then useless).
  Status Feed(std::string_view bytes, Handler& handler);
  // The peer closed: ends a close-delimited body (true), or says a response was cut.
  bool FinishAtEof(Handler& handler);
  // Between responses, with nothing buffered.
  bool idle() const { return phase_ == Phase::kHead && buffer_.empty(); }

 private:
  enum class Phase { kHead, kFixedBody, kChunkSize, kChunkData, kChunkEnd, kTrailer, kUntilEof };

  // Each consumes from buffer_; false when it needs more bytes.
  Result<bool> ReadHead(Handler& handler);
  Result<bool> ReadChunkSize();
  bool ReadTrailerLine(Handler& handler);
  void Complete(Handler& handler);

  Phase phase_ = Phase::kHead;
  std::string buffer_;
  std::size_t body_left_ = 0;  // of a fixed body or of the current chunk
};

// "HTTP/1.1 200 OK\r\nName: value\r\n..." (without the blank line) -> the head.
Result<ResponseHead> ParseResponseHead(std::string_view text);

}  // namespace roster::bench
