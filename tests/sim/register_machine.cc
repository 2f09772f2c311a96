#include "tests/sim/register_machine.h"

#include <utility>

#include "base/check.h"

namespace roster::sim {
namespace {

constexpr char kSnapshotMagic = 'R';

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

void PutU64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

void PutString(std::string& out, std::string_view value) {
  PutU64(out, value.size());
  out.append(value);
}

// Reads what PutU64/PutString wrote; every getter fails once the input runs short.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool GetU64(std::uint64_t* value) {
    if (bytes_.size() < 8) return false;
    *value = 0;
    for (int i = 0; i < 8; ++i) {
      *value |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[i])) << (8 * i);
    }
    bytes_.remove_prefix(8);
    return true;
  }
  bool GetString(std::string* value) {
    std::uint64_t size = 0;
    if (!GetU64(&size) || bytes_.size() < size) return false;
    value->assign(bytes_.substr(0, size));
    bytes_.remove_prefix(size);
    return true;
  }
  bool GetByte(char* value) {
    if (bytes_.empty()) return false;
    *value = bytes_[0];
    bytes_.remove_prefix(1);
    return true;
  }
  bool AtEnd() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
};

}  // namespace

std::string EncodeCommand(const Command& command) {
  std::string out;
  out.push_back(static_cast<char>(command.kind));
  PutU64(out, command.op_id);
  PutString(out, command.key);
  PutString(out, command.value);
  PutString(out, command.expected);
  return out;
}

std::optional<Command> DecodeCommand(std::string_view bytes) {
  Reader reader(bytes);
  Command command;
  char kind = 0;
  if (!reader.GetByte(&kind)) return std::nullopt;
  if (kind != static_cast<char>(CommandKind::kWrite) &&
      kind != static_cast<char>(CommandKind::kCas)) {
    return std::nullopt;
  }
  command.kind = static_cast<CommandKind>(kind);
  if (!reader.GetU64(&command.op_id) || !reader.GetString(&command.key) ||
      !reader.GetString(&command.value) || !reader.GetString(&command.expected) ||
      !reader.AtEnd()) {
    return std::nullopt;
  }
  return command;
}

RegisterMachine::RegisterMachine(consensus::ConfState conf_state)
    : conf_state_(std::move(conf_state)) {}

Result<RegisterMachine> RegisterMachine::Restore(const consensus::Snapshot& snapshot) {
  RegisterMachine machine(snapshot.metadata.conf_state);
  Reader reader(snapshot.data);
  char magic = 0;
  std::uint64_t count = 0;
  if (!reader.GetByte(&magic) || magic != kSnapshotMagic || !reader.GetU64(&machine.applied_) ||
      !reader.GetU64(&machine.applied_term_) || !reader.GetU64(&machine.digest_) ||
      !reader.GetU64(&count)) {
    return Corruption("snapshot header does not parse");
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string key;
    std::string value;
    if (!reader.GetString(&key) || !reader.GetString(&value)) {
      return Corruption("snapshot register " + std::to_string(i) + " does not parse");
    }
    machine.values_.emplace(std::move(key), std::move(value));
  }
  if (!reader.AtEnd()) return Corruption("trailing bytes after the snapshot");
  if (machine.applied_ != snapshot.metadata.index ||
      machine.applied_term_ != snapshot.metadata.term) {
    return Corruption("snapshot data is at " + std::to_string(machine.applied_) + "@" +
                      std::to_string(machine.applied_term_) + " but its metadata says " +
                      std::to_string(snapshot.metadata.index) + "@" +
                      std::to_string(snapshot.metadata.term));
  }
  return machine;
}

ApplyOutcome RegisterMachine::Apply(const consensus::Entry& entry) {
  CHECK_EQ(entry.index, applied_ + 1);
  applied_ = entry.index;
  applied_term_ = entry.term;
  digest_ = Mix(Mix(Mix(digest_, entry.index), entry.term),
                HashBytes(entry.data) ^ static_cast<std::uint64_t>(entry.type));
  if (entry.type == consensus::EntryType::kConfChange) {
    ApplyConfChange(entry);
    return {};
  }
  if (entry.data.empty()) return {};  // a new leader's no-op
  std::optional<Command> command = DecodeCommand(entry.data);
  CHECK(command.has_value()) << "entry " << entry.index << " holds no command";
  ApplyOutcome outcome;
  outcome.op_id = command->op_id;
  if (command->kind == CommandKind::kCas && Get(command->key) != command->expected) {
    outcome.ok = false;
    return outcome;
  }
  values_[command->key] = command->value;
  return outcome;
}

void RegisterMachine::ApplyConfChange(const consensus::Entry& entry) {
  Result<consensus::ConfChange> change = consensus::DecodeConfChange(entry.data);
  CHECK(change.ok()) << "entry " << entry.index << ": " << change.status().ToString();
  // A change that does not fit the membership is ignored, as the core ignores it.
  Result<consensus::ConfState> next = consensus::ApplyConfChange(conf_state_, *change);
  if (next.ok()) conf_state_ = std::move(next).value();
}

std::string RegisterMachine::Serialize() const {
  std::string out;
  out.push_back(kSnapshotMagic);
  PutU64(out, applied_);
  PutU64(out, applied_term_);
  PutU64(out, digest_);
  PutU64(out, values_.size());
  for (const auto& [key, value] : values_) {
    PutString(out, key);
    PutString(out, value);
  }
  return out;
}

std::string RegisterMachine::Get(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::string() : it->second;
}

std::uint64_t RegisterMachine::StateHash() const {
  std::uint64_t hash = 0;
  for (const auto& [key, value] : values_) hash = Mix(Mix(hash, HashBytes(key)), HashBytes(value));
  return hash;
}

}  // namespace roster::sim
