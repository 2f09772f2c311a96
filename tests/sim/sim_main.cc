// roster-sim: runs the deterministic Raft cluster simulator over a range of seeds.
// Prints one summary line per seed; on a violation prints the seed and the tail of its
// event trace and exits 1. Exit 0 only if every seed passed; 2 for bad usage.
#include <array>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "base/logging.h"
#include "tests/sim/cluster.h"
#include "tests/sim/trace.h"

namespace roster::sim {
namespace {

constexpr char kUsage[] =
    R"(usage: roster-sim [--seed S] [--seeds N] [--nodes 3|5|7] [--faults none|net|crash|all]
                  [--workload auto|kv|locks|mixed] [--ticks T] [--verbose]
                  [--trace-tail N] [--keep-going] [--no-lock-model] [--help]

Runs a simulated Roster Raft cluster (real RawNodes applying to the real store, over a
simulated network, disk and clocks) with KV and lock clients, injected faults and
safety/liveness/linearizability/lock-safety checkers.

  --seed S        first seed (default 1); a seed replays its run to the byte
  --seeds N       run seeds S..S+N-1 (default 1)
  --nodes K       cluster size 3, 5 or 7 (default: chosen from each seed, 3/5/7 at 3:3:1)
  --faults MODE   none | net (loss, duplication, delay, partitions) |
                  crash (crashes at every durability step, pauses, clock skew) |
                  all (both, plus membership changes and leader transfers); default all
  --workload W    kv (KV clients, linearizability) | locks (sessions, locks, ephemeral
                  keys, fencing) | mixed (both) | auto (each seed picks: kv 2, mixed 1,
                  locks 1); default auto
  --ticks T       length of the fault phase in ticks of 10 ms (default 3000)
  --verbose       print every trace event as it happens
  --trace-tail N  events kept for the failure report (default 200)
  --keep-going    run every seed even after a failure
  --no-lock-model the lock model advances without comparing itself with the store, so
                  only the client-side lock checks (fencing, overlaps) can fail; for
                  mutation tests of those checks
Exit status: 0 all seeds passed, 1 a check failed, 2 bad usage.
)";

// Key events (roles, crashes, restarts, faults) kept apart from message traffic.
constexpr std::size_t kKeyEvents = 60;

struct Flags {
  SimOptions options;
  std::uint64_t seeds = 1;
  bool verbose = false;
  std::size_t trace_tail = 200;
  bool keep_going = false;
  bool help = false;
};

std::optional<std::uint64_t> ParseNumber(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

std::optional<WorkloadMode> ParseWorkload(std::string_view text) {
  for (WorkloadMode mode :
       {WorkloadMode::kAuto, WorkloadMode::kKv, WorkloadMode::kLocks, WorkloadMode::kMixed}) {
    if (text == WorkloadModeName(mode)) return mode;
  }
  return std::nullopt;
}

std::optional<FaultMode> ParseFaults(std::string_view text) {
  for (FaultMode mode : {FaultMode::kNone, FaultMode::kNet, FaultMode::kCrash, FaultMode::kAll}) {
    if (text == FaultModeName(mode)) return mode;
  }
  return std::nullopt;
}

bool IsValueFlag(std::string_view flag) {
  return flag == "--seed" || flag == "--seeds" || flag == "--nodes" || flag == "--faults" ||
         flag == "--workload" || flag == "--ticks" || flag == "--trace-tail";
}

// Sets `flag` from `value`; false (after printing why) if the value is bad.
bool SetValue(std::string_view flag, std::string_view value, Flags* flags) {
  if (flag == "--workload") {
    std::optional<WorkloadMode> mode = ParseWorkload(value);
    if (mode) flags->options.workload = *mode;
    if (!mode) std::cerr << "roster-sim: unknown workload " << value << "\n";
    return mode.has_value();
  }
  if (flag == "--faults") {
    std::optional<FaultMode> mode = ParseFaults(value);
    if (mode) flags->options.faults = *mode;
    if (!mode) std::cerr << "roster-sim: unknown fault mode " << value << "\n";
    return mode.has_value();
  }
  const std::optional<std::uint64_t> number = ParseNumber(value);
  if (!number || (flag != "--seed" && *number == 0) ||
      (flag == "--nodes" && *number != 3 && *number != 5 && *number != 7)) {
    std::cerr << "roster-sim: bad value for " << flag << ": " << value << "\n";
    return false;
  }
  if (flag == "--seed") flags->options.seed = *number;
  if (flag == "--seeds") flags->seeds = *number;
  if (flag == "--nodes") flags->options.nodes = static_cast<int>(*number);
  if (flag == "--ticks") flags->options.fault_ticks = *number;
  if (flag == "--trace-tail") flags->trace_tail = *number;
  return true;
}

// Returns false (after printing why) for anything it does not understand.
bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      flags->help = true;
    } else if (flag == "--verbose") {
      flags->verbose = true;
    } else if (flag == "--keep-going") {
      flags->keep_going = true;
    } else if (flag == "--no-lock-model") {
      flags->options.lock_model_checks = false;
    } else if (!IsValueFlag(flag)) {
      std::cerr << "roster-sim: unknown argument " << flag << "\n";
      return false;
    } else if (i + 1 >= argc) {
      std::cerr << "roster-sim: " << flag << " needs a value\n";
      return false;
    } else if (!SetValue(flag, argv[++i], flags)) {
      return false;
    }
  }
  return true;
}

