#include "tests/sim/requests.h"

#include <utility>
#include <vector>

#include "base/check.h"
#include "store/command.h"
#include "tests/sim/checkers.h"
#include "tests/sim/cluster.h"

namespace roster::sim {
namespace {

constexpr std::uint64_t kRetryMsMax = 8;  // pause before trying another node

std::string DescribeBytes(const std::string& command) {
  Result<store::Command> decoded = store::Decode(command);
  return decoded.ok() ? DescribeCommand(*decoded) : "<undecodable>";
}

}  // namespace

const char* RequestFateName(RequestFate fate) {
  switch (fate) {
    case RequestFate::kApplied:
      return "applied";
    case RequestFate::kLost:
      return "lost";
    case RequestFate::kUnknown:
      return "unknown";
    case RequestFate::kServed:
      return "served";
  }
  return "?";
}

Request::Request(Cluster* cluster, std::string actor)
    : cluster_(cluster), actor_(std::move(actor)) {
  CHECK(cluster != nullptr);
}

void Request::Propose(std::string command, std::uint64_t timeout_ms) {
  CHECK(!active()) << actor_ << " already has a request in flight";
  kind_ = Kind::kPropose;
  command_ = std::move(command);
  proposal_ = {};
  node_ = consensus::kNoNode;
  next_try_ms_ = cluster_->now_ms();
  deadline_ms_ = cluster_->now_ms() + timeout_ms;
  Note(consensus::kNoNode, "invoke " + DescribeBytes(command_));
}

void Request::Read(std::uint64_t timeout_ms) {
  CHECK(!active()) << actor_ << " already has a request in flight";
  kind_ = Kind::kRead;
  read_context_ = actor_ + "-read-" + std::to_string(next_read_id_++);
  node_ = consensus::kNoNode;
  next_try_ms_ = cluster_->now_ms();
  deadline_ms_ = cluster_->now_ms() + timeout_ms;
}

std::optional<RequestResult> Request::Step() {
  if (!active()) return std::nullopt;
  if (cluster_->now_ms() >= deadline_ms_) {
    // Never accepted by a leader: it cannot apply. Accepted: it still may.
    const bool submitted = node_ != consensus::kNoNode;
    return End(submitted ? RequestFate::kUnknown : RequestFate::kLost, false, 0, nullptr);
  }
  if (node_ == consensus::kNoNode && cluster_->now_ms() >= next_try_ms_) Submit();
  return std::nullopt;
}

void Request::Submit() {
  consensus::NodeId target = leader_guess_;
  if (target == consensus::kNoNode) {
    std::vector<consensus::NodeId> ids = cluster_->NodeIds();
    CHECK(!ids.empty());
    target = ids[cluster_->random().Uniform(ids.size())];
  }
  SimNode* node = cluster_->ReachableNode(target);
  if (node == nullptr) return Retry(consensus::kNoNode);  // connection refused
  const consensus::NodeId hint =
      node->raw().leader() == target ? consensus::kNoNode : node->raw().leader();
  if (kind_ == Kind::kRead) {
    if (!node->raw().ReadIndex(read_context_).ok()) return Retry(hint);
  } else {
    Result<consensus::ProposalId> proposal = node->raw().Propose(command_);
    if (!proposal.ok()) return Retry(hint);
    proposal_ = *proposal;
    Note(node->id(),
         "proposed at " + std::to_string(proposal_.index) + "@" + std::to_string(proposal_.term));
  }
  node_ = node->id();
  incarnation_ = node->incarnation();
  leader_guess_ = node->id();
}

void Request::Retry(consensus::NodeId hint) {
  leader_guess_ = hint;
  next_try_ms_ = cluster_->now_ms() + 1 + cluster_->random().Uniform(kRetryMsMax);
}

bool Request::PendingAt(const SimNode& node) const {
  return active() && node_ == node.id() && incarnation_ == node.incarnation();
}

std::optional<RequestResult> Request::OnApplied(SimNode& node, const consensus::Entry& entry,
                                                bool ok) {
  if (kind_ != Kind::kPropose || !PendingAt(node) || entry.index != proposal_.index) {
    return std::nullopt;
  }
  if (entry.term != proposal_.term) return End(RequestFate::kLost, false, entry.index, &node);
  if (entry.type != consensus::EntryType::kNormal || entry.data != command_) {
    cluster_->Fail(actor_ + "'s proposal " + std::to_string(entry.index) + "@" +
                   std::to_string(entry.term) + " applied as " + DescribeEntry(entry));
    return End(RequestFate::kUnknown, false, 0, nullptr);
  }
  return End(RequestFate::kApplied, ok, entry.index, &node);
}

std::optional<RequestResult> Request::OnReadServed(SimNode& node, const std::string& context) {
  if (kind_ != Kind::kRead || !PendingAt(node) || context != read_context_) return std::nullopt;
  return End(RequestFate::kServed, true, 0, &node);
}

std::optional<RequestResult> Request::OnNodeDown(consensus::NodeId node) {
  if (!active() || node_ != node) return std::nullopt;
  leader_guess_ = consensus::kNoNode;
  return End(RequestFate::kUnknown, false, 0, nullptr);
}

std::optional<RequestResult> Request::OnSnapshotInstalled(SimNode& node, consensus::Index index) {
  if (kind_ != Kind::kPropose || !PendingAt(node) || proposal_.index > index) return std::nullopt;
  return End(RequestFate::kUnknown, false, 0, nullptr);
}

RequestResult Request::End(RequestFate fate, bool ok, consensus::Index index, SimNode* node) {
  Note(node_, std::string(kind_ == Kind::kRead ? "read " : "") + RequestFateName(fate) +
                  (fate == RequestFate::kApplied ? (ok ? " ok" : " not ok") : ""));
  if (fate == RequestFate::kLost || fate == RequestFate::kUnknown) {
    leader_guess_ = consensus::kNoNode;
  }
  kind_ = Kind::kNone;
  node_ = consensus::kNoNode;
  return RequestResult{fate, ok, index, node};
}

std::string Request::Describe() const {
  switch (kind_) {
    case Kind::kNone:
      return "none";
    case Kind::kRead:
      return "read" + (node_ == consensus::kNoNode ? std::string(" (unsent)")
                                                   : " at n" + std::to_string(node_));
    case Kind::kPropose:
      return DescribeBytes(command_) +
             (node_ == consensus::kNoNode
                  ? std::string(" (unsent)")
                  : " at n" + std::to_string(node_) + " index " + std::to_string(proposal_.index));
  }
  return "?";
}

void Request::Note(consensus::NodeId node, const std::string& text) const {
  cluster_->trace().Record(cluster_->now_ms(), TraceKind::kClient, node, actor_ + " " + text);
}

}  // namespace roster::sim
