#include "store/command.h"

#include <array>
#include <utility>

#include "store/encoding.h"
#include "store/record_encoding.h"

namespace roster::store {
namespace {

// Fields of each command, in encoding order. Decoders may read past a failure: the
// Reader's failure is sticky and checked once by DecodeAs.

void EncodeFields(Writer&, const Noop&) {}
void DecodeFields(Reader&, Noop&) {}

void EncodeFields(Writer& w, const KvSet& c) {
  w.Bytes(c.key);
  w.Bytes(c.value);
  w.Varint(c.flags);
}
void DecodeFields(Reader& r, KvSet& c) {
  r.Bytes(&c.key);
  r.Bytes(&c.value);
  r.Varint(&c.flags);
}

void EncodeFields(Writer& w, const KvCas& c) {
  w.Bytes(c.key);
  w.Bytes(c.value);
  w.Varint(c.flags);
  w.Varint(c.cas_index);
}
void DecodeFields(Reader& r, KvCas& c) {
  r.Bytes(&c.key);
  r.Bytes(&c.value);
  r.Varint(&c.flags);
  r.Varint(&c.cas_index);
}

void EncodeFields(Writer& w, const KvDelete& c) { w.Bytes(c.key); }
void DecodeFields(Reader& r, KvDelete& c) { r.Bytes(&c.key); }

void EncodeFields(Writer& w, const KvDeleteCas& c) {
  w.Bytes(c.key);
  w.Varint(c.cas_index);
}
void DecodeFields(Reader& r, KvDeleteCas& c) {
  r.Bytes(&c.key);
  r.Varint(&c.cas_index);
}

void EncodeFields(Writer& w, const KvDeleteTree& c) { w.Bytes(c.prefix); }
void DecodeFields(Reader& r, KvDeleteTree& c) { r.Bytes(&c.prefix); }

void EncodeFields(Writer& w, const KvReapTombstones& c) { w.Varint(c.up_to_index); }
void DecodeFields(Reader& r, KvReapTombstones& c) { r.Varint(&c.up_to_index); }

void EncodeFields(Writer& w, const KvLock& c) {
  w.Bytes(c.key);
  w.Bytes(c.value);
  w.Varint(c.flags);
  w.Bytes(c.session);
}
void DecodeFields(Reader& r, KvLock& c) {
  r.Bytes(&c.key);
  r.Bytes(&c.value);
  r.Varint(&c.flags);
  r.Bytes(&c.session);
}

void EncodeFields(Writer& w, const KvUnlock& c) {
  w.Bytes(c.key);
  w.Bytes(c.value);
  w.Varint(c.flags);
  w.Bytes(c.session);
}
void DecodeFields(Reader& r, KvUnlock& c) {
  r.Bytes(&c.key);
  r.Bytes(&c.value);
  r.Varint(&c.flags);
  r.Bytes(&c.session);
}

void EncodeFields(Writer& w, const KvCreateSequential& c) {
  w.Bytes(c.prefix);
  w.Bytes(c.value);
  w.Varint(c.flags);
  w.Bytes(c.session);
}
void DecodeFields(Reader& r, KvCreateSequential& c) {
  r.Bytes(&c.prefix);
  r.Bytes(&c.value);
  r.Varint(&c.flags);
  r.Bytes(&c.session);
}

void EncodeFields(Writer& w, const SessionCreate& c) { internal::WriteSessionFields(w, c.session); }
void DecodeFields(Reader& r, SessionCreate& c) { internal::ReadSessionFields(r, c.session); }

void EncodeFields(Writer& w, const SessionDestroy& c) { w.Bytes(c.id); }
void DecodeFields(Reader& r, SessionDestroy& c) { r.Bytes(&c.id); }

void EncodeFields(Writer& w, const SessionInvalidate& c) { w.Bytes(c.id); }
void DecodeFields(Reader& r, SessionInvalidate& c) { r.Bytes(&c.id); }

void EncodeFields(Writer& w, const Txn& c) {
  w.Varint(c.ops.size());
  for (const TxnKvOp& op : c.ops) {
    w.U8(static_cast<std::uint8_t>(op.verb));
    w.Bytes(op.key);
    w.Bytes(op.value);
    w.Varint(op.flags);
    w.Varint(op.index);
    w.Bytes(op.session);
  }
}
void DecodeFields(Reader& r, Txn& c) {
  std::uint64_t count = 0;
  if (!r.Count(&count)) return;
  c.ops.assign(count, TxnKvOp{});
  for (TxnKvOp& op : c.ops) {
    std::uint8_t verb = 0;
    if (!r.U8(&verb)) return;
    op.verb = static_cast<TxnVerb>(verb);
    if (TxnVerbName(op.verb).empty()) {
      r.Fail();
      return;
    }
    r.Bytes(&op.key);
    r.Bytes(&op.value);
    r.Varint(&op.flags);
    r.Varint(&op.index);
    r.Bytes(&op.session);
  }
}

// A register's first form (written before services existed) ended with a service count
// that was always 0. That varint now names the form: 0 is the first form, which ends
// there; 2 (3 with a service) is the second, followed by the service's fields if any,
// then the node's datacenter, tagged addresses and meta, skip_node_update, and each
// check's type and definition. Entries of the first form still decode.
constexpr std::uint64_t kRegisterFirstForm = 0;
constexpr std::uint64_t kRegisterSecondForm = 2;
constexpr std::uint64_t kRegisterWithService = 1;  // or-ed into the second form

void EncodeFields(Writer& w, const CatalogRegister& c) {
  w.Bytes(c.node);
  w.Bytes(c.id);
  w.Bytes(c.address);
  w.Varint(c.checks.size());
  for (const HealthCheck& check : c.checks) internal::WriteCheckFields(w, check);
  w.Varint(kRegisterSecondForm | (c.service.has_value() ? kRegisterWithService : 0));
  if (c.service.has_value()) internal::WriteServiceFields(w, *c.service);
  w.Bytes(c.datacenter);
  internal::WriteStringMap(w, c.tagged_addresses);
  internal::WriteStringMap(w, c.node_meta);
  w.U8(c.skip_node_update ? 1 : 0);
  for (const HealthCheck& check : c.checks) internal::WriteCheckExtraFields(w, check);
}
void DecodeFields(Reader& r, CatalogRegister& c) {
  r.Bytes(&c.node);
  r.Bytes(&c.id);
  r.Bytes(&c.address);
  std::uint64_t count = 0;
  if (!r.Count(&count)) return;
  c.checks.assign(count, HealthCheck{});
  for (HealthCheck& check : c.checks) internal::ReadCheckFields(r, check);
  std::uint64_t form = 0;
  if (!r.Varint(&form) || form == kRegisterFirstForm) return;
  if ((form & ~kRegisterWithService) != kRegisterSecondForm) {
    r.Fail();
    return;
  }
  if (form & kRegisterWithService) internal::ReadServiceFields(r, c.service.emplace());
  r.Bytes(&c.datacenter);
  internal::ReadStringMap(r, c.tagged_addresses);
  internal::ReadStringMap(r, c.node_meta);
  std::uint8_t skip = 0;
  if (r.U8(&skip) && skip > 1) r.Fail();
  c.skip_node_update = skip == 1;
  for (HealthCheck& check : c.checks) internal::ReadCheckExtraFields(r, check);
}

void EncodeFields(Writer& w, const CatalogDeregister& c) {
  w.Bytes(c.node);
  w.Bytes(c.service_id);
  w.Bytes(c.check_id);
}
void DecodeFields(Reader& r, CatalogDeregister& c) {
  r.Bytes(&c.node);
  r.Bytes(&c.service_id);
  r.Bytes(&c.check_id);
}

template <typename T>
std::string EncodeAs(const T& command) {
  std::string out;
  Writer writer(&out);
  writer.U8(static_cast<std::uint8_t>(T::kType));
  EncodeFields(writer, command);
  return out;
}

template <typename T>
Result<Command> DecodeAs(Reader& reader) {
  T command;
  DecodeFields(reader, command);
  if (!reader.Finish()) {
    return InvalidArgument(std::string(CommandTypeName(T::kType)) +
                           " command is malformed, truncated or has trailing bytes");
  }
  return Command(std::move(command));
}

// The command table, keyed by the type byte. A named entry without a decoder is
// reserved: its number is taken, its command not implemented yet.
struct CommandSpec {
  std::string_view name;                         // empty: no such command
  Result<Command> (*decode)(Reader&) = nullptr;  // null: reserved
};

constexpr std::array<CommandSpec, 256> MakeCommandTable() {
  std::array<CommandSpec, 256> table{};
  auto add = [&table](CommandType type, std::string_view name, Result<Command> (*decode)(Reader&)) {
    table[static_cast<std::uint8_t>(type)] = CommandSpec{name, decode};
  };
  add(CommandType::kNoop, "noop", DecodeAs<Noop>);
  add(CommandType::kKvSet, "kv-set", DecodeAs<KvSet>);
  add(CommandType::kKvCas, "kv-cas", DecodeAs<KvCas>);
  add(CommandType::kKvDelete, "kv-delete", DecodeAs<KvDelete>);
  add(CommandType::kKvDeleteCas, "kv-delete-cas", DecodeAs<KvDeleteCas>);
  add(CommandType::kKvDeleteTree, "kv-delete-tree", DecodeAs<KvDeleteTree>);
  add(CommandType::kKvReapTombstones, "kv-reap-tombstones", DecodeAs<KvReapTombstones>);
  add(CommandType::kKvLock, "kv-lock", DecodeAs<KvLock>);
  add(CommandType::kKvUnlock, "kv-unlock", DecodeAs<KvUnlock>);
  add(CommandType::kKvCreateSequential, "kv-create-sequential", DecodeAs<KvCreateSequential>);
  add(CommandType::kSessionCreate, "session-create", DecodeAs<SessionCreate>);
  add(CommandType::kSessionDestroy, "session-destroy", DecodeAs<SessionDestroy>);
  add(CommandType::kSessionInvalidate, "session-invalidate", DecodeAs<SessionInvalidate>);
  add(CommandType::kTxn, "txn", DecodeAs<Txn>);
  add(CommandType::kCatalogRegister, "catalog-register", DecodeAs<CatalogRegister>);
  add(CommandType::kCatalogDeregister, "catalog-deregister", DecodeAs<CatalogDeregister>);
  return table;
}

constexpr std::array<CommandSpec, 256> kCommandTable = MakeCommandTable();

}  // namespace

std::string_view CommandTypeName(CommandType type) {
  std::string_view name = kCommandTable[static_cast<std::uint8_t>(type)].name;
  return name.empty() ? "unknown" : name;
}

namespace {

// Consul's verb names (api/txn.go), indexed by the verb's value; "" for no verb.
constexpr std::array<std::string_view, 14> kTxnVerbNames = {
    "",
    "set",
    "cas",
    "lock",
    "unlock",
    "get",
    "get-or-empty",
    "get-tree",
    "check-index",
    "check-session",
    "check-not-exists",
    "delete",
    "delete-tree",
    "delete-cas",
};

}  // namespace

std::string_view TxnVerbName(TxnVerb verb) {
  const auto value = static_cast<std::size_t>(verb);
  return value < kTxnVerbNames.size() ? kTxnVerbNames[value] : std::string_view();
}

std::optional<TxnVerb> ParseTxnVerb(std::string_view name) {
  if (name.empty()) return std::nullopt;
  for (std::size_t value = 1; value < kTxnVerbNames.size(); ++value) {
    if (kTxnVerbNames[value] == name) return static_cast<TxnVerb>(value);
  }
  return std::nullopt;
}

bool IsReadVerb(TxnVerb verb) {
  switch (verb) {
    case TxnVerb::kGet:
    case TxnVerb::kGetOrEmpty:
    case TxnVerb::kGetTree:
    case TxnVerb::kCheckIndex:
    case TxnVerb::kCheckSession:
    case TxnVerb::kCheckNotExists:
      return true;
    default:
      return false;
  }
}

std::string Encode(const Command& command) {
  return std::visit([](const auto& c) { return EncodeAs(c); }, command);
}

Result<Command> Decode(std::string_view bytes) {
  if (bytes.empty()) return Command(Noop{});
  Reader reader(bytes);
  std::uint8_t type = 0;
  reader.U8(&type);
  const CommandSpec& spec = kCommandTable[type];
  if (spec.name.empty()) return InvalidArgument("unknown command type " + std::to_string(type));
  if (spec.decode == nullptr) {
    return InvalidArgument("command type " + std::string(spec.name) + " is not implemented");
  }
  return spec.decode(reader);
}

}  // namespace roster::store
