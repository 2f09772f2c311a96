#include "tests/sim/lock_client.h"

#include <algorithm>
#include <utility>

#include "base/check.h"
#include "store/command.h"
#include "tests/sim/cluster.h"
#include "tests/sim/reaper.h"

namespace roster::sim {
namespace {

// Consul's api.Lock flag value (consul-api.md §3.5).
constexpr std::uint64_t kLockFlagValue = 0x2ddccbc058a50c18ull;
constexpr char kSequentialPrefix[] = "lock/seq/";
constexpr char kContenderPrefix[] = "lock/sem/";

// A client process pause (a GC pause, a swapped-out process) between checking its
// monitor and sending a protected request: the whole client freezes, monitor included,
// and the request leaves when it thaws, however stale its lock has become.
constexpr std::uint64_t kPauseOneIn = 6;
constexpr std::int64_t kPauseMsMin = 50;
constexpr std::int64_t kPauseMsMax = 1500;

std::string Padded(consensus::Index index) {
  std::string digits = std::to_string(index);
  return std::string(20 - std::min<std::size_t>(20, digits.size()), '0') + digits;
}

}  // namespace

LockClient::LockClient(int id, const LockEnv& env)
    : id_(id), name_("L" + std::to_string(id)), env_(env), request_(env.cluster, name_) {
  next_action_ms_ = env_.cluster->random().Uniform(env_.settings->think_ms_max + 1);
}

void LockClient::Step() {
  if (request_.active()) {
    if (std::optional<RequestResult> result = request_.Step()) Handle(*result);
    return;
  }
  if (env_.cluster->now_ms() >= next_action_ms_) Act();
}

void LockClient::Act() {
  switch (state_) {
    case State::kNoSession:
      return StartSession();
    case State::kIdle:
      return ActIdle();
    case State::kHolding:
      return ActHolding();
    default:
      CHECK(false) << name_ << " acts while waiting in " << StateName(state_);
  }
}

void LockClient::ActIdle() {
  if (final_round_) {
    if (!final_released_) Acquire();
    return;
  }
  if (!CheckMonitor()) return;
  const bool ephemeral = behavior_ == store::SessionBehavior::kDelete;
  const std::uint64_t dice = env_.cluster->random().Uniform(100);
  if (dice < 55) return Acquire();
  if (dice < 65 && ephemeral) return CreateSequential();
  if (dice < 72 && ephemeral) return AcquireContender();
  if (dice < 80 && !own_keys_.empty()) return DeleteOwnKey();
  if (dice < 85) return DestroySession();
  if (dice < 88) return Abandon("stops renewing its session");
  Think();
}

void LockClient::ActHolding() {
  if (!CheckMonitor()) return;
  Random& random = env_.cluster->random();
  const std::uint64_t now = env_.cluster->now_ms();
  if (requests_left_ > 0) {
    --requests_left_;
    const std::uint64_t pause_ms =
        random.OneIn(kPauseOneIn) ? random.Range(kPauseMsMin, kPauseMsMax) : 0;
    if (pause_ms > 0) Note("pauses for " + std::to_string(pause_ms) + " ms");
    paused_until_ms_ = now + pause_ms;
    env_.fencing->Send(id_, paused_until_ms_ + random.Range(1, 20));  // network delay
    next_action_ms_ = paused_until_ms_ + random.Range(5, 60);
    return;
  }
  if (!final_round_ && random.OneIn(4)) return Abandon("stops while holding " + key_);
  Release();
}

void LockClient::StartSession() {
  Random& random = env_.cluster->random();
  store::Session session;
  session.id = "s" + std::to_string(id_) + "." + std::to_string(++sessions_made_);
  session.name = name_;
  session.node = env_.nodes[random.Uniform(env_.nodes.size())];
  session.behavior =
      random.OneIn(2) ? store::SessionBehavior::kDelete : store::SessionBehavior::kRelease;
  const std::uint64_t checks = random.Uniform(3);  // none, serfHealth, serfHealth and app
  if (checks >= 1) session.node_checks.push_back("serfHealth");
  if (checks >= 2) session.node_checks.push_back("app");
  session_ = session.id;
  behavior_ = session.behavior;
  own_keys_.clear();
  Propose(store::SessionCreate{std::move(session)}, State::kCreatingSession);
}

void LockClient::Acquire() {
  Random& random = env_.cluster->random();
  key_ = std::string(kLockPrefix) + "m" + std::to_string(random.Uniform(env_.settings->mutexes));
  const std::string value = name_ + "." + std::to_string(++writes_);
  contender_key_.clear();
  if (!random.OneIn(3)) {
    return Propose(store::KvLock{key_, value, kLockFlagValue, session_}, State::kAcquiring);
  }
  // A txn: the contender key first, so a refused mutex must roll it back.
  store::Txn txn;
  if (behavior_ == store::SessionBehavior::kDelete && random.OneIn(2)) {
    contender_key_ = kContenderPrefix + session_;
    txn.ops.push_back({store::TxnVerb::kLock, contender_key_, value, 0, 0, session_});
  }
  txn.ops.push_back({store::TxnVerb::kLock, key_, value, kLockFlagValue, 0, session_});
  Propose(std::move(txn), State::kAcquiring);
}

void LockClient::CreateSequential() {
  const std::string value = name_ + "." + std::to_string(++writes_);
  creating_key_.clear();  // named by the index it applies at
  Propose(store::KvCreateSequential{kSequentialPrefix, value, 0, session_}, State::kCreatingKey);
}

void LockClient::AcquireContender() {
  const std::string value = name_ + "." + std::to_string(++writes_);
  creating_key_ = kContenderPrefix + session_;
  Propose(store::KvLock{creating_key_, value, 0, session_}, State::kCreatingKey);
}

void LockClient::DeleteOwnKey() {
  const std::size_t i = env_.cluster->random().Uniform(own_keys_.size());
  const std::string key = own_keys_[i];
  own_keys_.erase(own_keys_.begin() + static_cast<std::ptrdiff_t>(i));
  Propose(store::KvDelete{key}, State::kDeletingKey);
}

void LockClient::DestroySession() { Propose(store::SessionDestroy{session_}, State::kDestroying); }

void LockClient::Release() {
  StopBelieving();  // protected work stops before the release is sent
  const std::string value = name_ + "." + std::to_string(++writes_);
  if (env_.cluster->random().OneIn(4)) {
    store::Txn txn;
    txn.ops.push_back({store::TxnVerb::kUnlock, key_, value, 0, 0, session_});
    return Propose(std::move(txn), State::kReleasing);
  }
  Propose(store::KvUnlock{key_, value, 0, session_}, State::kReleasing);
}

void LockClient::Propose(const store::Command& command, State next) {
  request_.Propose(store::Encode(command), env_.settings->op_timeout_ms);
  state_ = next;
}

// ---- Outcomes ---------------------------------------------------------------------

void LockClient::Handle(const RequestResult& result) {
  if (result.node != nullptr) monitor_node_ = result.node->id();
  if (result.fate == RequestFate::kApplied) known_index_ = std::max(known_index_, result.index);
  switch (state_) {
    case State::kCreatingSession:
      return HandleSessionCreated(result);
    case State::kAcquiring:
      return HandleAcquired(result);
    case State::kRecovering:
      return HandleRecovered(result);
    case State::kReleasing:
      return HandleReleased(result);
    case State::kCreatingKey:
    case State::kDeletingKey:
      return HandleKeyCreated(result);
    case State::kDestroying:
      return HandleDestroyed(result);
    default:
      CHECK(false) << name_ << " got a request result in " << StateName(state_);
  }
}

void LockClient::HandleSessionCreated(const RequestResult& result) {
  if (result.fate == RequestFate::kApplied && result.ok) {
    state_ = State::kIdle;
    return Think();
  }
  // Refused (node or check missing or critical), lost, or unknown: the next try uses a
  // new id; a session that may exist after all is left to the reaper.
  if (result.fate == RequestFate::kUnknown) env_.reaper->Abandon(session_);
  session_.clear();
  state_ = State::kNoSession;
  Think();
}

void LockClient::HandleAcquired(const RequestResult& result) {
  switch (result.fate) {
    case RequestFate::kApplied:
      if (result.ok)
        return BeginHolding(result.node->machine().store(), result.index, result.node->id());
      if (SessionGoneAt(*result.node)) return LoseSession("acquire refused: session gone");
      ++contended_;
      state_ = State::kIdle;
      Think();  // and back off a little more: the holder needs a while
      next_action_ms_ += env_.cluster->random().Uniform(50);
      return;
    case RequestFate::kUnknown:
      state_ = State::kRecovering;
      return request_.Read(env_.settings->op_timeout_ms);
    default:
      state_ = State::kIdle;
      return Think();
  }
}

// After an acquire of unknown outcome: the key as a linearizable read shows it.
void LockClient::HandleRecovered(const RequestResult& result) {
  if (result.fate != RequestFate::kServed) return request_.Read(env_.settings->op_timeout_ms);
  const store::Store& store = result.node->machine().store();
  const store::DirEntry* entry = store.kv().Find(key_);
  if (entry != nullptr && entry->session == session_) {
    return BeginHolding(store, result.node->machine().applied(), result.node->id());
  }
  if (SessionGoneAt(*result.node)) return LoseSession("session gone (read after acquire)");
  // The acquire may still apply later: this session can no longer be trusted.
  Abandon("acquire of " + key_ + " has an unknown outcome and the key is not held now");
}

void LockClient::HandleReleased(const RequestResult& result) {
  if (result.fate != RequestFate::kApplied) {  // retry: a release of a key not held is harmless
    return Propose(store::KvUnlock{key_, name_ + "." + std::to_string(++writes_), 0, session_},
                   State::kReleasing);
  }
  if (result.ok && final_acquired_) final_released_ = true;
  if (!result.ok && SessionGoneAt(*result.node)) return LoseSession("release: session gone");
  state_ = State::kIdle;
  Think();
}

void LockClient::HandleKeyCreated(const RequestResult& result) {
  const bool applied = result.fate == RequestFate::kApplied;
  if (applied && !result.ok && SessionGoneAt(*result.node)) return LoseSession("session gone");
  if (state_ == State::kCreatingKey && applied && result.ok) {
    const std::string key =
        creating_key_.empty() ? kSequentialPrefix + Padded(result.index) : creating_key_;
    if (std::find(own_keys_.begin(), own_keys_.end(), key) == own_keys_.end()) {
      own_keys_.push_back(key);
    }
  }
  state_ = State::kIdle;
  Think();
}

void LockClient::HandleDestroyed(const RequestResult& result) {
  if (result.fate == RequestFate::kLost) {
    state_ = State::kIdle;
    return Think();
  }
  if (result.fate == RequestFate::kUnknown) env_.reaper->Abandon(session_);
  session_.clear();
  state_ = State::kNoSession;
  Think();
}

// ---- Beliefs and the monitor --------------------------------------------------------

void LockClient::BeginHolding(const store::Store& store, consensus::Index observed_index,
                              consensus::NodeId node) {
  const store::DirEntry* entry = store.kv().Find(key_);
  if (entry == nullptr || entry->session != session_) {
    env_.cluster->Fail(
        name_ + ": acquire of " + key_ + " by " + session_ + " applied ok at " +
        std::to_string(observed_index) + " but right after it the store shows " +
        (entry == nullptr ? std::string("no key") : "holder \"" + entry->session + "\""));
    return;
  }
  if (!contender_key_.empty() &&
      std::find(own_keys_.begin(), own_keys_.end(), contender_key_) == own_keys_.end()) {
    own_keys_.push_back(contender_key_);
  }
  const LockObservation seen{key_,
                             session_,
                             {entry->create_index, entry->lock_index},
                             entry->modify_index,
                             observed_index};
  known_index_ = std::max(known_index_, observed_index);
  // The monitor: a blocking query to the node that answered, or to any server (stale).
  const std::vector<consensus::NodeId> ids = env_.cluster->NodeIds();
  monitor_node_ =
      env_.cluster->random().OneIn(2) ? node : ids[env_.cluster->random().Uniform(ids.size())];
  ++acquired_;
  if (final_round_) final_acquired_ = true;
  Note("holds " + key_ + " with token " + DescribeToken(seen.token) + " ModifyIndex " +
       std::to_string(seen.modify_index));
  if (std::string problem = env_.fencing->BeginBelief(id_, seen, store); !problem.empty()) {
    env_.cluster->Fail(problem);
  }
  requests_left_ = static_cast<int>(env_.cluster->random().Range(1, 4));
  state_ = State::kHolding;
  next_action_ms_ = env_.cluster->now_ms() + env_.cluster->random().Range(1, 20);
}

// The monitor: the store of the node it last talked to, once that node has caught up
// with what this client knows. No node to ask, or a lagging one, means no news.
bool LockClient::CheckMonitor() {
  SimNode* node = env_.cluster->ReachableNode(monitor_node_);
  if (node == nullptr || node->machine().applied() < known_index_) return true;
  if (SessionGoneAt(*node)) {
    LoseSession("its monitor shows the session ended");
    return false;
  }
  if (state_ != State::kHolding) return true;
  const store::DirEntry* entry = node->machine().store().kv().Find(key_);
  if (entry != nullptr && entry->session == session_) return true;
  StopBelieving();
  Note("learns it lost " + key_);
  state_ = State::kIdle;
  Think();
  return false;
}

void LockClient::StopBelieving() {
  if (env_.fencing->Believes(id_)) env_.fencing->EndBelief(id_);
}

void LockClient::LoseSession(const std::string& why) {
  StopBelieving();
  Note("lost session " + session_ + ": " + why);
  session_.clear();
  own_keys_.clear();
  state_ = State::kNoSession;
  Think();
}

// Stops renewing the session (a crash, a give-up): its TTL lapses, the reaper ends it.
void LockClient::Abandon(const std::string& why) {
  StopBelieving();
  Note("abandons " + session_ + ": " + why);
  env_.reaper->Abandon(session_);
  ++abandoned_;
  session_.clear();
  own_keys_.clear();
  state_ = State::kNoSession;
  Think();
}

bool LockClient::SessionGoneAt(const SimNode& node) const {
  return node.machine().store().sessions().Find(session_) == nullptr;
}

// ---- Events from the cluster -----------------------------------------------------

void LockClient::OnApplied(SimNode& node, const consensus::Entry& entry, bool ok) {
  if (std::optional<RequestResult> result = request_.OnApplied(node, entry, ok)) {
    return Handle(*result);
  }
  // The monitor's blocking query returns; a paused client hears it when it thaws.
  const bool monitoring = state_ == State::kHolding || state_ == State::kIdle;
  if (monitoring && node.id() == monitor_node_ && env_.cluster->now_ms() >= paused_until_ms_) {
    CheckMonitor();
  }
}

void LockClient::OnReadServed(SimNode& node, const std::string& context) {
  if (std::optional<RequestResult> result = request_.OnReadServed(node, context)) Handle(*result);
}

void LockClient::OnNodeDown(consensus::NodeId node) {
  if (node == monitor_node_) monitor_node_ = consensus::kNoNode;
  if (std::optional<RequestResult> result = request_.OnNodeDown(node)) Handle(*result);
}

void LockClient::OnSnapshotInstalled(SimNode& node, consensus::Index index) {
  if (std::optional<RequestResult> result = request_.OnSnapshotInstalled(node, index)) {
    Handle(*result);
  }
}

void LockClient::Think() {
  next_action_ms_ =
      env_.cluster->now_ms() + env_.cluster->random().Uniform(env_.settings->think_ms_max + 1);
}

void LockClient::Note(const std::string& text) const {
  env_.cluster->trace().Record(env_.cluster->now_ms(), TraceKind::kClient, consensus::kNoNode,
                               name_ + " " + text);
}

const char* LockClient::StateName(State state) {
  switch (state) {
    case State::kNoSession:
      return "no-session";
    case State::kCreatingSession:
      return "creating-session";
    case State::kIdle:
      return "idle";
    case State::kAcquiring:
      return "acquiring";
    case State::kRecovering:
      return "recovering";
    case State::kHolding:
      return "holding";
    case State::kReleasing:
      return "releasing";
    case State::kCreatingKey:
      return "creating-key";
    case State::kDeletingKey:
      return "deleting-key";
    case State::kDestroying:
      return "destroying";
  }
  return "?";
}

std::string LockClient::Describe() const {
  return " " + name_ + ":" + StateName(state_) + (session_.empty() ? "" : "(" + session_ + ")") +
         (final_released_ ? "" : ",needs-acquire-release") +
         (request_.active() ? " [" + request_.Describe() + "]" : "");
}

}  // namespace roster::sim
