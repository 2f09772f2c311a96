// KV request parsing: from the key (the decoded path after /v1/kv/, '/' and all) and
// the query string to a validated read, or to the store command a write will propose.
// The rules, their order and the messages are Consul's (consul-api.md §1.4; Consul's
// agent/kvs_endpoint.go) unless docs/api.md names a difference.
//
// Pure: no store, backend or httplib, so the fuzzer drives it. Every error here is a
// 400 (InvalidArgument); the value-size limit (413) and the datacenter check are the
// handler's; the one exception is an empty session (see ParseKvPut). Thread-safety:
// plain values and pure functions.
#pragma once

#include <cstddef>
#include <string>

#include "base/status.h"
#include "http/params.h"
#include "store/command.h"

namespace roster::http {

enum class KvReadMode {
  kEntry,    // one key
  kRecurse,  // ?recurse: every entry under the prefix
  kKeys,     // ?keys: the key names under the prefix, rolled up at ?separator
};

struct KvRead {
  KvReadMode mode = KvReadMode::kEntry;
  std::string key;        // the key, or the prefix for kRecurse and kKeys ("" = all)
  std::string separator;  // kKeys only; "" = no roll-up
  bool raw = false;       // kEntry only: answer the bare value as text/plain
};

// ?keys wins over ?recurse, like Consul. Error: an empty key without either
// ("Missing key name").
Result<KvRead> ParseKvRead(std::string key, const Query& query);

// What a KV write answers.
enum class KvWriteReply {
  kTrue,     // a plain set or delete: always `true`, as in Consul
  kOutcome,  // cas, acquire, release: whether it applied
  kEntry,    // ?sequential (Roster): the created entry, as a JSON object
};

struct KvWrite {
  store::Command command;  // valid: ready for store::Encode
  KvWriteReply reply = KvWriteReply::kTrue;
};

// The digits ?sequential appends to the prefix: the creating index, zero-padded.
inline constexpr std::size_t kSequentialSuffixBytes = 20;

// PUT /v1/kv/<key>, the body being the value. ?flags=<uint64>; ?cas=<index> (0: only
// if absent); ?acquire=<session> (KvLock) or ?release=<session> (KvUnlock); at most
// one of cas, acquire and release. ?sequential (Roster's extension) creates
// <key><20-digit index> (KvCreateSequential), acquired by the session when ?acquire is
// given too; the key may be empty there; with cas or release it is a 400.
// An empty ?acquire= or ?release= is FailedPrecondition "missing session": Consul's
// 500 from the store, answered here without a log entry.
Result<KvWrite> ParseKvPut(std::string key, const Query& query, std::string value,
                           std::size_t key_bytes_max);

// DELETE /v1/kv/<key>. ?recurse deletes the prefix ("" = everything); ?cas=<index>
// deletes only if the key's ModifyIndex matches (0 never matches an existing key, as
// in Consul; an absent key counts as deleted).
Result<KvWrite> ParseKvDelete(std::string key, const Query& query, std::size_t key_bytes_max);

}  // namespace roster::http
