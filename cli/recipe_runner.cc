#include "cli/recipe_runner.h"

#include <signal.h>

#include <cstdio>

namespace roster::cli {

RecipeSession::RecipeSession(std::string tool, std::string address, SessionOptions options,
                             std::unique_ptr<MainWaiter> waiter)
    : tool_(std::move(tool)),
      address_(std::move(address)),
      options_(std::move(options)),
      waiter_(std::move(waiter)),
      lost_([this] { waiter_->Wake(); }),
      client_(address_, kRequestTimeout) {}

Result<std::unique_ptr<RecipeSession>> RecipeSession::Start(const std::string& tool,
                                                            const std::string& address,
                                                            const SessionOptions& options) {
  Result<std::unique_ptr<MainWaiter>> waiter = MainWaiter::Create();
  if (!waiter.ok()) return waiter.status();
  // A child or server that closes its end must not kill us: writes fail instead.
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<RecipeSession> session(
      new RecipeSession(tool, address, options, std::move(*waiter)));
  if (Status opened = session->Open(); !opened.ok()) return opened;
  return session;
}

Status RecipeSession::Open() {
  Result<std::string> id = client_.CreateSession(options_);
  if (!id.ok()) {
    id_.clear();
    return id.status();
  }
  id_ = *id;
  const std::chrono::milliseconds ttl = options_.ttl;
  renewer_ = std::make_unique<BackgroundTask>(
      address_,
      [this, id = id_, ttl](SessionClient& client, Event& stop) {
        RenewSessionLoop(client, stop, id, ttl, lost_);
      },
      nullptr, RenewReadTimeout(ttl));
  return Status::Ok();
}

Status RecipeSession::Restart() {
  Close();
  lost_.Clear();  // nothing of the old session runs any more
  return Open();
}

void RecipeSession::Say(const std::string& message) const {
  std::fprintf(stderr, "%s: %s\n", tool_.c_str(), message.c_str());
}

void RecipeSession::Close() {
  if (renewer_ == nullptr) return;
  renewer_->Stop();
  renewer_.reset();
  if (Status destroyed = client_.DestroySession(id_); !destroyed.ok()) {
    Say("could not destroy session " + id_ +
        " (it ends when its TTL runs out): " + destroyed.message());
  }
}

void RecipeSession::Abandon(const std::string& why) {
  if (renewer_ == nullptr) return;
  renewer_->Stop();
  renewer_.reset();
  Say(why + "; session " + id_ + " ends by itself when its TTL runs out");
}

TaskWait WaitForTask(RecipeSession& session, const BackgroundTask& task,
                     std::optional<std::chrono::steady_clock::time_point> deadline) {
  while (!task.finished()) {
    const MainWaiter::Event event = session.waiter().Wait(deadline);
    if (task.finished()) break;
    if (event.signal != 0 && event.signal != SIGCHLD) {
      return {TaskWait::End::kSignal, event.signal};
    }
    if (session.lost().reason().has_value()) return {TaskWait::End::kLost};
    if (deadline.has_value() && std::chrono::steady_clock::now() >= *deadline) {
      return {TaskWait::End::kTimeout};
    }
  }
  return {TaskWait::End::kFinished};
}

ChildRun RunMonitoredChild(RecipeSession& session, const MonitoredChild& child) {
  Result<ChildProcess> process =
      ChildProcess::Start({.command = child.command, .environment = child.environment});
  if (!process.ok()) {
    session.Say("cannot start the command: " + process.status().message());
    return {.exit_code = 1, .hold_lost = false, .signal = 0};
  }
  LostFlag& lost = session.lost();
  BackgroundTask monitor(session.address(), [&](SessionClient& client, Event& stop) {
    MonitorLoop(client, stop, child.check, child.monitor_retries, lost);
  });
  const SupervisionOutcome outcome = Supervise(
      *process, session.waiter(), [&lost] { return lost.reason(); },
      [&session](const std::string& message) { session.Say(message); });
  monitor.Stop();
  if (outcome.lost_reason.has_value()) {
    session.Say("the hold was lost (" + *outcome.lost_reason +
                ") and the command, stopped, exited with " + std::to_string(outcome.exit_code));
    return {.exit_code = 1, .hold_lost = true, .signal = outcome.signal};
  }
  if (child.verbose) session.Say("the command exited with " + std::to_string(outcome.exit_code));
  return {.exit_code = outcome.exit_code, .hold_lost = false, .signal = outcome.signal};
}

}  // namespace roster::cli
