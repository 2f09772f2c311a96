#include "store/store.h"

#include <set>
#include <utility>
#include <vector>

#include "base/check.h"
#include "store/apply.h"
#include "store/command.h"

namespace roster::store {
namespace {

// The KV events of one applied entry: one per changed key, in the order the entry
// first touched it, carrying the key's state after the entry.
std::vector<KvEvent> KvEventsOf(const KvTable& kv, const ChangeSet& changes) {
  std::vector<KvEvent> events;
  std::set<std::string_view> seen;
  for (const ChangedKey& changed : changes.keys) {
    if (changed.table != Table::kKvs || !seen.insert(changed.key).second) continue;
    KvEvent event;
    event.index = changes.index;
    event.type = KvEventType::kDelete;
    event.entry.key = changed.key;
    if (const DirEntry* entry = kv.Find(changed.key)) {
      CHECK_EQ(entry->modify_index, changes.index) << "changed key not stamped: " << entry->key;
      event.type = KvEventType::kSet;
      event.entry = *entry;
    }
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace

ApplyResult Store::Apply(Index index, std::string_view command) {
  CHECK_GT(index, state_.last_applied_index) << "entries must be applied in log order";
  Result<Command> decoded = Decode(command);
  CHECK(decoded.ok()) << "undecodable command at index " << index
                      << " (replicas diverged or the leader skipped validation): "
                      << decoded.status().ToString();
  ApplyResult result;
  result.changes.index = index;
  internal::ApplyContext context{state_, index, result};
  std::visit([&context](auto&& c) { internal::ApplyCommand(context, std::move(c)); },
             std::move(decoded).value());
  state_.last_applied_index = index;
  history_.Record(index, KvEventsOf(state_.kv, result.changes));
  return result;
}

Status Store::Restore(std::string_view snapshot) {
  Result<StoreState> restored = ReadSnapshot(snapshot);
  if (!restored.ok()) return restored.status();
  state_ = std::move(restored).value();
  history_.Reset(state_.last_applied_index);
  return Status::Ok();
}

}  // namespace roster::store
