// ForkedEncoder: runs an encoding function in a forked child process, so the caller's
// thread goes on changing the data while the child encodes a frozen image of it.
//
// Why: the Raft loop is the store's only writer, and a snapshot must be an exact image
// of the store at one applied index. Encoding 100k keys takes tens of milliseconds
// (hundreds under load), and doing it on the loop stalls every write for that long
// (bench/README.md, kv-vs-etcd). fork() gives the child a copy-on-write image of the
// whole address space in about a millisecond: the loop pays for the page tables and
// for the pages it writes while the child lives, not for the encoding. Redis takes its
// RDB snapshots the same way.
//
// Rules the child keeps, because other threads of the parent may have held locks at
// the fork: it only runs `encode` (which must touch nothing but the data it encodes
// and the heap; glibc's and the sanitizers' allocators are fork-safe) and write(2)s
// the bytes into a pipe, then _exit()s. It closes every other inherited descriptor
// first, so a listening socket is never held open by a child after the parent dies,
// and it dies with the parent (PR_SET_PDEATHSIG). It runs at nice 10, below the loop. A child that writes nothing for a
// minute is killed, failing that one snapshot.
//
// Thread-safety: Start on the thread that owns the data (nothing may change it during
// the call); Collect on any one thread, once.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "base/status.h"

namespace roster::server {

class ForkedEncoder {
 public:
  // Forks a child that runs encode() and streams the result back. Unavailable when
  // the process cannot fork (the caller then encodes in place).
  static Result<ForkedEncoder> Start(const std::function<std::string()>& encode);

  ForkedEncoder(ForkedEncoder&& other) noexcept;
  ForkedEncoder& operator=(ForkedEncoder&&) = delete;
  ForkedEncoder(const ForkedEncoder&) = delete;
  ~ForkedEncoder();  // reaps the child if Collect was never called

  // Reads the child's bytes to the end, handing them to `sink` in pieces as they come
  // (so they are never all in this process's memory at once), and reaps the child.
  // Internal if the child did not exit cleanly (it crashed, or could not write the
  // pipe); the sink's first error stops the child and is returned.
  Status Collect(const std::function<Status(std::string_view)>& sink);
  // Collect into one string.
  Result<std::string> CollectAll();

  pid_t pid_for_test() const { return pid_; }

 private:
  ForkedEncoder(pid_t pid, int read_fd) : pid_(pid), read_fd_(read_fd) {}
  void Reap();

  pid_t pid_ = -1;
  int read_fd_ = -1;
};

}  // namespace roster::server
