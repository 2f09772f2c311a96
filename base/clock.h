// Clock: where code with I/O gets the time, so tests and the simulator can own it.
//
// The deterministic cores (consensus/, store/) never read a clock: time reaches them
// as ticks or arguments. Servers and agents take a Clock in their constructor.
// Thread-safety: SystemClock is safe from any thread; FakeClock is not synchronised
// and belongs to one test thread.
#pragma once

#include <cstdint>

namespace roster {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds since an arbitrary origin; never goes backwards.
  virtual std::int64_t NowMs() const = 0;
  // Wall-clock milliseconds since the Unix epoch; for display and TTL records only.
  virtual std::int64_t WallMs() const = 0;
};

// The real clocks (steady_clock and system_clock).
class SystemClock final : public Clock {
 public:
  std::int64_t NowMs() const override;
  std::int64_t WallMs() const override;
};

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t now_ms = 0) : now_ms_(now_ms) {}
  std::int64_t NowMs() const override { return now_ms_; }
  std::int64_t WallMs() const override { return now_ms_; }
  void AdvanceMs(std::int64_t delta_ms) { now_ms_ += delta_ms; }

 private:
  std::int64_t now_ms_;
};

}  // namespace roster
