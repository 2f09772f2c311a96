#include "server/forked_encoder.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace roster::server {
namespace {

constexpr int kStallTimeoutMs = 60'000;

std::string ErrnoText() { return std::strerror(errno); }

// Everything below runs in the child: only async-signal-safe calls, the encoder, and
// the heap.
[[noreturn]] void RunChild(pid_t parent, int write_fd, const std::function<std::string()>& encode) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(3);  // the parent died before the line above
  // The loop and the HTTP workers come first on a busy machine; a snapshot can wait.
  if (nice(10) == -1) {
  }
  // Keep stdin, stdout and stderr (a crash message still reaches the log) and the pipe.
  if (write_fd > 3) close_range(3, static_cast<unsigned>(write_fd) - 1, 0);
  close_range(static_cast<unsigned>(write_fd) + 1, ~0U, 0);
  const std::string bytes = encode();
  const char* next = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = write(write_fd, next, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) _exit(2);
    next += written;
    left -= static_cast<std::size_t>(written);
  }
  _exit(0);
}

}  // namespace

Result<ForkedEncoder> ForkedEncoder::Start(const std::function<std::string()>& encode) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Unavailable("pipe: " + ErrnoText());
  // Fewer wake-ups for the reader: a 1 MiB pipe where the kernel allows it.
  fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const std::string error = ErrnoText();
    close(fds[0]);
    close(fds[1]);
    return Unavailable("fork: " + error);
  }
  if (pid == 0) {
    close(fds[0]);
    RunChild(parent, fds[1], encode);
  }
  close(fds[1]);
  return ForkedEncoder(pid, fds[0]);
}

ForkedEncoder::ForkedEncoder(ForkedEncoder&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), read_fd_(std::exchange(other.read_fd_, -1)) {}

ForkedEncoder::~ForkedEncoder() {
  if (pid_ > 0) kill(pid_, SIGKILL);
  Reap();
}

void ForkedEncoder::Reap() {
  if (read_fd_ >= 0) close(read_fd_);
  read_fd_ = -1;
  if (pid_ > 0) {
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

Status ForkedEncoder::Collect(const std::function<Status(std::string_view)>& sink) {
  if (pid_ <= 0) return Internal("the encoder child was already collected");
  std::string buffer(1 << 20, '\0');
  Status stopped;  // why reading ended early, if it did
  for (;;) {
    // A child stuck (say, on a lock another thread held at the fork) must not stall
    // snapshots forever.
    pollfd readable{.fd = read_fd_, .events = POLLIN, .revents = 0};
    const int ready = poll(&readable, 1, kStallTimeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      stopped = Internal("the encoder child wrote nothing for " +
                         std::to_string(kStallTimeoutMs / 1000) + " s");
      break;
    }
    const ssize_t got = read(read_fd_, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) stopped = IoError("reading the encoder child's pipe: " + ErrnoText());
    if (got > 0) stopped = sink(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
    if (got <= 0 || !stopped.ok()) break;
  }
  if (!stopped.ok()) kill(pid_, SIGKILL);
  close(read_fd_);
  read_fd_ = -1;
  int status = 0;
  pid_t reaped;
  while ((reaped = waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  const pid_t pid = std::exchange(pid_, -1);
  if (!stopped.ok()) return stopped;
  if (reaped != pid) return Internal("waiting for the encoder child: " + ErrnoText());
  if (WIFSIGNALED(status)) {
    return Internal("the encoder child was killed by signal " + std::to_string(WTERMSIG(status)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Internal("the encoder child exited with status " + std::to_string(WEXITSTATUS(status)));
  }
  return Status::Ok();
}

Result<std::string> ForkedEncoder::CollectAll() {
  std::string bytes;
  RETURN_IF_ERROR(Collect([&bytes](std::string_view piece) {
    bytes.append(piece);
    return Status::Ok();
  }));
  return bytes;
}

}  // namespace roster::server
