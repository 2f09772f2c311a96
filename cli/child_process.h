// The child command of `roster lock`, `roster elect` and `roster watch`, and the main
// thread's wait for whatever happens next: a signal to us, the child's exit, or a wake-up
// from a background thread (the lock was lost, the acquire loop finished).
//
// Signals are taken synchronously: MainWaiter blocks SIGINT, SIGTERM, SIGHUP and SIGCHLD
// and reads them from a signalfd, so no handler runs at an arbitrary point. Threads
// inherit the blocked mask, which is why the waiter must exist before any thread does.
// The child gets default dispositions and an empty mask, and by default dies with us
// (PR_SET_PDEATHSIG, SIGTERM): if `roster lock` is killed, its child must not keep
// working unprotected after the session expires.
//
// Thread-safety: MainWaiter::Wake() from any thread; everything else from the main
// thread. Linux only (signalfd, eventfd, prctl).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace roster::cli {

class MainWaiter {
 public:
  // REQUIRES: the main thread, before it starts any other thread.
  static Result<std::unique_ptr<MainWaiter>> Create();
  ~MainWaiter();
  MainWaiter(const MainWaiter&) = delete;
  MainWaiter& operator=(const MainWaiter&) = delete;

  // Makes a Wait() in progress (or the next one) return. Any thread.
  void Wake();

  struct Event {
    int signal = 0;              // 0: woken, or the deadline passed
    bool from_terminal = false;  // sent by the kernel (Ctrl-C), so also to the child
  };
  Event Wait(std::optional<std::chrono::steady_clock::time_point> deadline);
  // Waits `duration`, unless a SIGINT, SIGTERM or SIGHUP arrives first: that signal, else
  // 0. Wake() and SIGCHLD do not end the wait.
  int SleepUnlessSignalled(std::chrono::milliseconds duration);

 private:
  MainWaiter(int signal_fd, int wake_fd) : signal_fd_(signal_fd), wake_fd_(wake_fd) {}
  int signal_fd_;
  int wake_fd_;
};

struct ChildOptions {
  std::vector<std::string> command{};  // ChildArgv() decides /bin/sh -c or exec as is
  std::vector<std::pair<std::string, std::string>> environment{};  // added to ours
  std::optional<std::string> stdin_data{};  // piped to the child, else it shares our stdin
  bool die_with_parent = true;
};

class ChildProcess {
 public:
  static Result<ChildProcess> Start(const ChildOptions& options);

  pid_t pid() const { return pid_; }
  bool exited() const { return exit_code_.has_value(); }
  // Sends `signal` unless the child was already reaped.
  void Signal(int signal);
  // Reaps the child if it has exited; its exit code (ExitCodeFromWaitStatus).
  std::optional<int> TryReap();
  // Waits for the child to exit; its exit code.
  int Wait();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::optional<int> exit_code_;
};

// consul lock's grace between SIGTERM and SIGKILL.
inline constexpr std::chrono::milliseconds kKillGracePeriod{5000};

struct SupervisionOutcome {
  int exit_code = 0;                       // the child's, as a shell reports it
  std::optional<std::string> lost_reason;  // set when we stopped it because it lost
  int signal = 0;                          // the first signal we received, if any
};

// Waits for the child to exit. When `lost_reason()` returns a reason (checked on every
// wake-up), or a SIGINT/SIGTERM/SIGHUP arrives, the child is asked to stop — SIGTERM,
// or the signal forwarded (unless it came from the terminal, which sent it to the
// child already) — and killed with SIGKILL `grace` later. `say` prints progress.
SupervisionOutcome Supervise(ChildProcess& child, MainWaiter& waiter,
                             const std::function<std::optional<std::string>()>& lost_reason,
                             const std::function<void(const std::string&)>& say,
                             std::chrono::milliseconds grace = kKillGracePeriod);

}  // namespace roster::cli
