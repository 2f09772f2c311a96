#include "http/agent_params.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "http/catalog_params.h"
#include "http/json_decode.h"

namespace roster::http {
namespace {

// ServiceDefinition > Checks > item > Header > values: five levels.
constexpr std::size_t kAgentBodyDepthMax = 8;
// Consul's checks.MinInterval: a shorter Interval is raised to it.
constexpr std::uint64_t kCheckIntervalNsMin = 10'000'000;
constexpr std::int64_t kWeightMax = 65535;

Status DecodeFailed(const Status& why) {
  return InvalidArgument("Request decode failed: " + why.message());
}

std::string Field(std::string_view path, std::string_view name) {
  return std::string(path) + "." + std::string(name);
}

// The member `name` (any case), else its snake_case spelling; nullptr if neither.
const Json* Find(const Json& object, std::string_view name, std::string_view snake = {}) {
  const Json* value = FindField(object, name);
  if (value == nullptr && !snake.empty()) value = FindField(object, snake);
  return value;
}

// A check as the body gives it, before defaults and validation.
struct CheckFields {
  AgentCheck check;
  std::string status;  // as sent; "" when absent
  std::int64_t success_before_passing = 0;
  std::int64_t failures_before_critical = 0;

  // Consul's CheckType.Empty(): nothing set at all (an empty "Check": {} is skipped).
  bool Empty() const {
    return check.check == store::HealthCheck() && status.empty() && success_before_passing == 0 &&
           failures_before_critical == 0;
  }
};

Status DecodeCheckKind(const Json& json, std::string_view path, store::CheckDefinition* d) {
  auto f = [&json](std::string_view name, std::string_view snake = {}) {
    return Find(json, name, snake);
  };
  RETURN_IF_ERROR(DecodeDuration(f("TTL"), Field(path, "TTL"), &d->ttl_ns));
  RETURN_IF_ERROR(DecodeString(f("HTTP"), Field(path, "HTTP"), &d->http));
  RETURN_IF_ERROR(DecodeString(f("Method"), Field(path, "Method"), &d->method));
  RETURN_IF_ERROR(DecodeHeader(f("Header"), Field(path, "Header"), &d->header));
  RETURN_IF_ERROR(DecodeString(f("Body"), Field(path, "Body"), &d->body));
  RETURN_IF_ERROR(DecodeBool(f("TLSSkipVerify", "tls_skip_verify"), Field(path, "TLSSkipVerify"),
                             &d->tls_skip_verify));
  RETURN_IF_ERROR(DecodeString(f("TLSServerName", "tls_server_name"), Field(path, "TLSServerName"),
                               &d->tls_server_name));
  RETURN_IF_ERROR(DecodeString(f("TCP"), Field(path, "TCP"), &d->tcp));
  // Args is ScriptArgs' JSON name in a check definition; both are accepted.
  const Json* args = f("ScriptArgs", "script_args");
  if (args == nullptr) args = f("Args");
  RETURN_IF_ERROR(DecodeStringList(args, Field(path, "ScriptArgs"), &d->script_args));
  RETURN_IF_ERROR(DecodeDuration(f("Interval"), Field(path, "Interval"), &d->interval_ns));
  RETURN_IF_ERROR(DecodeDuration(f("Timeout"), Field(path, "Timeout"), &d->timeout_ns));
  return DecodeDuration(f("DeregisterCriticalServiceAfter", "deregister_critical_service_after"),
                        Field(path, "DeregisterCriticalServiceAfter"),
                        &d->deregister_critical_service_after_ns);
}

// One check object of a body (CheckDefinition, or a service's CheckType).
Status DecodeCheck(const Json& json, std::string_view path, std::string_view go_type,
                   CheckFields* out) {
  if (json.is_null()) return Status::Ok();
  if (!json.is_object()) return UnmarshalTypeError(json, path, go_type);
  auto f = [&json](std::string_view name, std::string_view snake = {}) {
    return Find(json, name, snake);
  };
  store::HealthCheck& check = out->check.check;
  // CheckDefinition calls it ID, CheckType CheckID; either is taken.
  const Json* id = f("ID");
  if (id == nullptr) id = f("CheckID", "check_id");
  RETURN_IF_ERROR(DecodeString(id, Field(path, "ID"), &check.check_id));
  RETURN_IF_ERROR(DecodeString(f("Name"), Field(path, "Name"), &check.name));
  RETURN_IF_ERROR(DecodeString(f("Notes"), Field(path, "Notes"), &check.notes));
  RETURN_IF_ERROR(DecodeString(f("Status"), Field(path, "Status"), &out->status));
  RETURN_IF_ERROR(
      DecodeString(f("ServiceID", "service_id"), Field(path, "ServiceID"), &check.service_id));
  RETURN_IF_ERROR(DecodeCheckKind(json, path, &check.definition));
  RETURN_IF_ERROR(DecodeInt64(f("SuccessBeforePassing", "success_before_passing"),
                              Field(path, "SuccessBeforePassing"), &out->success_before_passing));
  return DecodeInt64(f("FailuresBeforeCritical", "failures_before_critical"),
                     Field(path, "FailuresBeforeCritical"), &out->failures_before_critical);
}

std::optional<store::HealthStatus> ParseStatus(std::string_view status) {
  if (status == "passing") return store::HealthStatus::kPassing;
  if (status == "warning") return store::HealthStatus::kWarning;
  if (status == "critical") return store::HealthStatus::kCritical;
  return std::nullopt;
}

// Consul's CheckType.Validate (the kinds Roster runs), plus Roster's one-kind rule.
Status ValidateCheckKind(const store::CheckDefinition& d) {
  const int kinds = (d.ttl_ns > 0) + !d.http.empty() + !d.tcp.empty() + !d.script_args.empty();
  const bool interval_check = !d.http.empty() || !d.tcp.empty() || !d.script_args.empty();
  if (d.interval_ns > 0 && d.ttl_ns > 0) {
    return InvalidArgument("Interval and TTL cannot both be specified");
  }
  if (interval_check && d.interval_ns == 0) {
    return InvalidArgument("Interval must be > 0 for Script, HTTP, or TCP checks");
  }
  if (!interval_check && d.ttl_ns == 0) return InvalidArgument("TTL must be > 0 for TTL checks");
  if (kinds > 1) return InvalidArgument("only one of TTL, HTTP, TCP or Args may be set");
  return Status::Ok();
}

// Validates the decoded check and fills in what follows from it: the type, the damping
// counts, the interval floor. `status` is left to the caller (its message differs).
Status FinishCheck(CheckFields& fields) {
  store::HealthCheck& check = fields.check.check;
  if (Status kind = ValidateCheckKind(check.definition); !kind.ok()) {
    return InvalidArgument("Invalid check: " + kind.message());
  }
  if (fields.success_before_passing < 0 || fields.failures_before_critical < 0) {
    return InvalidArgument(
        "Invalid check: SuccessBeforePassing and FailuresBeforeCritical must not be negative");
  }
  fields.check.success_before_passing = static_cast<int>(
      std::min<std::int64_t>(fields.success_before_passing, std::numeric_limits<int>::max()));
  fields.check.failures_before_critical = static_cast<int>(
      std::min<std::int64_t>(fields.failures_before_critical, std::numeric_limits<int>::max()));
  store::CheckDefinition& d = check.definition;
  if (d.interval_ns > 0 && d.interval_ns < kCheckIntervalNsMin) d.interval_ns = kCheckIntervalNsMin;
  check.type = d.ttl_ns > 0             ? "ttl"
               : !d.http.empty()        ? "http"
               : !d.tcp.empty()         ? "tcp"
               : !d.script_args.empty() ? "script"
                                        : "";
  return Status::Ok();
}

// ServiceDefinition.Weights: absent keeps 1/1; present must pass ValidateWeights.
Status DecodeWeights(const Json* value, std::string_view path, store::ServiceWeights* out,
                     Status* invalid) {
  if (value == nullptr || value->is_null()) return Status::Ok();
  if (!value->is_object()) return UnmarshalTypeError(*value, path, "structs.Weights");
  std::int64_t passing = 0;
  std::int64_t warning = 0;
  RETURN_IF_ERROR(DecodeInt64(FindField(*value, "Passing"), Field(path, "Passing"), &passing));
  RETURN_IF_ERROR(DecodeInt64(FindField(*value, "Warning"), Field(path, "Warning"), &warning));
  if (passing < 1) {
    *invalid = InvalidArgument("Invalid Weights: Passing must be greater than 0");
  } else if (warning < 0) {
    *invalid = InvalidArgument("Invalid Weights: Warning must be greater or equal than 0");
  } else if (passing > kWeightMax || warning > kWeightMax) {
    *invalid = InvalidArgument("Invalid Weights: DNS Weight must be between 0 and 65535");
  } else {
    *out = store::ServiceWeights{static_cast<std::uint64_t>(passing),
                                 static_cast<std::uint64_t>(warning)};
  }
  return Status::Ok();
}

// What a service body holds besides the service itself.
struct ServiceExtras {
  std::vector<CheckFields> checks;
  Status weights_invalid;
};

Status DecodeServiceChecks(const Json& json, ServiceExtras* extras) {
  constexpr std::string_view kPath = "ServiceDefinition";
  if (const Json* check = FindField(json, "Check"); check != nullptr && !check->is_null()) {
    CheckFields fields;
    RETURN_IF_ERROR(DecodeCheck(*check, Field(kPath, "Check"), "structs.CheckType", &fields));
    if (!fields.Empty()) extras->checks.push_back(std::move(fields));
  }
  const Json* checks = FindField(json, "Checks");
  if (checks == nullptr || checks->is_null()) return Status::Ok();
  if (!checks->is_array()) {
    return UnmarshalTypeError(*checks, Field(kPath, "Checks"), "structs.CheckTypes");
  }
  for (const Json& item : *checks) {
    if (item.is_null()) continue;  // a nil *CheckType
    RETURN_IF_ERROR(DecodeCheck(item, Field(kPath, "Checks"), "structs.CheckType",
                                &extras->checks.emplace_back()));
  }
  return Status::Ok();
}

Status DecodeServiceDefinition(const Json& json, store::NodeService* service, ServiceExtras* extras,
                               Refusals& refusals) {
  constexpr std::string_view kPath = "ServiceDefinition";
  if (json.is_null()) return Status::Ok();
  if (!json.is_object()) {
    return InvalidArgument("json: cannot unmarshal " + std::string(GoJsonKind(json)) +
                           " into Go value of type structs.ServiceDefinition");
  }
  auto f = [&json](std::string_view name, std::string_view snake = {}) {
    return Find(json, name, snake);
  };
  std::string kind;
  std::int64_t port = 0;
  RETURN_IF_ERROR(DecodeString(f("Kind"), Field(kPath, "Kind"), &kind));
  RETURN_IF_ERROR(DecodeString(f("ID"), Field(kPath, "ID"), &service->id));
  RETURN_IF_ERROR(DecodeString(f("Name"), Field(kPath, "Name"), &service->service));
  RETURN_IF_ERROR(DecodeStringList(f("Tags"), Field(kPath, "Tags"), &service->tags));
  RETURN_IF_ERROR(DecodeString(f("Address"), Field(kPath, "Address"), &service->address));
  RETURN_IF_ERROR(DecodeServiceAddresses(f("TaggedAddresses", "tagged_addresses"),
                                         Field(kPath, "TaggedAddresses"),
                                         &service->tagged_addresses, refusals));
  RETURN_IF_ERROR(DecodeStringMap(f("Meta"), Field(kPath, "Meta"), &service->meta));
  RETURN_IF_ERROR(DecodeInt64(f("Port"), Field(kPath, "Port"), &port));
  RETURN_IF_ERROR(DecodeWeights(f("Weights"), Field(kPath, "Weights"), &service->weights,
                                &extras->weights_invalid));
  RETURN_IF_ERROR(DecodeBool(f("EnableTagOverride", "enable_tag_override"),
                             Field(kPath, "EnableTagOverride"), &service->enable_tag_override));
  RETURN_IF_ERROR(DecodeServiceChecks(json, extras));
  if (!kind.empty()) {
    refusals.Add(InvalidArgument("Service kind \"" + kind +
                                 "\" is not supported: Roster registers plain services only"));
  }
  CheckPort(port, Field(kPath, "Port"), refusals);
  service->port = port < 0 ? 0 : static_cast<std::uint64_t>(port);
  return Status::Ok();
}

// The ServiceDefinition's checks, validated and given Consul's AddService defaults.
Result<std::vector<AgentCheck>> ServiceChecks(const store::NodeService& service,
                                              std::vector<CheckFields>& checks) {
  for (CheckFields& fields : checks) RETURN_IF_ERROR(FinishCheck(fields));
  std::vector<AgentCheck> out;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    AgentCheck check = std::move(checks[i].check);
    std::optional<store::HealthStatus> status = ParseStatus(checks[i].status);
    if (!checks[i].status.empty() && !status.has_value()) {
      return InvalidArgument("Status for checks must 'passing', 'warning', 'critical'");
    }
    check.check.status = status.value_or(store::HealthStatus::kCritical);
    if (check.check.check_id.empty()) {
      check.check.check_id = "service:" + service.id;
      if (checks.size() > 1) check.check.check_id += ":" + std::to_string(i + 1);
    }
    if (check.check.name.empty()) check.check.name = "Service '" + service.service + "' check";
    check.check.service_id = service.id;
    out.push_back(std::move(check));
  }
  return out;
}

// Go's strconv.ParseBool.
std::optional<bool> ParseGoBool(std::string_view text) {
  for (std::string_view yes : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (text == yes) return true;
  }
  for (std::string_view no : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (text == no) return false;
  }
  return std::nullopt;
}

Result<Json> ParseBody(std::string_view body) {
  if (body.empty()) return DecodeFailed(InvalidArgument("EOF"));
  Result<Json> json = ParseJsonBody(body, kAgentBodyDepthMax);
  if (!json.ok()) return DecodeFailed(json.status());
  return json;
}

}  // namespace

