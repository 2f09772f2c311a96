// EventLoop: one epoll thread that holds the connections whose reply waits on the store,
// so that no thread waits with them (docs/design/http.md, "Parked replies").
//
// A worker thread serves a connection's requests (http/connection.h). When a handler's
// reply is parked (http/reply.h: a blocking query whose result is not new yet, or a
// watch stream), the worker hands the connection here and goes back to the pool. The
// loop then:
//  - runs a parked read again each time its watch fires: on this thread when the read
//    is local (stale, or default on the leader), else on a worker (a follower's
//    ReadIndex); parked reads with equal keys (http/blocking.h, ReadKey) share one run
//    and one rendered reply. Once the result passes the client's index, or at the
//    deadline, or when the server stops, it writes the reply;
//  - writes a watch stream's status line, headers and chunks as writes come, cutting off
//    a client that takes nothing for the stall timeout;
//  - after a reply, waits for the connection's next request (up to the keep-alive
//    timeout) and hands the connection back to a worker to serve it;
//  - closes a connection whose client hangs up while it waits.
// Every write is non-blocking; a reply the socket cannot take at once waits for
// EPOLLOUT, up to the write timeout.
// Thread-safety: Park and Stop may be called from any thread; everything else runs on
// the loop's thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "http/blocking.h"
#include "http/next_request.h"
#include "http/options.h"
#include "http/reply.h"
#include "http/task_queue.h"
#include "http/watch_stream.h"

namespace roster::http {

// A client connection once it can leave the thread that accepted it. The last owner
// (a worker or the event loop) closes it: the destructor shuts the socket down, closes
// it and runs on_close (which gives back its place under the per-client limit).
class Connection {
 public:
  Connection(int fd, std::string peer_ip, int peer_port, std::function<void()> on_close);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }
  const std::string& peer_ip() const { return peer_ip_; }
  int peer_port() const { return peer_port_; }

  std::string pending;     // bytes received and not yet parsed (a pipelined request)
  std::size_t served = 0;  // requests served on it so far

 private:
  const int fd_;
  const std::string peer_ip_;
  const int peer_port_;
  std::function<void()> on_close_;
};

// A parked reply and how its connection goes on after it.
struct Parking {
  Reply reply;               // parked_read or parked_stream is set
  bool head_only = false;    // a HEAD request: the reply has no body
  bool close_after = false;  // the client asked to close, or it was its last request
};

// HTTP/1.1 framing of what the loop writes itself.
std::string FrameReply(const Reply& reply, bool head_only, bool close);
// The status line and headers of a chunked reply.
std::string FrameChunkedHead(const Reply& reply, bool close);
std::string FrameChunk(std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

class EventLoop {
 public:
  using Resume = std::function<void(std::shared_ptr<Connection>)>;
  // What serving one request on the loop's thread gave: a parked reply, or the bytes of
  // a finished one.
  struct Served {
    std::optional<Parking> parking;
    std::string response;
    bool close = false;  // after the response
  };
  using ServeHere = std::function<Served(Connection&, const PeekedRequest&)>;
  // `resume` serves a connection's next request; the loop posts it to `pool`.
  // `serve_here` serves one the loop peeked (PeekServableRequest) on the loop's thread.
  EventLoop(const HttpOptions& options, GrowingTaskQueue& pool, Resume resume,
            ServeHere serve_here);
  ~EventLoop();  // Stop()s
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Status Start();
  // Takes the connection; its reply is parking.reply. Closes it when the loop has
  // stopped.
  void Park(std::shared_ptr<Connection> connection, Parking parking);
  // Answers the parked reads with their current result, ends the streams, closes every
  // connection the loop holds and ends its thread. Idempotent.
  void Stop();

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry;
  struct Inbox {
    std::vector<std::pair<std::shared_ptr<Connection>, Parking>> parked;
    std::vector<std::uint64_t> fired;
    std::vector<std::pair<std::vector<std::uint64_t>, ParkedRead::Outcome>> runs;
    bool stop = false;
  };

  void Run();
  void Notify(const std::function<void(Inbox&)>& add);
  void Admit(std::shared_ptr<Connection> connection, Parking parking);
  // Starts the entry's parked reply (parking.reply), on a connection it already holds.
  void StartParked(Entry& entry);
  void OnFired(std::uint64_t id);
  void OnIo(std::uint64_t id, std::uint32_t events);
  void OnTimer(Entry& entry, Clock::time_point now);
  // Runs the fired and expired parked reads, one run per key.
  void RunReads();
  // The reads of to_run_ still waiting, each once, by read key; empties to_run_.
  std::map<std::string_view, std::vector<std::uint64_t>> TakeReadsToRun();
  void Deliver(const std::vector<std::uint64_t>& ids, const ParkedRead::Outcome& outcome);
  void Pump(Entry& entry);
  // Writes what the entry has to write; false when it closed the connection.
  bool Flush(Entry& entry);
  void AfterWritten(Entry& entry);
  void Idle(Entry& entry);
  void ResumeRequest(Entry& entry);
  void OnReadable(Entry& entry);
  void ServeOnLoop(Entry& entry, const PeekedRequest& request);
  void Close(Entry& entry);
  void SetEvents(Entry& entry, std::uint32_t events);
  void SetTimer(Entry& entry, Clock::time_point at);
  void Shutdown();

  const HttpOptions options_;
  GrowingTaskQueue& pool_;
  const Resume resume_;
  const ServeHere serve_here_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;

  mutable std::mutex inbox_mutex_;
  Inbox inbox_;               // guarded by inbox_mutex_
  bool wake_pending_ = false;  // guarded by inbox_mutex_
  bool stopped_ = false;       // guarded by inbox_mutex_: Park closes at once

  // The loop thread's own.
  std::unordered_map<std::uint64_t, std::unique_ptr<Entry>> entries_;
  std::set<std::pair<Clock::time_point, std::uint64_t>> timers_;
  std::vector<std::uint64_t> to_run_;  // parked reads to run this round
  WatchStream::BatchCache batch_cache_;  // streams' batches, this round
  std::uint64_t next_id_ = 1;          // 0 is the wake descriptor's
};

}  // namespace roster::http
