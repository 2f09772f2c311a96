// The skeleton `roster lock` and `roster elect` share: a session kept alive by a renewal
// task (and replaced by a new one when a recipe carries on after losing it), a wait for
// the acquire (or campaign) task that a signal, a -timeout or the loss of the session can
// cut short, and the child run under a monitor that stops it when the hold is lost. The
// commands supply what differs: how to acquire, what to check, how to release.
//
// Thread-safety: a RecipeSession and these functions belong to the main thread (the one
// that created the MainWaiter); the tasks they start run on their own threads.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/background.h"
#include "cli/child_process.h"
#include "cli/session_client.h"

namespace roster::cli {

// A created session, renewed in the background until Close().
class RecipeSession {
 public:
  // The main thread's requests (create, release, destroy) give up after this: above the
  // 7 s a server holds a write while there is no leader, short enough that a stalled
  // server cannot hold up the exit for long.
  static constexpr std::chrono::milliseconds kRequestTimeout{10000};

  // Creates the MainWaiter (so before any thread), the session and its renewal task.
  // `tool` prefixes messages ("roster lock").
  static Result<std::unique_ptr<RecipeSession>> Start(const std::string& tool,
                                                      const std::string& address,
                                                      const SessionOptions& options);
  ~RecipeSession() { Close(); }

  const std::string& id() const { return id_; }
  const std::string& address() const { return address_; }
  const std::string& tool() const { return tool_; }
  MainWaiter& waiter() { return *waiter_; }
  LostFlag& lost() { return lost_; }
  SessionClient& client() { return client_; }  // the main thread's own client
  // Prints "<tool>: message" on stderr.
  void Say(const std::string& message) const;

  // Stops renewing and destroys the session (idempotent).
  void Close();
  // Close(), then a new session with the same options, renewed from then on, and lost()
  // clear again: for a recipe that carries on after losing its session (roster elect).
  // On failure there is no session (id() is empty) until a Restart succeeds.
  Status Restart();
  // Stops renewing without a word to the server, which did not answer (`why`): the
  // session ends by itself once its TTL runs out, releasing what it holds.
  void Abandon(const std::string& why);

 private:
  RecipeSession(std::string tool, std::string address, SessionOptions options,
                std::unique_ptr<MainWaiter> waiter);
  // Creates the session and starts its renewal task.
  Status Open();

  std::string tool_;
  std::string address_;
  SessionOptions options_;
  std::unique_ptr<MainWaiter> waiter_;
  LostFlag lost_;
  SessionClient client_;
  std::string id_;
  std::unique_ptr<BackgroundTask> renewer_;
};

// How a wait for a background task ended.
struct TaskWait {
  enum class End { kFinished, kSignal, kTimeout, kLost };
  End end = End::kFinished;
  int signal = 0;
};
// Waits until `task` finishes, a SIGINT/SIGTERM/SIGHUP arrives, `deadline` passes, or the
// session is lost. The task must wake session.waiter() when finished (its on_finished).
TaskWait WaitForTask(RecipeSession& session, const BackgroundTask& task,
                     std::optional<std::chrono::steady_clock::time_point> deadline);

struct MonitoredChild {
  std::vector<std::string> command{};
  std::vector<std::pair<std::string, std::string>> environment{};
  HoldCheck check{};
  int monitor_retries = kMonitorRetriesDefault;
  bool verbose = false;
};
// How a monitored child's run ended.
struct ChildRun {
  int exit_code = 0;       // the child's; 1 when it could not start or the hold was lost
  bool hold_lost = false;  // the hold was lost, so the child was stopped (a message says why)
  int signal = 0;          // a SIGINT/SIGTERM/SIGHUP we received (and passed on), if any
};
// Runs the child while a monitor task checks the hold, until the child exits.
ChildRun RunMonitoredChild(RecipeSession& session, const MonitoredChild& child);

}  // namespace roster::cli
