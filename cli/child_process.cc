#include "cli/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/recipes.h"

extern char** environ;

namespace roster::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWatchedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};

sigset_t WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : kWatchedSignals) sigaddset(&set, signal);
  return set;
}

Status ErrnoStatus(const std::string& what) { return Internal(what + ": " + std::strerror(errno)); }

// NULL-terminated char* views of strings that outlive them.
std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

std::vector<std::string> OurEnvironment() {
  std::vector<std::string> variables;
  for (char** variable = environ; *variable != nullptr; ++variable) variables.push_back(*variable);
  return variables;
}

// In the forked child, before exec: only async-signal-safe calls from here on.
[[noreturn]] void ExecChild(char** argv, char** envp, int stdin_fd, bool die_with_parent,
                            pid_t parent) {
  if (die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  }
  if (stdin_fd >= 0) {
    dup2(stdin_fd, STDIN_FILENO);
    close(stdin_fd);
  }
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE}) {
    sigaction(signal, &default_action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execvpe(argv[0], argv, envp);
  // write(2) only: nothing that allocates between fork and exec.
  const char before[] = "roster: cannot run ";
  const char after[] = " (not found, or not executable)\n";
  (void)!write(STDERR_FILENO, before, sizeof before - 1);
  (void)!write(STDERR_FILENO, argv[0], std::strlen(argv[0]));
  (void)!write(STDERR_FILENO, after, sizeof after - 1);
  _exit(127);
}

// Writes all of data to fd (the child's stdin), then closes it. A child that exits
// without reading is not an error.
void FeedAndClose(int fd, const std::string& data) {
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t result = write(fd, data.data() + written, data.size() - written);
    if (result < 0 && errno == EINTR) continue;
    if (result <= 0) break;  // EPIPE: the child stopped reading
    written += static_cast<std::size_t>(result);
  }
  close(fd);
}

}  // namespace

// ---- MainWaiter ---------------------------------------------------------------------

Result<std::unique_ptr<MainWaiter>> MainWaiter::Create() {
  const sigset_t watched = WatchedSignals();
  if (pthread_sigmask(SIG_BLOCK, &watched, nullptr) != 0) return Internal("cannot block signals");
  const int signal_fd = signalfd(-1, &watched, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) return ErrnoStatus("signalfd");
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    close(signal_fd);
    return ErrnoStatus("eventfd");
  }
  return std::unique_ptr<MainWaiter>(new MainWaiter(signal_fd, wake_fd));
}

MainWaiter::~MainWaiter() {
  close(signal_fd_);
  close(wake_fd_);
  const sigset_t watched = WatchedSignals();
  pthread_sigmask(SIG_UNBLOCK, &watched, nullptr);
}

void MainWaiter::Wake() {
  const std::uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

MainWaiter::Event MainWaiter::Wait(std::optional<Clock::time_point> deadline) {
  pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  int timeout_ms = -1;
  if (deadline.has_value()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
    timeout_ms = static_cast<int>(std::max<long long>(0, left.count()));
  }
  if (poll(fds, 2, timeout_ms) <= 0) return {};
  Event event;
  if (fds[1].revents & POLLIN) {
    std::uint64_t count = 0;
    (void)!read(wake_fd_, &count, sizeof count);
  }
  if (fds[0].revents & POLLIN) {
    signalfd_siginfo info{};
    if (read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      event.signal = static_cast<int>(info.ssi_signo);
      event.from_terminal = info.ssi_code == SI_KERNEL;
    }
  }
  return event;
}

int MainWaiter::SleepUnlessSignalled(std::chrono::milliseconds duration) {
  const Clock::time_point deadline = Clock::now() + duration;
  while (Clock::now() < deadline) {
    const Event event = Wait(deadline);
    if (event.signal != 0 && event.signal != SIGCHLD) return event.signal;
  }
  return 0;
}

// ---- ChildProcess -------------------------------------------------------------------

Result<ChildProcess> ChildProcess::Start(const ChildOptions& options) {
  if (options.command.empty()) return InvalidArgument("no command to run");
  std::vector<std::string> argv_strings = ChildArgv(options.command);
  std::vector<std::string> env_strings = MergeEnvironment(OurEnvironment(), options.environment);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);
  int stdin_pipe[2] = {-1, -1};
  if (options.stdin_data.has_value() && pipe2(stdin_pipe, O_CLOEXEC) != 0) {
    return ErrnoStatus("pipe");
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("fork");
  if (pid == 0) {
    if (stdin_pipe[1] >= 0) close(stdin_pipe[1]);
    ExecChild(argv.data(), envp.data(), stdin_pipe[0], options.die_with_parent, parent);
  }
  if (options.stdin_data.has_value()) {
    close(stdin_pipe[0]);
    FeedAndClose(stdin_pipe[1], *options.stdin_data);
  }
  return ChildProcess(pid);
}

void ChildProcess::Signal(int signal) {
  if (!exit_code_.has_value()) kill(pid_, signal);
}

std::optional<int> ChildProcess::TryReap() {
  if (exit_code_.has_value()) return exit_code_;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) exit_code_ = ExitCodeFromWaitStatus(status);
  return exit_code_;
}

int ChildProcess::Wait() {
  while (!exit_code_.has_value()) {
    int status = 0;
    const pid_t result = waitpid(pid_, &status, 0);
    if (result == pid_) {
      exit_code_ = ExitCodeFromWaitStatus(status);
    } else if (result < 0 && errno != EINTR) {
      exit_code_ = 1;  // not our child any more: nothing to wait for
    }
  }
  return *exit_code_;
}

// ---- Supervise ----------------------------------------------------------------------

SupervisionOutcome Supervise(ChildProcess& child, MainWaiter& waiter,
                             const std::function<std::optional<std::string>()>& lost_reason,
                             const std::function<void(const std::string&)>& say,
                             std::chrono::milliseconds grace) {
  SupervisionOutcome outcome;
  std::optional<Clock::time_point> kill_at;  // set once we asked the child to stop
  bool killed = false;
  auto ask_to_stop = [&](int signal, bool already_delivered) {
    if (!already_delivered) child.Signal(signal);
    if (!kill_at.has_value()) kill_at = Clock::now() + grace;
  };
  while (true) {
    if (std::optional<int> code = child.TryReap()) {
      outcome.exit_code = *code;
      return outcome;
    }
    if (!outcome.lost_reason.has_value() && (outcome.lost_reason = lost_reason())) {
      say("lost: " + *outcome.lost_reason + "; stopping the child (SIGTERM, then SIGKILL " +
          GoDuration(grace) + " later)");
      ask_to_stop(SIGTERM, /*already_delivered=*/false);
    }
    if (kill_at.has_value() && !killed && Clock::now() >= *kill_at) {
      say("the child still runs " + GoDuration(grace) + " after being asked to stop: SIGKILL");
      child.Signal(SIGKILL);
      killed = true;
    }
    const MainWaiter::Event event = waiter.Wait(killed ? std::nullopt : kill_at);
    if (event.signal != 0 && event.signal != SIGCHLD) {
      if (outcome.signal == 0) outcome.signal = event.signal;
      ask_to_stop(event.signal, event.from_terminal);
    }
  }
}

}  // namespace roster::cli
