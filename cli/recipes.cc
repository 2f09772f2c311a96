#include "cli/recipes.h"

#include <sys/wait.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "http/params.h"

namespace roster::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kLockName = ".lock";
constexpr std::size_t kSequenceDigits = 20;  // the store's zero-padded log index

std::string ChildKey(std::string_view prefix, std::string_view name) {
  return TrimPrefix(prefix) + "/" + std::string(name);
}

}  // namespace

// ---- Lock ---------------------------------------------------------------------------

LockState ClassifyLock(const std::optional<KvEntry>& entry, std::string_view session) {
  if (!entry.has_value()) return LockState::kFree;
  if (entry->flags != kLockFlagValue) return LockState::kConflict;
  if (entry->session.empty()) return LockState::kFree;
  return entry->session == session ? LockState::kHeldByUs : LockState::kHeldByOther;
}

std::string TrimPrefix(std::string_view prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  return std::string(prefix);
}

std::string LockKey(std::string_view prefix) { return ChildKey(prefix, kLockName); }

// ---- Semaphore ----------------------------------------------------------------------

Result<SemaphoreRecord> DecodeSemaphoreRecord(const std::optional<KvEntry>& lock_entry, int limit) {
  SemaphoreRecord record;
  record.limit = limit;
  if (!lock_entry.has_value() || lock_entry->value.empty()) return record;
  const json parsed = json::parse(lock_entry->value, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("Limit") || !parsed["Limit"].is_number_integer()) {
    return InvalidArgument("the semaphore record " + lock_entry->key +
                           " is not {\"Limit\":N,\"Holders\":{...}}: " + lock_entry->value);
  }
  record.limit = parsed["Limit"].get<int>();
  if (parsed.contains("Holders") && parsed["Holders"].is_object()) {
    for (const auto& [holder, held] : parsed["Holders"].items()) {
      record.holders[holder] = held.is_boolean() ? held.get<bool>() : true;
    }
  }
  return record;
}

std::string EncodeSemaphoreRecord(const SemaphoreRecord& record) {
  json holders = json::object();
  for (const auto& [holder, held] : record.holders) holders[holder] = held;
  return json{{"Limit", record.limit}, {"Holders", holders}}.dump();
}

void PruneDeadHolders(SemaphoreRecord& record, const std::vector<KvEntry>& entries) {
  std::set<std::string, std::less<>> alive;
  for (const KvEntry& entry : entries) {
    if (!entry.session.empty()) alive.insert(entry.session);
  }
  std::erase_if(record.holders,
                [&alive](const auto& holder) { return alive.count(holder.first) == 0; });
}

std::optional<KvEntry> FindEntry(const std::vector<KvEntry>& entries, std::string_view key) {
  for (const KvEntry& entry : entries) {
    if (entry.key == key) return entry;
  }
  return std::nullopt;
}

SemaphoreStep DecideSemaphore(const std::vector<KvEntry>& entries, std::string_view prefix,
                              std::string_view session, int limit) {
  using Action = SemaphoreStep::Action;
  const std::optional<KvEntry> lock_entry = FindEntry(entries, LockKey(prefix));
  if (lock_entry.has_value() && lock_entry->flags != kSemaphoreFlagValue) {
    return {Action::kConflict, LockKey(prefix) +
                                   " exists but is not a semaphore record "
                                   "(its flags differ): another tool uses this prefix"};
  }
  const std::optional<KvEntry> contender = FindEntry(entries, ChildKey(prefix, session));
  if (!contender.has_value() || contender->session != session) {
    return {Action::kConflict,
            "our contender key " + ChildKey(prefix, session) + " is gone: the session ended"};
  }
  Result<SemaphoreRecord> record = DecodeSemaphoreRecord(lock_entry, limit);
  if (!record.ok()) return {Action::kConflict, record.status().message()};
  if (record->limit != limit) {
    return {Action::kConflict, "semaphore limit conflict: " + LockKey(prefix) + " says " +
                                   std::to_string(record->limit) + " holders, this command -n " +
                                   std::to_string(limit) +
                                   " (every contender must pass the same -n)"};
  }
  PruneDeadHolders(*record, entries);
  if (record->holders.count(std::string(session))) return {Action::kHeld};
  if (static_cast<int>(record->holders.size()) >= record->limit) return {Action::kWait};
  record->holders[std::string(session)] = true;
  SemaphoreStep step{Action::kWriteCas};
  step.new_value = EncodeSemaphoreRecord(*record);
  step.cas_index = lock_entry.has_value() ? lock_entry->modify_index : 0;
  return step;
}

bool SemaphoreHeld(const std::vector<KvEntry>& entries, std::string_view prefix,
                   std::string_view session) {
  const std::optional<KvEntry> lock_entry = FindEntry(entries, LockKey(prefix));
  if (!lock_entry.has_value()) return false;
  Result<SemaphoreRecord> record = DecodeSemaphoreRecord(lock_entry, /*limit=*/0);
  if (!record.ok()) return false;
  PruneDeadHolders(*record, entries);
  return record->holders.count(std::string(session)) > 0;
}

std::optional<std::string> SemaphoreWithout(const std::optional<KvEntry>& lock_entry,
                                            std::string_view session) {
  Result<SemaphoreRecord> record = DecodeSemaphoreRecord(lock_entry, /*limit=*/0);
  if (!lock_entry.has_value() || !record.ok()) return std::nullopt;
  if (record->holders.erase(std::string(session)) == 0) return std::nullopt;
  return EncodeSemaphoreRecord(*record);
}

// ---- Election -----------------------------------------------------------------------

bool IsElectionKey(std::string_view prefix, std::string_view key) {
  const std::string directory = TrimPrefix(prefix) + "/";
  if (key.size() != directory.size() + kSequenceDigits || !key.starts_with(directory)) {
    return false;
  }
  return std::all_of(key.begin() + directory.size(), key.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::string> PredecessorKey(const std::vector<std::string>& keys,
                                          std::string_view prefix, std::string_view own_key) {
  std::optional<std::string> predecessor;
  for (const std::string& key : keys) {
    // Same length and all digits after the same directory: byte order is number order.
    if (!IsElectionKey(prefix, key) || key >= own_key) continue;
    if (!predecessor.has_value() || key > *predecessor) predecessor = key;
  }
  return predecessor;
}

// ---- Processes ----------------------------------------------------------------------

std::vector<std::string> ChildArgv(const std::vector<std::string>& command) {
  if (command.size() == 1) return {"/bin/sh", "-c", command[0]};
  return command;
}

std::vector<std::string> MergeEnvironment(
    const std::vector<std::string>& base,
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> merged;
  for (const std::string& variable : base) {
    const std::string name = variable.substr(0, variable.find('='));
    const bool overridden = std::any_of(overrides.begin(), overrides.end(),
                                        [&name](const auto& item) { return item.first == name; });
    if (!overridden) merged.push_back(variable);
  }
  for (const auto& [name, value] : overrides) merged.push_back(name + "=" + value);
  return merged;
}

int ExitCodeFromWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

Result<std::chrono::milliseconds> ParseDurationFlag(std::string_view flag_name,
                                                    std::string_view text) {
  Result<std::chrono::nanoseconds> parsed = http::ParseGoDuration(text);
  if (!parsed.ok() || parsed->count() < 0) {
    return InvalidArgument("flag -" + std::string(flag_name) +
                           " needs a duration such as 10s, 1m30s or 500ms, not \"" +
                           std::string(text) + "\"");
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
}

std::string GoDuration(std::chrono::milliseconds duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + "s";
  return std::to_string(duration.count()) + "ms";
}

}  // namespace roster::cli
