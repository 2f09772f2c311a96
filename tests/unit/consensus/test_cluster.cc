#include "tests/unit/consensus/test_cluster.h"

#include <algorithm>
#include <limits>

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::consensus {
namespace {

void PrintIds(std::ostream& out, const std::vector<NodeId>& ids) {
  out << "{";
  for (std::size_t i = 0; i < ids.size(); ++i) out << (i == 0 ? "" : ",") << ids[i];
  out << "}";
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const ConfState& conf_state) {
  out << "voters ";
  PrintIds(out, conf_state.voters);
  out << " learners ";
  PrintIds(out, conf_state.learners);
  return out;
}

std::ostream& operator<<(std::ostream& out, const HardState& hard_state) {
  return out << "{term " << hard_state.term << ", vote " << hard_state.vote << ", commit "
             << hard_state.commit << "}";
}

std::ostream& operator<<(std::ostream& out, const Entry& entry) {
  return out << "(" << entry.index << ", t" << entry.term
             << (entry.type == EntryType::kConfChange ? ", conf" : "") << ", '" << entry.data
             << "')";
}

std::ostream& operator<<(std::ostream& out, const Message& message) {
  out << MessageTypeName(message.type) << " " << message.from << "->" << message.to << " term "
      << message.term << " index " << message.index << " log_term " << message.log_term;
  if (!message.entries.empty()) {
    out << " entries " << message.entries.front().index << ".." << message.entries.back().index;
  }
  out << " commit " << message.commit;
  if (message.reject) out << " reject (hint " << message.reject_hint << ")";
  return out;
}

std::ostream& operator<<(std::ostream& out, const SnapshotMetadata& metadata) {
  return out << "{index " << metadata.index << ", term " << metadata.term << ", "
             << metadata.conf_state << "}";
}

}  // namespace roster::consensus

namespace roster::consensus::testing {
namespace {

// A Stabilize() that needs more steps than this is livelocked.
constexpr int kStabilizeStepsMax = 200000;

}  // namespace

NodeOptions PaperRaft() {
  NodeOptions options;
  options.pre_vote = false;
  options.check_quorum = false;
  return options;
}

// ---------------------------------------------------------------------------------------
// TestNode

TestNode::TestNode(NodeId id, const ConfState& membership, NodeOptions options)
    : id_(id), options_(std::move(options)), membership_(membership) {
  storage_ = std::make_unique<MemoryStorage>();
  if (!membership_.voters.empty()) storage_->Bootstrap(membership_);
  Restart();
}

RawNode& TestNode::raw() {
  REQUIRE(running());
  return *raw_;
}

const RawNode& TestNode::raw() const {
  REQUIRE(running());
  return *raw_;
}

Config TestNode::MakeConfig(Index applied) {
  Config config;
  config.id = id_;
  config.storage = storage_.get();
  config.applied = applied;
  config.election_ticks = options_.election_ticks;
  config.heartbeat_ticks = options_.heartbeat_ticks;
  config.pre_vote = options_.pre_vote;
  config.check_quorum = options_.check_quorum;
  config.random_seed = 1000 + id_;  // fixed: the same test always runs the same way
  if (options_.configure) options_.configure(config);
  return config;
}

Ready TestNode::HandleReady() {
  if (!running() || !raw_->HasReady()) return Ready{};
  Ready ready = TakeReady();
  Finish(ready);
  return ready;
}

Ready TestNode::TakeReady() {
  REQUIRE(running());
  return raw_->GetReady();
}

void TestNode::Finish(const Ready& ready) {
  // 1. ready.messages are sent by the caller (they may leave before the fsync).
  // 2. Persist snapshot, entries, hard state.
  Persist(ready);
  // 3. ready.persisted_messages are sent by the caller, after this returns.
  // 4. Apply.
  Apply(ready);
  // 5. Advance.
  raw_->Advance();
}

std::vector<Message> TestNode::Drain() {
  std::vector<Message> out;
  while (running() && raw_->HasReady()) {
    Ready ready = HandleReady();
    out.insert(out.end(), ready.messages.begin(), ready.messages.end());
    out.insert(out.end(), ready.persisted_messages.begin(), ready.persisted_messages.end());
  }
  return out;
}

void TestNode::Persist(const Ready& ready) {
  if (ready.snapshot.has_value()) {
    storage_->ApplySnapshot(*ready.snapshot);
    // The application restores its state from the snapshot it was handed.
    state_ = DecodeState(ready.snapshot->data);
    applied_entries_.clear();
    applied_index_ = ready.snapshot->metadata.index;
  }
  if (!ready.entries.empty()) storage_->Append(ready.entries);
  if (ready.hard_state.has_value()) storage_->SetHardState(*ready.hard_state);
}

void TestNode::Apply(const Ready& ready) {
  for (const Entry& entry : ready.committed_entries) {
    INFO("node " << id_ << " applies entry " << entry.index << " (term " << entry.term
                 << ") after applied index " << applied_index_);
    CHECK(entry.index == applied_index_ + 1);
    // Committed entries must already be durable (step 2 of the contract).
    CHECK(entry.index <= storage_->LastIndex());
    CHECK(LogTermAt(entry.index) == entry.term);
    applied_index_ = entry.index;
    applied_entries_.push_back(entry);
    if (entry.type == EntryType::kNormal && !entry.data.empty()) state_.push_back(entry.data);
  }
  read_states_.insert(read_states_.end(), ready.read_states.begin(), ready.read_states.end());
}

void TestNode::Crash() {
  raw_.reset();
  state_.clear();
  applied_entries_.clear();
  applied_index_ = 0;
  read_states_.clear();
}

void TestNode::Restart() {
  raw_.reset();
  const Snapshot& snapshot = storage_->snapshot();
  state_ = snapshot.IsEmpty() ? std::vector<std::string>{} : DecodeState(snapshot.data);
  applied_entries_.clear();
  applied_index_ = snapshot.metadata.index;
  read_states_.clear();
  Result<std::unique_ptr<RawNode>> created = RawNode::Create(MakeConfig(applied_index_));
  INFO(created.status().ToString());
  REQUIRE(created.ok());
  raw_ = std::move(created).value();
}

void TestNode::ReplaceLog(const std::vector<Term>& entry_terms, Term term) {
  raw_.reset();
  storage_ = std::make_unique<MemoryStorage>();
  if (!membership_.voters.empty()) storage_->Bootstrap(membership_);
  const Index base = bootstrap_index();
  if (!entry_terms.empty()) storage_->Append(EntriesWithTerms(base + 1, entry_terms));
  storage_->SetHardState(
      HardState{.term = std::max<Term>(term, 1), .vote = kNoNode, .commit = base});
  Restart();
}

Index TestNode::bootstrap_index() const {
  if (membership_.voters.empty()) return 0;
  return MakeBootstrap(membership_).entries.size();
}

std::vector<Entry> TestNode::LogEntries() const {
  const Index first = storage_->FirstIndex();
  const Index last = storage_->LastIndex();
  if (last < first) return {};
  Result<std::vector<Entry>> entries =
      storage_->Entries(first, last + 1, std::numeric_limits<std::uint64_t>::max());
  REQUIRE(entries.ok());
  return *entries;
}

Term TestNode::LogTermAt(Index index) const {
  Result<Term> term = storage_->TermAt(index);
  return term.ok() ? *term : 0;
}

void TestNode::CompactLog(std::uint64_t entries_to_keep) {
  storage_->CreateSnapshot(applied_index_, raw().conf_state(), EncodeState(state_),
                           entries_to_keep);
}

// ---------------------------------------------------------------------------------------
// TestCluster

TestCluster::TestCluster(std::vector<NodeId> voters, NodeOptions options)
    : TestCluster(
          [&] {
            std::sort(voters.begin(), voters.end());
            return ConfState{.voters = voters, .learners = {}};
          }(),
          std::move(options)) {}

TestCluster::TestCluster(const ConfState& membership, NodeOptions options)
    : options_(std::move(options)) {
  for (NodeId id : membership.voters) {
    nodes_[id] = std::make_unique<TestNode>(id, membership, options_);
  }
  for (NodeId id : membership.learners) {
    nodes_[id] = std::make_unique<TestNode>(id, membership, options_);
  }
}

TestNode& TestCluster::node(NodeId id) {
  auto it = nodes_.find(id);
  INFO("node " << id);
  REQUIRE(it != nodes_.end());
  return *it->second;
}

std::vector<NodeId> TestCluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, node] : nodes_) out.push_back(id);
  return out;
}

