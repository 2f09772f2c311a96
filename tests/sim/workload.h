// Workload: the simulated clients and the history they record.
//
// Each client runs one operation at a time on a few shared keys: write, compare-and-set
// (both proposed as log entries) or a linearizable read (ReadIndex, then served from
// the node's machine once it has applied the read index). A client sends to the node it
// believes leads; on NotLeader it follows the hint or tries another node.
//
// A proposal's fate: Propose returned (index, term); the node applying an entry at that
// index with that term means success (its op id must match), another term means the
// proposal is lost for good, so the client is told it failed (the op leaves the history
// and the checker makes sure it never applies) and moves on to a new operation. No
// answer in op_timeout_ms, the node crashing, or the node skipping the index through a
// snapshot leave a write's outcome unknown: it stays in the history as incomplete.
// Reads with no answer are dropped from the history (a read has no effect).
// Single-threaded: owned by the Cluster.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "consensus/raw_node.h"
#include "tests/sim/linearizability.h"
#include "tests/sim/register_machine.h"

namespace roster::sim {

class Cluster;
class SimNode;

struct WorkloadSettings {
  int clients = 3;
  int keys = 3;
  std::uint64_t think_ms_max = 20;    // pause between a client's operations
  std::uint64_t retry_ms_max = 8;     // pause before trying another node
  std::uint64_t op_timeout_ms = 600;  // then the client gives up on the operation
};

class Workload {
 public:
  Workload(Cluster* cluster, const WorkloadSettings& settings);

  // Lets every client whose next action is due act (invoke, retry, give up).
  void Step();

  void OnApplied(SimNode& node, const consensus::Entry& entry, const ApplyOutcome& outcome);
  void OnReadServed(SimNode& node, const std::string& context);
  // Requests waiting at the node died with it (the connection dropped).
  void OnNodeDown(consensus::NodeId node);
  // The node skipped to `index` without applying what it skipped.
  void OnSnapshotInstalled(SimNode& node, consensus::Index index);

  // Liveness: from now on each client must complete one write and one read, then stops.
  void StartFinalRound();
  bool FinalRoundDone() const;

  // Completed operations plus writes of unknown outcome, for CheckHistory.
  std::vector<Operation> History() const;
  std::string DescribeClients() const;

  std::uint64_t completed() const { return completed_; }
  std::uint64_t incomplete() const;
  std::uint64_t failed() const { return failed_; }

 private:
  enum class Phase : std::uint8_t { kIdle, kSubmitting, kWaiting };
  enum class Fate : std::uint8_t { kPending, kCompleted, kIncomplete, kFailed, kDropped };

  struct OpRecord {
    Operation op;
    std::uint64_t op_id = 0;
    Fate fate = Fate::kPending;
  };

  struct Client {
    int id = 0;
    Phase phase = Phase::kIdle;
    std::uint64_t next_action_ms = 0;
    std::uint64_t deadline_ms = 0;
    std::size_t op = 0;  // index into ops_ of the current operation
    consensus::NodeId leader_guess = consensus::kNoNode;
    // While kWaiting: where the request is pending.
    consensus::NodeId node = consensus::kNoNode;
    std::uint64_t incarnation = 0;
    consensus::ProposalId proposal;
    bool final_round = false;
    bool final_write_done = false;
    bool final_read_done = false;
    std::map<std::string, std::string> last_seen;  // per key, for CAS expectations
  };

  void BeginOperation(Client& client);
  void Attempt(Client& client);
  void Submitted(Client& client, const SimNode& node);
  void Retry(Client& client, consensus::NodeId hint);
  void Complete(Client& client, const SimNode& node, bool ok, std::string output);
  void Fail(Client& client);
  void GiveUp(Client& client, const char* why);
  void Finish(Client& client, Fate fate);
  consensus::NodeId ChooseTarget(Client& client);
  std::string ReadContext(const OpRecord& record) const;
  bool WaitingAt(const Client& client, const SimNode& node) const;

  Cluster* cluster_;
  WorkloadSettings settings_;
  std::vector<Client> clients_;
  std::vector<OpRecord> ops_;
  std::uint64_t next_op_id_ = 1;
  std::uint64_t history_clock_ = 0;  // logical time of invocations and returns
  std::uint64_t final_round_start_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t failed_ = 0;
};

}  // namespace roster::sim
