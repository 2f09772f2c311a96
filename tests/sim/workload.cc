#include "tests/sim/workload.h"

#include <optional>
#include <sstream>
#include <utility>

#include "base/check.h"
#include "store/command.h"
#include "tests/sim/cluster.h"

namespace roster::sim {
namespace {

const char* KindName(OpKind kind) {
  switch (kind) {
    case OpKind::kRead:
      return "read";
    case OpKind::kSet:
      return "set";
    case OpKind::kCas:
      return "cas";
    case OpKind::kDelete:
      return "delete";
    case OpKind::kDeleteCas:
      return "delete-cas";
  }
  return "?";
}

ReadResult ToReadResult(const std::optional<store::DirEntry>& entry) {
  if (!entry) return ReadResult{};
  return ReadResult{true, entry->value, entry->flags, entry->create_index, entry->modify_index};
}

std::string DescribeOutcome(const Operation& op) {
  if (op.kind != OpKind::kRead) return op.ok ? "ok" : "condition failed";
  if (!op.output.found) return "-> absent";
  return "-> \"" + op.output.value + "\" modify=" + std::to_string(op.output.modify_index);
}

// What the key's ModifyIndex is after `op`, as far as this client knows (0: absent).
void RememberIndex(const Operation& op, std::map<std::string, consensus::Index>& last_seen) {
  consensus::Index& seen = last_seen[op.key];
  switch (op.kind) {
    case OpKind::kRead:
      seen = op.output.found ? op.output.modify_index : 0;
      break;
    case OpKind::kSet:
      seen = op.index;  // the value is new (unique per op), so the write bumped it
      break;
    case OpKind::kCas:
      if (op.ok) seen = op.index;
      break;
    case OpKind::kDelete:
      seen = 0;
      break;
    case OpKind::kDeleteCas:
      if (op.ok) seen = 0;
      break;
  }
}

}  // namespace

Workload::Workload(Cluster* cluster, const WorkloadSettings& settings)
    : cluster_(cluster), settings_(settings) {
  CHECK_GE(settings.clients, 0);  // 0: a run of lock clients only
  CHECK_GT(settings.keys, 0);
  for (int i = 0; i < settings.clients; ++i) {
    Client client;
    client.id = i + 1;
    client.next_action_ms = cluster_->random().Uniform(settings_.think_ms_max + 1);
    clients_.push_back(std::move(client));
  }
}

void Workload::Step() {
  const std::uint64_t now = cluster_->now_ms();
  for (Client& client : clients_) {
    if (client.phase != Phase::kIdle && now >= client.deadline_ms) {
      GiveUp(client, "timed out");
      continue;
    }
    if (now < client.next_action_ms || client.phase == Phase::kWaiting) continue;
    if (client.phase == Phase::kIdle) {
      if (client.final_round && client.final_write_done && client.final_read_done) continue;
      BeginOperation(client);
    }
    Attempt(client);
  }
}

void Workload::BeginOperation(Client& client) {
  OpRecord record;
  record.op_id = next_op_id_++;
  record.op.client_id = client.id;
  record.op.key = "k" + std::to_string(cluster_->random().Uniform(settings_.keys));
  record.op.kind = PickKind(client);
  if (record.op.kind != OpKind::kRead) PrepareWrite(client, record);
  record.op.invoke_time = ++history_clock_;
  client.op = ops_.size();
  client.phase = Phase::kSubmitting;
  client.deadline_ms = cluster_->now_ms() + settings_.op_timeout_ms;
  ops_.push_back(std::move(record));
  const OpRecord& op = ops_.back();
  const std::string what = op.op.kind == OpKind::kRead
                               ? "read " + op.op.key
                               : DescribeCommand(store::Decode(op.command).value());
  cluster_->trace().Record(
      cluster_->now_ms(), TraceKind::kClient, consensus::kNoNode,
      "c" + std::to_string(client.id) + " invoke op=" + std::to_string(op.op_id) + " " + what);
}

OpKind Workload::PickKind(const Client& client) {
  const std::uint64_t dice = cluster_->random().Uniform(100);
  if (client.final_round) return client.final_write_done ? OpKind::kRead : OpKind::kSet;
  return dice < 30   ? OpKind::kSet
         : dice < 50 ? OpKind::kCas
         : dice < 57 ? OpKind::kDelete
         : dice < 64 ? OpKind::kDeleteCas
                     : OpKind::kRead;
}

// Fills in a write's arguments and the command that carries them. Values are unique per
// op, and the flags carry the op id, so a read names the write it saw.
void Workload::PrepareWrite(const Client& client, OpRecord& record) {
  Operation& op = record.op;
  if (op.kind == OpKind::kCas || op.kind == OpKind::kDeleteCas) {
    // Expect the ModifyIndex this client last saw (often right), or absence.
    auto seen = client.last_seen.find(op.key);
    const bool absent = cluster_->random().OneIn(4) || seen == client.last_seen.end();
    op.cas_index = absent ? 0 : seen->second;
  }
  if (op.kind == OpKind::kSet || op.kind == OpKind::kCas) {
    op.value = "c" + std::to_string(client.id) + "." + std::to_string(record.op_id);
    op.flags = record.op_id;
  }
  switch (op.kind) {
    case OpKind::kSet:
      record.command = store::Encode(store::KvSet{op.key, op.value, op.flags});
      break;
    case OpKind::kCas:
      record.command = store::Encode(store::KvCas{op.key, op.value, op.flags, op.cas_index});
      break;
    case OpKind::kDelete:
      record.command = store::Encode(store::KvDelete{op.key});
      break;
    case OpKind::kDeleteCas:
      record.command = store::Encode(store::KvDeleteCas{op.key, op.cas_index});
      break;
    case OpKind::kRead:
      CHECK(false) << "a read has no command";
  }
}

consensus::NodeId Workload::ChooseTarget(Client& client) {
  if (client.leader_guess != consensus::kNoNode) return client.leader_guess;
  std::vector<consensus::NodeId> ids = cluster_->NodeIds();
  CHECK(!ids.empty());
  return ids[cluster_->random().Uniform(ids.size())];
}

void Workload::Attempt(Client& client) {
  const consensus::NodeId target = ChooseTarget(client);
  SimNode* node = cluster_->ReachableNode(target);
  if (node == nullptr) {
    Retry(client, consensus::kNoNode);  // connection refused
    return;
  }
  OpRecord& record = ops_[client.op];
  if (record.op.kind == OpKind::kRead) {
    Status status = node->raw().ReadIndex(ReadContext(record));
    if (!status.ok()) {
      Retry(client, node->raw().leader() == target ? consensus::kNoNode : node->raw().leader());
      return;
    }
  } else {
    Result<consensus::ProposalId> proposal = node->raw().Propose(record.command);
    if (!proposal.ok()) {
      Retry(client, node->raw().leader() == target ? consensus::kNoNode : node->raw().leader());
      return;
    }
    record.proposal = *proposal;
    record.op.index = proposal->index;
  }
  Submitted(client, *node);
}

void Workload::Submitted(Client& client, const SimNode& node) {
  client.phase = Phase::kWaiting;
  client.node = node.id();
  client.incarnation = node.incarnation();
  client.leader_guess = node.id();
  const OpRecord& record = ops_[client.op];
  std::string where = record.op.kind == OpKind::kRead
                          ? std::string("read-index")
                          : "proposed at " + std::to_string(record.proposal.index) + "@" +
                                std::to_string(record.proposal.term);
  cluster_->trace().Record(
      cluster_->now_ms(), TraceKind::kClient, node.id(),
      "c" + std::to_string(client.id) + " op=" + std::to_string(record.op_id) + " " + where);
}

void Workload::Retry(Client& client, consensus::NodeId hint) {
  client.leader_guess = hint;
  client.next_action_ms =
      cluster_->now_ms() + 1 + cluster_->random().Uniform(settings_.retry_ms_max);
}

bool Workload::WaitingAt(const Client& client, const SimNode& node) const {
  return client.phase == Phase::kWaiting && client.node == node.id() &&
         client.incarnation == node.incarnation();
}

void Workload::OnApplied(SimNode& node, const consensus::Entry& entry,
                         const ApplyOutcome& outcome) {
  for (Client& client : clients_) {
    if (!WaitingAt(client, node)) continue;
    const OpRecord& record = ops_[client.op];
    if (record.op.kind == OpKind::kRead || record.proposal.index != entry.index) continue;
    if (entry.term != record.proposal.term) {
      Fail(client);
    } else if (entry.type != consensus::EntryType::kNormal || entry.data != record.command) {
      cluster_->Fail("proposal " + std::to_string(entry.index) + "@" + std::to_string(entry.term) +
                     " of op " + std::to_string(record.op_id) + " applied as " +
                     DescribeEntry(entry));
    } else {
      Complete(client, node, outcome.ok, ReadResult{});
    }
  }
}

void Workload::OnReadServed(SimNode& node, const std::string& context) {
  for (Client& client : clients_) {
    if (!WaitingAt(client, node)) continue;
    const OpRecord& record = ops_[client.op];
    if (record.op.kind == OpKind::kRead && ReadContext(record) == context) {
      Complete(client, node, true, ToReadResult(node.machine().store().kv().Get(record.op.key)));
    }
  }
}

void Workload::OnNodeDown(consensus::NodeId node) {
  for (Client& client : clients_) {
    if (client.phase == Phase::kWaiting && client.node == node) GiveUp(client, "connection lost");
  }
}

void Workload::OnSnapshotInstalled(SimNode& node, consensus::Index index) {
  for (Client& client : clients_) {
    if (WaitingAt(client, node) && ops_[client.op].op.kind != OpKind::kRead &&
        ops_[client.op].proposal.index <= index) {
      GiveUp(client, "node skipped the entry through a snapshot");
    }
  }
}

void Workload::Complete(Client& client, const SimNode& node, bool ok, ReadResult output) {
  OpRecord& record = ops_[client.op];
  record.op.completed = true;
  record.op.ok = ok;
  record.op.output = std::move(output);
  record.op.return_time = ++history_clock_;
  RememberIndex(record.op, client.last_seen);
  if (client.final_round && record.op.invoke_time > final_round_start_) {
    (record.op.kind == OpKind::kRead ? client.final_read_done : client.final_write_done) = true;
  }
  ++completed_;
  cluster_->trace().Record(cluster_->now_ms(), TraceKind::kClient, node.id(),
                           "c" + std::to_string(client.id) +
                               " return op=" + std::to_string(record.op_id) + " " +
                               KindName(record.op.kind) + " " + DescribeOutcome(record.op));
  Finish(client, Fate::kCompleted);
}

void Workload::Fail(Client& client) {
  OpRecord& record = ops_[client.op];
  if (std::string problem = cluster_->checker().OnOperationFailed(record.op_id); !problem.empty()) {
    cluster_->Fail(problem);
  }
  ++failed_;
  cluster_->trace().Record(cluster_->now_ms(), TraceKind::kClient, client.node,
                           "c" + std::to_string(client.id) + " op=" + std::to_string(record.op_id) +
                               " failed: another entry committed at " +
                               std::to_string(record.proposal.index));
  client.leader_guess = consensus::kNoNode;
  Finish(client, Fate::kFailed);
}

void Workload::GiveUp(Client& client, const char* why) {
  OpRecord& record = ops_[client.op];
  // A write that reached a log may still apply; one never accepted, or a read, has no
  // effect and leaves the history.
  const bool unknown = client.phase == Phase::kWaiting && record.op.kind != OpKind::kRead;
  cluster_->trace().Record(cluster_->now_ms(), TraceKind::kClient, client.node,
                           "c" + std::to_string(client.id) + " op=" + std::to_string(record.op_id) +
                               " gave up (" + why + ")" + (unknown ? ", outcome unknown" : ""));
  client.leader_guess = consensus::kNoNode;
  Finish(client, unknown ? Fate::kIncomplete : Fate::kDropped);
}

void Workload::Finish(Client& client, Fate fate) {
  ops_[client.op].fate = fate;
  client.phase = Phase::kIdle;
  client.node = consensus::kNoNode;
  client.next_action_ms =
      cluster_->now_ms() + cluster_->random().Uniform(settings_.think_ms_max + 1);
}

void Workload::StartFinalRound() {
  final_round_start_ = history_clock_;
  for (Client& client : clients_) client.final_round = true;
}

bool Workload::FinalRoundDone() const {
  for (const Client& client : clients_) {
    if (!client.final_write_done || !client.final_read_done) return false;
  }
  return true;
}

std::vector<Operation> Workload::History() const {
  std::vector<Operation> history;
  history.reserve(ops_.size());
  for (const OpRecord& record : ops_) {
    const bool unknown = record.fate == Fate::kIncomplete || record.fate == Fate::kPending;
    const bool maybe_applied = record.op.kind != OpKind::kRead && unknown && MayHaveApplied(record);
    if (record.fate == Fate::kCompleted || maybe_applied) history.push_back(record.op);
  }
  return history;
}

// A write of unknown outcome took effect only if Propose accepted it and the entry it
// became (index, term and bytes) is the one the cluster applied at that index.
bool Workload::MayHaveApplied(const OpRecord& record) const {
  if (record.proposal.index == 0) return false;
  const consensus::Entry* applied = cluster_->checker().AppliedAt(record.proposal.index);
  return applied != nullptr && applied->term == record.proposal.term &&
         applied->data == record.command;
}

std::uint64_t Workload::incomplete() const {
  std::uint64_t count = 0;
  for (const OpRecord& record : ops_) count += record.fate == Fate::kIncomplete;
  return count;
}

std::string Workload::ReadContext(const OpRecord& record) const {
  return "read-" + std::to_string(record.op_id);
}

std::string Workload::DescribeClients() const {
  std::ostringstream out;
  for (const Client& client : clients_) {
    out << " c" << client.id << ":"
        << (client.phase == Phase::kIdle         ? "idle"
            : client.phase == Phase::kSubmitting ? "submitting"
                                                 : "waiting-at-n" + std::to_string(client.node))
        << (client.final_write_done ? "" : ",needs-write")
        << (client.final_read_done ? "" : ",needs-read");
  }
  return out.str();
}

}  // namespace roster::sim