// A CHECK failure inside the core aborts the process; the handler still shows which
// seed it was and how it got there.
const Trace* g_current_trace = nullptr;
std::uint64_t g_current_seed = 0;

extern "C" void OnAbort(int signal_number) {
  std::signal(signal_number, SIG_DFL);
  if (g_current_trace != nullptr) {
    std::cerr << "\nroster-sim: seed " << g_current_seed
              << " aborted (a failed CHECK?); last key events:\n";
    g_current_trace->PrintKeyEvents(std::cerr);
    std::cerr << "roster-sim: last trace events:\n";
    g_current_trace->PrintTail(std::cerr);
    std::cerr << "roster-sim: FAILED seed " << g_current_seed << " (aborted)\n";
    std::cerr.flush();
  }
  std::raise(signal_number);
}

// What the lock workload did over all seeds: how often the dangerous cases happened.
struct LockTotals {
  std::uint64_t seeds = 0;
  std::uint64_t seeds_with_overlap = 0;  // two clients believed they held one lock
  std::uint64_t seeds_with_fenced = 0;   // the downstream rejected a stale holder
  std::uint64_t acquired = 0;
  std::uint64_t overlaps = 0;
  std::uint64_t fenced = 0;
  std::uint64_t sessions_ended = 0;
  std::uint64_t ephemeral_deleted = 0;

  void Add(const SimStats& s) {
    if (s.lock_clients == 0) return;
    ++seeds;
    seeds_with_overlap += s.locks.fencing.overlaps > 0;
    seeds_with_fenced += s.locks.fencing.fenced > 0;
    acquired += s.locks.acquired;
    overlaps += s.locks.fencing.overlaps;
    fenced += s.locks.fencing.fenced;
    sessions_ended += s.locks.sessions_ended;
    ephemeral_deleted += s.locks.ephemeral_deleted;
  }
  std::string Summary() const {
    std::ostringstream out;
    out << "locks: " << seeds << " seeds with lock clients; " << acquired << " acquires, "
        << overlaps << " overlapping beliefs (on " << seeds_with_overlap << " seeds), " << fenced
        << " stale requests fenced (on " << seeds_with_fenced << " seeds), " << sessions_ended
        << " sessions ended, " << ephemeral_deleted << " ephemeral keys deleted with them";
    return out.str();
  }
};

