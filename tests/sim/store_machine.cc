#include "tests/sim/store_machine.h"

#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "base/check.h"
#include "store/encoding.h"

namespace roster::sim {
namespace {

constexpr std::uint8_t kSnapshotMagic = 'S';

std::uint64_t Mix(std::uint64_t hash, std::uint64_t value) {
  hash ^= value + 0x9e3779b97f4a7c15ull + (hash << 6) + (hash >> 2);
  hash ^= hash >> 31;
  hash *= 0xbf58476d1ce4e5b9ull;
  return hash ^ (hash >> 29);
}

std::uint64_t HashBytes(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

void PutIds(store::Writer& writer, const std::vector<consensus::NodeId>& ids) {
  writer.Varint(ids.size());
  for (consensus::NodeId id : ids) writer.Varint(id);
}

bool GetIds(store::Reader& reader, std::vector<consensus::NodeId>* ids) {
  std::uint64_t count = 0;
  if (!reader.Varint(&count) || count > reader.remaining()) return false;
  ids->resize(count);
  for (consensus::NodeId& id : *ids) {
    if (!reader.Varint(&id)) return false;
  }
  return true;
}

std::string Op(std::uint64_t flags) { return " op=" + std::to_string(flags); }

std::string By(const std::string& session) { return session.empty() ? "" : " by " + session; }

std::string DescribeTxnOp(const store::TxnKvOp& op) {
  std::string out = std::string(store::TxnVerbName(op.verb)) + " " + op.key;
  if (op.verb == store::TxnVerb::kLock || op.verb == store::TxnVerb::kUnlock ||
      op.verb == store::TxnVerb::kCheckSession) {
    out += By(op.session);
  }
  return out;
}

std::string DescribeSessionCreate(const store::Session& session) {
  std::string checks;
  for (const std::string& id : session.CheckIds()) checks += (checks.empty() ? "" : ",") + id;
  return "session-create " + session.id + " on " + session.node + " checks=[" + checks +
         "] behavior=" + std::string(store::SessionBehaviorName(session.behavior));
}

std::string DescribeRegister(const store::CatalogRegister& c) {
  std::string out = "catalog-register " + c.node;
  for (const store::HealthCheck& check : c.checks) {
    out += " " + check.check_id + "=" + std::string(store::HealthStatusName(check.status));
  }
  return out;
}

// The commands the lock workload sends (sessions, locks, catalog), or "" for others.
std::string DescribeLockCommand(const store::Command& command) {
  if (const auto* c = std::get_if<store::KvLock>(&command))
    return "lock " + c->key + By(c->session);
  if (const auto* c = std::get_if<store::KvUnlock>(&command)) {
    return "unlock " + c->key + By(c->session);
  }
  if (const auto* c = std::get_if<store::KvCreateSequential>(&command)) {
    return "sequential " + c->prefix + By(c->session);
  }
  if (const auto* c = std::get_if<store::SessionCreate>(&command)) {
    return DescribeSessionCreate(c->session);
  }
  if (const auto* c = std::get_if<store::SessionDestroy>(&command)) {
    return "session-destroy " + c->id;
  }
  if (const auto* c = std::get_if<store::SessionInvalidate>(&command)) {
    return "session-invalidate " + c->id;
  }
  if (const auto* c = std::get_if<store::CatalogRegister>(&command)) return DescribeRegister(*c);
  if (const auto* c = std::get_if<store::CatalogDeregister>(&command)) {
    return "catalog-deregister " + c->node + (c->check_id.empty() ? "" : "/" + c->check_id);
  }
  if (const auto* c = std::get_if<store::Txn>(&command)) {
    std::string out = "txn[";
    for (const store::TxnKvOp& op : c->ops) out += (out.size() > 4 ? "; " : "") + DescribeTxnOp(op);
    return out + "]";
  }
  return "";
}

}  // namespace

std::uint64_t OpIdOf(const store::Command& command) {
  if (const auto* set = std::get_if<store::KvSet>(&command)) return set->flags;
  if (const auto* cas = std::get_if<store::KvCas>(&command)) return cas->flags;
  return 0;
}

std::string DescribeCommand(const store::Command& command) {
  if (std::string lock = DescribeLockCommand(command); !lock.empty()) return lock;
  return std::visit(
      [](const auto& c) -> std::string {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, store::KvSet>) {
          return "set " + c.key + " = " + c.value + Op(c.flags);
        } else if constexpr (std::is_same_v<T, store::KvCas>) {
          return "cas " + c.key + " if-modify=" + std::to_string(c.cas_index) + " = " + c.value +
                 Op(c.flags);
        } else if constexpr (std::is_same_v<T, store::KvDelete>) {
          return "delete " + c.key;
        } else if constexpr (std::is_same_v<T, store::KvDeleteCas>) {
          return "delete-cas " + c.key + " if-modify=" + std::to_string(c.cas_index);
        } else {
          return std::string(store::CommandTypeName(T::kType));
        }
      },
      command);
}

StoreMachine::StoreMachine(consensus::ConfState conf_state) : conf_state_(std::move(conf_state)) {}

Result<StoreMachine> StoreMachine::Restore(const consensus::Snapshot& snapshot) {
  StoreMachine machine(consensus::ConfState{});
  store::Reader reader(snapshot.data);
  std::uint8_t magic = 0;
  std::string_view store_snapshot;
  reader.U8(&magic);
  reader.Varint(&machine.applied_);
  reader.Varint(&machine.applied_term_);
  reader.Varint(&machine.digest_);
  GetIds(reader, &machine.conf_state_.voters);
  GetIds(reader, &machine.conf_state_.learners);
  reader.BytesView(&store_snapshot);
  if (!reader.Finish() || magic != kSnapshotMagic) {
    return Corruption("simulator snapshot data does not parse");
  }
  RETURN_IF_ERROR(machine.store_.Restore(store_snapshot));
  const consensus::SnapshotMetadata& metadata = snapshot.metadata;
  if (machine.applied_ != metadata.index || machine.applied_term_ != metadata.term ||
      !(machine.conf_state_ == metadata.conf_state)) {
    return Corruption("snapshot data is at " + std::to_string(machine.applied_) + "@" +
                      std::to_string(machine.applied_term_) + " but its metadata says " +
                      std::to_string(metadata.index) + "@" + std::to_string(metadata.term) +
                      " (or the memberships differ)");
  }
  if (machine.store_.last_applied_index() > machine.applied_) {
    return Corruption("the store in the snapshot is ahead of the snapshot's index");
  }
  return machine;
}

ApplyOutcome StoreMachine::Apply(const consensus::Entry& entry) {
  CHECK_EQ(entry.index, applied_ + 1);
  applied_ = entry.index;
  applied_term_ = entry.term;
  digest_ = Mix(Mix(Mix(digest_, entry.index), entry.term),
                HashBytes(entry.data) ^ static_cast<std::uint64_t>(entry.type));
  if (entry.type == consensus::EntryType::kConfChange) {
    ApplyConfChange(entry);  // as a server does: the store never sees conf changes
    return {};
  }
  Result<store::Command> command = store::Decode(entry.data);
  CHECK(command.ok()) << "entry " << entry.index << ": " << command.status().ToString();
  const store::ApplyResult result = store_.Apply(entry.index, entry.data);
  return ApplyOutcome{OpIdOf(*command), result.ok};
}

void StoreMachine::ApplyConfChange(const consensus::Entry& entry) {
  Result<consensus::ConfChange> change = consensus::DecodeConfChange(entry.data);
  CHECK(change.ok()) << "entry " << entry.index << ": " << change.status().ToString();
  // A change that does not fit the membership is ignored, as the core ignores it.
  Result<consensus::ConfState> next = consensus::ApplyConfChange(conf_state_, *change);
  if (next.ok()) conf_state_ = std::move(next).value();
}

std::string StoreMachine::Serialize() const {
  std::string out;
  store::Writer writer(&out);
  writer.U8(kSnapshotMagic);
  writer.Varint(applied_);
  writer.Varint(applied_term_);
  writer.Varint(digest_);
  PutIds(writer, conf_state_.voters);
  PutIds(writer, conf_state_.learners);
  writer.Bytes(store_.Snapshot());
  return out;
}

std::uint64_t StoreMachine::StateHash() const { return HashBytes(store_.Snapshot()); }

}  // namespace roster::sim
