// Which thread serves a connection's next request, judged from the bytes the event loop
// (http/event_loop.h) has read of it. Pure functions over bytes from the network, so
// the fuzzer drives them directly (tests/fuzz/http_params_fuzz.cc).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace roster::http {

// The most the event loop reads of a request before deciding; a request whose headers
// are longer goes to a worker thread.
inline constexpr std::size_t kReadAheadBytes = 4096;

// kServeOnLoop only for a complete bodiless GET of a blocking read (?index=N, N > 0)
// under /v1/kv/, /v1/catalog/, /v1/health/ or /v1/session/: a client re-arming its
// watch. Its handler parks it or answers from the local replica without waiting (a
// run that would wait for the leader goes to a worker: NoWaitingReadsScope in
// http/blocking.h). kNeedMore: the headers are not complete yet and fit in
// kReadAheadBytes. Anything else goes to a worker.
enum class NextRequest { kServeOnLoop, kHandToWorker, kNeedMore };
NextRequest ClassifyNextRequest(std::string_view received);

// A request the loop serves itself, read from the front of the received bytes: a
// request line `GET <target> HTTP/1.1` (or 1.0) and well-formed header lines. Views
// into the bytes it was peeked from.
struct PeekedRequest {
  std::string_view target;  // the raw request target, still percent-encoded
  std::string_view head;    // the request line and header lines, each ending in CRLF
  std::size_t length = 0;   // of the whole request (it has no body)
  bool close = false;       // Connection: close, or HTTP/1.0 without keep-alive

  // The first value of a header (name without regard to case), trimmed; "" if absent.
  std::string Header(std::string_view name) const;
};
// The request at the front of `received` when ClassifyNextRequest says kServeOnLoop,
// and its request line and headers are well formed; nullopt otherwise.
std::optional<PeekedRequest> PeekServableRequest(std::string_view received);

}  // namespace roster::http
