// The Ready cycle, in the order consensus/raw_node.h's durability contract demands:
// send, persist (one SQLite transaction), send what promises persistence, apply,
// Advance. Also snapshots: taking them, and installing one the leader sent.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "base/check.h"
#include "base/logging.h"
#include "server/forked_encoder.h"
#include "server/node.h"
#include "store/command.h"

namespace roster::server {
namespace {

constexpr std::int64_t kPersistRetryMs = 500;

}  // namespace

void Node::HandleReadies() {
  while (raw_node_->HasReady()) {
    consensus::Ready ready = raw_node_->GetReady();
    SendMessages(ready.messages);  // the leader replicates while its own disk writes
    // Committed entries already in this node's durable log need not wait for this
    // Ready's fsync: applying them first answers their clients one fsync sooner (etcd
    // applies concurrently with its WAL write for the same reason).
    std::vector<consensus::Entry> durable = TakeDurableCommitted(ready);
    ApplyCommitted(durable);
    if (!PersistReady(ready)) return;  // stopping; nothing unpersisted is acknowledged
    SendMessages(ready.persisted_messages);
    if (ready.snapshot) InstallSnapshot(*ready.snapshot);
    ApplyCommitted(ready.committed_entries);
    for (consensus::ReadState& read : ready.read_states) {
      auto it = reads_by_context_.find(read.context);
      if (it == reads_by_context_.end()) continue;  // timed out, or a duplicate
      std::shared_ptr<Waiter> waiter = it->second;
      reads_by_context_.erase(it);
      reads_by_index_.emplace(read.index, std::move(waiter));
    }
    raw_node_->Advance();
    PublishStatus(ready);
    ReleaseReads();
    if (ready.soft_state && ready.soft_state->role != consensus::Role::kLeader) {
      FailProposalsOnLostLeadership();
    }
  }
}

// The prefix of ready's committed entries that this node's log already holds durably
// (committed, so never truncated), moved out of ready. None when the Ready installs a
// snapshot: the store must take the snapshot before anything after it.
std::vector<consensus::Entry> Node::TakeDurableCommitted(consensus::Ready& ready) {
  std::vector<consensus::Entry> durable;
  if (ready.snapshot) return durable;
  std::vector<consensus::Entry>& committed = ready.committed_entries;
  const consensus::Index durable_last = storage_->LastIndex();
  const auto end = std::find_if(committed.begin(), committed.end(),
                                [durable_last](const consensus::Entry& entry) { return entry.index > durable_last; });
  durable.assign(std::make_move_iterator(committed.begin()), std::make_move_iterator(end));
  committed.erase(committed.begin(), end);
  return durable;
}

void Node::SendMessages(std::vector<consensus::Message>& messages) {
  for (consensus::Message& message : messages) {
    const consensus::NodeId to = message.to;
    Status status = transport_->Send(to, Frame(std::move(message)));
    if (!status.ok() && status.code() != StatusCode::kNotFound) raw_node_->ReportUnreachable(to);
  }
}

// Returns false only when the node is stopping before it could persist.
bool Node::PersistReady(consensus::Ready& ready) {
  PersistBatch batch;
  if (ready.snapshot) batch.snapshot = ready.snapshot->metadata;
  batch.entries = std::move(ready.entries);
  batch.hard_state = ready.hard_state;
  while (true) {
    // A received snapshot's file first: raft.db's record of it is the commit point.
    Status status = ready.snapshot ? storage_->snapshots().Write(ready.snapshot->metadata,
                                                                 ready.snapshot->data)
                                   : Status::Ok();
    if (status.ok()) status = storage_->Persist(batch);
    if (status.ok()) break;
    // Disk full or an I/O error: acknowledge nothing, say why, and try again; once space
    // returns the same batch goes through and the node carries on.
    {
      std::lock_guard<std::mutex> lock(status_mutex_);
      if (write_blocked_.ok()) {
        LOG(ERROR) << "cannot persist the Raft log, not acknowledging writes until it "
                      "works again: "
                   << status.ToString();
      }
      write_blocked_ = Status(status.code(), "cannot persist the Raft log: " + status.message());
    }
    std::unique_lock<std::mutex> lock(inbox_mutex_);
    inbox_cv_.wait_for(lock, std::chrono::milliseconds(kPersistRetryMs), [this] { return stopping_; });
    if (stopping_) return false;
  }
  std::lock_guard<std::mutex> lock(status_mutex_);
  if (!write_blocked_.ok()) {
    LOG(INFO) << "the Raft log persists again; accepting writes";
    write_blocked_ = Status::Ok();
  }
  return true;
}

void Node::ApplyCommitted(std::vector<consensus::Entry>& entries) {
  for (consensus::Entry& entry : entries) {
    store::ApplyResult result;
    if (entry.type == consensus::EntryType::kConfChange) {
      ApplyConfChange(entry);
    } else {
      std::unique_lock<std::shared_mutex> lock(store_mutex_);
      result = store_.Apply(entry.index, entry.data);
    }
    {
      std::lock_guard<std::mutex> lock(status_mutex_);
      applied_index_ = entry.index;
      if (role_ == consensus::Role::kLeader && entry.index >= leader_term_start_index_) {
        leader_ready_for_reads_ = true;
      }
    }
    WakeWatchers(result.changes);
    TrackSessions(entry, result);
    TrackLiveness(entry, result);
    auto it = proposals_by_index_.find(entry.index);
    if (it == proposals_by_index_.end()) continue;
    std::vector<Proposal> proposals = std::move(it->second);
    proposals_by_index_.erase(it);
    for (Proposal& proposal : proposals) {
      if (proposal.term == entry.term) {
        CompleteApplied(proposal, entry.index, result);
      } else {
        // Another leader's entry took this index: ours was never committed. Retry.
        ProposeOrForward(std::move(proposal));
      }
    }
  }
}

void Node::ApplyConfChange(const consensus::Entry& entry) {
  Result<consensus::ConfChange> change = consensus::DecodeConfChange(entry.data);
  CHECK(change.ok()) << "undecodable conf change at " << entry.index;
  Result<consensus::ConfState> next = consensus::ApplyConfChange(conf_state_, *change);
  CHECK(next.ok()) << "conf change at " << entry.index << " does not apply";
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    conf_state_ = std::move(next).value();
    conf_index_ = entry.index;
    if (change->type == consensus::ConfChangeType::kRemoveNode) {
      directory_.erase(change->node_id);
      removed_peers_.push_back(change->node_id);
    } else if (!change->context.empty()) {
      Result<PeerAddress> address = DecodePeerAddress(change->context);
      if (address.ok()) directory_[change->node_id] = std::move(address).value();
    }
  }
  UpdateTransportPeers();
  if (change->type == consensus::ConfChangeType::kRemoveNode && change->node_id == id_) {
    LOG(WARNING) << "this server was removed from the cluster";
  }
}

