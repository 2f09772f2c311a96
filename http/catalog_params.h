// Catalog and health request parsing (consul-api.md §1.2, §1.3): the bodies of
// PUT /v1/catalog/register and /v1/catalog/deregister (Consul's RegisterRequest and
// DeregisterRequest), and the query parameters the reads share (?tag, ?node-meta,
// ?passing, the state of /v1/health/state/:state).
//
// Register, as Consul's HTTP handler and Catalog.Register RPC do it:
//  - the body is decoded like encoding/json (names match without regard to case,
//    unknown fields are ignored, `Check` joins `Checks`); a body that does not decode is
//    400 "Request decode failed: <why>";
//  - Datacenter defaults to ours; a service's ID defaults to its name and a check's
//    CheckID to its Name; a check's Status defaults to critical; a check's Type is
//    derived from its Definition when empty; invalid Weights fall back to 1/1;
//  - what Consul's RPC refuses comes back as FailedPrecondition with Consul's text (its
//    500s): "Must provide node", "Bad node ID: ...", "Must provide address if
//    SkipNodeUpdate is not set", "Must provide service name with ID", "Invalid service
//    address" (0.0.0.0 or ::), "Invalid Service Meta for node <n> and serviceID <id>:
//    ...", "check node \"<c>\" does not match node \"<n>\"";
//  - what Roster cannot store is 400: a Kind other than a plain service, a port outside
//    0-65535, a Status other than passing, warning or critical ("Bad check status"), a
//    negative duration in a Definition.
// A check naming a ServiceID that is not on the node is the store's to refuse (it knows
// the node's services): "failed inserting check on node \"<n>\": Missing service
// registration".
//
// Pure: no backend or httplib, so the fuzzer (tests/fuzz/http_bodies_fuzz.cc) drives it.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "http/json_decode.h"
#include "http/params.h"
#include "store/catalog.h"
#include "store/command.h"

namespace roster::http {

struct CatalogRules {
  std::string datacenter = "dc1";  // ours: the default, and the only one served
};

// The register command for a body. A Datacenter other than ours is left in the command
// for the handler to refuse ("No path to datacenter").
Result<store::CatalogRegister> ParseCatalogRegister(std::string_view body,
                                                    const CatalogRules& rules);

// The deregister command for a body ({Node, Datacenter, ServiceID, CheckID}); the
// datacenter comes back separately. "Must provide node" when Node is empty.
struct CatalogDeregisterRequest {
  store::CatalogDeregister command;
  std::string datacenter;
};
Result<CatalogDeregisterRequest> ParseCatalogDeregister(std::string_view body,
                                                        const CatalogRules& rules);

// Pieces of the register decoding that the agent's bodies (http/agent_params.h) share.

// What a body asks for that decodes but Roster cannot store (a 400 of its own, not a
// decode failure). The first one is kept; a decode failure anywhere wins over it.
struct Refusals {
  Status first;
  void Add(Status status) {
    if (first.ok()) first = std::move(status);
  }
};
// Refuses a port outside 0-65535: "Invalid port <n> in <field>: must be between 0 and 65535".
void CheckPort(std::int64_t port, std::string_view field, Refusals& refusals);
// A Go time.Duration field as Consul's decodeBody fixes it up: a string is a Go duration,
// a number is nanoseconds. Roster stores no negative duration.
Status DecodeDuration(const Json* value, std::string_view field, std::uint64_t* out_ns);
// A Go map[string][]string (an HTTP check's Header).
Status DecodeHeader(const Json* value, std::string_view field,
                    std::map<std::string, std::vector<std::string>, std::less<>>* out);
// A service's TaggedAddresses: name -> {Address, Port}, ports checked.
Status DecodeServiceAddresses(const Json* value, std::string_view path,
                              std::map<std::string, store::ServiceAddress, std::less<>>* out,
                              Refusals& refusals);
// Consul's validateMetadata, with its texts (FailedPrecondition; its "Node metadata"
// wording for services too).
Status ValidateMeta(const store::StringMap& meta);
// Go's ipaddr.IsAny: 0.0.0.0, :: or [::].
bool IsAnyAddress(const std::string& address);

// Every value of a repeatable query parameter, in order (Go's url.Values[name]).
std::vector<std::string> QueryValues(const Query& query, std::string_view name);

// ?node-meta=key:value, repeatable; a pair without ':' means an empty value, as
// Consul's ParseMetaPair; a repeated key keeps its last value. All must match.
store::StringMap ParseNodeMetaFilter(const Query& query);
bool MatchesNodeMeta(const store::StringMap& meta, const store::StringMap& filter);

// ?tag, repeatable: an instance must carry every one, compared without regard to case.
bool HasAllTags(const std::vector<std::string>& tags, const std::vector<std::string>& wanted);

// ?passing: absent is false; bare is true; otherwise Go's strconv.ParseBool (1, t, T,
// TRUE, true, True, 0, f, F, FALSE, false, False). Else 400 "Invalid value for ?passing".
Result<bool> ParsePassing(const Query& query);

// The :state of /v1/health/state: "any" (nullopt) or a status. Empty is 400 "Missing
// check state"; anything else 400 "Invalid check state \"<s>\": ..." (Consul answers
// an empty list; Roster tells the client).
Result<std::optional<store::HealthStatus>> ParseCheckState(std::string_view state);

}  // namespace roster::http