std::string SummaryLine(const SimOptions& options, const SimResult& result) {
  const SimStats& s = result.stats;
  std::ostringstream out;
  out << "seed=" << options.seed << " nodes=" << s.nodes
      << " faults=" << FaultModeName(options.faults) << " workload=" << WorkloadModeName(s.workload)
      << " ticks=" << options.fault_ticks << " ops=" << s.ops_completed
      << " incomplete=" << s.ops_incomplete << " failed=" << s.ops_failed
      << " elections=" << s.elections << " leader_changes=" << s.leader_changes
      << " crashes=" << s.crashes << " snapshots_sent=" << s.snapshots_installed
      << " chunks=" << s.snapshot_chunks << " membership=" << s.membership_changes
      << " heal_ms=" << s.heal_ms;
  if (s.lock_clients > 0) {
    const LockStats& l = s.locks;
    out << " locks=acquired:" << l.acquired << ",contended:" << l.contended
        << ",overlaps:" << l.fencing.overlaps << ",fenced:" << l.fencing.fenced << "/"
        << l.fencing.accepted + l.fencing.fenced << ",sessions_ended:" << l.sessions_ended
        << ",ephemeral_deleted:" << l.ephemeral_deleted;
  }
  out << " result="
      << (result.ok ? (s.linearizability_timed_out ? "ok(lin-undecided)" : "ok") : "FAIL");
  return out.str();
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::cerr << kUsage;
    return 2;
  }
  if (flags.help) {
    std::cout << kUsage;
    return 0;
  }
  SetLogLevel(flags.verbose ? LogLevel::kInfo : LogLevel::kError);
  std::signal(SIGABRT, OnAbort);
  std::uint64_t failures = 0;
  std::uint64_t undecided = 0;
  std::uint64_t ran = 0;
  std::array<std::uint64_t, kCrashPointCount> crashes_at{};
  LockTotals lock_totals;
  for (std::uint64_t i = 0; i < flags.seeds; ++i, ++ran) {
    SimOptions options = flags.options;
    options.seed = flags.options.seed + i;
    Trace trace(flags.trace_tail, kKeyEvents, flags.verbose ? &std::cout : nullptr);
    g_current_trace = &trace;
    g_current_seed = options.seed;
    Cluster cluster(options, &trace);
    const SimResult result = cluster.Run();
    g_current_trace = nullptr;
    std::cout << SummaryLine(options, result) << "\n";
    undecided += result.stats.linearizability_timed_out;
    lock_totals.Add(result.stats);
    for (int p = 0; p < kCrashPointCount; ++p) crashes_at[p] += result.stats.crashes_at[p];
    if (result.ok) continue;
    ++failures;
    std::cout << "VIOLATION (seed " << options.seed << "): " << result.violation << "\nlast "
              << kKeyEvents << " key events (roles, crashes, restarts, faults, snapshots) of seed "
              << options.seed << ":\n";
    trace.PrintKeyEvents(std::cout);
    std::cout << "last " << flags.trace_tail << " trace events of seed " << options.seed << ":\n";
    trace.PrintTail(std::cout);
    std::cout << "replay: roster-sim --seed " << options.seed << " --faults "
              << FaultModeName(options.faults) << " --ticks " << options.fault_ticks
              << (options.nodes != 0 ? " --nodes " + std::to_string(options.nodes) : "")
              << (options.workload != WorkloadMode::kAuto
                      ? std::string(" --workload ") + WorkloadModeName(options.workload)
                      : "")
              << (options.lock_model_checks ? "" : " --no-lock-model") << " --verbose\n";
    if (!flags.keep_going) {
      ++ran;
      break;
    }
  }
  if (flags.seeds > 1) {
    std::cout << ran << " of " << flags.seeds << " seeds run from " << flags.options.seed << ": "
              << failures << " failed, " << undecided << " with linearizability undecided\n"
              << "crashes by step:";
    for (int p = 1; p < kCrashPointCount; ++p) {
      std::cout << ' ' << CrashPointName(static_cast<CrashPoint>(p)) << '=' << crashes_at[p];
    }
    std::cout << "\n";
    if (lock_totals.seeds > 0) std::cout << lock_totals.Summary() << "\n";
  }
  std::cout.flush();
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace roster::sim

int main(int argc, char** argv) { return roster::sim::Main(argc, argv); }