Result<AgentServiceRegistration> ParseAgentServiceRegister(std::string_view body,
                                                           const Query& query) {
  Result<Json> json = ParseBody(body);
  if (!json.ok()) return json.status();
  AgentServiceRegistration registration;
  store::NodeService& service = registration.service;
  ServiceExtras extras;
  Refusals refusals;
  if (Status decoded = DecodeServiceDefinition(*json, &service, &extras, refusals); !decoded.ok()) {
    return DecodeFailed(decoded);
  }
  if (service.service.empty()) return InvalidArgument("Missing service name");
  if (IsAnyAddress(service.address)) return InvalidArgument("Invalid service address");
  if (!extras.weights_invalid.ok()) return extras.weights_invalid;
  if (Status meta = ValidateMeta(service.meta); !meta.ok()) {
    return InvalidArgument("Invalid Service Meta: " + meta.message());
  }
  if (!refusals.first.ok()) return refusals.first;
  if (service.id.empty()) service.id = service.service;
  Result<std::vector<AgentCheck>> checks = ServiceChecks(service, extras.checks);
  if (!checks.ok()) return checks.status();
  registration.checks = std::move(*checks);
  const std::optional<std::string_view> replace = query.Get("replace-existing-checks");
  registration.replace_existing_checks =
      replace.has_value() && (replace->empty() || *replace == "true");
  return registration;
}

