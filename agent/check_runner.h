// CheckRunner: runs this agent's checks (consul-api.md §4.1) on the Scheduler's timers
// and the Executor's threads, and reports each check's status as it settles.
//
//  - "http", "tcp", "script" checks: the first run at once, then one every Interval after
//    the previous run finished (so runs never overlap), each limited to Timeout (10 s
//    by default; 30 s for scripts). Flap damping: a success counts toward
//    SuccessBeforePassing, a failure toward FailuresBeforeCritical; the status changes
//    only when its counter reaches the setting (0 or 1: at once).
//  - "ttl" checks: critical ("TTL expired") when the TTL passes without TtlUpdate.
//  - other types (maintenance, checks set only through the API): never run.
// Script checks run only when enabled (Options); the agent refuses to register them
// otherwise.
//
// Results go to the Listener, which must not call back into the runner synchronously
// (it is called on a worker thread, without the runner's lock).
// Thread-safety: every method from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "agent/probes.h"
#include "agent/scheduler.h"
#include "http/local_agent.h"
#include "store/catalog.h"

namespace roster::agent {

class CheckRunner {
 public:
  struct Options {
    bool enable_script_checks = false;
    std::size_t output_bytes_max = 4096;
    std::int64_t http_timeout_ms_default = 10'000;
    std::int64_t script_timeout_ms_default = 30'000;
  };
  using Listener = std::function<void(const std::string& check_id, store::HealthStatus status,
                                      const std::string& output)>;
  // How a probe runs; tests replace it to script results.
  using ProbeFunction = std::function<ProbeResult(const store::HealthCheck& check,
                                                  std::int64_t timeout_ms)>;

  CheckRunner(Scheduler& scheduler, Executor& executor, Options options, Listener listener);
  ~CheckRunner();

  // Starts running `check` (replacing a check of the same id). A TTL check's TTL starts
  // now (also when the agent restores it at start).
  void Add(const http::AgentCheck& check);
  void Remove(const std::string& check_id);
  // A TTL check's new status: reported to the listener, and its TTL restarts.
  void TtlUpdate(const std::string& check_id, store::HealthStatus status,
                 const std::string& output);

  void set_probe_for_testing(ProbeFunction probe) { probe_ = std::move(probe); }

  // The probe for a check's type (HTTP, TCP, script), as RunHttpProbe & co.
  static ProbeResult DefaultProbe(const store::HealthCheck& check, std::int64_t timeout_ms);

 private:
  struct Running {
    http::AgentCheck check;
    std::uint64_t generation = 0;
    Scheduler::TaskId timer = 0;
    int successes = 0;
    int failures = 0;
  };

  void ScheduleRun(Running& running, std::int64_t delay_ms);  // REQUIRES: mutex_
  void ScheduleTtl(Running& running);                          // REQUIRES: mutex_
  void StartRun(const std::string& check_id, std::uint64_t generation);
  void FinishRun(const std::string& check_id, std::uint64_t generation, ProbeResult result);
  std::int64_t TimeoutMs(const store::HealthCheck& check) const;

  Scheduler& scheduler_;
  Executor& executor_;
  const Options options_;
  const Listener listener_;
  ProbeFunction probe_;
  std::mutex mutex_;
  std::map<std::string, Running> running_;  // guarded by mutex_
  std::uint64_t next_generation_ = 1;       // guarded by mutex_
};

}  // namespace roster::agent
