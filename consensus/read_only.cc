#include "consensus/read_only.h"

#include "base/check.h"

namespace roster::consensus {

std::uint64_t ReadOnly::StartRound(Index commit, NodeId self) {
  CHECK(!in_flight_ && !queued_.empty());
  in_flight_ = true;
  ++round_;
  round_index_ = commit;
  round_requests_ = std::move(queued_);
  queued_.clear();
  acks_.clear();
  acks_.insert(self);
  return round_;
}

std::vector<CompletedRead> ReadOnly::Acknowledge(
    NodeId from, std::uint64_t round,
    const std::function<bool(const std::set<NodeId>&)>& has_quorum) {
  // Only an echo of the round in flight counts: older rounds are finished, and a
  // number from the future is malformed.
  if (!in_flight_ || round != round_) return {};
  acks_.insert(from);
  if (!has_quorum(acks_)) return {};
  std::vector<CompletedRead> done;
  done.reserve(round_requests_.size());
  for (ReadRequest& request : round_requests_) done.push_back({std::move(request), round_index_});
  round_requests_.clear();
  acks_.clear();
  in_flight_ = false;
  return done;
}

std::vector<ReadRequest> ReadOnly::Reset() {
  std::vector<ReadRequest> dropped = std::move(round_requests_);
  for (ReadRequest& request : queued_) dropped.push_back(std::move(request));
  queued_.clear();
  round_requests_.clear();
  acks_.clear();
  in_flight_ = false;
  return dropped;
}

}  // namespace roster::consensus
