#include "cli/background.h"

#include <algorithm>

namespace roster::cli {

void Event::Set() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    set_ = true;
  }
  changed_.notify_all();
}

bool Event::IsSet() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return set_;
}

bool Event::WaitFor(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, duration, [this] { return set_; });
}

void LostFlag::Set(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (reason_.has_value()) return;
    reason_ = reason;
  }
  if (wake_) wake_();
}

void LostFlag::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  reason_.reset();
}

std::optional<std::string> LostFlag::reason() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reason_;
}

BackgroundTask::BackgroundTask(const std::string& address, Body body,
                               std::function<void()> on_finished,
                               std::chrono::milliseconds read_timeout)
    : client_(address, read_timeout) {
  thread_ = std::thread([this, body = std::move(body), on_finished = std::move(on_finished)] {
    body(client_, stop_);
    finished_.Set();
    if (on_finished) on_finished();
  });
}

void BackgroundTask::Stop() {
  if (!thread_.joinable()) return;
  stop_.Set();
  // An abort only hits a request already in flight, so repeat it until the body has
  // seen `stop_` and returned.
  constexpr std::chrono::milliseconds kAbortRepeat{20};
  while (!finished_.WaitFor(kAbortRepeat)) client_.Abort();
  thread_.join();
}

std::chrono::milliseconds RenewReadTimeout(std::chrono::milliseconds ttl) { return ttl / 4; }

void RenewSessionLoop(SessionClient& client, Event& stop, const std::string& session,
                      std::chrono::milliseconds ttl, LostFlag& lost) {
  using Clock = std::chrono::steady_clock;
  constexpr std::chrono::milliseconds kRetryInterval{1000};
  // Counted from when the last successful renewal was sent: the server's timer started
  // no earlier than that.
  Clock::time_point last_renewal_sent = Clock::now();
  std::chrono::milliseconds pause = ttl / 2;
  while (!stop.WaitFor(pause)) {
    const Clock::time_point sent = Clock::now();
    Result<bool> renewed = client.RenewSession(session);
    if (stop.IsSet()) return;
    if (renewed.ok() && *renewed) {
      last_renewal_sent = sent;
      pause = ttl / 2;
      continue;
    }
    if (renewed.ok()) {
      lost.Set("session " + session + " no longer exists (it expired or was destroyed)");
      return;
    }
    if (Clock::now() - last_renewal_sent >= ttl) {
      lost.Set("could not renew session " + session + " for a whole TTL (" + GoDuration(ttl) +
               "): " + renewed.status().message());
      return;
    }
    pause = kRetryInterval;
  }
}

void MonitorLoop(SessionClient& client, Event& stop, const HoldCheck& check, int retries,
                 LostFlag& lost) {
  std::uint64_t index = 0;
  int failures = 0;
  while (!stop.IsSet()) {
    ReadOptions options{.index = index, .wait = kMonitorWait, .consistent = true};
    Result<KvRead> read = check.read(client, options);
    if (stop.IsSet()) return;
    if (!read.ok()) {
      if (++failures > retries) {
        lost.Set("cannot check it any more (" + std::to_string(failures) +
                 " failed reads): " + read.status().message());
        return;
      }
      stop.WaitFor(kMonitorRetryInterval);
      continue;
    }
    failures = 0;
    if (std::optional<std::string> reason = check.lost_reason(*read)) {
      lost.Set(*reason);
      return;
    }
    // An index that goes backwards (a snapshot restore, another server) restarts the
    // blocking from scratch (consul-api.md §2.1).
    // An index of 0 would not block at all, so it is clamped to 1.
    index = read->index < index ? 0 : std::max<std::uint64_t>(read->index, 1);
  }
}

}  // namespace roster::cli
