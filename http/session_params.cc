#include "http/session_params.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "base/random.h"
#include "http/json_decode.h"
#include "http/params.h"

namespace roster::http {
namespace {

using std::chrono::nanoseconds;

// Consul's structs.Session, nested at most: body > ServiceChecks > item.
constexpr std::size_t kSessionBodyDepthMax = 8;
// Consul's lockDelayMinThreshold: a LockDelay below 1000 (ns) means seconds.
constexpr std::int64_t kLockDelaySecondsBelow = 1000;

Status DecodeFailed(const Status& why) {
  return InvalidArgument("Request decode failed: " + why.message());
}

// LockDelay as structs.Session.UnmarshalJSON reads it: a string is a Go duration, a
// number is nanoseconds, anything else is 0; then a value under 1000 is seconds.
Result<nanoseconds> DecodeLockDelay(const Json& value) {
  std::int64_t ns = 0;
  if (value.is_string()) {
    Result<nanoseconds> parsed = ParseGoDuration(value.get<std::string>());
    if (!parsed.ok()) return parsed.status();
    ns = parsed->count();
  } else if (value.is_number()) {
    const double number = value.get<double>();  // Go decodes an interface{} as float64
    const double bound = static_cast<double>(std::numeric_limits<std::int64_t>::max());
    ns = std::isnan(number) ? 0
         : number >= bound  ? std::numeric_limits<std::int64_t>::max()
         : number <= -bound ? std::numeric_limits<std::int64_t>::min()
                            : static_cast<std::int64_t>(number);
  }
  if (ns < kLockDelaySecondsBelow) {
    // Negative delays mean none; Go would multiply them too, to no effect.
    ns = ns <= 0 ? 0 : ns * 1'000'000'000;
  }
  return nanoseconds(ns);
}

Status DecodeServiceChecks(const Json* value, std::vector<store::ServiceCheckRef>* out) {
  if (value == nullptr) return Status::Ok();
  out->clear();
  if (value->is_null()) return Status::Ok();
  constexpr std::string_view kField = "Session.ServiceChecks";
  if (!value->is_array()) return UnmarshalTypeError(*value, kField, "[]structs.ServiceCheck");
  for (const Json& item : *value) {
    store::ServiceCheckRef check;
    if (!item.is_null()) {
      if (!item.is_object()) return UnmarshalTypeError(item, kField, "structs.ServiceCheck");
      RETURN_IF_ERROR(DecodeString(FindField(item, "ID"), "Session.ServiceChecks.ID", &check.id));
      RETURN_IF_ERROR(DecodeString(FindField(item, "Namespace"), "Session.ServiceChecks.Namespace",
                                   &check.namespace_name));
    }
    out->push_back(std::move(check));
  }
  return Status::Ok();
}

// The fields of the body as Consul's decoder leaves them, before validation.
struct SessionBody {
  std::string name;
  std::string node;
  nanoseconds lock_delay = kSessionLockDelayDefault;
  std::string behavior;
  std::string ttl;
  std::vector<std::string> node_checks{kSerfHealthCheckId};
  std::vector<std::string> checks{kSerfHealthCheckId};  // the deprecated field
  std::vector<store::ServiceCheckRef> service_checks;
};

Status DecodeSessionBody(const Json& json, SessionBody* body) {
  if (!json.is_object()) {
    if (json.is_null()) return Status::Ok();  // Go decodes null into a struct as nothing
    return InvalidArgument("json: cannot unmarshal " + std::string(GoJsonKind(json)) +
                           " into Go value of type structs.Session");
  }
  RETURN_IF_ERROR(DecodeString(FindField(json, "Name"), "Session.Name", &body->name));
  RETURN_IF_ERROR(DecodeString(FindField(json, "Node"), "Session.Node", &body->node));
  RETURN_IF_ERROR(DecodeString(FindField(json, "Behavior"), "Session.Behavior", &body->behavior));
  RETURN_IF_ERROR(DecodeString(FindField(json, "TTL"), "Session.TTL", &body->ttl));
  RETURN_IF_ERROR(
      DecodeStringList(FindField(json, "NodeChecks"), "Session.NodeChecks", &body->node_checks));
  RETURN_IF_ERROR(DecodeStringList(FindField(json, "Checks"), "Session.Checks", &body->checks));
  RETURN_IF_ERROR(DecodeServiceChecks(FindField(json, "ServiceChecks"), &body->service_checks));
  if (const Json* lock_delay = FindField(json, "LockDelay");
      lock_delay != nullptr && !lock_delay->is_null()) {
    Result<nanoseconds> decoded = DecodeLockDelay(*lock_delay);
    if (!decoded.ok()) return decoded.status();
    body->lock_delay = *decoded;
  }
  return Status::Ok();
}

// Consul's fixupEmptySessionChecks, then the deprecated Checks merged into NodeChecks
// (Roster's store keeps one list; the session is bound to the union either way).
std::vector<std::string> SessionNodeChecks(SessionBody& body) {
  if (body.checks.empty()) {
    body.node_checks.clear();
  } else if (body.checks.size() == 1 && body.checks[0] == kSerfHealthCheckId) {
    body.checks.clear();
  } else if (body.node_checks.empty()) {
    body.checks.clear();
  }
  std::vector<std::string> merged;
  for (std::vector<std::string>* list : {&body.node_checks, &body.checks}) {
    for (std::string& id : *list) {
      if (std::find(merged.begin(), merged.end(), id) == merged.end()) {
        merged.push_back(std::move(id));
      }
    }
  }
  return merged;
}

// Session.Apply's TTL rule; the result in milliseconds (0: none).
Result<std::uint64_t> ValidateTtl(const std::string& ttl, const SessionCreateRules& rules) {
  if (ttl.empty()) return std::uint64_t{0};
  Result<nanoseconds> parsed = ParseGoDuration(ttl);
  if (!parsed.ok()) {
    return FailedPrecondition("Session TTL '" + ttl + "' invalid: " + parsed.status().message());
  }
  if (parsed->count() == 0) return std::uint64_t{0};
  if (*parsed < rules.ttl_min || *parsed > rules.ttl_max) {
    return FailedPrecondition("Invalid Session TTL '" + std::to_string(parsed->count()) +
                              "', must be between [" + FormatGoDuration(rules.ttl_min) + "=" +
                              FormatGoDuration(rules.ttl_max) + "]");
  }
  return static_cast<std::uint64_t>(parsed->count() / 1'000'000);
}

Result<store::SessionBehavior> ValidateBehavior(const std::string& behavior) {
  if (behavior.empty() || behavior == "release") return store::SessionBehavior::kRelease;
  if (behavior == "delete") return store::SessionBehavior::kDelete;
  return FailedPrecondition("Invalid Behavior setting '" + behavior + "'");
}

}  // namespace

Result<store::Session> ParseSessionCreate(std::string_view body_text,
                                          const SessionCreateRules& rules) {
  SessionBody body;
  body.node = rules.default_node;
  if (!body_text.empty()) {
    Result<Json> json = ParseJsonBody(body_text, kSessionBodyDepthMax);
    if (!json.ok()) return DecodeFailed(json.status());
    if (Status decoded = DecodeSessionBody(*json, &body); !decoded.ok()) {
      return DecodeFailed(decoded);
    }
  }
  if (body.node.empty()) return FailedPrecondition("Must provide Node");
  Result<store::SessionBehavior> behavior = ValidateBehavior(body.behavior);
  if (!behavior.ok()) return behavior.status();
  Result<std::uint64_t> ttl_ms = ValidateTtl(body.ttl, rules);
  if (!ttl_ms.ok()) return ttl_ms.status();

  store::Session session;
  session.name = std::move(body.name);
  session.node = std::move(body.node);
  session.lock_delay_ms = static_cast<std::uint64_t>(
      std::min<nanoseconds>(body.lock_delay, kSessionLockDelayMax).count() / 1'000'000);
  session.behavior = *behavior;
  session.ttl_ms = *ttl_ms;
  session.node_checks = SessionNodeChecks(body);
  session.service_checks = std::move(body.service_checks);
  return session;
}

std::string SessionTtlString(std::uint64_t ttl_ms) {
  if (ttl_ms == 0) return "";
  if (ttl_ms % 1000 == 0) return std::to_string(ttl_ms / 1000) + "s";
  return FormatGoDuration(std::chrono::milliseconds(ttl_ms));
}

std::string NewSessionId() {
  thread_local SystemRandom random;
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint8_t bytes[16];
  for (int half = 0; half < 2; ++half) {
    const std::uint64_t word = random.Next();
    for (int i = 0; i < 8; ++i) bytes[half * 8 + i] = static_cast<std::uint8_t>(word >> (8 * i));
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string id;
  id.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id.push_back('-');
    id.push_back(kHex[bytes[i] >> 4]);
    id.push_back(kHex[bytes[i] & 0x0F]);
  }
  return id;
}

}  // namespace roster::http
