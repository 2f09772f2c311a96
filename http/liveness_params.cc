#include "http/liveness_params.h"

#include "http/json_decode.h"

namespace roster::http {
namespace {

constexpr std::size_t kBodyDepthMax = 8;
constexpr std::size_t kMetaPairsMax = 64;  // Consul's metaMaxKeyPairs

Status DecodeFailed(const Status& why) {
  return InvalidArgument("Request decode failed: " + why.message());
}

// The body as a JSON object (null is an empty one, as Go decodes it).
Result<Json> ParseObject(std::string_view body, std::string_view go_type) {
  if (body.empty()) return DecodeFailed(InvalidArgument("EOF"));
  Result<Json> json = ParseJsonBody(body, kBodyDepthMax);
  if (!json.ok()) return DecodeFailed(json.status());
  if (json->is_null()) return Json::object();
  if (!json->is_object()) {
    return DecodeFailed(InvalidArgument("json: cannot unmarshal " +
                                        std::string(GoJsonKind(*json)) +
                                        " into Go value of type " + std::string(go_type)));
  }
  return json;
}

}  // namespace

Result<NodeHeartbeat> ParseNodeHeartbeat(std::string_view body) {
  Result<Json> json = ParseObject(body, "structs.NodeHeartbeat");
  if (!json.ok()) return json.status();
  NodeHeartbeat heartbeat;
  Status decoded = DecodeString(FindField(*json, "Node"), "NodeHeartbeat.Node", &heartbeat.node);
  if (decoded.ok()) {
    decoded = DecodeString(FindField(*json, "ID"), "NodeHeartbeat.ID", &heartbeat.id);
  }
  if (decoded.ok()) {
    decoded = DecodeString(FindField(*json, "Address"), "NodeHeartbeat.Address",
                           &heartbeat.address);
  }
  const Json* meta = FindField(*json, "Meta");
  if (decoded.ok() && meta != nullptr && !meta->is_null()) {
    heartbeat.meta.emplace();
    decoded = DecodeStringMap(meta, "NodeHeartbeat.Meta", &*heartbeat.meta);
  }
  if (!decoded.ok()) return DecodeFailed(decoded);
  if (heartbeat.node.empty()) return InvalidArgument("Missing node name");
  if (heartbeat.address.empty()) return InvalidArgument("Missing node address");
  if (heartbeat.meta && heartbeat.meta->size() > kMetaPairsMax) {
    return InvalidArgument("Node metadata cannot contain more than " +
                           std::to_string(kMetaPairsMax) + " key/value pairs");
  }
  return heartbeat;
}

Result<std::string> ParseNodeLeave(std::string_view body) {
  Result<Json> json = ParseObject(body, "structs.NodeLeave");
  if (!json.ok()) return json.status();
  std::string node;
  Status decoded = DecodeString(FindField(*json, "Node"), "NodeLeave.Node", &node);
  if (!decoded.ok()) return DecodeFailed(decoded);
  if (node.empty()) return InvalidArgument("Missing node name");
  return node;
}

}  // namespace roster::http