void Node::UpdateTransportPeers() {
  PeerDirectory directory;
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    directory = directory_;
  }
  for (const auto& [id, address] : directory) {
    if (id != id_) transport_->AddPeer(id, address.server_address);
  }
  // Peers learned from a Hello stay until the directory says otherwise: only a removal
  // (a directory that once had them and no longer does) drops them.
  for (consensus::NodeId id : removed_peers_) transport_->RemovePeer(id);
  for (consensus::NodeId id : removed_peers_) std::erase(known_transport_peers_, id);
  removed_peers_.clear();
  for (const auto& [id, address] : directory) {
    if (std::find(known_transport_peers_.begin(), known_transport_peers_.end(), id) ==
        known_transport_peers_.end()) {
      known_transport_peers_.push_back(id);
    }
  }
}

void Node::InstallSnapshot(const consensus::Snapshot& snapshot) {
  Result<ServerSnapshot> decoded = DecodeServerSnapshot(snapshot.data);
  CHECK(decoded.ok()) << "undecodable snapshot from the leader: " << decoded.status().ToString();
  {
    std::unique_lock<std::shared_mutex> lock(store_mutex_);
    Status restored = store_.Restore(decoded->store_snapshot);
    CHECK(restored.ok()) << "cannot restore the leader's snapshot: " << restored.ToString();
  }
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    directory_ = std::move(decoded->directory);
    conf_state_ = snapshot.metadata.conf_state;
    conf_index_ = snapshot.metadata.index;
    applied_index_ = snapshot.metadata.index;
  }
  snapshot_index_ = snapshot.metadata.index;
  UpdateTransportPeers();
  WakeAllWatchers();  // anything may have changed
}

