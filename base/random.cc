#include "base/random.h"

#include <random>

#include "base/check.h"

namespace roster {
namespace {

std::uint64_t SplitMix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t RotateLeft(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

std::uint64_t SeedFromDevice() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

std::uint64_t Random::Uniform(std::uint64_t bound) {
  CHECK_GT(bound, 0u);
  // Lemire's nearly-divisionless method is overkill here; rejection keeps it unbiased.
  std::uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  std::uint64_t x;
  do {
    x = Next();
  } while (x >= limit);
  return x % bound;
}

std::int64_t Random::Range(std::int64_t lo, std::int64_t hi) {
  CHECK_LE(lo, hi);
  return lo + static_cast<std::int64_t>(Uniform(static_cast<std::uint64_t>(hi - lo) + 1));
}

bool Random::Chance(double probability) {
  if (probability <= 0) return false;
  if (probability >= 1) return true;
  return static_cast<double>(Next() >> 11) * 0x1.0p-53 < probability;
}

DeterministicRandom::DeterministicRandom(std::uint64_t seed) {
  for (auto& word : state_) word = SplitMix64(seed);
}

std::uint64_t DeterministicRandom::Next() {
  const std::uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

SystemRandom::SystemRandom() : inner_(SeedFromDevice()) {}

}  // namespace roster
