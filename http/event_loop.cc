#include "http/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cctype>
#include <cstring>
#include <exception>
#include <map>

#include "base/check.h"
#include "base/logging.h"
#include "http/watch_stream.h"

namespace roster::http {
namespace {

using std::chrono::milliseconds;

// How long a connection's next request may wait in the pool's queue before the pool
// starts one more thread (GrowingTaskQueue::GrowIfStarved).
constexpr milliseconds kPoolStarvedAfter{10};
constexpr std::size_t kEventsPerWait = 256;

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string StatusAndHeaders(const Reply& reply, bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " ";
  out += ReasonPhrase(reply.status);
  out += "\r\n";
  for (const auto& [name, value] : reply.headers) out += name + ": " + value + "\r\n";
  if (!reply.content_type.empty()) out += "Content-Type: " + reply.content_type + "\r\n";
  out += close ? "Connection: close\r\n" : "Connection: keep-alive\r\n";
  return out;
}

}  // namespace

std::string FrameReply(const Reply& reply, bool head_only, bool close) {
  std::string out = StatusAndHeaders(reply, close);
  out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n";
  if (!head_only) out += reply.body;
  return out;
}

std::string FrameChunkedHead(const Reply& reply, bool close) {
  return StatusAndHeaders(reply, close) + "Transfer-Encoding: chunked\r\n\r\n";
}

std::string FrameChunk(std::string_view data) {
  char size[20];
  const int length = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  std::string out(size, static_cast<std::size_t>(length));
  out += data;
  out += "\r\n";
  return out;
}

Connection::Connection(int fd, std::string peer_ip, int peer_port, std::function<void()> on_close)
    : fd_(fd), peer_ip_(std::move(peer_ip)), peer_port_(peer_port), on_close_(std::move(on_close)) {}

Connection::~Connection() {
  ::shutdown(fd_, SHUT_RDWR);
  ::close(fd_);
  if (on_close_) on_close_();
}

// One held connection.
struct EventLoop::Entry {
  enum class State {
    kWaiting,  // a read waits for its watch or deadline; a stream for a write or a progress line
    kRunning,  // a read runs on a worker
    kWriting,  // `out` waits for room in the socket
    kIdle,     // the reply is out; waiting for the next request
  };
  std::uint64_t id = 0;
  std::shared_ptr<Connection> connection;
  Parking parking;
  State state = State::kWaiting;
  bool fired = false;  // the watch fired while the entry could not act on it
  std::uint32_t events = 0;  // what epoll watches for now
  Clock::time_point timer = Clock::time_point::max();
  std::string out;  // bytes to write, from out_sent on
  std::size_t out_sent = 0;
  Clock::time_point write_since;  // when the client last took bytes of `out`, or it was filled
  bool ends = false;              // a stream: the last chunk is in `out`
  Clock::time_point last_line;    // a stream: when its last lines went out

