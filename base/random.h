// Random: where code gets randomness, named by what it is safe for.
//
// DeterministicRandom is seeded and reproducible: the consensus core, the store and
// the simulator use only it, so a seed replays a run to the byte.
// Nondeterministic randomness (session IDs, jitter in a real server) comes from
// SystemRandom. Thread-safety: neither is synchronised; give each thread its own.
#pragma once

#include <cstdint>

namespace roster {

class Random {
 public:
  virtual ~Random() = default;
  virtual std::uint64_t Next() = 0;

  // Uniform in [0, bound); bound must be > 0.
  std::uint64_t Uniform(std::uint64_t bound);
  // Uniform in [lo, hi]; requires lo <= hi.
  std::int64_t Range(std::int64_t lo, std::int64_t hi);
  // True with probability numerator / denominator.
  bool OneIn(std::uint64_t denominator) { return Uniform(denominator) == 0; }
  bool Chance(double probability);
};

// xoshiro256** seeded through splitmix64: fast, small state, good quality.
class DeterministicRandom final : public Random {
 public:
  explicit DeterministicRandom(std::uint64_t seed);
  std::uint64_t Next() override;

 private:
  std::uint64_t state_[4];
};

// Seeded from std::random_device; for IDs and jitter, never inside a simulation.
class SystemRandom final : public Random {
 public:
  SystemRandom();
  std::uint64_t Next() override { return inner_.Next(); }

 private:
  DeterministicRandom inner_;
};

}  // namespace roster
