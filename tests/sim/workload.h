// Workload: the simulated clients and the history they record.
//
// Each client runs one operation at a time on a few shared keys: a KV set, CAS, delete
// or delete-CAS (real store commands, store/command.h, proposed as log entries), or a
// linearizable read (ReadIndex, then the node's store::KvTable once it has applied the
// read index). A set or CAS carries its op id in its flags; a CAS or delete-CAS expects
// the ModifyIndex the client last saw for the key, or 0. A client sends to the node it
// believes leads; on NotLeader it follows the hint or tries another node.
//
// A proposal's fate: Propose returned (index, term), and the write takes effect at that
// index or never, so the history records the index. The node applying an entry at that
// index with that term means success (its bytes must be the proposed command's); another
// term means the proposal is lost for good, so the client is told it failed (the op
// leaves the history and the checker makes sure it never applies) and moves on to a new
// operation. No answer in op_timeout_ms, the node crashing, or the node skipping the
// index through a snapshot leave a write's outcome unknown to the client: it stays in
// the history as incomplete, unless the run's record of applied entries shows that its
// index holds another entry, or was never applied: then it never took effect and leaves.
// Reads with no answer are dropped from the history (a read has no effect).
// Single-threaded: owned by the Cluster.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "consensus/raw_node.h"
#include "tests/sim/linearizability.h"
#include "tests/sim/store_machine.h"

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
    std::string command;             // writes: the encoded store command
    consensus::ProposalId proposal;  // writes, once Propose accepted the command
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
    bool final_round = false;
    bool final_write_done = false;
    bool final_read_done = false;
    // Per key: the ModifyIndex last seen (0: absent), for CAS expectations.
    std::map<std::string, consensus::Index> last_seen;
  };

  void BeginOperation(Client& client);
  OpKind PickKind(const Client& client);
  void PrepareWrite(const Client& client, OpRecord& record);
  void Attempt(Client& client);
  void Submitted(Client& client, const SimNode& node);
  void Retry(Client& client, consensus::NodeId hint);
  void Complete(Client& client, const SimNode& node, bool ok, ReadResult output);
  void Fail(Client& client);
  void GiveUp(Client& client, const char* why);
  void Finish(Client& client, Fate fate);
  consensus::NodeId ChooseTarget(Client& client);
  std::string ReadContext(const OpRecord& record) const;
  bool WaitingAt(const Client& client, const SimNode& node) const;
  bool MayHaveApplied(const OpRecord& record) const;

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