Status Node::RestoreFromStorage() {
  const SnapshotFile* file = storage_->snapshot_file();
  if (file == nullptr) return Status::Ok();
  Result<std::string> data = file->ReadAll();
  if (!data.ok()) return data.status();
  Result<ServerSnapshot> decoded = DecodeServerSnapshot(*data);
  if (!decoded.ok()) return decoded.status();
  RETURN_IF_ERROR(store_.Restore(decoded->store_snapshot));
  directory_ = std::move(decoded->directory);
  conf_state_ = file->metadata().conf_state;
  conf_index_ = file->metadata().index;
  applied_index_ = file->metadata().index;
  snapshot_index_ = file->metadata().index;
  return Status::Ok();
}

namespace {

// Streams the child's encoding into a new snapshot file, never holding it all.
Status WriteFromChild(SnapshotStore& snapshots, const consensus::SnapshotMetadata& metadata,
                      ForkedEncoder& child) {
  Result<std::unique_ptr<SnapshotWriter>> writer = snapshots.NewWriter(metadata);
  if (!writer.ok()) return writer.status();
  RETURN_IF_ERROR(child.Collect([&writer](std::string_view piece) { return (*writer)->Append(piece); }));
  return (*writer)->Commit();
}

}  // namespace

// Takes a snapshot every snapshot_interval_entries applied entries. The state is
// encoded by a forked child from a copy-on-write image of the store at this index
// (server/forked_encoder.h), so the loop pays about a millisecond instead of the whole
// encoding; if the process cannot fork, the loop encodes in place. The snapshot thread
// collects the bytes and writes, fsyncs and verifies the file, which takes far longer,
// while the loop keeps replicating. FinishSnapshot then records it and compacts the log.
void Node::MaybeTakeSnapshot() {
  if (snapshot_in_progress_) return;
  const consensus::Index applied = raw_node_->applied();
  if (applied < snapshot_index_ + options_.snapshot_interval_entries) return;
  Result<consensus::Term> term = storage_->TermAt(applied);
  if (!term.ok()) return;
  PeerDirectory directory;
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    directory = directory_;
  }
  const consensus::SnapshotMetadata metadata{applied, *term, raw_node_->conf_state()};
  // Only this thread writes the store, so reading it here needs no lock.
  auto encode = [this, &directory] { return EncodeServerSnapshot(directory, store_.Snapshot()); };
  const std::int64_t started_ms = clock_.NowMs();
  std::optional<ForkedEncoder> child;
  std::string data;
  if (options_.snapshot_encode_in_child) {
    Result<ForkedEncoder> forked = ForkedEncoder::Start(encode);
    if (forked.ok()) {
      child.emplace(std::move(*forked));
    } else {
      LOG(WARNING) << "snapshot at " << applied << " encoded on the loop: " << forked.status().ToString();
    }
  }
  if (!child) data = encode();
  const std::int64_t loop_ms = clock_.NowMs() - started_ms;
  snapshot_in_progress_ = true;
  if (snapshot_thread_.joinable()) snapshot_thread_.join();  // the previous one is done
  SnapshotStore& snapshots = storage_->snapshots();
  snapshot_thread_ = std::thread([this, &snapshots, metadata, loop_ms, child = std::move(child),
                                  data = std::move(data)]() mutable {
    // Below the loop and the HTTP workers on a busy machine: a snapshot can wait.
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
    const std::int64_t write_started_ms = clock_.NowMs();
    const Status written = child ? WriteFromChild(snapshots, metadata, *child)
                                 : snapshots.Write(metadata, data);
    Result<std::unique_ptr<SnapshotFile>> file =
        written.ok() ? snapshots.Load({metadata.index, metadata.term})
                     : Result<std::unique_ptr<SnapshotFile>>(written);
    Enqueue(Work{internal::SnapshotWrittenWork{metadata, std::move(file), loop_ms,
                                               clock_.NowMs() - write_started_ms}});
  });
}