  ParkedRead* read() const { return parking.reply.parked_read.get(); }
  WatchStream* stream() const { return parking.reply.parked_stream.get(); }
};

EventLoop::EventLoop(const HttpOptions& options, GrowingTaskQueue& pool, Resume resume,
                     ServeHere serve_here)
    : options_(options),
      pool_(pool),
      resume_(std::move(resume)),
      serve_here_(std::move(serve_here)) {}

EventLoop::~EventLoop() {
  Stop();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status EventLoop::Start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return IoError(std::string("epoll_create1: ") + std::strerror(errno));
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return IoError(std::string("eventfd: ") + std::strerror(errno));
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = 0;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0) {
    return IoError(std::string("epoll_ctl: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void EventLoop::Stop() {
  Notify([](Inbox& inbox) { inbox.stop = true; });
  if (thread_.joinable()) thread_.join();
}

void EventLoop::Park(std::shared_ptr<Connection> connection, Parking parking) {
  Notify([&](Inbox& inbox) {
    if (!stopped_) inbox.parked.emplace_back(std::move(connection), std::move(parking));
  });
  // Stopped: the connection (and the watch in the parking) go here, with no lock held.
}

void EventLoop::Notify(const std::function<void(Inbox&)>& add) {
  std::lock_guard<std::mutex> lock(inbox_mutex_);
  add(inbox_);
  if (wake_pending_ || wake_fd_ < 0) return;
  wake_pending_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof(one));
}

void EventLoop::Run() {
  std::array<epoll_event, kEventsPerWait> events{};
  while (true) {
    Clock::time_point wake = timers_.empty() ? Clock::time_point::max() : timers_.begin()->first;
    if (std::optional<Clock::time_point> pool_check = pool_.GrowIfStarved(kPoolStarvedAfter)) {
      wake = std::min(wake, *pool_check);
    }
    int timeout_ms = -1;
    if (!to_run_.empty()) {
      timeout_ms = 0;
    } else if (wake != Clock::time_point::max()) {
      const auto left = std::chrono::ceil<milliseconds>(wake - Clock::now()).count();
      timeout_ms = static_cast<int>(std::clamp<std::int64_t>(left, 0, INT_MAX));
    }
    const int ready = epoll_wait(epoll_fd_, events.data(), events.size(), timeout_ms);
    if (ready < 0 && errno != EINTR) {
      LOG(ERROR) << "epoll_wait: " << std::strerror(errno);
    }
    batch_cache_.Clear();  // a write may have come since the last round
    for (int i = 0; i < ready; ++i) {
      if (events[i].data.u64 == 0) {
        std::uint64_t count;
        [[maybe_unused]] const ssize_t got = ::read(wake_fd_, &count, sizeof(count));
        continue;
      }
      OnIo(events[i].data.u64, events[i].events);
    }
    Inbox inbox;
    {
      std::lock_guard<std::mutex> lock(inbox_mutex_);
      std::swap(inbox, inbox_);
      wake_pending_ = false;
      if (inbox.stop) stopped_ = true;
    }
    for (auto& [connection, parking] : inbox.parked) Admit(std::move(connection), std::move(parking));
    for (std::uint64_t id : inbox.fired) OnFired(id);
    for (auto& [ids, outcome] : inbox.runs) Deliver(ids, outcome);
    const Clock::time_point now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      const std::uint64_t id = timers_.begin()->second;
      timers_.erase(timers_.begin());
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;
      it->second->timer = Clock::time_point::max();
      OnTimer(*it->second, now);
    }
    if (inbox.stop) {
      Shutdown();
      return;
    }
    RunReads();
  }
}

void EventLoop::Admit(std::shared_ptr<Connection> connection, Parking parking) {
  auto owned = std::make_unique<Entry>();
  Entry& entry = *owned;
  entry.id = next_id_++;
  entry.connection = std::move(connection);
  entry.parking = std::move(parking);
  epoll_event event{};
  event.events = EPOLLRDHUP;
  event.data.u64 = entry.id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, entry.connection->fd(), &event) != 0) {
    LOG(WARNING) << "cannot hold a parked connection: epoll_ctl: " << std::strerror(errno);
    return;  // closes it
  }
  entry.events = EPOLLRDHUP;
  entries_.emplace(entry.id, std::move(owned));
  StartParked(entry);
}

void EventLoop::StartParked(Entry& entry) {
  const std::uint64_t id = entry.id;
  entry.state = Entry::State::kWaiting;
  entry.fired = false;
  entry.ends = false;
  entry.out.clear();
  entry.out_sent = 0;
  SetEvents(entry, EPOLLRDHUP);
  Watch& watch = entry.read() != nullptr ? entry.read()->watch() : entry.stream()->watch();
  watch.OnFire([this, id] { Notify([id](Inbox& inbox) { inbox.fired.push_back(id); }); });
  if (ParkedRead* read = entry.read()) {
    SetTimer(entry, read->deadline());
    if (read->due_now()) to_run_.push_back(id);
    return;
  }
  // A stream: its status line and headers, then its first lines.
  entry.out = FrameChunkedHead(entry.parking.reply, entry.parking.close_after);
  entry.last_line = Clock::now();
  entry.state = Entry::State::kWriting;
  entry.write_since = Clock::now();
  if (Flush(entry)) Pump(entry);
}

