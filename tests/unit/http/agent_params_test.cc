// The agent's request bodies and parameters (http/agent_params.h): Consul's
// ServiceDefinition and CheckDefinition decoding, defaults and validation texts.
#include "http/agent_params.h"

#include <string>

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http {
namespace {

using store::HealthStatus;

Result<AgentServiceRegistration> Service(const std::string& body, const std::string& query = "") {
  return ParseAgentServiceRegister(body, Query::Parse(query));
}

// The 400 text of a refused service body.
std::string ServiceError(const std::string& body) {
  Result<AgentServiceRegistration> parsed = Service(body);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
  return parsed.status().message();
}

std::string CheckError(const std::string& body) {
  Result<AgentCheck> parsed = ParseAgentCheckRegister(body);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
  return parsed.status().message();
}

TEST_CASE("a service body in Consul's shape becomes a registration") {
  Result<AgentServiceRegistration> parsed = Service(R"({
      "ID": "web-1", "Name": "web", "Tags": ["primary", "v1"], "Address": "10.0.0.5",
      "TaggedAddresses": {"lan": {"Address": "10.0.0.5", "Port": 8080}},
      "Meta": {"version": "1.2"}, "Port": 8080, "Weights": {"Passing": 10, "Warning": 1},
      "EnableTagOverride": true})");
  REQUIRE(parsed.ok());
  const store::NodeService& service = parsed->service;
  CHECK(service.id == "web-1");
  CHECK(service.service == "web");
  CHECK(service.tags == std::vector<std::string>{"primary", "v1"});
  CHECK(service.address == "10.0.0.5");
  CHECK(service.tagged_addresses.at("lan") == store::ServiceAddress{"10.0.0.5", 8080});
  CHECK(service.meta.at("version") == "1.2");
  CHECK(service.port == 8080);
  CHECK(service.weights == store::ServiceWeights{10, 1});
  CHECK(service.enable_tag_override);
  CHECK(parsed->checks.empty());
  CHECK_FALSE(parsed->replace_existing_checks);
}

TEST_CASE("python-consul's lowercase keys and snake_case spellings decode") {
  Result<AgentServiceRegistration> parsed = Service(
      R"({"name": "db", "id": "db-1", "port": 5432, "enabletagoverride": true,
          "check": {"http": "http://localhost:5432/", "interval": "10s", "timeout": "1s",
                    "DeregisterCriticalServiceAfter": "90m", "tls_skip_verify": true}})");
  REQUIRE(parsed.ok());
  CHECK(parsed->service.id == "db-1");
  CHECK(parsed->service.enable_tag_override);
  REQUIRE(parsed->checks.size() == 1);
  const store::HealthCheck& check = parsed->checks[0].check;
  CHECK(check.type == "http");
  CHECK(check.definition.http == "http://localhost:5432/");
  CHECK(check.definition.interval_ns == 10'000'000'000);
  CHECK(check.definition.timeout_ns == 1'000'000'000);
  CHECK(check.definition.deregister_critical_service_after_ns == 5'400'000'000'000);
  CHECK(check.definition.tls_skip_verify);
}

TEST_CASE("a service's ID defaults to its Name, its checks to Consul's ids and names") {
  Result<AgentServiceRegistration> one =
      Service(R"({"Name": "web", "Check": {"TTL": "15s", "Status": "passing"}})");
  REQUIRE(one.ok());
  CHECK(one->service.id == "web");
  REQUIRE(one->checks.size() == 1);
  CHECK(one->checks[0].check.check_id == "service:web");
  CHECK(one->checks[0].check.name == "Service 'web' check");
  CHECK(one->checks[0].check.service_id == "web");
  CHECK(one->checks[0].check.status == HealthStatus::kPassing);
  CHECK(one->checks[0].check.type == "ttl");
  CHECK(one->checks[0].check.definition.ttl_ns == 15'000'000'000);

  Result<AgentServiceRegistration> several = Service(
      R"({"Name": "web", "ID": "w1", "Check": {"TTL": "5s"},
          "Checks": [{"TCP": "localhost:80", "Interval": "5s"},
                     {"CheckID": "own", "Name": "mine", "Args": ["/bin/true"], "Interval": 1000000000}]})");
  REQUIRE(several.ok());
  REQUIRE(several->checks.size() == 3);
  CHECK(several->checks[0].check.check_id == "service:w1:1");
  CHECK(several->checks[1].check.check_id == "service:w1:2");
  CHECK(several->checks[1].check.type == "tcp");
  CHECK(several->checks[2].check.check_id == "own");
  CHECK(several->checks[2].check.name == "mine");
  CHECK(several->checks[2].check.type == "script");
  CHECK(several->checks[2].check.definition.script_args == std::vector<std::string>{"/bin/true"});
  CHECK(several->checks[2].check.definition.interval_ns == 1'000'000'000);
  for (const AgentCheck& check : several->checks) {
    CHECK(check.check.service_id == "w1");
    CHECK(check.check.status == HealthStatus::kCritical);  // Consul's initial status
  }
}

TEST_CASE("an empty Check object is skipped, as Consul's CheckType.Empty") {
  Result<AgentServiceRegistration> parsed = Service(R"({"Name": "web", "Check": {}})");
  REQUIRE(parsed.ok());
  CHECK(parsed->checks.empty());
}

TEST_CASE("?replace-existing-checks is on when bare or true") {
  const std::string body = R"({"Name": "web"})";
  CHECK(Service(body, "replace-existing-checks")->replace_existing_checks);
  CHECK(Service(body, "replace-existing-checks=true")->replace_existing_checks);
  CHECK_FALSE(Service(body, "replace-existing-checks=false")->replace_existing_checks);
  CHECK_FALSE(Service(body, "replace-existing-checks=1")->replace_existing_checks);
}

TEST_CASE("service bodies Consul refuses, with its texts") {
  CHECK(ServiceError("") == "Request decode failed: EOF");
  CHECK(ServiceError("{").starts_with("Request decode failed: "));
  CHECK(ServiceError("[]") ==
        "Request decode failed: json: cannot unmarshal array into Go value of type "
        "structs.ServiceDefinition");
  CHECK(ServiceError(R"({"Name": 5})") ==
        "Request decode failed: json: cannot unmarshal number into Go struct field "
        "ServiceDefinition.Name of type string");
  CHECK(ServiceError(R"({"Port": 80})") == "Missing service name");
  CHECK(ServiceError(R"({"Name": "web", "Address": "0.0.0.0"})") == "Invalid service address");
  CHECK(ServiceError(R"({"Name": "web", "Address": "::"})") == "Invalid service address");
  CHECK(ServiceError(R"({"Name": "web", "Weights": {"Passing": 0, "Warning": 1}})") ==
        "Invalid Weights: Passing must be greater than 0");
  CHECK(ServiceError(R"({"Name": "web", "Weights": {"Passing": 1, "Warning": -1}})") ==
        "Invalid Weights: Warning must be greater or equal than 0");
  CHECK(ServiceError(R"({"Name": "web", "Weights": {"Passing": 70000, "Warning": 1}})") ==
        "Invalid Weights: DNS Weight must be between 0 and 65535");
  CHECK(ServiceError(R"({"Name": "web", "Meta": {"bad key": "x"}})") ==
        "Invalid Service Meta: Couldn't load metadata pair ('bad key', 'x'): Key contains "
        "invalid characters");
  CHECK(ServiceError(R"({"Name": "web", "Port": 70000})") ==
        "Invalid port 70000 in ServiceDefinition.Port: must be between 0 and 65535");
  CHECK(ServiceError(R"({"Name": "web", "Port": -1})") ==
        "Invalid port -1 in ServiceDefinition.Port: must be between 0 and 65535");
  CHECK(ServiceError(R"({"Name": "web", "Kind": "connect-proxy"})") ==
        "Service kind \"connect-proxy\" is not supported: Roster registers plain services only");
  CHECK(ServiceError(R"({"Name": "web", "Check": {"Interval": "10s", "TTL": "10s"}})") ==
        "Invalid check: Interval and TTL cannot both be specified");
  CHECK(ServiceError(R"({"Name": "web", "Check": {"HTTP": "http://x/"}})") ==
        "Invalid check: Interval must be > 0 for Script, HTTP, or TCP checks");
  CHECK(ServiceError(R"({"Name": "web", "Checks": [{"Notes": "nothing to run"}]})") ==
        "Invalid check: TTL must be > 0 for TTL checks");
  CHECK(ServiceError(R"({"Name": "web", "Check": {"TTL": "10s", "Status": "ok"}})") ==
        "Status for checks must 'passing', 'warning', 'critical'");
  CHECK(ServiceError(R"({"Name": "web", "Check": {"TTL": "soon"}})") ==
        "Request decode failed: time: invalid duration \"soon\"");
}

TEST_CASE("a check is exactly one kind: Roster refuses several") {
  CHECK(CheckError(R"({"Name": "c", "HTTP": "http://x/", "TCP": "x:1", "Interval": "5s"})") ==
        "Invalid check: only one of TTL, HTTP, TCP or Args may be set");
  CHECK(CheckError(R"({"Name": "c", "Args": ["true"], "TCP": "x:1", "Interval": "5s"})") ==
        "Invalid check: only one of TTL, HTTP, TCP or Args may be set");
}

TEST_CASE("a check body in Consul's shape, its defaults and snake_case spellings") {
  Result<AgentCheck> parsed = ParseAgentCheckRegister(
      R"({"Name": "api alive", "ServiceID": "api", "Notes": "n", "Status": "warning",
          "HTTP": "https://localhost/health", "Method": "POST",
          "Header": {"X-A": ["1", "2"]}, "Body": "{}", "TLSServerName": "api.local",
          "Interval": "1ms", "Timeout": 500000000, "SuccessBeforePassing": 2,
          "failures_before_critical": 3})");
  REQUIRE(parsed.ok());
  const store::HealthCheck& check = parsed->check;
  CHECK(check.check_id == "api alive");  // ID defaults to Name
  CHECK(check.name == "api alive");
  CHECK(check.service_id == "api");
  CHECK(check.notes == "n");
  CHECK(check.status == HealthStatus::kWarning);
  CHECK(check.type == "http");
  CHECK(check.definition.method == "POST");
  CHECK(check.definition.header.at("X-A") == std::vector<std::string>{"1", "2"});
  CHECK(check.definition.body == "{}");
  CHECK(check.definition.tls_server_name == "api.local");
  CHECK(check.definition.interval_ns == 10'000'000);  // raised to Consul's 10ms floor
  CHECK(check.definition.timeout_ns == 500'000'000);
  CHECK(parsed->success_before_passing == 2);
  CHECK(parsed->failures_before_critical == 3);

  Result<AgentCheck> snake = ParseAgentCheckRegister(
      R"({"name": "s", "check_id": "s1", "service_id": "api", "script_args": ["/bin/check"],
          "interval": "30s", "deregister_critical_service_after": "1m"})");
  REQUIRE(snake.ok());
  CHECK(snake->check.check_id == "s1");
  CHECK(snake->check.service_id == "api");
  CHECK(snake->check.type == "script");
  CHECK(snake->check.status == HealthStatus::kCritical);
  CHECK(snake->check.definition.deregister_critical_service_after_ns == 60'000'000'000);

  Result<AgentCheck> ttl = ParseAgentCheckRegister(R"({"ID": "t", "Name": "ttl", "TTL": "30s"})");
  REQUIRE(ttl.ok());
  CHECK(ttl->check.check_id == "t");
  CHECK(ttl->check.type == "ttl");
}

TEST_CASE("check bodies Consul refuses, with its texts") {
  CHECK(CheckError("") == "Request decode failed: EOF");
  CHECK(CheckError(R"("x")") ==
        "Request decode failed: json: cannot unmarshal string into Go value of type "
        "structs.CheckDefinition");
  CHECK(CheckError(R"({"TTL": "10s"})") == "Missing check name");
  CHECK(CheckError(R"({"Name": "c", "TTL": "10s", "Status": "unknown"})") == "Bad check status");
  CHECK(CheckError(R"({"Name": "c"})") == "Invalid check: TTL must be > 0 for TTL checks");
  CHECK(CheckError(R"({"Name": "c", "TCP": "localhost:22"})") ==
        "Invalid check: Interval must be > 0 for Script, HTTP, or TCP checks");
  CHECK(CheckError(R"({"Name": "c", "TTL": "10s", "Interval": "10s"})") ==
        "Invalid check: Interval and TTL cannot both be specified");
  CHECK(CheckError(R"({"Name": "c", "TTL": "-10s"})") ==
        "Request decode failed: CheckDefinition.TTL must not be negative");
  CHECK(CheckError(R"({"Name": "c", "TTL": "10s", "SuccessBeforePassing": -1})") ==
        "Invalid check: SuccessBeforePassing and FailuresBeforeCritical must not be negative");
  CHECK(CheckError(R"({"Name": "c", "TTL": true})") ==
        "Request decode failed: json: cannot unmarshal bool into Go struct field "
        "CheckDefinition.TTL of type int");
}

TEST_CASE("check/update bodies: a status Consul knows, and the output") {
  Result<AgentCheckUpdate> update =
      ParseAgentCheckUpdate(R"({"Status": "warning", "Output": "disk 91%"})");
  REQUIRE(update.ok());
  CHECK(update->status == HealthStatus::kWarning);
  CHECK(update->output == "disk 91%");
  CHECK(ParseAgentCheckUpdate(R"({"status": "passing"})")->status == HealthStatus::kPassing);
  CHECK(ParseAgentCheckUpdate(R"({"Status": "ok"})").status().message() ==
        "Invalid check status: 'ok'");
  CHECK(ParseAgentCheckUpdate(R"({})").status().message() == "Invalid check status: ''");
  CHECK(ParseAgentCheckUpdate("").status().message() == "Request decode failed: EOF");
  CHECK(ParseAgentCheckUpdate(R"({"Output": 3})").status().message() ==
        "Request decode failed: json: cannot unmarshal number into Go struct field "
        "checkUpdate.Output of type string");
}

TEST_CASE("maintenance takes ?enable as a Go bool and an optional reason") {
  Result<MaintenanceRequest> on = ParseMaintenance(Query::Parse("enable=true&reason=patching+os"));
  REQUIRE(on.ok());
  CHECK(on->enable);
  CHECK(on->reason == "patching os");
  CHECK_FALSE(ParseMaintenance(Query::Parse("enable=0"))->enable);
  CHECK(ParseMaintenance(Query::Parse("reason=x")).status().message() ==
        "Missing value for enable");
  CHECK(ParseMaintenance(Query::Parse("enable=yes")).status().message() ==
        "Invalid value for enable: \"yes\"");
  CHECK(ParseMaintenance(Query::Parse("enable")).status().message() ==
        "Invalid value for enable: \"\"");
}

TEST_CASE("the health endpoints answer in text for ?format=text or Accept: text/plain") {
  CHECK(WantsPlainText(Query::Parse("format=text"), ""));
  CHECK(WantsPlainText(Query::Parse(""), "text/plain; charset=utf-8"));
  CHECK_FALSE(WantsPlainText(Query::Parse("format=json"), ""));
  CHECK_FALSE(WantsPlainText(Query::Parse(""), "application/json"));
}

}  // namespace
}  // namespace roster::http
