#include "store/store.h"

#include <utility>

#include "base/check.h"
#include "store/command.h"

namespace roster::store {
namespace {

// One function per command type: how it changes the tables. Returns the result's ok.

bool ApplyTo(KvTable&, Index, Noop&&, ChangeSet&) { return true; }

bool ApplyTo(KvTable& kv, Index index, KvSet&& c, ChangeSet& changes) {
  kv.Set(index, std::move(c.key), std::move(c.value), c.flags, changes);
  return true;
}

bool ApplyTo(KvTable& kv, Index index, KvCas&& c, ChangeSet& changes) {
  return kv.Cas(index, std::move(c.key), std::move(c.value), c.flags, c.cas_index, changes);
}

bool ApplyTo(KvTable& kv, Index index, KvDelete&& c, ChangeSet& changes) {
  kv.Delete(index, c.key, changes);
  return true;
}

bool ApplyTo(KvTable& kv, Index index, KvDeleteCas&& c, ChangeSet& changes) {
  return kv.DeleteCas(index, c.key, c.cas_index, changes);
}

bool ApplyTo(KvTable& kv, Index index, KvDeleteTree&& c, ChangeSet& changes) {
  kv.DeleteTree(index, c.prefix, changes);
  return true;
}

bool ApplyTo(KvTable& kv, Index, KvReapTombstones&& c, ChangeSet&) {
  kv.ReapTombstones(c.up_to_index);
  return true;
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
  result.ok =
      std::visit([&](auto&& c) { return ApplyTo(state_.kv, index, std::move(c), result.changes); },
                 std::move(decoded).value());
  state_.last_applied_index = index;
  return result;
}

Status Store::Restore(std::string_view snapshot) {
  Result<StoreState> restored = ReadSnapshot(snapshot);
  if (!restored.ok()) return restored.status();
  state_ = std::move(restored).value();
  return Status::Ok();
}

}  // namespace roster::store