Result<AgentCheck> ParseAgentCheckRegister(std::string_view body) {
  Result<Json> json = ParseBody(body);
  if (!json.ok()) return json.status();
  if (!json->is_null() && !json->is_object()) {
    return DecodeFailed(InvalidArgument("json: cannot unmarshal " + std::string(GoJsonKind(*json)) +
                                        " into Go value of type structs.CheckDefinition"));
  }
  CheckFields fields;
  if (Status decoded = DecodeCheck(*json, "CheckDefinition", "structs.CheckDefinition", &fields);
      !decoded.ok()) {
    return DecodeFailed(decoded);
  }
  store::HealthCheck& check = fields.check.check;
  if (check.name.empty()) return InvalidArgument("Missing check name");
  std::optional<store::HealthStatus> status = ParseStatus(fields.status);
  if (!fields.status.empty() && !status.has_value()) return InvalidArgument("Bad check status");
  RETURN_IF_ERROR(FinishCheck(fields));
  check.status = status.value_or(store::HealthStatus::kCritical);
  if (check.check_id.empty()) check.check_id = check.name;
  return std::move(fields.check);
}

Result<AgentCheckUpdate> ParseAgentCheckUpdate(std::string_view body) {
  Result<Json> json = ParseBody(body);
  if (!json.ok()) return json.status();
  std::string status;
  AgentCheckUpdate update;
  if (!json->is_null()) {
    if (!json->is_object()) {
      return DecodeFailed(InvalidArgument("json: cannot unmarshal " +
                                          std::string(GoJsonKind(*json)) +
                                          " into Go value of type agent.checkUpdate"));
    }
    Status decoded = DecodeString(FindField(*json, "Status"), "checkUpdate.Status", &status);
    if (decoded.ok()) {
      decoded = DecodeString(FindField(*json, "Output"), "checkUpdate.Output", &update.output);
    }
    if (!decoded.ok()) return DecodeFailed(decoded);
  }
  std::optional<store::HealthStatus> parsed = ParseStatus(status);
  if (!parsed.has_value()) return InvalidArgument("Invalid check status: '" + status + "'");
  update.status = *parsed;
  return update;
}

Result<MaintenanceRequest> ParseMaintenance(const Query& query) {
  const std::optional<std::string_view> enable = query.Get("enable");
  if (!enable.has_value()) return InvalidArgument("Missing value for enable");
  const std::optional<bool> parsed = ParseGoBool(*enable);
  if (!parsed.has_value()) return InvalidArgument("Invalid value for enable: " + GoQuote(*enable));
  return MaintenanceRequest{*parsed, std::string(query.Get("reason").value_or(""))};
}

bool WantsPlainText(const Query& query, std::string_view accept_header) {
  if (accept_header.starts_with("text/plain")) return true;
  const std::optional<std::string_view> format = query.Get("format");
  return format.has_value() && *format == "text";
}

}  // namespace roster::http
