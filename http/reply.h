// Reply: what an endpoint handler answers, before it is framed as HTTP/1.1.
//
// Most replies are finished when the handler returns; the server writes them at once.
// Two kinds wait on the store instead, and are finished by the event loop
// (http/event_loop.h) without holding a thread while they wait:
//  - a blocking query whose result is not newer than the client's index yet
//    (parked_read, http/blocking.h);
//  - a watch stream (parked_stream, http/watch_stream.h): status and headers now, the
//    body line by line as writes come.
// A third kind comes from elsewhere piece by piece (streamed_body: an agent relaying a
// server's watch stream); the worker thread that served the request writes it as a
// chunked body as the pieces come.
// Thread-safety: a plain value.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace roster::http {

class ParkedRead;
class WatchStream;

// A body produced elsewhere. Next and Cancel may be called from different threads.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Blocks until the next piece; false when the body has ended (or was cancelled).
  virtual bool Next(std::string* piece) = 0;
  // The client went away or the server is stopping: stop producing; Next returns false.
  virtual void Cancel() = 0;
};

struct Reply {
  int status = 200;
  std::string content_type;  // empty: none (an empty 404 or 200)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // At most one is set; then status, content_type and headers are unused for a parked
  // read (its run makes the reply) and head the stream's chunked body.
  std::shared_ptr<ParkedRead> parked_read;
  std::shared_ptr<WatchStream> parked_stream;
  // Set instead of body: status, content_type and headers head it (never parked).
  std::shared_ptr<BodyStream> streamed_body;

  bool parked() const { return parked_read != nullptr || parked_stream != nullptr; }
};

}  // namespace roster::http
