#include "tests/sim/network.h"

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace roster::sim {
namespace {

// One bucket per millisecond, longer than any delay so a bucket is empty before reuse.
constexpr std::uint32_t kWheelSlots = SimNetwork::kMaxDelayMs + 1;

}  // namespace

SimNetwork::SimNetwork(Random* random) : random_(random), wheel_(kWheelSlots) {
  CHECK(random != nullptr);
}

void SimNetwork::set_conditions(const NetworkConditions& conditions) {
  CHECK_LE(conditions.delay_ms_min, conditions.delay_ms_max);
  CHECK_GE(conditions.delay_ms_min, 1u);  // never deliver in the millisecond of sending
  CHECK_LT(conditions.delay_ms_max, kMaxDelayMs);
  CHECK_LT(conditions.spike_ms_max, kMaxDelayMs);
  conditions_ = conditions;
}

void SimNetwork::Block(consensus::NodeId from, consensus::NodeId to) {
  blocked_.insert({from, to});
}

void SimNetwork::Unblock(consensus::NodeId from, consensus::NodeId to) {
  blocked_.erase({from, to});
}

bool SimNetwork::IsBlocked(consensus::NodeId from, consensus::NodeId to) const {
  return !blocked_.empty() && blocked_.count({from, to}) > 0;
}

SendOutcome SimNetwork::Admit(consensus::NodeId from, consensus::NodeId to) {
  if (IsBlocked(from, to)) return SendOutcome::kBlocked;
  if (random_->Chance(conditions_.drop_probability)) return SendOutcome::kDropped;
  if (random_->Chance(conditions_.duplicate_probability)) return SendOutcome::kDuplicated;
  return SendOutcome::kQueued;
}

void SimNetwork::Enqueue(std::uint64_t now_ms, consensus::Message message) {
  EnqueueAfter(now_ms, DrawDelayMs(), std::move(message));
}

std::uint32_t SimNetwork::DrawDelayMs() {
  if (conditions_.spike_probability > 0 && random_->Chance(conditions_.spike_probability)) {
    return static_cast<std::uint32_t>(random_->Range(
        conditions_.delay_ms_max, std::max(conditions_.delay_ms_max, conditions_.spike_ms_max)));
  }
  return static_cast<std::uint32_t>(
      random_->Range(conditions_.delay_ms_min, conditions_.delay_ms_max));
}

void SimNetwork::EnqueueAfter(std::uint64_t now_ms, std::uint32_t delay_ms,
                              consensus::Message message) {
  CHECK_GE(delay_ms, 1u);
  CHECK_LT(delay_ms, kMaxDelayMs);
  wheel_[(now_ms + delay_ms) % kWheelSlots].push_back(std::move(message));
  ++in_flight_;
}

void SimNetwork::TakeDue(std::uint64_t now_ms, std::vector<consensus::Message>* out) {
  CHECK(!taken_any_ || now_ms == last_taken_ms_ + 1)
      << "TakeDue must see every millisecond: last " << last_taken_ms_ << ", now " << now_ms;
  taken_any_ = true;
  last_taken_ms_ = now_ms;
  std::vector<consensus::Message>& bucket = wheel_[now_ms % kWheelSlots];
  in_flight_ -= bucket.size();
  for (consensus::Message& message : bucket) out->push_back(std::move(message));
  bucket.clear();
}

}  // namespace roster::sim
