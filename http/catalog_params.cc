#include "http/catalog_params.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "base/ascii.h"
#include "http/json_decode.h"

namespace roster::http {
namespace {

// RegisterRequest > Checks > item > Definition > Header > values: five levels.
constexpr std::size_t kCatalogBodyDepthMax = 8;
constexpr std::int64_t kPortMax = 65535;

// Consul's meta limits (structs.validateMetadata).
constexpr std::size_t kMetaPairsMax = 64;
constexpr std::size_t kMetaKeyBytesMax = 128;
constexpr std::size_t kMetaValueBytesMax = 512;
constexpr std::string_view kMetaReservedPrefix = "consul-";

Status DecodeFailed(const Status& why) {
  return InvalidArgument("Request decode failed: " + why.message());
}

std::string Field(std::string_view path, std::string_view name) {
  return std::string(path) + "." + std::string(name);
}

}  // namespace

void CheckPort(std::int64_t port, std::string_view field, Refusals& refusals) {
  if (port < 0 || port > kPortMax) {
    refusals.Add(InvalidArgument("Invalid port " + std::to_string(port) + " in " +
                                 std::string(field) + ": must be between 0 and 65535"));
  }
}

// A Go time.Duration field as Consul's decodeBody fixes it up: a string is a Go
// duration, a number is nanoseconds. Roster stores no negative duration.
Status DecodeDuration(const Json* value, std::string_view field, std::uint64_t* out_ns) {
  if (value == nullptr || value->is_null()) return Status::Ok();
  std::int64_t ns = 0;
  if (value->is_string()) {
    Result<std::chrono::nanoseconds> parsed = ParseGoDuration(value->get<std::string>());
    if (!parsed.ok()) return parsed.status();
    ns = parsed->count();
  } else {
    RETURN_IF_ERROR(DecodeInt64(value, field, &ns));
  }
  if (ns < 0) return InvalidArgument(std::string(field) + " must not be negative");
  *out_ns = static_cast<std::uint64_t>(ns);
  return Status::Ok();
}

Status DecodeHeader(const Json* value, std::string_view field,
                    std::map<std::string, std::vector<std::string>, std::less<>>* out) {
  if (value == nullptr || value->is_null()) return Status::Ok();
  if (!value->is_object()) return UnmarshalTypeError(*value, field, "map[string][]string");
  for (auto it = value->begin(); it != value->end(); ++it) {
    RETURN_IF_ERROR(DecodeStringList(&*it, field, &(*out)[it.key()]));
  }
  return Status::Ok();
}

namespace {

Status DecodeDefinition(const Json* value, std::string_view path, store::CheckDefinition* d) {
  if (value == nullptr || value->is_null()) return Status::Ok();
  if (!value->is_object()) {
    return UnmarshalTypeError(*value, path, "structs.HealthCheckDefinition");
  }
  auto f = [&value](std::string_view name) { return FindField(*value, name); };
  RETURN_IF_ERROR(DecodeString(f("HTTP"), Field(path, "HTTP"), &d->http));
  RETURN_IF_ERROR(DecodeString(f("TLSServerName"), Field(path, "TLSServerName"),
                               &d->tls_server_name));
  RETURN_IF_ERROR(DecodeBool(f("TLSSkipVerify"), Field(path, "TLSSkipVerify"),
                             &d->tls_skip_verify));
  RETURN_IF_ERROR(DecodeHeader(f("Header"), Field(path, "Header"), &d->header));
  RETURN_IF_ERROR(DecodeString(f("Method"), Field(path, "Method"), &d->method));
  RETURN_IF_ERROR(DecodeString(f("Body"), Field(path, "Body"), &d->body));
  RETURN_IF_ERROR(DecodeString(f("TCP"), Field(path, "TCP"), &d->tcp));
  RETURN_IF_ERROR(DecodeStringList(f("ScriptArgs"), Field(path, "ScriptArgs"), &d->script_args));
  RETURN_IF_ERROR(DecodeDuration(f("Interval"), Field(path, "Interval"), &d->interval_ns));
  RETURN_IF_ERROR(DecodeDuration(f("Timeout"), Field(path, "Timeout"), &d->timeout_ns));
  RETURN_IF_ERROR(DecodeDuration(f("DeregisterCriticalServiceAfter"),
                                 Field(path, "DeregisterCriticalServiceAfter"),
                                 &d->deregister_critical_service_after_ns));
  return DecodeDuration(f("TTL"), Field(path, "TTL"), &d->ttl_ns);
}

// Consul's CheckType.Type() for a check registered with its definition only.
std::string CheckTypeOf(const store::CheckDefinition& d) {
  if (!d.http.empty() && d.interval_ns > 0) return "http";
  if (d.ttl_ns > 0) return "ttl";
  if (!d.tcp.empty() && d.interval_ns > 0) return "tcp";
  if (!d.script_args.empty() && d.interval_ns > 0) return "script";
  return "";
}

Result<store::HealthStatus> ParseStatus(const std::string& status) {
  if (status.empty() || status == "critical") return store::HealthStatus::kCritical;
  if (status == "passing") return store::HealthStatus::kPassing;
  if (status == "warning") return store::HealthStatus::kWarning;
  return InvalidArgument("Bad check status");
}

// One HealthCheck of the body; its node is checked against the request's later.
Status DecodeCheck(const Json& json, std::string_view path, store::HealthCheck* check,
                   Refusals& refusals) {
  if (json.is_null()) return Status::Ok();
  if (!json.is_object()) return UnmarshalTypeError(json, path, "structs.HealthCheck");
  auto f = [&json](std::string_view name) { return FindField(json, name); };
  std::string status;
  RETURN_IF_ERROR(DecodeString(f("Node"), Field(path, "Node"), &check->node));
  RETURN_IF_ERROR(DecodeString(f("CheckID"), Field(path, "CheckID"), &check->check_id));
  RETURN_IF_ERROR(DecodeString(f("Name"), Field(path, "Name"), &check->name));
  RETURN_IF_ERROR(DecodeString(f("Status"), Field(path, "Status"), &status));
  RETURN_IF_ERROR(DecodeString(f("Notes"), Field(path, "Notes"), &check->notes));
  RETURN_IF_ERROR(DecodeString(f("Output"), Field(path, "Output"), &check->output));
  RETURN_IF_ERROR(DecodeString(f("ServiceID"), Field(path, "ServiceID"), &check->service_id));
  RETURN_IF_ERROR(DecodeString(f("Type"), Field(path, "Type"), &check->type));
  RETURN_IF_ERROR(DecodeDefinition(f("Definition"), Field(path, "Definition"), &check->definition));
  Result<store::HealthStatus> parsed = ParseStatus(status);
  if (parsed.ok()) {
    check->status = *parsed;
  } else {
    refusals.Add(parsed.status());
  }
  if (check->check_id.empty()) check->check_id = check->name;  // Consul's checkPreApply
  if (check->type.empty()) check->type = CheckTypeOf(check->definition);
  return Status::Ok();
}

}  // namespace

Status DecodeServiceAddresses(const Json* value, std::string_view path,
                              std::map<std::string, store::ServiceAddress, std::less<>>* out,
                              Refusals& refusals) {
  if (value == nullptr || value->is_null()) return Status::Ok();
  if (!value->is_object()) {
    return UnmarshalTypeError(*value, path, "map[string]structs.ServiceAddress");
  }
  for (auto it = value->begin(); it != value->end(); ++it) {
    store::ServiceAddress& address = (*out)[it.key()];
    if (it->is_null()) continue;
    if (!it->is_object()) return UnmarshalTypeError(*it, path, "structs.ServiceAddress");
    std::int64_t port = 0;
    RETURN_IF_ERROR(
        DecodeString(FindField(*it, "Address"), Field(path, "Address"), &address.address));
    RETURN_IF_ERROR(DecodeInt64(FindField(*it, "Port"), Field(path, "Port"), &port));
    CheckPort(port, Field(path, "Port"), refusals);
    address.port = static_cast<std::uint64_t>(port);
  }
  return Status::Ok();
}

namespace {

// Consul's ToServiceNode: Weights that fail ValidateWeights become 1/1.
Status DecodeWeights(const Json* value, std::string_view path, store::ServiceWeights* out) {
  if (value == nullptr || value->is_null()) return Status::Ok();
  if (!value->is_object()) return UnmarshalTypeError(*value, path, "structs.Weights");
  std::int64_t passing = 0;
  std::int64_t warning = 0;
  RETURN_IF_ERROR(DecodeInt64(FindField(*value, "Passing"), Field(path, "Passing"), &passing));
  RETURN_IF_ERROR(DecodeInt64(FindField(*value, "Warning"), Field(path, "Warning"), &warning));
  if (passing >= 1 && warning >= 0 && passing <= kPortMax && warning <= kPortMax) {
    *out = store::ServiceWeights{static_cast<std::uint64_t>(passing),
                                 static_cast<std::uint64_t>(warning)};
  }
  return Status::Ok();
}

Status DecodeService(const Json& json, std::string_view path, store::NodeService* service,
                     Refusals& refusals) {
  if (!json.is_object()) return UnmarshalTypeError(json, path, "structs.NodeService");
  auto f = [&json](std::string_view name) { return FindField(json, name); };
  std::string kind;
  std::int64_t port = 0;
  RETURN_IF_ERROR(DecodeString(f("Kind"), Field(path, "Kind"), &kind));
  RETURN_IF_ERROR(DecodeString(f("ID"), Field(path, "ID"), &service->id));
  RETURN_IF_ERROR(DecodeString(f("Service"), Field(path, "Service"), &service->service));
  RETURN_IF_ERROR(DecodeStringList(f("Tags"), Field(path, "Tags"), &service->tags));
  RETURN_IF_ERROR(DecodeString(f("Address"), Field(path, "Address"), &service->address));
  RETURN_IF_ERROR(DecodeServiceAddresses(f("TaggedAddresses"), Field(path, "TaggedAddresses"),
                                         &service->tagged_addresses, refusals));
  RETURN_IF_ERROR(DecodeStringMap(f("Meta"), Field(path, "Meta"), &service->meta));
  RETURN_IF_ERROR(DecodeInt64(f("Port"), Field(path, "Port"), &port));
  RETURN_IF_ERROR(DecodeWeights(f("Weights"), Field(path, "Weights"), &service->weights));
  RETURN_IF_ERROR(DecodeBool(f("EnableTagOverride"), Field(path, "EnableTagOverride"),
                             &service->enable_tag_override));
  if (!kind.empty()) {
    refusals.Add(InvalidArgument("Service kind \"" + kind +
                                 "\" is not supported: Roster registers plain services only"));
  }
  CheckPort(port, Field(path, "Port"), refusals);
  service->port = static_cast<std::uint64_t>(port);
  return Status::Ok();
}

// The RegisterRequest's fields, decoded; the service is absent when Service is absent
// or null.
Status DecodeRegister(const Json& json, store::CatalogRegister* c, Refusals& refusals) {
  if (json.is_null()) return Status::Ok();  // Go decodes null into a struct as nothing
  if (!json.is_object()) {
    return InvalidArgument("json: cannot unmarshal " + std::string(GoJsonKind(json)) +
                           " into Go value of type structs.RegisterRequest");
  }
  constexpr std::string_view kPath = "RegisterRequest";
  auto f = [&json](std::string_view name) { return FindField(json, name); };
  RETURN_IF_ERROR(DecodeString(f("Datacenter"), Field(kPath, "Datacenter"), &c->datacenter));
  RETURN_IF_ERROR(DecodeString(f("ID"), Field(kPath, "ID"), &c->id));
  RETURN_IF_ERROR(DecodeString(f("Node"), Field(kPath, "Node"), &c->node));
  RETURN_IF_ERROR(DecodeString(f("Address"), Field(kPath, "Address"), &c->address));
  RETURN_IF_ERROR(DecodeStringMap(f("TaggedAddresses"), Field(kPath, "TaggedAddresses"),
                                  &c->tagged_addresses));
  RETURN_IF_ERROR(DecodeStringMap(f("NodeMeta"), Field(kPath, "NodeMeta"), &c->node_meta));
  RETURN_IF_ERROR(
      DecodeBool(f("SkipNodeUpdate"), Field(kPath, "SkipNodeUpdate"), &c->skip_node_update));
  if (const Json* service = f("Service"); service != nullptr && !service->is_null()) {
    RETURN_IF_ERROR(
        DecodeService(*service, Field(kPath, "Service"), &c->service.emplace(), refusals));
  }
  if (const Json* checks = f("Checks"); checks != nullptr && !checks->is_null()) {
    if (!checks->is_array()) {
      return UnmarshalTypeError(*checks, Field(kPath, "Checks"), "structs.HealthChecks");
    }
    for (const Json& item : *checks) {
      if (item.is_null()) continue;  // a nil *HealthCheck, which Consul skips too
      RETURN_IF_ERROR(
          DecodeCheck(item, Field(kPath, "Checks"), &c->checks.emplace_back(), refusals));
    }
  }
  // The old single Check is appended to Checks (Catalog.Register).
  if (const Json* check = f("Check"); check != nullptr && !check->is_null()) {
    RETURN_IF_ERROR(
        DecodeCheck(*check, Field(kPath, "Check"), &c->checks.emplace_back(), refusals));
  }
  return Status::Ok();
}

bool IsMetaKeyByte(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

}  // namespace

Status ValidateMeta(const store::StringMap& meta) {
  if (meta.size() > kMetaPairsMax) {
    return FailedPrecondition("Node metadata cannot contain more than " +
                              std::to_string(kMetaPairsMax) + " key/value pairs");
  }
  for (const auto& [key, value] : meta) {
    std::string why;
    bool key_ok = !key.empty();
    for (char c : key) key_ok = key_ok && IsMetaKeyByte(c);
    if (key.empty()) {
      why = "Key cannot be blank";
    } else if (!key_ok) {
      why = "Key contains invalid characters";
    } else if (key.size() > kMetaKeyBytesMax) {
      why = "Key is too long (limit: " + std::to_string(kMetaKeyBytesMax) + " characters)";
    } else if (key.starts_with(kMetaReservedPrefix)) {
      why = "Key prefix '" + std::string(kMetaReservedPrefix) + "' is reserved for internal use";
    } else if (value.size() > kMetaValueBytesMax) {
      why = "Value is too long (limit: " + std::to_string(kMetaValueBytesMax) + " characters)";
    }
    if (!why.empty()) {
      return FailedPrecondition("Couldn't load metadata pair ('" + key + "', '" + value +
                                "'): " + why);
    }
  }
  return Status::Ok();
}

namespace {

// go-uuid's ParseUUID, with its texts.
Status ValidateNodeId(const std::string& id) {
  if (id.size() != 36) return FailedPrecondition("Bad node ID: uuid string is wrong length");
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (id[i] == '-')) {
      return FailedPrecondition("Bad node ID: uuid is improperly formatted");
    }
  }
  for (char c : id) {
    if (c != '-' && !IsAsciiHexDigit(c)) {
      char code[8];
      std::snprintf(code, sizeof(code), "%04X", static_cast<unsigned char>(c));
      return FailedPrecondition(std::string("Bad node ID: encoding/hex: invalid byte: U+") +
                                code + " '" + std::string(1, c) + "'");
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsAnyAddress(const std::string& address) {
  return address == "0.0.0.0" || address == "::" || address == "[::]";
}

namespace {

// The Catalog.Register RPC's checks (consul-api.md §1.2), in its order.
Status ValidateRegister(store::CatalogRegister& c) {
  if (c.node.empty()) return FailedPrecondition("Must provide node");
  if (!c.id.empty()) RETURN_IF_ERROR(ValidateNodeId(c.id));
  if (c.address.empty() && !c.skip_node_update) {
    return FailedPrecondition("Must provide address if SkipNodeUpdate is not set");
  }
  if (c.service.has_value()) {
    store::NodeService& service = *c.service;
    if (service.id.empty()) service.id = service.service;
    if (service.id.empty() || service.service.empty()) {
      return FailedPrecondition("Must provide service name with ID");
    }
    if (IsAnyAddress(service.address)) return FailedPrecondition("Invalid service address");
    if (Status meta = ValidateMeta(service.meta); !meta.ok()) {
      return FailedPrecondition("Invalid Service Meta for node " + c.node + " and serviceID " +
                                service.id + ": " + meta.message());
    }
  }
  for (store::HealthCheck& check : c.checks) {
    if (!check.node.empty() && check.node != c.node) {
      return FailedPrecondition("check node \"" + check.node + "\" does not match node \"" +
                                c.node + "\"");
    }
    check.node.clear();  // the command's checks are the node's; apply sets it
    if (check.check_id.empty()) return FailedPrecondition("Missing check ID");
  }
  return Status::Ok();
}

}  // namespace

Result<store::CatalogRegister> ParseCatalogRegister(std::string_view body,
                                                    const CatalogRules& rules) {
  if (body.empty()) return DecodeFailed(InvalidArgument("EOF"));
  Result<Json> json = ParseJsonBody(body, kCatalogBodyDepthMax);
  if (!json.ok()) return DecodeFailed(json.status());
  store::CatalogRegister command;
  Refusals refusals;
  if (Status decoded = DecodeRegister(*json, &command, refusals); !decoded.ok()) {
    return DecodeFailed(decoded);
  }
  if (!refusals.first.ok()) return refusals.first;
  if (command.datacenter.empty()) command.datacenter = rules.datacenter;
  RETURN_IF_ERROR(ValidateRegister(command));
  return command;
}

Result<CatalogDeregisterRequest> ParseCatalogDeregister(std::string_view body,
                                                        const CatalogRules& rules) {
  if (body.empty()) return DecodeFailed(InvalidArgument("EOF"));
  Result<Json> json = ParseJsonBody(body, kCatalogBodyDepthMax);
  if (!json.ok()) return DecodeFailed(json.status());
  CatalogDeregisterRequest request;
  if (!json->is_null()) {
    if (!json->is_object()) {
      return DecodeFailed(InvalidArgument("json: cannot unmarshal " +
                                          std::string(GoJsonKind(*json)) +
                                          " into Go value of type structs.DeregisterRequest"));
    }
    auto f = [&json](std::string_view name) { return FindField(*json, name); };
    store::CatalogDeregister& c = request.command;
    Status decoded = DecodeString(f("Node"), "DeregisterRequest.Node", &c.node);
    if (decoded.ok()) {
      decoded = DecodeString(f("Datacenter"), "DeregisterRequest.Datacenter", &request.datacenter);
    }
    if (decoded.ok()) {
      decoded = DecodeString(f("ServiceID"), "DeregisterRequest.ServiceID", &c.service_id);
    }
    if (decoded.ok()) decoded = DecodeString(f("CheckID"), "DeregisterRequest.CheckID", &c.check_id);
    if (!decoded.ok()) return DecodeFailed(decoded);
  }
  if (request.datacenter.empty()) request.datacenter = rules.datacenter;
  if (request.command.node.empty()) return FailedPrecondition("Must provide node");
  return request;
}

std::vector<std::string> QueryValues(const Query& query, std::string_view name) {
  std::vector<std::string> values;
  for (const auto& [key, value] : query.pairs()) {
    if (key == name) values.push_back(value);
  }
  return values;
}

store::StringMap ParseNodeMetaFilter(const Query& query) {
  store::StringMap filter;
  for (const std::string& pair : QueryValues(query, "node-meta")) {
    const std::size_t colon = pair.find(':');
    if (colon == std::string::npos) {
      filter[pair] = "";
    } else {
      filter[pair.substr(0, colon)] = pair.substr(colon + 1);
    }
  }
  return filter;
}

bool MatchesNodeMeta(const store::StringMap& meta, const store::StringMap& filter) {
  for (const auto& [key, value] : filter) {
    auto it = meta.find(key);
    if (it == meta.end() || it->second != value) return false;
  }
  return true;
}

bool HasAllTags(const std::vector<std::string>& tags, const std::vector<std::string>& wanted) {
  for (const std::string& want : wanted) {
    bool found = false;
    for (const std::string& tag : tags) found = found || EqualsIgnoringCase(tag, want);
    if (!found) return false;
  }
  return true;
}

Result<bool> ParsePassing(const Query& query) {
  std::optional<std::string_view> value = query.Get("passing");
  if (!value.has_value() || value->empty()) return value.has_value();
  for (std::string_view yes : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (*value == yes) return true;
  }
  for (std::string_view no : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (*value == no) return false;
  }
  return InvalidArgument("Invalid value for ?passing");
}

Result<std::optional<store::HealthStatus>> ParseCheckState(std::string_view state) {
  using Found = std::optional<store::HealthStatus>;
  if (state.empty()) return InvalidArgument("Missing check state");
  if (state == "any") return Found();
  if (state == "passing") return Found(store::HealthStatus::kPassing);
  if (state == "warning") return Found(store::HealthStatus::kWarning);
  if (state == "critical") return Found(store::HealthStatus::kCritical);
  return InvalidArgument("Invalid check state " + GoQuote(state) +
                         ": must be any, passing, warning or critical");
}

}  // namespace roster::http
