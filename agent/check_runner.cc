#include "agent/check_runner.h"

#include <utility>

namespace roster::agent {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;

bool IsPolled(const std::string& type) {
  return type == "http" || type == "tcp" || type == "script";
}

}  // namespace

CheckRunner::CheckRunner(Scheduler& scheduler, Executor& executor, Options options,
                         Listener listener)
    : scheduler_(scheduler),
      executor_(executor),
      options_(options),
      listener_(std::move(listener)),
      probe_(&CheckRunner::DefaultProbe) {}

CheckRunner::~CheckRunner() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [id, running] : running_) scheduler_.Cancel(running.timer);
}

ProbeResult CheckRunner::DefaultProbe(const store::HealthCheck& check, std::int64_t timeout_ms) {
  if (check.type == "http") return RunHttpProbe(check.definition, timeout_ms);
  if (check.type == "tcp") return RunTcpProbe(check.definition.tcp, timeout_ms);
  return RunScriptProbe(check.definition.script_args, timeout_ms);
}

std::int64_t CheckRunner::TimeoutMs(const store::HealthCheck& check) const {
  if (check.definition.timeout_ns > 0) {
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(check.definition.timeout_ns) / kNsPerMs);
  }
  return check.type == "script" ? options_.script_timeout_ms_default
                                : options_.http_timeout_ms_default;
}

void CheckRunner::Add(const http::AgentCheck& check) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string& id = check.check.check_id;
  auto existing = running_.find(id);
  if (existing != running_.end()) {
    scheduler_.Cancel(existing->second.timer);
    running_.erase(existing);
  }
  const std::string& type = check.check.type;
  if (type == "script" && !options_.enable_script_checks) return;
  if (type != "ttl" && !IsPolled(type)) return;
  Running& running = running_[id];
  running.check = check;
  running.generation = next_generation_++;
  if (type == "ttl") {
    ScheduleTtl(running);
  } else {
    ScheduleRun(running, 0);
  }
}

void CheckRunner::Remove(const std::string& check_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = running_.find(check_id);
  if (found == running_.end()) return;
  scheduler_.Cancel(found->second.timer);
  running_.erase(found);
}

void CheckRunner::ScheduleTtl(Running& running) {
  scheduler_.Cancel(running.timer);
  const std::int64_t ttl_ms =
      static_cast<std::int64_t>(running.check.check.definition.ttl_ns) / kNsPerMs;
  const std::string id = running.check.check.check_id;
  const std::uint64_t generation = running.generation;
  running.timer = scheduler_.After(ttl_ms, [this, id, generation] {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = running_.find(id);
      if (found == running_.end() || found->second.generation != generation) return;
    }
    listener_(id, store::HealthStatus::kCritical, "TTL expired");
  });
}

void CheckRunner::TtlUpdate(const std::string& check_id, store::HealthStatus status,
                            const std::string& output) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = running_.find(check_id);
    if (found != running_.end()) ScheduleTtl(found->second);
  }
  listener_(check_id, status, CapOutput(output, options_.output_bytes_max));
}

void CheckRunner::ScheduleRun(Running& running, std::int64_t delay_ms) {
  const std::string id = running.check.check.check_id;
  const std::uint64_t generation = running.generation;
  running.timer = scheduler_.After(delay_ms, [this, id, generation] { StartRun(id, generation); });
}

void CheckRunner::StartRun(const std::string& check_id, std::uint64_t generation) {
  store::HealthCheck check;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = running_.find(check_id);
    if (found == running_.end() || found->second.generation != generation) return;
    check = found->second.check.check;
  }
  executor_.Run([this, check = std::move(check), generation] {
    ProbeResult result = probe_(check, TimeoutMs(check));
    FinishRun(check.check_id, generation, std::move(result));
  });
}

void CheckRunner::FinishRun(const std::string& check_id, std::uint64_t generation,
                            ProbeResult result) {
  bool report = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = running_.find(check_id);
    if (found == running_.end() || found->second.generation != generation) return;
    Running& running = found->second;
    if (result.status == store::HealthStatus::kPassing) {
      running.failures = 0;
      ++running.successes;
      report = running.successes >= running.check.success_before_passing;
    } else {
      running.successes = 0;
      ++running.failures;
      report = running.failures >= running.check.failures_before_critical;
    }
    const std::int64_t interval_ms =
        static_cast<std::int64_t>(running.check.check.definition.interval_ns) / kNsPerMs;
    ScheduleRun(running, std::max<std::int64_t>(interval_ms, 10));
  }
  if (report) listener_(check_id, result.status, CapOutput(std::move(result.output), options_.output_bytes_max));
}

}  // namespace roster::agent
