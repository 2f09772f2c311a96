// SimNode: one simulated server: a real consensus::RawNode, its SimDisk, the
// StoreMachine it applies to (the real store::Store plus the membership), and its
// clock. HandleReady follows the durability contract of consensus/raw_node.h step by
// step, and can crash the node between any two steps (the armed CrashPoint), losing
// whatever was not synced.
//
// A crash throws away the RawNode, the machine and the unsynced writes; Start()
// rebuilds them from the durable disk: live storage from the durable copy, the
// machine from the durable snapshot, then RawNode::Create with applied = its index.
// Single-threaded: owned and driven by the Cluster.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/random.h"
#include "consensus/raw_node.h"
#include "tests/sim/disk.h"
#include "tests/sim/store_machine.h"

namespace roster::sim {

// Where in the handling of a Ready a crash strikes (see the contract's steps 1-5).
enum class CrashPoint : std::uint8_t {
  kNone = 0,
  kIdle,                // between Readies
  kAfterSend,           // step 1 done: messages sent, nothing written
  kAfterWrite,          // step 2 written to the disk but not synced
  kAfterSync,           // step 2 synced; persisted_messages not sent
  kAfterPersistedSend,  // step 3 done; nothing applied
  kMidApply,            // step 4 part-way: some committed entries applied
  kAfterApply,          // step 4 done; no snapshot taken
  kAfterSnapshotWrite,  // the application's snapshot written but not synced
  kBeforeAdvance,       // everything but step 5
};
inline constexpr int kCrashPointCount = 10;
const char* CrashPointName(CrashPoint point);

// Which Ready an armed crash waits for: the dangerous windows are around the Readies
// that change the term or vote, grant a vote, install a snapshot or commit entries.
enum class CrashTrigger : std::uint8_t {
  kAnyReady = 0,
  kHardStateChange,  // a new term, vote or commit index to persist
  kVoteGranted,      // persisted_messages grant a vote or pre-vote
  kSnapshot,         // a snapshot from the leader to install
  kCommitted,        // committed entries to apply
};
inline constexpr int kCrashTriggerCount = 5;
const char* CrashTriggerName(CrashTrigger trigger);

class SimNode;

// What handling a Ready reaches outside the node. Implemented by the Cluster.
class NodeEnvironment {
 public:
  virtual ~NodeEnvironment() = default;
  virtual void SendMessage(SimNode& node, consensus::Message message) = 0;
  virtual void OnSoftState(SimNode& node, const consensus::SoftState& state) = 0;
  virtual void OnApplied(SimNode& node, const consensus::Entry& entry,
                         const ApplyOutcome& outcome) = 0;
  virtual void OnSnapshotInstalled(SimNode& node, const consensus::SnapshotMetadata& metadata) = 0;
  virtual void OnSnapshotTaken(SimNode& node, consensus::Index index) = 0;
  // A ReadIndex request's read point has been reached: serve it from node.machine().store().
  virtual void OnReadServed(SimNode& node, const std::string& context) = 0;
  virtual void OnViolation(SimNode& node, std::string what) = 0;
};

// A node's clock: it ticks every tick_period_ms (skewed per node). A paused node (a
// stalled process) neither ticks nor handles messages until paused_until_ms.
struct NodeClock {
  std::uint64_t tick_period_ms = 10;
  std::uint64_t next_tick_ms = 0;
  std::uint64_t paused_until_ms = 0;

  bool paused(std::uint64_t now_ms) const { return paused_until_ms > now_ms; }
};

struct NodeSettings {
  consensus::Config raft;  // id, storage, applied and random_seed are filled in per start
  std::uint64_t snapshot_interval_entries = 16;
  std::uint64_t snapshot_keep_entries = 4;
};

class SimNode {
 public:
  // A node with an empty disk; call Bootstrap first for a founding member.
  SimNode(consensus::NodeId id, const NodeSettings& settings, Random* random);

  void Bootstrap(const consensus::ConfState& conf_state) { disk_.Bootstrap(conf_state); }

  // Boots (or reboots) from the durable disk. InvalidArgument/Corruption if the core or
  // the snapshot refuses; the caller reports that as a violation.
  Status Start(std::uint64_t random_seed);
  // Crashes now, between Readies.
  void Crash();

  // Handles Readies until none is left. Returns false if an armed crash struck.
  bool ProcessReadies(NodeEnvironment& env);

  // The next Ready that matches `trigger` and reaches `point` crashes there.
  void ArmCrash(CrashPoint point, CrashTrigger trigger = CrashTrigger::kAnyReady) {
    armed_crash_ = point;
    armed_trigger_ = trigger;
  }
  CrashPoint armed_crash() const { return armed_crash_; }
  // Where the last crash struck (kIdle for Crash()).
  CrashPoint last_crash_point() const { return last_crash_point_; }

  bool up() const { return raw_ != nullptr; }
  consensus::NodeId id() const { return id_; }
  consensus::RawNode& raw() { return *raw_; }
  const consensus::RawNode& raw() const { return *raw_; }
  const StoreMachine& machine() const { return *machine_; }
  const SimDisk& disk() const { return disk_; }
  // Bumped by every Start: requests made to an earlier incarnation died with it.
  std::uint64_t incarnation() const { return incarnation_; }

  NodeClock& clock() { return clock_; }
  const NodeClock& clock() const { return clock_; }

 private:
  enum class ReadyOutcome : std::uint8_t { kHandled, kCrashed, kViolation };

  ReadyOutcome HandleReady(NodeEnvironment& env);
  bool Persist(const consensus::Ready& ready);
  bool InstallSnapshot(const consensus::Snapshot& snapshot, NodeEnvironment& env);
  ReadyOutcome ApplyCommitted(const std::vector<consensus::Entry>& entries, NodeEnvironment& env);
  void ServeReads(NodeEnvironment& env);
  bool MaybeTakeSnapshot(NodeEnvironment& env);
  bool CheckMembership(NodeEnvironment& env);
  // Crashes if `point` is armed and this Ready matched the trigger; true if it did.
  bool CrashAt(CrashPoint point);
  bool Matches(CrashTrigger trigger, const consensus::Ready& ready) const;

  consensus::NodeId id_;
  NodeSettings settings_;
  Random* random_;
  SimDisk disk_;
  std::unique_ptr<consensus::RawNode> raw_;
  std::optional<StoreMachine> machine_;
  std::vector<consensus::ReadState> pending_reads_;
  consensus::Index last_snapshot_index_ = 0;
  CrashPoint armed_crash_ = CrashPoint::kNone;
  CrashTrigger armed_trigger_ = CrashTrigger::kAnyReady;
  bool ready_matches_trigger_ = false;  // for the Ready being handled
  CrashPoint last_crash_point_ = CrashPoint::kNone;
  std::uint64_t incarnation_ = 0;
  NodeClock clock_;
};

}  // namespace roster::sim
