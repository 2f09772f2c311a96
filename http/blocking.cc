#include "http/blocking.h"

#include <algorithm>
#include <memory>

namespace roster::http {
namespace {

using std::chrono::steady_clock;

// How often a parked query looks at the stop token. Watch::WaitUntil cannot be
// interrupted otherwise, and stopping the server must not wait out a ten-minute wait.
// At 2,000 parked queries this is 4,000 cheap wake-ups a second.
constexpr std::chrono::milliseconds kStopCheckInterval{500};

// Jitter only needs to spread timeouts, from a generator per thread (base/random.h).
Random& ThreadRandom() {
  thread_local SystemRandom random;
  return random;
}

Result<BlockingResult> RunOnce(Backend& backend, const BlockingQuery& query,
                               Consistency consistency) {
  BlockingResult result;
  Result<ReadMeta> meta = backend.Read(
      consistency, [&](const store::Store& store) { result.index = query.run(store); });
  if (!meta.ok()) return meta.status();
  result.meta = *meta;
  return result;
}

Result<BlockingResult> RunOnce(Backend& backend, const BlockingQuery& query) {
  return RunOnce(backend, query, query.consistency);
}

// Whether this server's own replica shows nothing past `min_index` yet, while it knows
// a leader. A client re-arms with the index of the reply it just had, so this is the
// usual case, and then a run in the client's mode would only confirm it: on a follower
// at the price of a ReadIndex round to the leader per query, thousands at once after
// a popular key changes. A write the leader has and this replica has not applied yet
// fires the watch when it is applied, and the run after that wake-up is made in the
// client's mode. Without a known leader the caller runs in the client's mode at once,
// so the client hears "No cluster leader" as before.
bool NothingNewLocally(Backend& backend, const BlockingQuery& query) {
  if (query.consistency == Consistency::kStale) return false;  // the run is local anyway
  Result<BlockingResult> local = RunOnce(backend, query, Consistency::kStale);
  return local.ok() && local->meta.known_leader && local->index <= query.blocking.min_index;
}

// Waits until the watch fires (true), or the deadline passes or stop is requested.
bool WaitForChange(Watch& watch, steady_clock::time_point deadline, const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    const steady_clock::time_point now = steady_clock::now();
    if (now >= deadline) return false;
    if (watch.WaitUntil(std::min(deadline, now + kStopCheckInterval))) return true;
  }
  return false;
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

Result<BlockingResult> RunBlockingQuery(Backend& backend, const BlockingQuery& query,
                                        const BlockingLimits& limits, std::stop_token stop) {
  if (query.blocking.min_index == 0) return RunOnce(backend, query);
  const std::chrono::nanoseconds wait = EffectiveWait(query.blocking.wait, limits);
  const steady_clock::time_point deadline =
      steady_clock::now() + wait + Jitter(wait, ThreadRandom());
  // Registered before the first run: a write between the run and the wait still wakes.
  const std::unique_ptr<Watch> watch = backend.NewWatch(query.watch_keys);
  // Whatever ends this wait (a write, the deadline, stop), the loop below answers from a
  // run in the client's mode.
  if (NothingNewLocally(backend, query)) WaitForChange(*watch, deadline, stop);
  while (true) {
    Result<BlockingResult> result = RunOnce(backend, query);
    if (!result.ok() || result->index > query.blocking.min_index) return result;
    if (!WaitForChange(*watch, deadline, stop)) return result;
  }
}

}  // namespace roster::http
