// The JSON shapes of the API's types, field for field as Consul writes them
// (consul-api.md §0 "Response JSON", §1): PascalCase names, Consul's field order, a
// KV value as base64 or null, Session left out when empty. nlohmann/json lives only
// in http/ (DESIGN.md); this file is where API types become JSON.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "http/backend.h"
#include "store/apply_result.h"
#include "store/history.h"
#include "store/kv.h"
#include "store/session.h"

namespace roster::http {

// Ordered, so objects keep Consul's field order rather than sorting their keys.
using Json = nlohmann::ordered_json;

// Standard base64 with padding (Go's encoding of a []byte).
std::string Base64Encode(std::string_view bytes);

Json DirEntryJson(const store::DirEntry& entry);
// Always a list, even for one entry.
Json DirEntriesJson(const std::vector<store::DirEntry>& entries);
Json StringListJson(const std::vector<std::string>& strings);
// Consul's Session: ID, Name, Node, LockDelay (nanoseconds), Behavior, TTL ("30s" or
// ""), NodeChecks, ServiceChecks ([{ID, Namespace}] or null), CreateIndex, ModifyIndex.
// The deprecated Checks is left out (Roster folds it into NodeChecks).
Json SessionJson(const store::Session& session);
// Always a list ([] when empty).
Json SessionsJson(const std::vector<store::Session>& sessions);
// Consul's TxnResponse: {"Results": [{"KV": DirEntry}...] or null, "Errors":
// [{"OpIndex": n, "What": "..."}...] or null}.
Json TxnOutcomeJson(const store::TxnOutcome& outcome);
// One line of the streaming watch (GET /v1/watch, Roster's extension): {"Index", "Op":
// "set", "Key", "Value" (base64 or null), "Flags", "Session" (left out when empty),
// "CreateIndex", "ModifyIndex", "LockIndex"}, or {"Index", "Op": "delete", "Key"}.
Json KvEventJson(const store::KvEvent& event);
// {"Servers":[{ID, Node, Address, Leader, ProtocolVersion, Voter}], "Index": n}
Json RaftConfigurationJson(const RaftConfiguration& configuration);
// The part of Consul's /v1/agent/self that clients read (Config.Datacenter for
// Prometheus, Stats for `consul info`), plus a "Roster" section saying whether this
// server accepts writes and why not.
Json AgentSelfJson(const Backend::SelfInfo& self, const std::string& datacenter);
// /v1/agent/self's Config section, on servers and agents alike.
Json AgentConfigJson(const std::string& datacenter, const std::string& node_name,
                     const std::string& node_id, bool server, const std::string& version);

// JSON text as Go's encoding/json writes it: compact, or with ?pretty indented by four
// spaces and ending in a newline. Bytes that are not UTF-8 become U+FFFD, as in Go.
std::string RenderJson(const Json& value, bool pretty);

}  // namespace roster::http
