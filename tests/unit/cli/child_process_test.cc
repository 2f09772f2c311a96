// The child of roster lock / elect / watch (cli/child_process.h): what it sees (argv,
// environment, stdin), how its exit is reported, and how Supervise stops it when the
// hold is lost: SIGTERM first, SIGKILL after the grace period if it ignores SIGTERM.
// Real processes (/bin/sh), a short grace period, no sleeps in the test itself.
#include "cli/child_process.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace roster::cli {
namespace {

// A file in the temp dir, removed when the test ends.
class TempFile {
 public:
  TempFile() {
    char path[] = "/tmp/roster-cli-test-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    path_ = path;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  std::string Read() const {
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string path_;
};

SupervisionOutcome SuperviseWith(ChildProcess& child, MainWaiter& waiter,
                                 std::function<std::optional<std::string>()> lost) {
  return Supervise(
      child, waiter, lost, [](const std::string&) {}, std::chrono::milliseconds(200));
}

}  // namespace

TEST_CASE("the child gets the recipe's environment and its exit code comes back") {
  TempFile out;
  Result<ChildProcess> child = ChildProcess::Start(
      {.command = {"echo \"$ROSTER_FENCING_TOKEN $ROSTER_LOCK_HELD\" > " + out.path() + "; exit 7"},
       .environment = {{"ROSTER_FENCING_TOKEN", "42"}, {"ROSTER_LOCK_HELD", "true"}}});
  REQUIRE(child.ok());
  CHECK(child->Wait() == 7);
  CHECK(out.Read() == "42 true\n");
}

TEST_CASE("several arguments are exec'd without a shell") {
  TempFile out;
  Result<ChildProcess> child = ChildProcess::Start(
      {.command = {"/bin/sh", "-c", "printf '%s' \"$0\" > " + out.path(), "$HOME"}});
  REQUIRE(child.ok());
  CHECK(child->Wait() == 0);
  CHECK(out.Read() == "$HOME");  // not expanded: no shell parsed our arguments
}

TEST_CASE("stdin data reaches the handler; a missing program exits 127") {
  TempFile out;
  Result<ChildProcess> child = ChildProcess::Start(
      {.command = {"cat > " + out.path()}, .stdin_data = "[{\"Key\":\"a\"}]\n"});
  REQUIRE(child.ok());
  CHECK(child->Wait() == 0);
  CHECK(out.Read() == "[{\"Key\":\"a\"}]\n");

  Result<ChildProcess> missing = ChildProcess::Start({.command = {"/nonexistent/program", "x"}});
  REQUIRE(missing.ok());
  CHECK(missing->Wait() == 127);
}

TEST_CASE("Supervise returns the exit code of a child that finishes by itself") {
  Result<std::unique_ptr<MainWaiter>> waiter = MainWaiter::Create();
  REQUIRE(waiter.ok());
  Result<ChildProcess> child = ChildProcess::Start({.command = {"exit 3"}});
  REQUIRE(child.ok());
  const SupervisionOutcome outcome = SuperviseWith(*child, **waiter, [] { return std::nullopt; });
  CHECK(outcome.exit_code == 3);
  CHECK_FALSE(outcome.lost_reason.has_value());
}

TEST_CASE("a lost hold stops the child with SIGTERM") {
  Result<std::unique_ptr<MainWaiter>> waiter = MainWaiter::Create();
  REQUIRE(waiter.ok());
  Result<ChildProcess> child = ChildProcess::Start({.command = {"sleep", "60"}});
  REQUIRE(child.ok());
  const SupervisionOutcome outcome =
      SuperviseWith(*child, **waiter, [] { return std::string("lock key deleted"); });
  CHECK(outcome.lost_reason == "lock key deleted");
  CHECK(outcome.exit_code == 128 + SIGTERM);
}

TEST_CASE("a child that ignores SIGTERM gets SIGKILL after the grace period") {
  Result<std::unique_ptr<MainWaiter>> waiter = MainWaiter::Create();
  REQUIRE(waiter.ok());
  TempFile ready;
  // The shell ignores TERM and HUP, says so through the file and wakes us with a HUP
  // (which Supervise forwards, to no effect); only then is the hold lost.
  Result<ChildProcess> child =
      ChildProcess::Start({.command = {"trap '' TERM HUP; echo ready > " + ready.path() +
                                       "; kill -HUP $PPID; while :; do sleep 0.05; done"}});
  REQUIRE(child.ok());
  const SupervisionOutcome outcome =
      SuperviseWith(*child, **waiter, [&ready]() -> std::optional<std::string> {
        if (ready.Read().empty()) return std::nullopt;
        return std::string("session expired");
      });
  CHECK(outcome.lost_reason == "session expired");
  CHECK(outcome.signal == SIGHUP);
  CHECK(outcome.exit_code == 128 + SIGKILL);
}

TEST_CASE("a pause between recipe rounds ends early only for a signal") {
  Result<std::unique_ptr<MainWaiter>> waiter = MainWaiter::Create();
  REQUIRE(waiter.ok());
  (*waiter)->Wake();  // a background task finishing: not a reason to stop pausing
  const auto started = std::chrono::steady_clock::now();
  CHECK((*waiter)->SleepUnlessSignalled(std::chrono::milliseconds(100)) == 0);
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(100));

  REQUIRE(kill(getpid(), SIGTERM) == 0);  // blocked, so it waits in the signalfd
  CHECK((*waiter)->SleepUnlessSignalled(std::chrono::seconds(30)) == SIGTERM);
}

TEST_CASE("a signal to us is forwarded to the child") {
  Result<std::unique_ptr<MainWaiter>> waiter = MainWaiter::Create();
  REQUIRE(waiter.ok());
  Result<ChildProcess> child = ChildProcess::Start({.command = {"sleep", "60"}});
  REQUIRE(child.ok());
  REQUIRE(kill(getpid(), SIGINT) == 0);  // blocked, so it waits in the signalfd
  const SupervisionOutcome outcome = SuperviseWith(*child, **waiter, [] { return std::nullopt; });
  CHECK(outcome.signal == SIGINT);
  CHECK(outcome.exit_code == 128 + SIGINT);
}

}  // namespace roster::cli
