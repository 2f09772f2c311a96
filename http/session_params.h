// Session request parsing (PUT /v1/session/create; consul-api.md §1.6, §3.1, §3.2):
// from the optional JSON body to the store::Session a SessionCreate proposes, with
// Consul's defaults, decoding quirks and validation (Consul's
// agent/session_endpoint.go, structs.Session.UnmarshalJSON and Session.Apply).
//
//  - Node defaults to this agent's node; LockDelay to 15 s; Behavior to "release".
//  - LockDelay is a Go duration string or a number of nanoseconds, and any value
//    under 1000 (ns) is taken as seconds, so 15 and "15ns" both mean 15 s. Consul
//    ignores a delay above 60 s (MaxLockDelay); Roster stores it as 60 s.
//  - Checks: NodeChecks defaults to ["serfHealth"]. Consul (>= 1.7) still reads the
//    deprecated Checks list: a Checks key that is empty (or null) empties NodeChecks
//    too, which is how a session without checks is made; other Checks are added to
//    NodeChecks unless NodeChecks was given empty (fixupEmptySessionChecks).
//  - TTL is "" (none) or a Go duration within [ttl_min, ttl_max]; "0s" means none.
//
// Pure: no backend or httplib, so the fuzzer drives it. Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/session.h"

namespace roster::http {

inline constexpr char kSerfHealthCheckId[] = "serfHealth";
inline constexpr std::chrono::seconds kSessionLockDelayDefault{15};
inline constexpr std::chrono::seconds kSessionLockDelayMax{60};  // Consul's MaxLockDelay

struct SessionCreateRules {
  std::string default_node;                                     // Backend::Self().node_name
  std::chrono::nanoseconds ttl_min = std::chrono::seconds(10);  // Consul's session_ttl_min
  std::chrono::nanoseconds ttl_max = std::chrono::hours(24);    // Consul's SessionTTLMax
};

// Parses a session create body ("" means every default). The result has no id and no
// indexes: the handler draws the id, apply stamps the indexes.
// Errors, in Consul's words:
//  - InvalidArgument (400): "Request decode failed: <why>" for a body that is not a JSON
//    object with fields of the right types, or a LockDelay string that is not a duration;
//  - FailedPrecondition (Consul's 500s): "Must provide Node", "Invalid Behavior setting
//    '<b>'", "Session TTL '<ttl>' invalid: <why>", "Invalid Session TTL '<ns>', must be
//    between [10s=24h0m0s]".
Result<store::Session> ParseSessionCreate(std::string_view body, const SessionCreateRules& rules);

// A session's TTL as the API shows it: "" for none, whole seconds as "30s" (what
// clients send), anything finer in Go's form ("10.5s").
std::string SessionTtlString(std::uint64_t ttl_ms);

// A fresh random UUID (version 4, RFC 4122 variant), lower-case: the id of a new
// session. Uses a SystemRandom per calling thread.
std::string NewSessionId();

}  // namespace roster::http
