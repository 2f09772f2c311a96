#include "tests/sim/sim_node.h"

#include <utility>

#include "base/check.h"

namespace roster::sim {
namespace {

// A RawNode that keeps reporting HasReady after this many rounds in one go is stuck.
constexpr int kMaxReadiesPerProcess = 1000;

}  // namespace

const char* CrashPointName(CrashPoint point) {
  switch (point) {
    case CrashPoint::kNone:
      return "none";
    case CrashPoint::kIdle:
      return "idle";
    case CrashPoint::kAfterSend:
      return "after-send";
    case CrashPoint::kAfterWrite:
      return "after-write-before-sync";
    case CrashPoint::kAfterSync:
      return "after-sync-before-persisted-send";
    case CrashPoint::kAfterPersistedSend:
      return "after-persisted-send";
    case CrashPoint::kMidApply:
      return "mid-apply";
    case CrashPoint::kAfterApply:
      return "after-apply";
    case CrashPoint::kAfterSnapshotWrite:
      return "after-snapshot-write-before-sync";
    case CrashPoint::kBeforeAdvance:
      return "before-advance";
  }
  return "?";
}

const char* CrashTriggerName(CrashTrigger trigger) {
  switch (trigger) {
    case CrashTrigger::kAnyReady:
      return "any Ready";
    case CrashTrigger::kHardStateChange:
      return "Ready with a hard state";
    case CrashTrigger::kVoteGranted:
      return "Ready granting a vote";
    case CrashTrigger::kSnapshot:
      return "Ready with a snapshot";
    case CrashTrigger::kCommitted:
      return "Ready with committed entries";
  }
  return "?";
}

SimNode::SimNode(consensus::NodeId id, const NodeSettings& settings, Random* random)
    : id_(id), settings_(settings), random_(random) {
  CHECK_NE(id, consensus::kNoNode);
  CHECK(random != nullptr);
  CHECK_GT(settings.snapshot_interval_entries, 0u);
}

Status SimNode::Start(std::uint64_t random_seed) {
  CHECK(!up());
  const consensus::Snapshot& snapshot = disk_.live()->snapshot();
  if (snapshot.IsEmpty()) {
    machine_.emplace(disk_.live()->GetInitialState().conf_state);
  } else {
    Result<StoreMachine> restored = StoreMachine::Restore(snapshot);
    if (!restored.ok()) return restored.status();
    machine_.emplace(std::move(restored).value());
  }
  consensus::Config config = settings_.raft;
  config.id = id_;
  config.storage = disk_.live();
  config.applied = machine_->applied();
  config.random_seed = random_seed;
  Result<std::unique_ptr<consensus::RawNode>> raw = consensus::RawNode::Create(config);
  if (!raw.ok()) {
    machine_.reset();
    return raw.status();
  }
  raw_ = std::move(raw).value();
  last_snapshot_index_ = machine_->applied();
  pending_reads_.clear();
  ++incarnation_;
  return Status::Ok();
}

void SimNode::Crash() {
  raw_.reset();  // first: it points into the live storage that Crash() replaces
  machine_.reset();
  pending_reads_.clear();
  disk_.Crash();
  last_crash_point_ = armed_crash_ == CrashPoint::kNone ? CrashPoint::kIdle : armed_crash_;
  armed_crash_ = CrashPoint::kNone;
  armed_trigger_ = CrashTrigger::kAnyReady;
}

bool SimNode::Matches(CrashTrigger trigger, const consensus::Ready& ready) const {
  switch (trigger) {
    case CrashTrigger::kAnyReady:
      return true;
    case CrashTrigger::kHardStateChange:
      return ready.hard_state.has_value();
    case CrashTrigger::kVoteGranted:
      for (const consensus::Message& message : ready.persisted_messages) {
        const bool vote = message.type == consensus::MessageType::kVoteResponse ||
                          message.type == consensus::MessageType::kPreVoteResponse;
        if (vote && !message.reject) return true;
      }
      return false;
    case CrashTrigger::kSnapshot:
      return ready.snapshot.has_value();
    case CrashTrigger::kCommitted:
      return !ready.committed_entries.empty();
  }
  return false;
}

bool SimNode::CrashAt(CrashPoint point) {
  if (armed_crash_ != point || !ready_matches_trigger_) return false;
  Crash();
  return true;
}

bool SimNode::ProcessReadies(NodeEnvironment& env) {
  for (int round = 0; up() && raw_->HasReady(); ++round) {
    if (round == kMaxReadiesPerProcess) {
      env.OnViolation(*this, "RawNode still HasReady after " +
                                 std::to_string(kMaxReadiesPerProcess) + " Readies in a row");
      return true;
    }
    switch (HandleReady(env)) {
      case ReadyOutcome::kHandled:
        break;
      case ReadyOutcome::kCrashed:
        return false;
      case ReadyOutcome::kViolation:
        return true;  // the run ends; stop touching the node
    }
  }
  return true;
}

// The durability contract, one step at a time (consensus/raw_node.h).
SimNode::ReadyOutcome SimNode::HandleReady(NodeEnvironment& env) {
  consensus::Ready ready = raw_->GetReady();
  ready_matches_trigger_ = armed_crash_ != CrashPoint::kNone && Matches(armed_trigger_, ready);
  if (ready.soft_state) env.OnSoftState(*this, *ready.soft_state);
  for (consensus::Message& message : ready.messages) env.SendMessage(*this, std::move(message));
  if (CrashAt(CrashPoint::kAfterSend)) return ReadyOutcome::kCrashed;
  if (!Persist(ready)) return ReadyOutcome::kCrashed;
  for (consensus::Message& message : ready.persisted_messages) {
    env.SendMessage(*this, std::move(message));
  }
  if (CrashAt(CrashPoint::kAfterPersistedSend)) return ReadyOutcome::kCrashed;
  if (ready.snapshot && !InstallSnapshot(*ready.snapshot, env)) return ReadyOutcome::kViolation;
  for (consensus::ReadState& read : ready.read_states) pending_reads_.push_back(std::move(read));
  const ReadyOutcome applied = ApplyCommitted(ready.committed_entries, env);
  if (applied != ReadyOutcome::kHandled) return applied;
  ServeReads(env);
  if (CrashAt(CrashPoint::kAfterApply)) return ReadyOutcome::kCrashed;
  if (!MaybeTakeSnapshot(env)) return ReadyOutcome::kCrashed;
  if (CrashAt(CrashPoint::kBeforeAdvance)) return ReadyOutcome::kCrashed;
  raw_->Advance();
  return CheckMembership(env) ? ReadyOutcome::kHandled : ReadyOutcome::kViolation;
}

// The core promises conf_state() is the membership as of applied(): what the machine,
// which replays the same conf changes, holds at the same index.
bool SimNode::CheckMembership(NodeEnvironment& env) {
  if (raw_->applied() != machine_->applied() || raw_->conf_state() == machine_->conf_state()) {
    return true;
  }
  env.OnViolation(*this, "RawNode::conf_state() at applied " +
                             std::to_string(machine_->applied()) +
                             " differs from the membership the applied log gives");
  return false;
}

// Step 2: snapshot, then entries, then hard state, then one fsync for all of them.
bool SimNode::Persist(const consensus::Ready& ready) {
  if (!ready.MustSync()) return true;
  if (ready.snapshot) disk_.ApplySnapshot(*ready.snapshot);
  disk_.Append(ready.entries);
  if (ready.hard_state) disk_.SetHardState(*ready.hard_state);
  if (CrashAt(CrashPoint::kAfterWrite)) return false;
  disk_.Sync();
  return !CrashAt(CrashPoint::kAfterSync);
}

// Returns false (and reports) if the snapshot cannot be restored: the node then stops
// handling this Ready, and the run ends with the violation.
bool SimNode::InstallSnapshot(const consensus::Snapshot& snapshot, NodeEnvironment& env) {
  if (snapshot.metadata.index <= machine_->applied()) {
    env.OnViolation(*this, "Ready.snapshot at " + std::to_string(snapshot.metadata.index) +
                               " is not after applied index " +
                               std::to_string(machine_->applied()));
    return false;
  }
  Result<StoreMachine> restored = StoreMachine::Restore(snapshot);
  if (!restored.ok()) {
    env.OnViolation(*this, "installing the snapshot at " + std::to_string(snapshot.metadata.index) +
                               ": " + restored.status().ToString());
    return false;
  }
  machine_.emplace(std::move(restored).value());
  last_snapshot_index_ = snapshot.metadata.index;
  env.OnSnapshotInstalled(*this, snapshot.metadata);
  return true;
}

// Step 4. With kMidApply armed and two or more entries, crashes after a random prefix.
SimNode::ReadyOutcome SimNode::ApplyCommitted(const std::vector<consensus::Entry>& entries,
                                              NodeEnvironment& env) {
  std::size_t crash_after = entries.size();
  if (armed_crash_ == CrashPoint::kMidApply && entries.size() >= 2) {
    crash_after = 1 + random_->Uniform(entries.size() - 1);
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i == crash_after && CrashAt(CrashPoint::kMidApply)) return ReadyOutcome::kCrashed;
    const consensus::Entry& entry = entries[i];
    if (entry.index != machine_->applied() + 1) {
      env.OnViolation(*this, "committed entry " + std::to_string(entry.index) + "@" +
                                 std::to_string(entry.term) + " handed out after applied index " +
                                 std::to_string(machine_->applied()) + " (gap or repeat)");
      return ReadyOutcome::kViolation;
    }
    ApplyOutcome outcome = machine_->Apply(entry);
    env.OnApplied(*this, entry, outcome);
  }
  return ReadyOutcome::kHandled;
}

void SimNode::ServeReads(NodeEnvironment& env) {
  std::vector<consensus::ReadState> waiting;
  std::vector<std::string> ready_contexts;
  for (consensus::ReadState& read : pending_reads_) {
    if (read.index <= machine_->applied()) {
      ready_contexts.push_back(std::move(read.context));
    } else {
      waiting.push_back(std::move(read));
    }
  }
  pending_reads_ = std::move(waiting);
  for (const std::string& context : ready_contexts) env.OnReadServed(*this, context);
}

// The application's own snapshot: every snapshot_interval_entries applied entries,
// keeping a few entries behind it so slightly lagging followers still get appends.
bool SimNode::MaybeTakeSnapshot(NodeEnvironment& env) {
  const consensus::Index applied = machine_->applied();
  if (applied < last_snapshot_index_ + settings_.snapshot_interval_entries) return true;
  disk_.CreateSnapshot(applied, machine_->conf_state(), machine_->Serialize(),
                       settings_.snapshot_keep_entries);
  if (CrashAt(CrashPoint::kAfterSnapshotWrite)) return false;
  disk_.Sync();
  last_snapshot_index_ = applied;
  env.OnSnapshotTaken(*this, applied);
  return true;
}

}  // namespace roster::sim