TestNode& TestCluster::AddNode(NodeId id) {
  REQUIRE(nodes_.count(id) == 0);
  nodes_[id] = std::make_unique<TestNode>(id, ConfState{}, options_);
  return *nodes_[id];
}

void TestCluster::Stabilize() {
  for (int steps = 0;; ++steps) {
    INFO("Stabilize() did not settle: livelock");
    REQUIRE(steps < kStabilizeStepsMax);
    bool moved = false;
    for (auto& [id, node] : nodes_) {
      if (node->running() && node->raw().HasReady()) {
        HandleReady(id);
        moved = true;
      }
    }
    if (!queue_.empty()) {
      Message message = std::move(queue_.front());
      queue_.pop_front();
      auto it = nodes_.find(message.to);
      if (!LinkUp(message.from, message.to) || !Reachable(message.to)) {
        ReportUnreachable(message.from, message.to);
      } else {
        delivered_.push_back(message);
        (void)it->second->raw().Step(message);
      }
      moved = true;
    }
    if (!moved) return;
  }
}

void TestCluster::HandleReady(NodeId id) {
  TestNode& n = node(id);
  while (n.running() && n.raw().HasReady()) {
    Ready ready = n.HandleReady();
    CheckSafety(n, ready);
    for (const Message& message : ready.messages) Send(message, /*persisted=*/false);
    for (const Message& message : ready.persisted_messages) Send(message, /*persisted=*/true);
  }
}

