#include "tests/sim/workload.h"

#include <sstream>
#include <utility>

#include "base/check.h"
#include "tests/sim/cluster.h"

namespace roster::sim {
namespace {

const char* KindName(OpKind kind) {
  switch (kind) {
    case OpKind::kRead:
      return "read";
    case OpKind::kWrite:
      return "write";
    case OpKind::kCas:
      return "cas";
  }
  return "?";
}

}  // namespace

Workload::Workload(Cluster* cluster, const WorkloadSettings& settings)
    : cluster_(cluster), settings_(settings) {
  CHECK_GT(settings.clients, 0);
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
  Random& random = cluster_->random();
  OpRecord record;
  record.op_id = next_op_id_++;
  record.op.client_id = client.id;
  record.op.key = "k" + std::to_string(random.Uniform(settings_.keys));
  const std::uint64_t dice = random.Uniform(100);
  if (client.final_round) {
    record.op.kind = client.final_write_done ? OpKind::kRead : OpKind::kWrite;
  } else {
    record.op.kind = dice < 35 ? OpKind::kWrite : dice < 60 ? OpKind::kCas : OpKind::kRead;
  }
  if (record.op.kind != OpKind::kRead) {
    record.op.value = "c" + std::to_string(client.id) + "." + std::to_string(record.op_id);
  }
  if (record.op.kind == OpKind::kCas) {
    // Expect what this client last saw (often right), or absent.
    record.op.expected = random.OneIn(4) ? "" : client.last_seen[record.op.key];
  }
  record.op.invoke_time = ++history_clock_;
  client.op = ops_.size();
  client.phase = Phase::kSubmitting;
  client.deadline_ms = cluster_->now_ms() + settings_.op_timeout_ms;
  ops_.push_back(std::move(record));
  const OpRecord& op = ops_.back();
  cluster_->trace().Record(cluster_->now_ms(), TraceKind::kClient, consensus::kNoNode,
                           "c" + std::to_string(client.id) +
                               " invoke op=" + std::to_string(op.op_id) + " " +
                               KindName(op.op.kind) + " " + op.op.key + " " + op.op.expected +
                               (op.op.kind == OpKind::kCas ? "->" : "") + op.op.value);
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
  const OpRecord& record = ops_[client.op];
  if (record.op.kind == OpKind::kRead) {
    Status status = node->raw().ReadIndex(ReadContext(record));
    if (!status.ok()) {
      Retry(client, node->raw().leader() == target ? consensus::kNoNode : node->raw().leader());
      return;
    }
  } else {
    Command command{record.op.kind == OpKind::kCas ? CommandKind::kCas : CommandKind::kWrite,
                    record.op_id, record.op.key, record.op.value, record.op.expected};
    Result<consensus::ProposalId> proposal = node->raw().Propose(EncodeCommand(command));
    if (!proposal.ok()) {
      Retry(client, node->raw().leader() == target ? consensus::kNoNode : node->raw().leader());
      return;
    }
    client.proposal = *proposal;
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
                          : "proposed at " + std::to_string(client.proposal.index) + "@" +
                                std::to_string(client.proposal.term);
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
    if (!WaitingAt(client, node) || ops_[client.op].op.kind == OpKind::kRead ||
        client.proposal.index != entry.index) {
      continue;
    }
    if (entry.term != client.proposal.term) {
      Fail(client);
    } else if (outcome.op_id != ops_[client.op].op_id) {
      cluster_->Fail("proposal " + std::to_string(entry.index) + "@" + std::to_string(entry.term) +
                     " of op " + std::to_string(ops_[client.op].op_id) + " applied as " +
                     DescribeEntry(entry));
    } else {
      Complete(client, node, outcome.ok, "");
    }
  }
}

void Workload::OnReadServed(SimNode& node, const std::string& context) {
  for (Client& client : clients_) {
    if (WaitingAt(client, node) && ops_[client.op].op.kind == OpKind::kRead &&
        ReadContext(ops_[client.op]) == context) {
      Complete(client, node, true, node.machine().Get(ops_[client.op].op.key));
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
        client.proposal.index <= index) {
      GiveUp(client, "node skipped the entry through a snapshot");
    }
  }
}

void Workload::Complete(Client& client, const SimNode& node, bool ok, std::string output) {
  OpRecord& record = ops_[client.op];
  record.op.completed = true;
  record.op.ok = ok;
  record.op.output = std::move(output);
  record.op.return_time = ++history_clock_;
  client.last_seen[record.op.key] = record.op.kind == OpKind::kRead ? record.op.output
                                    : ok                            ? record.op.value
                                         : client.last_seen[record.op.key];
  if (client.final_round && record.op.invoke_time > final_round_start_) {
    (record.op.kind == OpKind::kRead ? client.final_read_done : client.final_write_done) = true;
  }
  ++completed_;
  cluster_->trace().Record(cluster_->now_ms(), TraceKind::kClient, node.id(),
                           "c" + std::to_string(client.id) + " return op=" +
                               std::to_string(record.op_id) + " " + KindName(record.op.kind) +
                               (record.op.kind == OpKind::kRead ? " -> \"" + record.op.output + "\""
                                : ok                            ? " ok"
                                                                : " cas-mismatch"));
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
                               std::to_string(client.proposal.index));
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
    const bool maybe_applied = record.op.kind != OpKind::kRead &&
                               (record.fate == Fate::kIncomplete || record.fate == Fate::kPending);
    if (record.fate == Fate::kCompleted || maybe_applied) history.push_back(record.op);
  }
  return history;
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
