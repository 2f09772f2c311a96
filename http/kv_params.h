// KV request parsing: from the key (the decoded path after /v1/kv/, '/' and all) and
// the query string to a validated read, or to the store command a write will propose.
// The rules, their order and the messages are Consul's (consul-api.md §1.4; Consul's
// agent/kvs_endpoint.go) unless docs/api.md names a difference.
//
// Pure: no store, backend or httplib, so the fuzzer drives it. Every error here is a
// 400 (InvalidArgument); the value-size limit (413) and the datacenter check are the
// handler's. Thread-safety: plain values and pure functions.
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

struct KvWrite {
  store::Command command;      // valid: ready for store::Encode
  bool reply_outcome = false;  // the CAS forms answer whether they applied; others `true`
};

// PUT /v1/kv/<key>, the body being the value. ?flags=<uint64>; ?cas=<index> (0: only
// if absent). ?acquire and ?release are refused until sessions exist.
Result<KvWrite> ParseKvPut(std::string key, const Query& query, std::string value,
                           std::size_t key_bytes_max);

// DELETE /v1/kv/<key>. ?recurse deletes the prefix ("" = everything); ?cas=<index>
// deletes only if the key's ModifyIndex matches (0 never matches an existing key, as
// in Consul; an absent key counts as deleted).
Result<KvWrite> ParseKvDelete(std::string key, const Query& query, std::size_t key_bytes_max);

}  // namespace roster::http
