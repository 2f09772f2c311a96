// Transaction body parsing (PUT /v1/txn; consul-api.md §1.5; Consul's
// agent/txn_endpoint.go): from the JSON list of ops to a store::Txn, with Consul's
// limits, checks, order of checks and messages.
//
// The body is a list of {"KV": {"Verb", "Key", "Value" (base64 or null), "Flags",
// "Index", "Session"}}, field names matched without regard to case. Node, Service and
// Check ops are Consul's too, but Roster's catalog does not take them yet: they are
// refused (400) rather than ignored.
//
// Pure: no backend or httplib, so the fuzzer drives it. Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "base/status.h"
#include "store/command.h"
#include "store/limits.h"

namespace roster::http {

struct TxnLimits {
  std::size_t ops_max = store::kTxnOpsMax;
  // Consul's txn_max_req_len; as in Consul, never below value_bytes_max.
  std::size_t body_bytes_max = 512 * 1024;
  std::size_t value_bytes_max = store::kKvValueBytesMax;  // per op
  std::size_t key_bytes_max = store::kKeyBytesMax;
};

// The body limit in force: the larger of body_bytes_max and value_bytes_max.
std::size_t TxnBodyBytesMax(const TxnLimits& limits);

// Parses and validates a transaction body. The message of every error is the reply's
// plain-text body; the code says which status:
//  - ResourceExhausted (413): "Request body too large, max size: <n> bytes",
//    "Transaction contains too many operations (<n> > <max>)",
//    "Value for key \"<k>\" is too large (<n> > <max> bytes)";
//  - InvalidArgument (400): "Failed to parse body: <why>" (malformed JSON, a wrong
//    type, bad base64, an unknown verb, a Node/Service/Check op, an op without KV), and
//    "op <i>: Missing key name" or "op <i>: Key too long: ..." for a write without a key
//    or with one over the limit.
// An empty list (or null) is a valid, read-only transaction.
Result<store::Txn> ParseTxnBody(std::string_view body, const TxnLimits& limits);

}  // namespace roster::http
