#include "http/blocking.h"

#include <algorithm>
#include <utility>

#include "http/handlers.h"

namespace roster::http {
namespace {

using std::chrono::steady_clock;

// Set by NoWaitingReadsScope.
thread_local bool reads_must_not_wait = false;

// Jitter only needs to spread timeouts, from a generator per thread (base/random.h).
Random& ThreadRandom() {
  thread_local SystemRandom random;
  return random;
}

struct RunResult {
  ReadMeta meta;
  store::Index index = 0;
};

Result<RunResult> RunOnce(Backend& backend, const BlockingRead& read, Consistency consistency) {
  RunResult result;
  Result<ReadMeta> meta = backend.Read(
      consistency, [&](const store::Store& store) { result.index = read.run(store); });
  if (!meta.ok()) return meta.status();
  result.meta = *meta;
  return result;
}

Reply Rendered(const BlockingRead& read, const Result<RunResult>& result) {
  if (!result.ok()) return StatusReply(result.status());
  Reply reply = read.render();
  AddReadHeaders(result->meta, result->index, reply);
  return reply;
}

// Whether this server's own replica shows nothing past `min_index` yet, while it knows
// a leader. A client re-arms with the index of the reply it just had, so this is the
// usual case, and then a run in the client's mode would only confirm it: on a follower
// at the price of a ReadIndex round to the leader per query, thousands at once after
// a popular key changes. A write the leader has and this replica has not applied yet
// fires the watch when it is applied, and the run after that wake-up is made in the
// client's mode. Without a known leader the caller runs in the client's mode at once,
// so the client hears "No cluster leader" as before.
bool NothingNewLocally(Backend& backend, const BlockingRead& read) {
  if (read.consistency == Consistency::kStale) return false;  // the run is local anyway
  Result<RunResult> local = RunOnce(backend, read, Consistency::kStale);
  return local.ok() && local->meta.known_leader && local->index <= read.blocking.min_index;
}

}  // namespace

std::chrono::nanoseconds EffectiveWait(std::chrono::nanoseconds requested,
                                       const BlockingLimits& limits) {
  if (requested.count() <= 0) return limits.wait_default;
  return std::min(requested, limits.wait_max);
}

std::chrono::nanoseconds Jitter(std::chrono::nanoseconds wait, Random& random) {
  const std::int64_t bound = wait.count() / 16;
  if (bound <= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(
      static_cast<std::int64_t>(random.Uniform(static_cast<std::uint64_t>(bound))));
}

ParkedRead::ParkedRead(Backend& backend, BlockingRead read, std::unique_ptr<Watch> watch,
                       steady_clock::time_point deadline, std::string read_key)
    : backend_(backend),
      read_(std::move(read)),
      watch_(std::move(watch)),
      deadline_(deadline),
      read_key_(std::move(read_key)) {}

NoWaitingReadsScope::NoWaitingReadsScope() { reads_must_not_wait = true; }
NoWaitingReadsScope::~NoWaitingReadsScope() { reads_must_not_wait = false; }

ParkedRead::Outcome ParkedRead::Run() {
  Result<RunResult> result = RunOnce(backend_, read_, read_.consistency);
  Outcome outcome;
  outcome.final = !result.ok();
  if (result.ok()) outcome.index = result->index;
  outcome.reply = Rendered(read_, result);
  return outcome;
}

Reply ServeBlockingRead(Backend& backend, const BlockingLimits& limits,
                        const std::function<std::string()>& read_key, BlockingRead read) {
  const bool may_wait = !reads_must_not_wait || backend.ReadsLocally(read.consistency);
  if (read.blocking.min_index == 0 && may_wait) {
    return Rendered(read, RunOnce(backend, read, read.consistency));
  }
  const std::chrono::nanoseconds wait = EffectiveWait(read.blocking.wait, limits);
  const steady_clock::time_point deadline =
      steady_clock::now() + wait + Jitter(wait, ThreadRandom());
  // Registered before the first run: a write between the run and the park still fires.
  std::unique_ptr<Watch> watch = backend.NewWatch(read.watch_keys);
  bool due_now = false;
  if (read.blocking.min_index == 0 || !NothingNewLocally(backend, read)) {
    if (may_wait) {
      Result<RunResult> result = RunOnce(backend, read, read.consistency);
      if (!result.ok() || result->index > read.blocking.min_index) return Rendered(read, result);
    } else {
      due_now = true;  // a worker makes the run that waits for the leader
    }
  }
  Reply reply;
  reply.parked_read = std::make_shared<ParkedRead>(backend, std::move(read), std::move(watch),
                                                   deadline, read_key());
  if (due_now) reply.parked_read->set_due_now();
  return reply;
}

std::string ReadKey(std::string_view path, const Query& query) {
  std::string key(path);
  key += '?';
  for (const auto& [name, value] : query.pairs()) {
    if (name == "index" || name == "wait") continue;
    // Length-prefixed, so that no two different queries make one key.
    for (const std::string* part : {&name, &value}) {
      key += std::to_string(part->size());
      key += ':';
      key += *part;
    }
  }
  return key;
}

}  // namespace roster::http
