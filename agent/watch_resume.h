// WatchResumePoint: how far a watch stream relayed by an agent is complete, from the
// bytes a server sent, and the target that resumes it on another server
// (agent/watch_relay.h). Pure bookkeeping, no I/O, so that it can be tested and fuzzed
// apart from the relay.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace roster::agent {

// How far a relayed stream is complete, from the bytes a server sent. Not thread-safe.
class WatchResumePoint {
 public:
  // `start`: the index the stream starts after (its ?index, or the server's index when
  // it started from now).
  WatchResumePoint(bool server_sent_events, std::uint64_t start)
      : sse_(server_sent_events), complete_(start) {}

  // Takes what a server sent; returns the whole lines (events) among it and before it
  // that may be passed on now. After an error line, nothing more.
  std::string Take(std::string_view bytes);
  // Forgets a partial line (the connection that sent it broke).
  void DropPartial() { pending_.clear(); }

  // Every change through this index has been passed on.
  std::uint64_t complete() const { return complete_; }
  // An error line was passed on: the server ended the stream.
  bool ended() const { return ended_; }

 private:
  void See(std::string_view line);

  const bool sse_;
  std::uint64_t complete_;
  bool ended_ = false;
  std::string pending_;
};

// `target` with its index= parameter (if any) replaced by index=`index`.
std::string WatchTargetFrom(const std::string& target, std::uint64_t index);

}  // namespace roster::agent