void TestCluster::CheckSafety(TestNode& n, const Ready& ready) {
  if (n.raw().role() == Role::kLeader) {
    auto [it, inserted] = leader_of_term_.emplace(n.raw().term(), n.id());
    INFO("Election Safety: nodes " << it->second << " and " << n.id() << " both lead term "
                                   << n.raw().term());
    CHECK(it->second == n.id());
  }
  for (const Entry& entry : ready.committed_entries) {
    auto [it, inserted] = applied_at_.emplace(entry.index, entry);
    INFO("State Machine Safety: node "
         << n.id() << " applies (index " << entry.index << ", term " << entry.term << ", data '"
         << entry.data << "') where another node applied (term " << it->second.term << ", data '"
         << it->second.data << "')");
    CHECK(it->second == entry);
  }
}

void TestCluster::Send(const Message& message, bool persisted) {
  sent_.push_back(SentMessage{.message = message, .persisted = persisted});
  if (!LinkUp(message.from, message.to) || !Reachable(message.to)) {
    ReportUnreachable(message.from, message.to);
    return;
  }
  const Verdict verdict = hook_ ? hook_(message) : Verdict::kDeliver;
  switch (verdict) {
    case Verdict::kDeliver:
      queue_.push_back(message);
      break;
    case Verdict::kDrop:
      break;
    case Verdict::kDuplicate:
      queue_.push_back(message);
      queue_.push_back(message);
      break;
    case Verdict::kHold:
      held_.push_back(message);
      break;
  }
}

bool TestCluster::Reachable(NodeId id) const {
  auto it = nodes_.find(id);
  return it != nodes_.end() && it->second->running();
}

void TestCluster::ReportUnreachable(NodeId from, NodeId to) {
  // What a connection-oriented transport does when it cannot deliver.
  auto it = nodes_.find(from);
  if (it != nodes_.end() && it->second->running()) it->second->raw().ReportUnreachable(to);
}

bool TestCluster::LinkUp(NodeId from, NodeId to) const {
  return cut_.count({from, to}) == 0 && isolated_.count(from) == 0 && isolated_.count(to) == 0;
}

void TestCluster::Tick(NodeId id, int ticks) {
  for (int i = 0; i < ticks; ++i) {
    raw(id).Tick();
    Stabilize();
  }
}

void TestCluster::TickAll(int ticks) {
  for (int i = 0; i < ticks; ++i) {
    for (auto& [id, node] : nodes_) {
      if (node->running()) node->raw().Tick();
    }
    Stabilize();
  }
}

void TestCluster::Elect(NodeId id) {
  Status status = raw(id).Campaign();
  INFO(status.ToString());
  REQUIRE(status.ok());
  Stabilize();
  INFO("node " << id << " campaigned but is " << RoleName(raw(id).role()) << " in term "
               << raw(id).term());
  REQUIRE(raw(id).role() == Role::kLeader);
}

ProposalId TestCluster::Propose(NodeId id, std::string data) {
  Result<ProposalId> proposal = raw(id).Propose(std::move(data));
  INFO(proposal.status().ToString());
  REQUIRE(proposal.ok());
  Stabilize();
  return *proposal;
}

void TestCluster::Cut(NodeId from, NodeId to) { cut_.insert({from, to}); }

void TestCluster::Isolate(NodeId id) { isolated_.insert(id); }

void TestCluster::Partition(const std::vector<NodeId>& side_a, const std::vector<NodeId>& side_b) {
  for (NodeId a : side_a) {
    for (NodeId b : side_b) {
      Cut(a, b);
      Cut(b, a);
    }
  }
}

void TestCluster::Heal() {
  cut_.clear();
  isolated_.clear();
  hook_ = nullptr;
}

void TestCluster::Crash(NodeId id) { node(id).Crash(); }