void EventLoop::OnFired(std::uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;  // answered or closed since
  Entry& entry = *it->second;
  if (entry.read() == nullptr && entry.stream() == nullptr) return;  // its reply is out
  if (entry.read() != nullptr) {
    if (entry.state == Entry::State::kWaiting) {
      to_run_.push_back(id);
    } else if (entry.state == Entry::State::kRunning) {
      entry.fired = true;
    }
    return;
  }
  entry.fired = true;
  if (entry.state == Entry::State::kWaiting) Pump(entry);
}

void EventLoop::OnIo(std::uint64_t id, std::uint32_t events) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& entry = *it->second;
  if (entry.state == Entry::State::kIdle && (events & EPOLLIN) != 0) {
    OnReadable(entry);
    return;
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    Close(entry);  // the client went away
    return;
  }
  if ((events & EPOLLOUT) != 0 && entry.state == Entry::State::kWriting && Flush(entry) &&
      entry.stream() != nullptr && entry.state == Entry::State::kWaiting) {
    Pump(entry);
  }
}

void EventLoop::OnTimer(Entry& entry, Clock::time_point now) {
  switch (entry.state) {
    case Entry::State::kWaiting:
      if (entry.read() != nullptr) {
        to_run_.push_back(entry.id);  // the deadline: the reply goes out whatever its index
      } else {
        Pump(entry);  // a progress line is due
      }
      return;
    case Entry::State::kWriting:
      if (WatchStream* stream = entry.stream(); stream != nullptr && entry.out_sent == 0) {
        // A last word between whole chunks, only if the socket takes it at once.
        const std::string line = FrameChunk(stream->SlowReaderLine());
        [[maybe_unused]] const ssize_t sent = ::send(entry.connection->fd(), line.data(),
                                                     line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      }
      LOG(INFO) << "HTTP: closing a connection from " << entry.connection->peer_ip()
                << " that took no data for "
                << std::chrono::duration_cast<milliseconds>(now - entry.write_since).count()
                << " ms";
      Close(entry);
      return;
    case Entry::State::kIdle:
      Close(entry);  // the keep-alive timeout
      return;
    case Entry::State::kRunning:
      return;
  }
}

std::map<std::string_view, std::vector<std::uint64_t>> EventLoop::TakeReadsToRun() {
  std::vector<std::uint64_t> ids;
  ids.swap(to_run_);
  // Each key once: the members of a group read the same thing.
  std::map<std::string_view, std::vector<std::uint64_t>> groups;
  for (std::uint64_t id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second->read() == nullptr ||
        it->second->state != Entry::State::kWaiting) {
      continue;
    }
    std::vector<std::uint64_t>& members = groups[it->second->read()->read_key()];
    if (std::find(members.begin(), members.end(), id) == members.end()) members.push_back(id);
  }
  return groups;
}

void EventLoop::RunReads() {
  if (to_run_.empty()) return;
  for (auto& [key, members] : TakeReadsToRun()) {
    std::shared_ptr<ParkedRead> read = entries_.at(members.front())->parking.reply.parked_read;
    if (read->runs_locally()) {
      Deliver(members, read->Run());
      continue;
    }
    for (std::uint64_t id : members) {
      Entry& entry = *entries_.at(id);
      entry.state = Entry::State::kRunning;
      entry.fired = false;
    }
    pool_.Post([this, read, members = std::move(members)]() mutable {
      ParkedRead::Outcome outcome = read->Run();
      Notify([&](Inbox& inbox) { inbox.runs.emplace_back(std::move(members), std::move(outcome)); });
    });
  }
}

