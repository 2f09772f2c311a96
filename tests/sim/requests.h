// Request: what one simulated actor of the lock workload (a lock client, the reaper)
// has in flight at the cluster, one at a time: a proposal of a store command or a
// linearizable read. It goes to the node the actor believes leads, follows NotLeader
// hints, and ends with what that node then does:
//   applied  the node applied the proposal's index with the proposal's term: the entry
//            is the proposed command (else a violation), `ok` is its apply outcome, and
//            the node's store is exactly as that entry left it.
//   lost     the node applied another term's entry at that index, or the request was
//            never accepted by a leader before its deadline: it never applies.
//   unknown  no answer by the deadline, the node went down, or it skipped the index
//            through a snapshot: the proposal may still apply, or not.
//   served   a read's index was reached: the node's store can be read now.
// The same rules as the KV workload's (docs/design/simulator.md, "Clients").
// Single-threaded: owned by its actor, driven by the Cluster's loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "consensus/raw_node.h"

namespace roster::sim {

class Cluster;
class SimNode;

enum class RequestFate : std::uint8_t { kApplied, kLost, kUnknown, kServed };
const char* RequestFateName(RequestFate fate);

struct RequestResult {
  RequestFate fate = RequestFate::kUnknown;
  bool ok = false;             // kApplied: the apply outcome
  consensus::Index index = 0;  // kApplied: the entry's index
  SimNode* node = nullptr;     // kApplied, kServed: valid during the callback only
};

class Request {
 public:
  // `actor` names the owner in trace lines ("L2", "reaper").
  Request(Cluster* cluster, std::string actor);

  // Starts a proposal of `command` (encoded store::Command); REQUIRES: !active().
  void Propose(std::string command, std::uint64_t timeout_ms);
  // Starts a linearizable read; REQUIRES: !active().
  void Read(std::uint64_t timeout_ms);
  bool active() const { return kind_ != Kind::kNone; }
  bool is_read() const { return kind_ == Kind::kRead; }

  // Submits when due and not yet submitted; ends the request at its deadline.
  std::optional<RequestResult> Step();
  std::optional<RequestResult> OnApplied(SimNode& node, const consensus::Entry& entry, bool ok);
  std::optional<RequestResult> OnReadServed(SimNode& node, const std::string& context);
  std::optional<RequestResult> OnNodeDown(consensus::NodeId node);
  std::optional<RequestResult> OnSnapshotInstalled(SimNode& node, consensus::Index index);

  // The node that last answered (a leader, most likely); kNoNode at first.
  consensus::NodeId last_node() const { return leader_guess_; }
  std::string Describe() const;

 private:
  enum class Kind : std::uint8_t { kNone, kPropose, kRead };

  bool PendingAt(const SimNode& node) const;
  void Submit();
  void Retry(consensus::NodeId hint);
  RequestResult End(RequestFate fate, bool ok, consensus::Index index, SimNode* node);
  void Note(consensus::NodeId node, const std::string& text) const;

  Cluster* cluster_;
  std::string actor_;
  Kind kind_ = Kind::kNone;
  std::string command_;
  std::string read_context_;
  std::uint64_t next_read_id_ = 1;
  consensus::ProposalId proposal_;
  consensus::NodeId node_ = consensus::kNoNode;  // where it is pending, once submitted
  std::uint64_t incarnation_ = 0;
  std::uint64_t next_try_ms_ = 0;
  std::uint64_t deadline_ms_ = 0;
  consensus::NodeId leader_guess_ = consensus::kNoNode;
};

}  // namespace roster::sim
