// The threads of a running recipe (`roster lock`, `roster elect`): a loop that renews
// the session every TTL/2, a loop that watches with consistent blocking queries whether
// we still hold what we acquired, and the acquire loop itself. Each runs as a
// BackgroundTask with its own SessionClient and can be stopped at any moment, even
// while parked in a blocking query. What they find (lock lost, acquired) reaches the
// main thread through a LostFlag or a callback that wakes it.
//
// Thread-safety: Event and LostFlag may be used from any thread. A BackgroundTask is
// started and stopped by one owner thread; its body runs on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cli/session_client.h"

namespace roster::cli {

// A one-way flag threads can wait on.
class Event {
 public:
  void Set();
  bool IsSet() const;
  // Waits up to `duration`; true if the event is set.
  bool WaitFor(std::chrono::milliseconds duration);

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool set_ = false;
};

// The first reason the recipe lost what it held; setting it calls `wake` (which wakes
// the main thread) once. Clear() re-arms it for a new session (roster elect campaigning
// again), once nothing that could set it for the old one is running.
class LostFlag {
 public:
  explicit LostFlag(std::function<void()> wake) : wake_(std::move(wake)) {}
  void Set(const std::string& reason);
  void Clear();
  std::optional<std::string> reason() const;

 private:
  mutable std::mutex mutex_;
  std::optional<std::string> reason_;
  std::function<void()> wake_;
};

// Runs `body(client, stop)` on its own thread with its own SessionClient. The body
// returns when `stop` is set (it checks between requests and waits on it instead of
// sleeping). `on_finished`, if given, runs on that thread once finished() is true
// (e.g. to wake the main thread, which then sees finished()).
class BackgroundTask {
 public:
  using Body = std::function<void(SessionClient& client, Event& stop)>;
  // `read_timeout` bounds each request of the body (SessionClient).
  BackgroundTask(const std::string& address, Body body, std::function<void()> on_finished = nullptr,
                 std::chrono::milliseconds read_timeout = client::HttpClient::kReadTimeoutDefault);
  ~BackgroundTask() { Stop(); }
  BackgroundTask(const BackgroundTask&) = delete;
  BackgroundTask& operator=(const BackgroundTask&) = delete;

  // Sets `stop`, aborts the request in flight until the body has returned, and joins.
  // Idempotent.
  void Stop();
  bool finished() const { return finished_.IsSet(); }

 private:
  SessionClient client_;
  Event stop_;
  Event finished_;
  std::thread thread_;
};

// Session renewal (api.SessionEntry RenewPeriodic): renew every ttl/2. The session is
// lost when the server says it no longer exists (404), or when no renewal succeeded for
// a whole TTL: the server may end it from then on, so the child must stop before.
// Transport errors are retried every second meanwhile. Run it with a read timeout of
// RenewReadTimeout(ttl), so that a server that accepts but never answers (stalled,
// cut off from its cluster) cannot hold the loop past the TTL.
std::chrono::milliseconds RenewReadTimeout(std::chrono::milliseconds ttl);
void RenewSessionLoop(SessionClient& client, Event& stop, const std::string& session,
                      std::chrono::milliseconds ttl, LostFlag& lost);

// How a monitor reads and judges what it watches.
struct HoldCheck {
  // One consistent read, blocking on `options.index` (api.Lock's monitorLock).
  std::function<Result<KvRead>(SessionClient&, const ReadOptions&)> read;
  // Empty while still held, else why it is lost.
  std::function<std::optional<std::string>(const KvRead&)> lost_reason;
};

// Consul's MonitorRetries: a failed read (a 500 during an election, a refused
// connection) is retried `retries` times, 1 s apart, before the hold counts as lost.
inline constexpr int kMonitorRetriesDefault = 3;
inline constexpr std::chrono::milliseconds kMonitorRetryInterval{1000};
inline constexpr std::chrono::milliseconds kMonitorWait{5 * 60 * 1000};

void MonitorLoop(SessionClient& client, Event& stop, const HoldCheck& check, int retries,
                 LostFlag& lost);

}  // namespace roster::cli
