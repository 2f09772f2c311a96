// The agent's two long-running loops: anti-entropy sync and heartbeat (agent/agent.h).
#include <chrono>

#include "agent/agent.h"
#include "base/logging.h"
#include "base/random.h"

namespace roster::agent {
namespace {

// How often the sync loop wakes without being asked: held-back outputs come due.
constexpr std::int64_t kSyncTickMs = 1'000;
// After the upstream server changed, a full sync within this (Consul: 3 s stagger).
constexpr std::int64_t kFailoverSyncStaggerMs = 3'000;
// A failed full sync is retried after this plus stagger (Consul's 15 s).
constexpr std::int64_t kFullSyncRetryMs = 15'000;

}  // namespace

void Agent::RequestSync(bool full) {
  std::lock_guard<std::mutex> lock(loop_mutex_);
  sync_requested_ = true;
  if (full) full_sync_soon_ = true;
  loop_wake_.notify_all();
}

void Agent::SyncLoop() {
  SystemRandom random;
  std::int64_t next_full_ms = clock_.NowMs();
  std::int64_t retry_at_ms = 0;  // 0: no change sync waiting to be retried
  std::string last_server = upstream_.current();
  for (;;) {
    bool full = false;
    bool changes = false;
    {
      std::unique_lock<std::mutex> lock(loop_mutex_);
      loop_wake_.wait_for(lock, std::chrono::milliseconds(kSyncTickMs), [this] {
        return stopping_ || sync_requested_;
      });
      if (stopping_) return;
      const std::int64_t now_ms = clock_.NowMs();
      if (full_sync_soon_) {
        full_sync_soon_ = false;
        next_full_ms = std::min(next_full_ms, now_ms);
      }
      full = now_ms >= next_full_ms;
      changes = sync_requested_ || (retry_at_ms != 0 && now_ms >= retry_at_ms);
      sync_requested_ = false;
    }
    if (state_->PromoteDueOutputs()) changes = true;
    const std::string server = upstream_.current();
    if (server != last_server) {
      // A server that has just come back may have lost its data: check soon.
      last_server = server;
      next_full_ms = std::min(next_full_ms,
                              clock_.NowMs() + random.Range(0, kFailoverSyncStaggerMs));
    }
    if (full) {
      Status synced = anti_entropy_.SyncFull();
      const std::int64_t interval_ms = synced.ok() ? options_.full_sync_interval_ms : kFullSyncRetryMs;
      next_full_ms = clock_.NowMs() + interval_ms + random.Range(0, interval_ms / 10);
      if (!synced.ok()) LOG(WARNING) << "agent: full sync failed: " << synced.message();
      retry_at_ms = synced.ok() ? 0 : clock_.NowMs() + options_.sync_retry_ms;
    } else if (changes) {
      Status synced = anti_entropy_.SyncChanges();
      if (!synced.ok()) LOG(WARNING) << "agent: sync failed, will retry: " << synced.message();
      retry_at_ms = synced.ok() ? 0 : clock_.NowMs() + options_.sync_retry_ms;
    }
  }
}

void Agent::HeartbeatLoop() {
  SystemRandom random;
  bool failing = false;
  std::int64_t wait_ms = 0;  // the first heartbeat at once: the node is alive from the start
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(loop_mutex_);
      if (loop_wake_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stopping_; })) {
        return;
      }
    }
    const std::int64_t jitter_ms = options_.heartbeat_interval_ms / 10;
    wait_ms = options_.heartbeat_interval_ms + random.Range(-jitter_ms, jitter_ms);
    if (left_) continue;
    client::Request request{"PUT", "/v1/internal/node/heartbeat", HeartbeatBody(identity_),
                            {{"Content-Type", "application/json"}}};
    Result<client::Response> response =
        upstream_.Send(request, std::chrono::milliseconds(options_.heartbeat_interval_ms * 2));
    const bool ok = response.ok() && response->status == 200;
    if (!ok && !failing) {
      LOG(WARNING) << "agent: heartbeat failed: "
                   << (response.ok() ? "HTTP " + std::to_string(response->status) + " " + response->body
                                     : response.status().message());
    } else if (ok && failing) {
      LOG(INFO) << "agent: heartbeats reach " << upstream_.current() << " again";
    }
    failing = !ok;
  }
}

}  // namespace roster::agent