void TestCluster::Restart(NodeId id) { node(id).Restart(); }

void TestCluster::ReleaseHeld() {
  for (Message& message : held_) queue_.push_back(std::move(message));
  held_.clear();
}

Status TestCluster::Deliver(const Message& message) {
  delivered_.push_back(message);
  return raw(message.to).Step(message);
}

void TestCluster::ClearHistory() {
  sent_.clear();
  delivered_.clear();
}

std::size_t TestCluster::CountSent(MessageType type, NodeId from, NodeId to) const {
  return std::count_if(sent_.begin(), sent_.end(), [&](const SentMessage& sent) {
    return sent.message.type == type && sent.message.from == from && sent.message.to == to;
  });
}

std::size_t TestCluster::CountDelivered(MessageType type, NodeId from, NodeId to) const {
  return std::count_if(delivered_.begin(), delivered_.end(), [&](const Message& message) {
    return message.type == type && message.from == from && message.to == to;
  });
}

std::optional<NodeId> TestCluster::Leader() const {
  std::optional<NodeId> leader;
  Term leader_term = 0;
  for (const auto& [id, node] : nodes_) {
    if (!node->running()) continue;
    const RawNode& raw = node->raw();
    if (raw.role() == Role::kLeader && (!leader || raw.term() > leader_term)) {
      leader = id;
      leader_term = raw.term();
    }
  }
  return leader;
}

// ---------------------------------------------------------------------------------------
// Builders

Message VoteRequest(NodeId from, NodeId to, Term term, Index last_index, Term last_term) {
  Message message;
  message.type = MessageType::kVote;
  message.from = from;
  message.to = to;
  message.term = term;
  message.index = last_index;
  message.log_term = last_term;
  return message;
}

Message VoteResponse(NodeId from, NodeId to, Term term, bool granted) {
  Message message;
  message.type = MessageType::kVoteResponse;
  message.from = from;
  message.to = to;
  message.term = term;
  message.reject = !granted;
  return message;
}

Message PreVoteResponse(NodeId from, NodeId to, Term term, bool granted) {
  Message message = VoteResponse(from, to, term, granted);
  message.type = MessageType::kPreVoteResponse;
  return message;
}

Message AppendRequest(NodeId from, NodeId to, Term term, Index prev_index, Term prev_term,
                      std::vector<Entry> entries, Index commit) {
  Message message;
  message.type = MessageType::kAppend;
  message.from = from;
  message.to = to;
  message.term = term;
  message.index = prev_index;
  message.log_term = prev_term;
  message.entries = std::move(entries);
  message.commit = commit;
  return message;
}

Message AppendResponse(NodeId from, NodeId to, Term term, Index index) {
  Message message;
  message.type = MessageType::kAppendResponse;
  message.from = from;
  message.to = to;
  message.term = term;
  message.index = index;
  return message;
}

Message Heartbeat(NodeId from, NodeId to, Term term, Index commit) {
  Message message;
  message.type = MessageType::kHeartbeat;
  message.from = from;
  message.to = to;
  message.term = term;
  message.commit = commit;
  return message;
}

std::vector<Entry> EntriesWithTerms(Index first_index, const std::vector<Term>& terms) {
  std::vector<Entry> entries;
  Index index = first_index;
  for (Term term : terms) {
    entries.push_back(Entry{.term = term,
                            .index = index,
                            .type = EntryType::kNormal,
                            .data = "i" + std::to_string(index) + "t" + std::to_string(term)});
    ++index;
  }
  return entries;
}

std::vector<Message> OfType(const std::vector<Message>& messages, MessageType type) {
  std::vector<Message> out;
  for (const Message& message : messages) {
    if (message.type == type) out.push_back(message);
  }
  return out;
}

std::vector<Term> TermsOf(const std::vector<Entry>& entries) {
  std::vector<Term> terms;
  for (const Entry& entry : entries) terms.push_back(entry.term);
  return terms;
}

std::string EncodeState(const std::vector<std::string>& state) {
  std::string out;
  for (const std::string& item : state) {
    out += std::to_string(item.size());
    out += ':';
    out += item;
  }
  return out;
}

std::vector<std::string> DecodeState(const std::string& data) {
  std::vector<std::string> state;
  std::size_t position = 0;
  while (position < data.size()) {
    const std::size_t colon = data.find(':', position);
    REQUIRE(colon != std::string::npos);
    const std::size_t size = std::stoul(data.substr(position, colon - position));
    REQUIRE(colon + 1 + size <= data.size());
    state.push_back(data.substr(colon + 1, size));
    position = colon + 1 + size;
  }
  return state;
}

}  // namespace roster::consensus::testing