void Node::FinishSnapshot(internal::SnapshotWrittenWork& written) {
  snapshot_in_progress_ = false;
  const consensus::Index index = written.metadata.index;
  // Do not retry on every loop after a failure; the next interval will.
  snapshot_index_ = std::max(snapshot_index_, index);
  const std::int64_t started_ms = clock_.NowMs();
  Status status = written.file.status();
  if (status.ok()) {
    const std::uint64_t bytes = (*written.file)->data_bytes();
    status = storage_->CreateSnapshot(index, written.metadata.conf_state,
                                      options_.snapshot_trailing_entries,
                                      std::move(*written.file));
    if (status.ok()) {
      LOG(INFO) << "snapshot at index " << index << " (" << bytes << " bytes): loop paused "
                << written.loop_ms << " ms, encoded and written in " << written.write_ms
                << " ms, log compacted in " << clock_.NowMs() - started_ms << " ms";
      return;
    }
  }
  LOG(WARNING) << "snapshot at " << index << " failed: " << status.ToString();
}

void Node::MaybeReapTombstones() {
  if (raw_node_->role() != consensus::Role::kLeader) {
    tombstone_gc_.Reset();
    return;
  }
  const std::int64_t now = clock_.NowMs();
  tombstone_gc_.Observe(now, store_.last_applied_index());
  const consensus::Index up_to = tombstone_gc_.TakeExpired(now);
  if (up_to == 0) return;
  // Only this thread writes the store, so reading it here needs no lock.
  const auto& tombstones = store_.kv().tombstones();
  const bool any = std::any_of(tombstones.begin(), tombstones.end(),
                               [up_to](const auto& tombstone) { return tombstone.second <= up_to; });
  if (!any) return;
  // Nobody waits on the result: if leadership goes before it commits, the next
  // leader's records reap these tombstones later.
  Result<consensus::ProposalId> id = raw_node_->Propose(store::Encode(store::KvReapTombstones{up_to}));
  if (id.ok()) LOG(DEBUG) << "reaping tombstones up to index " << up_to << " at " << id->index;
}

// Writes this node proposed as leader may still commit under the next leader, or may
// not: say so now rather than let the callers wait out the commit timeout.
void Node::FailProposalsOnLostLeadership() {
  if (proposals_by_index_.empty()) return;
  const Status lost = Unavailable(
      "leadership lost while the write was being committed; it may or may not have been "
      "applied");
  for (auto& [index, proposals] : proposals_by_index_) {
    for (Proposal& proposal : proposals) CompleteProposal(proposal, lost);
  }
  proposals_by_index_.clear();
}

void Node::PublishStatus(const consensus::Ready& ready) {
  const consensus::NodeStatus status = raw_node_->GetStatus();
  std::lock_guard<std::mutex> lock(status_mutex_);
  if (ready.soft_state) {
    const bool became_leader =
        ready.soft_state->role == consensus::Role::kLeader && role_ != consensus::Role::kLeader;
    leader_ = ready.soft_state->leader;
    role_ = ready.soft_state->role;
    if (became_leader) {
      // Its no-op is the last entry: once applied, its state is the leader's state.
      leader_term_start_index_ = status.last_index;
      leader_ready_for_reads_ = false;
    }
    if (role_ != consensus::Role::kLeader) leader_ready_for_reads_ = false;
  }
  term_ = status.hard_state.term;
  commit_index_ = status.hard_state.commit;
}

}  // namespace roster::server
