#include "consensus/progress.h"

#include <sstream>

#include "base/check.h"

namespace roster::consensus {

void Inflights::Add(Index last_index, std::uint64_t bytes) {
  CHECK(!Full()) << "adding to a full in-flight window";
  CHECK(window_.empty() || window_.back().last_index < last_index)
      << "in-flight appends must have increasing indexes";
  window_.push_back({last_index, bytes});
  bytes_ += bytes;
}

void Inflights::FreeLE(Index index) {
  while (!window_.empty() && window_.front().last_index <= index) {
    bytes_ -= window_.front().bytes;
    window_.pop_front();
  }
}

void Inflights::FreeFirstOne() {
  if (window_.empty()) return;
  bytes_ -= window_.front().bytes;
  window_.pop_front();
}

void Inflights::Reset() {
  window_.clear();
  bytes_ = 0;
}

bool Inflights::Full() const {
  return window_.size() >= max_count_ || (max_bytes_ > 0 && bytes_ >= max_bytes_);
}

Progress::Progress(Index next, std::uint64_t max_inflight_messages,
                   std::uint64_t max_inflight_bytes, bool is_learner)
    : next_(next), is_learner_(is_learner), inflights_(max_inflight_messages, max_inflight_bytes) {}

void Progress::BecomeProbe() {
  // After a snapshot, probing resumes right after it; otherwise right after the match.
  if (state_ == ProgressState::kSnapshot) {
    next_ = std::max(match_ + 1, pending_snapshot_index_ + 1);
  } else {
    next_ = match_ + 1;
  }
  state_ = ProgressState::kProbe;
  probe_sent_ = false;
  pending_snapshot_index_ = 0;
  snapshot_offset_ = 0;
  inflights_.Reset();
}

void Progress::BecomeReplicate() {
  state_ = ProgressState::kReplicate;
  next_ = match_ + 1;
  probe_sent_ = false;
  pending_snapshot_index_ = 0;
  snapshot_offset_ = 0;
  inflights_.Reset();
}

void Progress::BecomeSnapshot(Index snapshot_index) {
  state_ = ProgressState::kSnapshot;
  probe_sent_ = false;
  pending_snapshot_index_ = snapshot_index;
  snapshot_offset_ = 0;
  inflights_.Reset();
}

bool Progress::MaybeUpdate(Index index) {
  bool updated = false;
  if (match_ < index) {
    match_ = index;
    updated = true;
    probe_sent_ = false;
  }
  next_ = std::max(next_, index + 1);
  return updated;
}

bool Progress::MaybeDecreaseTo(Index rejected, Index hint) {
  if (state_ == ProgressState::kReplicate) {
    // A rejection of something already matched is stale (reordered or duplicated).
    if (rejected <= match_) return false;
    next_ = match_ + 1;
    return true;
  }
  // Probe: only the answer to the probe we sent (prev index next_-1) counts.
  if (next_ == 0 || next_ - 1 != rejected) return false;
  next_ = std::max(std::min(rejected, hint + 1), match_ + 1);
  probe_sent_ = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state_) {
    case ProgressState::kProbe: return probe_sent_;
    case ProgressState::kReplicate: return inflights_.Full();
    case ProgressState::kSnapshot: return true;
  }
  return true;
}

std::string Progress::ToString() const {
  static const char* kNames[] = {"probe", "replicate", "snapshot"};
  std::ostringstream out;
  out << kNames[static_cast<int>(state_)] << " match=" << match_ << " next=" << next_;
  if (is_learner_) out << " learner";
  if (state_ == ProgressState::kSnapshot) {
    out << " snapshot=" << pending_snapshot_index_ << "@" << snapshot_offset_;
  }
  out << " inflight=" << inflights_.count();
  return out.str();
}

}  // namespace roster::consensus
