#include "store/command.h"

#include <array>
#include <utility>

#include "store/encoding.h"

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
                           " command is truncated or has trailing bytes");
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
  add(CommandType::kKvLock, "kv-lock", nullptr);
  add(CommandType::kKvUnlock, "kv-unlock", nullptr);
  add(CommandType::kSessionCreate, "session-create", nullptr);
  add(CommandType::kSessionDestroy, "session-destroy", nullptr);
  add(CommandType::kSessionInvalidate, "session-invalidate", nullptr);
  add(CommandType::kTxn, "txn", nullptr);
  add(CommandType::kCatalogRegister, "catalog-register", nullptr);
  add(CommandType::kCatalogDeregister, "catalog-deregister", nullptr);
  return table;
}

constexpr std::array<CommandSpec, 256> kCommandTable = MakeCommandTable();

}  // namespace

std::string_view CommandTypeName(CommandType type) {
  std::string_view name = kCommandTable[static_cast<std::uint8_t>(type)].name;
  return name.empty() ? "unknown" : name;
}

std::string Encode(const Noop& command) { return EncodeAs(command); }
std::string Encode(const KvSet& command) { return EncodeAs(command); }
std::string Encode(const KvCas& command) { return EncodeAs(command); }
std::string Encode(const KvDelete& command) { return EncodeAs(command); }
std::string Encode(const KvDeleteCas& command) { return EncodeAs(command); }
std::string Encode(const KvDeleteTree& command) { return EncodeAs(command); }
std::string Encode(const KvReapTombstones& command) { return EncodeAs(command); }

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
