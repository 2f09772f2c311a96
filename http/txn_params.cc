#include "http/txn_params.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "http/json_decode.h"
#include "http/params.h"

namespace roster::http {
namespace {

// A list of ops, each {"KV": {...}}: three levels; Node and Service ops nest a little
// deeper before Roster refuses them.
constexpr std::size_t kTxnBodyDepthMax = 8;

Status ParseFailed(const std::string& why) {
  return InvalidArgument("Failed to parse body: " + why);
}

Status TooLarge(std::string message) {
  return Status(StatusCode::kResourceExhausted, std::move(message));
}

std::string OpName(std::size_t op_index) { return "op " + std::to_string(op_index); }

// Go's %T of a decoded interface{} value, for decodeValue's message.
std::string_view GoDynamicType(const Json& value) {
  if (value.is_number()) return "float64";
  if (value.is_boolean()) return "bool";
  if (value.is_array()) return "[]interface {}";
  if (value.is_object()) return "map[string]interface {}";
  return "string";
}

// Consul's decodeValue: null keeps the value empty; a string is base64.
Status DecodeValue(const Json* value, std::string* out) {
  if (value == nullptr || value->is_null()) return Status::Ok();
  if (!value->is_string()) {
    return InvalidArgument("unexpected value type: " + std::string(GoDynamicType(*value)));
  }
  Result<std::string> decoded = Base64Decode(value->get_ref<const std::string&>());
  if (!decoded.ok())
    return InvalidArgument("failed to decode value: " + decoded.status().message());
  *out = std::move(*decoded);
  return Status::Ok();
}

Status DecodeKvOp(const Json& kv, std::size_t op_index, store::TxnKvOp* op) {
  if (!kv.is_object()) return UnmarshalTypeError(kv, "TxnOp.KV", "api.KVTxnOp");
  std::string verb;
  RETURN_IF_ERROR(DecodeString(FindField(kv, "Verb"), "TxnOp.KV.Verb", &verb));
  std::optional<store::TxnVerb> parsed = store::ParseTxnVerb(verb);
  if (!parsed.has_value())
    return InvalidArgument(OpName(op_index) + ": unknown KV verb " + GoQuote(verb));
  op->verb = *parsed;
  RETURN_IF_ERROR(DecodeString(FindField(kv, "Key"), "TxnOp.KV.Key", &op->key));
  RETURN_IF_ERROR(DecodeValue(FindField(kv, "Value"), &op->value));
  RETURN_IF_ERROR(DecodeUint64(FindField(kv, "Flags"), "TxnOp.KV.Flags", &op->flags));
  RETURN_IF_ERROR(DecodeUint64(FindField(kv, "Index"), "TxnOp.KV.Index", &op->index));
  RETURN_IF_ERROR(DecodeString(FindField(kv, "Session"), "TxnOp.KV.Session", &op->session));
  return Status::Ok();
}

Status DecodeOp(const Json& item, std::size_t op_index, store::TxnKvOp* op) {
  if (!item.is_object()) {
    if (item.is_null()) return InvalidArgument(OpName(op_index) + " has no KV operation");
    return UnmarshalTypeError(item, "TxnOps", "api.TxnOp");
  }
  for (const char* other : {"Node", "Service", "Check"}) {
    const Json* found = FindField(item, other);
    if (found != nullptr && !found->is_null()) {
      return InvalidArgument(OpName(op_index) + ": " + other +
                             " operations are not supported by Roster yet; only KV operations are");
    }
  }
  const Json* kv = FindField(item, "KV");
  if (kv == nullptr || kv->is_null())
    return InvalidArgument(OpName(op_index) + " has no KV operation");
  return DecodeKvOp(*kv, op_index, op);
}

// The prefix verbs may name the whole store with an empty key; a write needs a key.
bool NeedsKey(store::TxnVerb verb) {
  return !store::IsReadVerb(verb) && verb != store::TxnVerb::kDeleteTree;
}

// Checks that come after decoding, in Consul's order: the op count, then each op.
Status CheckLimits(const store::Txn& txn, const TxnLimits& limits) {
  if (txn.ops.size() > limits.ops_max) {
    return TooLarge("Transaction contains too many operations (" + std::to_string(txn.ops.size()) +
                    " > " + std::to_string(limits.ops_max) + ")");
  }
  for (std::size_t i = 0; i < txn.ops.size(); ++i) {
    const store::TxnKvOp& op = txn.ops[i];
    if (op.value.size() > limits.value_bytes_max) {
      return TooLarge("Value for key " + GoQuote(op.key) + " is too large (" +
                      std::to_string(op.value.size()) + " > " +
                      std::to_string(limits.value_bytes_max) + " bytes)");
    }
    if (op.key.empty() && NeedsKey(op.verb))
      return InvalidArgument(OpName(i) + ": Missing key name");
    if (op.key.size() > limits.key_bytes_max) {
      return InvalidArgument(OpName(i) + ": Key too long: " + std::to_string(op.key.size()) +
                             " bytes, the limit is " + std::to_string(limits.key_bytes_max) +
                             " bytes");
    }
  }
  return Status::Ok();
}

}  // namespace

std::size_t TxnBodyBytesMax(const TxnLimits& limits) {
  return std::max(limits.body_bytes_max, limits.value_bytes_max);
}

Result<store::Txn> ParseTxnBody(std::string_view body, const TxnLimits& limits) {
  const std::size_t body_bytes_max = TxnBodyBytesMax(limits);
  if (body.size() > body_bytes_max) {
    return TooLarge("Request body too large, max size: " + std::to_string(body_bytes_max) +
                    " bytes");
  }
  Result<Json> json = ParseJsonBody(body, kTxnBodyDepthMax);
  if (!json.ok()) return ParseFailed(json.status().message());
  store::Txn txn;
  if (json->is_null()) return txn;  // Go decodes null into a list as an empty one
  if (!json->is_array()) {
    return ParseFailed("json: cannot unmarshal " + std::string(GoJsonKind(*json)) +
                       " into Go value of type api.TxnOps");
  }
  for (std::size_t i = 0; i < json->size(); ++i) {
    store::TxnKvOp op;
    if (Status decoded = DecodeOp((*json)[i], i, &op); !decoded.ok()) {
      return ParseFailed(decoded.message());
    }
    txn.ops.push_back(std::move(op));
  }
  RETURN_IF_ERROR(CheckLimits(txn, limits));
  return txn;
}

}  // namespace roster::http
