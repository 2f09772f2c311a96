// Node liveness request bodies (docs/api.md, "Node liveness"): PUT
// /v1/internal/node/heartbeat {"Node", "ID", "Address", "Meta"} and PUT
// /v1/internal/node/leave {"Node"}, the Roster-internal endpoints agents call. Decoded
// like the rest of the API (field names without regard to case, unknown fields
// ignored; http/json_decode.h): a body that does not decode is 400 "Request decode
// failed: <why>"; a missing Node is 400 "Missing node name"; a heartbeat without an
// Address is 400 "Missing node address"; more than 64 Meta pairs (Consul's limit) is
// 400.
// Pure: no backend or httplib. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "http/backend.h"

namespace roster::http {

Result<NodeHeartbeat> ParseNodeHeartbeat(std::string_view body);
// The node's name.
Result<std::string> ParseNodeLeave(std::string_view body);

}  // namespace roster::http
