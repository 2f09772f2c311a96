// The KV commands (store/apply.h): plain writes, locks and sequential keys.
#include <string>
#include <utility>

#include "store/apply.h"

namespace roster::store::internal {
namespace {

constexpr int kSequenceDigits = 20;  // enough for any 64-bit index

// index, zero-padded to 20 digits: "00000000000000000042".
std::string SequenceSuffix(Index index) {
  std::string digits(kSequenceDigits, '0');
  for (int i = kSequenceDigits - 1; i >= 0 && index != 0; --i, index /= 10) {
    digits[i] = static_cast<char>('0' + index % 10);
  }
  return digits;
}

}  // namespace

Status CheckLockSession(const SessionTable& sessions, std::string_view session) {
  if (session.empty()) return InvalidArgument("missing session");
  if (sessions.Find(session) == nullptr) {
    return FailedPrecondition("invalid session \"" + std::string(session) + "\"");
  }
  return Status::Ok();
}

void ApplyCommand(ApplyContext&, Noop&&) {}

void ApplyCommand(ApplyContext& context, KvSet&& c) {
  context.state.kv.Set(context.index, std::move(c.key), std::move(c.value), c.flags,
                       context.result.changes);
}

void ApplyCommand(ApplyContext& context, KvCas&& c) {
  context.result.ok = context.state.kv.Cas(context.index, std::move(c.key), std::move(c.value),
                                           c.flags, c.cas_index, context.result.changes);
}

void ApplyCommand(ApplyContext& context, KvDelete&& c) {
  context.state.kv.Delete(context.index, c.key, context.result.changes);
}

void ApplyCommand(ApplyContext& context, KvDeleteCas&& c) {
  context.result.ok =
      context.state.kv.DeleteCas(context.index, c.key, c.cas_index, context.result.changes);
}

void ApplyCommand(ApplyContext& context, KvDeleteTree&& c) {
  context.state.kv.DeleteTree(context.index, c.prefix, context.result.changes);
}

void ApplyCommand(ApplyContext& context, KvReapTombstones&& c) {
  context.state.kv.ReapTombstones(c.up_to_index);
}

void ApplyCommand(ApplyContext& context, KvLock&& c) {
  if (Status status = CheckLockSession(context.state.sessions, c.session); !status.ok()) {
    return context.Refuse(std::move(status));
  }
  context.result.ok = context.state.kv.Lock(context.index, std::move(c.key), std::move(c.value),
                                            c.flags, std::move(c.session), context.result.changes);
}

void ApplyCommand(ApplyContext& context, KvUnlock&& c) {
  context.result.ok = context.state.kv.Unlock(context.index, c.key, std::move(c.value), c.flags,
                                              c.session, context.result.changes);
}

void ApplyCommand(ApplyContext& context, KvCreateSequential&& c) {
  if (!c.session.empty()) {
    if (Status status = CheckLockSession(context.state.sessions, c.session); !status.ok()) {
      return context.Refuse(std::move(status));
    }
  }
  std::string key = c.prefix + SequenceSuffix(context.index);
  KvTable& kv = context.state.kv;
  // Only a client that wrote this exact name by hand can collide; never overwrite it.
  if (kv.Get(key).has_value()) {
    return context.Refuse(FailedPrecondition("sequential key \"" + key + "\" already exists"));
  }
  if (c.session.empty()) {
    kv.Set(context.index, key, std::move(c.value), c.flags, context.result.changes);
  } else {
    kv.Lock(context.index, key, std::move(c.value), c.flags, std::move(c.session),
            context.result.changes);
  }
  context.result.entry = kv.Get(key);
}

}  // namespace roster::store::internal