void EventLoop::Deliver(const std::vector<std::uint64_t>& ids, const ParkedRead::Outcome& outcome) {
  const Clock::time_point now = Clock::now();
  std::string framed;  // the reply for the usual case: keep-alive, not HEAD
  for (std::uint64_t id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;
    Entry& entry = *it->second;
    if (entry.state != Entry::State::kWaiting && entry.state != Entry::State::kRunning) continue;
    ParkedRead& read = *entry.read();
    if (!read.Answers(outcome) && now < read.deadline()) {
      entry.state = Entry::State::kWaiting;
      if (entry.fired) to_run_.push_back(id);  // a write came during the run
      entry.fired = false;
      continue;
    }
    if (entry.parking.head_only || entry.parking.close_after) {
      entry.out = FrameReply(outcome.reply, entry.parking.head_only, entry.parking.close_after);
    } else {
      if (framed.empty()) framed = FrameReply(outcome.reply, false, false);
      entry.out = framed;
    }
    entry.out_sent = 0;
    entry.state = Entry::State::kWriting;
    entry.write_since = now;
    Flush(entry);
  }
}

void EventLoop::Pump(Entry& entry) {
  WatchStream& stream = *entry.stream();
  while (entry.out.empty() && !entry.ends) {
    const Clock::time_point now = Clock::now();
    if (entry.fired) stream.MarkChanged();
    entry.fired = false;
    const bool progress_due = now - entry.last_line >= stream.options().progress_interval;
    WatchStream::Next next = stream.Produce(progress_due, &batch_cache_);
    if (next.lines.empty()) {
      entry.state = Entry::State::kWaiting;
      SetTimer(entry, entry.last_line + stream.options().progress_interval);
      return;
    }
    entry.out = FrameChunk(next.lines);
    if (next.end) {
      entry.out += kLastChunk;
      entry.ends = true;
    }
    entry.out_sent = 0;
    entry.state = Entry::State::kWriting;
    entry.write_since = now;
    if (!Flush(entry)) return;
  }
}

bool EventLoop::Flush(Entry& entry) {
  const std::uint64_t id = entry.id;  // AfterWritten may close the entry
  const int fd = entry.connection->fd();
  bool progressed = false;
  while (entry.out_sent < entry.out.size()) {
    const ssize_t sent = ::send(fd, entry.out.data() + entry.out_sent,
                                entry.out.size() - entry.out_sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent > 0) {
      entry.out_sent += static_cast<std::size_t>(sent);
      progressed = true;
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The stall and write time-outs count from the last time the client took bytes.
      if (progressed) entry.write_since = Clock::now();
      SetEvents(entry, EPOLLRDHUP | EPOLLOUT);
      const milliseconds limit = entry.stream() != nullptr ? entry.stream()->options().stall_timeout
                                                           : options_.write_timeout_ms;
      SetTimer(entry, entry.write_since + limit);
      return true;
    }
    Close(entry);  // the connection broke
    return false;
  }
  entry.out.clear();
  entry.out_sent = 0;
  AfterWritten(entry);
  return entries_.count(id) != 0;
}

void EventLoop::AfterWritten(Entry& entry) {
  if (WatchStream* stream = entry.stream(); stream != nullptr && !entry.ends) {
    stream->Sent();
    entry.last_line = Clock::now();
    entry.state = Entry::State::kWaiting;
    SetEvents(entry, EPOLLRDHUP);
    SetTimer(entry, entry.last_line + stream->options().progress_interval);
    return;  // the caller pumps the next lines
  }
  if (entry.parking.close_after) {
    Close(entry);
    return;
  }
  Idle(entry);
}

void EventLoop::Idle(Entry& entry) {
  entry.state = Entry::State::kIdle;
  // The watch and what the reply held go now; the connection waits for a request.
  entry.parking.reply = Reply{};
  if (!entry.connection->pending.empty()) {
    ResumeRequest(entry);  // a pipelined request is here already: a worker serves it
    return;
  }
  SetEvents(entry, EPOLLIN | EPOLLRDHUP);
  SetTimer(entry, Clock::now() + options_.keep_alive_timeout_ms);
}

void EventLoop::OnReadable(Entry& entry) {
  Connection& connection = *entry.connection;
  if (connection.pending.size() < kReadAheadBytes) {
    char buffer[kReadAheadBytes];
    const ssize_t got = ::recv(connection.fd(), buffer, kReadAheadBytes - connection.pending.size(),
                               MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      Close(entry);  // the client closed between requests, or the connection broke
      return;
    }
    if (got > 0) connection.pending.append(buffer, static_cast<std::size_t>(got));
  }
  if (std::optional<PeekedRequest> request = PeekServableRequest(connection.pending)) {
    ServeOnLoop(entry, *request);
  } else if (ClassifyNextRequest(connection.pending) == NextRequest::kHandToWorker) {
    ResumeRequest(entry);
  }  // else kNeedMore: the keep-alive timer still runs
}

void EventLoop::ServeOnLoop(Entry& entry, const PeekedRequest& request) {
  std::shared_ptr<Connection> connection = entry.connection;
  Served served = serve_here_(*connection, request);
  if (served.parking.has_value()) {
    entry.parking = std::move(*served.parking);
    StartParked(entry);
    return;
  }
  entry.parking.close_after = served.close;
  entry.out = std::move(served.response);
  entry.out_sent = 0;
  entry.state = Entry::State::kWriting;
  entry.write_since = Clock::now();
  Flush(entry);
}

void EventLoop::ResumeRequest(Entry& entry) {
  std::shared_ptr<Connection> connection = entry.connection;
  Close(entry);  // the entry only: `connection` keeps the socket open
  pool_.Post([resume = resume_, connection = std::move(connection)] { resume(connection); });
}

void EventLoop::Close(Entry& entry) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, entry.connection->fd(), nullptr);
  if (entry.timer != Clock::time_point::max()) timers_.erase({entry.timer, entry.id});
  entries_.erase(entry.id);  // the watch and, unless someone else holds it, the connection
}

void EventLoop::SetEvents(Entry& entry, std::uint32_t events) {
  if (entry.events == events) return;
  epoll_event event{};
  event.events = events;
  event.data.u64 = entry.id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, entry.connection->fd(), &event);
  entry.events = events;
}

void EventLoop::SetTimer(Entry& entry, Clock::time_point at) {
  if (entry.timer != Clock::time_point::max()) timers_.erase({entry.timer, entry.id});
  entry.timer = at;
  if (at != Clock::time_point::max()) timers_.emplace(at, entry.id);
}

void EventLoop::Shutdown() {
  // Parked reads answer with their current result, one run per key; a read running on
  // a worker is dropped (its result would come after the loop is gone).
  for (auto& [id, entry] : entries_) {
    if (entry->read() != nullptr && entry->state == Entry::State::kWaiting) to_run_.push_back(id);
  }
  for (auto& [key, members] : TakeReadsToRun()) {
    ParkedRead::Outcome outcome = entries_.at(members.front())->read()->Run();
    for (std::uint64_t id : members) {
      Entry& entry = *entries_.at(id);
      entry.out = FrameReply(outcome.reply, entry.parking.head_only, /*close=*/true);
      entry.out_sent = 0;
    }
  }
  for (auto& [id, entry] : entries_) {
    // A stream ends cleanly when nothing of it is left unwritten.
    if (entry->stream() != nullptr && entry->out.empty() && !entry->ends) entry->out = kLastChunk;
    if (!entry->out.empty()) {
      // Best effort: the socket takes it at once or the client goes without.
      [[maybe_unused]] const ssize_t sent =
          ::send(entry->connection->fd(), entry->out.data() + entry->out_sent,
                 entry->out.size() - entry->out_sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, entry->connection->fd(), nullptr);
  }
  entries_.clear();
  timers_.clear();
  Inbox late;  // parked after the stop: closed here, with no lock held (watches take theirs)
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    std::swap(late, inbox_);
  }
}

}  // namespace roster::http
