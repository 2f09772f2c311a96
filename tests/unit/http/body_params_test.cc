// The pure parsers behind the session, lock and transaction endpoints: Go-style JSON
// decoding and base64 (json_decode.h), session create bodies (session_params.h),
// transaction bodies (txn_params.h), the KV lock and sequential parameters
// (kv_params.h), and Go's duration formatting (params.h).
#include <string>
#include <variant>

#include "http/json_decode.h"
#include "http/kv_params.h"
#include "http/params.h"
#include "http/session_params.h"
#include "http/txn_params.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST_CASE("FormatGoDuration writes what Go's Duration.String writes") {
  CHECK(FormatGoDuration(nanoseconds(0)) == "0s");
  CHECK(FormatGoDuration(nanoseconds(1)) == "1ns");
  CHECK(FormatGoDuration(nanoseconds(1'500)) == "1.5µs");
  CHECK(FormatGoDuration(milliseconds(250)) == "250ms");
  CHECK(FormatGoDuration(std::chrono::seconds(10)) == "10s");
  CHECK(FormatGoDuration(milliseconds(10'500)) == "10.5s");
  CHECK(FormatGoDuration(std::chrono::minutes(1)) == "1m0s");
  CHECK(FormatGoDuration(std::chrono::hours(24)) == "24h0m0s");
  CHECK(FormatGoDuration(std::chrono::hours(1) + std::chrono::minutes(2) + milliseconds(3'500)) ==
        "1h2m3.5s");
  CHECK(FormatGoDuration(-std::chrono::seconds(90)) == "-1m30s");
  CHECK(FormatGoDuration(nanoseconds(std::numeric_limits<std::int64_t>::min())) ==
        "-2562047h47m16.854775808s");
  for (const char* text : {"1h2m3.5s", "1.5µs", "24h0m0s", "-1m30s", "999ms"}) {
    CHECK(FormatGoDuration(*ParseGoDuration(text)) == text);
  }
}

TEST_CASE("Base64Decode is Go's StdEncoding: padding required, newlines skipped") {
  CHECK(*Base64Decode("") == "");
  CHECK(*Base64Decode("aGVsbG8=") == "hello");
  CHECK(*Base64Decode("aGVs\r\nbG8=") == "hello");
  CHECK(*Base64Decode("AAEC/w==") == std::string("\x00\x01\x02\xff", 4));
  CHECK(Base64Decode("aGVsbG8").status().message() == "illegal base64 data at input byte 7");
  CHECK(Base64Decode("aGVs bG8=").status().message() == "illegal base64 data at input byte 4");
  CHECK_FALSE(Base64Decode("aGVsbG8=aGVs").ok());
  CHECK_FALSE(Base64Decode("a===").ok());
}

TEST_CASE("FindField prefers the exact name, then any ASCII case") {
  const Json json = Json::parse(R"({"ttl":"1s","TTL":"2s","lockDelay":null})");
  CHECK(*FindField(json, "TTL") == "2s");
  CHECK(*FindField(json, "Ttl") == "1s");
  CHECK(FindField(json, "LockDelay")->is_null());
  CHECK(FindField(json, "Name") == nullptr);
}

TEST_CASE("ParseJsonBody refuses deep nesting before parsing, and huge numbers as a 400") {
  CHECK(ParseJsonBody(std::string(100, '[') + std::string(100, ']'), 8).status().message() ==
        "JSON nested deeper than 8 levels");
  CHECK(ParseJsonBody(R"(["[[[[[[[[[[[["])", 2).ok());  // brackets in strings do not count
  CHECK(ParseJsonBody("1E999", 8).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("session create: defaults, and the rules Consul applies") {
  SessionCreateRules rules;
  rules.default_node = "node-1";
  Result<store::Session> defaults = ParseSessionCreate("", rules);
  REQUIRE(defaults.ok());
  CHECK(defaults->node == "node-1");
  CHECK(defaults->lock_delay_ms == 15'000);
  CHECK(defaults->behavior == store::SessionBehavior::kRelease);
  CHECK(defaults->ttl_ms == 0);
  CHECK(defaults->node_checks == std::vector<std::string>{"serfHealth"});
  CHECK(defaults->id.empty());

  CHECK(ParseSessionCreate("null", rules)->node == "node-1");
  CHECK(ParseSessionCreate(R"({"LockDelay":true})", rules)->lock_delay_ms == 0);  // Go's quirk
  CHECK(ParseSessionCreate(R"({"LockDelay":-5})", rules)->lock_delay_ms == 0);
  CHECK(ParseSessionCreate(R"({"LockDelay":999})", rules)->lock_delay_ms == 60'000);
  CHECK(ParseSessionCreate(R"({"TTL":"10s"})", rules)->ttl_ms == 10'000);
  CHECK(ParseSessionCreate(R"({"TTL":"-10s"})", rules).status().code() ==
        StatusCode::kFailedPrecondition);
  rules.ttl_min = std::chrono::seconds(1);
  CHECK(ParseSessionCreate(R"({"TTL":"500ms"})", rules).status().message() ==
        "Invalid Session TTL '500000000', must be between [1s=24h0m0s]");
  CHECK(ParseSessionCreate(R"({"ServiceChecks":[null,{"id":"web"}]})", rules)->service_checks ==
        std::vector<store::ServiceCheckRef>{{"", ""}, {"web", ""}});
  CHECK(ParseSessionCreate(R"({"ServiceChecks":["web"]})", rules).status().message() ==
        "Request decode failed: json: cannot unmarshal string into Go struct field "
        "Session.ServiceChecks of type structs.ServiceCheck");
  rules.default_node = "";
  CHECK(ParseSessionCreate("", rules).status().message() == "Must provide Node");
}

TEST_CASE("session ids are version-4 UUIDs, and TTLs read as clients write them") {
  const std::string id = NewSessionId();
  CHECK(id.size() == 36);
  CHECK(id[14] == '4');
  CHECK(std::string("89ab").find(id[19]) != std::string::npos);
  CHECK(NewSessionId() != id);
  CHECK(SessionTtlString(0) == "");
  CHECK(SessionTtlString(30'000) == "30s");
  CHECK(SessionTtlString(86'400'000) == "86400s");
  CHECK(SessionTtlString(10'250) == "10.25s");
}

TEST_CASE("transaction bodies: ops in order, Go decoding, Consul's checks") {
  const TxnLimits limits;
  Result<store::Txn> txn =
      ParseTxnBody(R"([{"KV":{"Verb":"cas","Key":"k","Value":"dg==","Flags":7,"Index":3}},)"
                   R"({"kv":{"verb":"check-session","key":"k","session":"s"}},)"
                   R"({"KV":{"Verb":"delete-tree","Key":""},"Node":null}])",
                   limits);
  REQUIRE(txn.ok());
  REQUIRE(txn->ops.size() == 3);
  CHECK(txn->ops[0] == store::TxnKvOp{store::TxnVerb::kCas, "k", "v", 7, 3, ""});
  CHECK(txn->ops[1] == store::TxnKvOp{store::TxnVerb::kCheckSession, "k", "", 0, 0, "s"});
  CHECK(txn->ops[2].verb == store::TxnVerb::kDeleteTree);
  CHECK(ParseTxnBody("null", limits)->ops.empty());
  CHECK(ParseTxnBody(R"([{"KV":{"Verb":"Set","Key":"k"}}])", limits).status().message() ==
        R"(Failed to parse body: op 0: unknown KV verb "Set")");  // verbs are case-sensitive
  CHECK(
      ParseTxnBody(R"([{"KV":{"Verb":"set","Key":"k","Flags":1.5}}])", limits).status().message() ==
      "Failed to parse body: json: cannot unmarshal number 1.5 into Go struct field "
      "TxnOp.KV.Flags of type uint64");
  CHECK(ParseTxnBody(R"([{"KV":"set"}])", limits).status().message() ==
        "Failed to parse body: json: cannot unmarshal string into Go struct field TxnOp.KV of "
        "type api.KVTxnOp");
  CHECK(ParseTxnBody(R"([{"KV":{"Verb":"get","Key":""}}])", limits).ok());  // reads may
  TxnLimits small;
  small.body_bytes_max = 10;
  small.value_bytes_max = 20;
  CHECK(ParseTxnBody(std::string(21, ' '), small).status().message() ==
        "Request body too large, max size: 20 bytes");
  CHECK(ParseTxnBody(std::string(21, ' '), small).status().code() ==
        StatusCode::kResourceExhausted);
}

TEST_CASE("KV puts with locks and sequential keys") {
  Result<KvWrite> acquire = ParseKvPut("k", Query::Parse("acquire=s1&flags=2"), "v", 1024);
  REQUIRE(acquire.ok());
  CHECK(std::get<store::KvLock>(acquire->command) == store::KvLock{"k", "v", 2, "s1"});
  CHECK(acquire->reply == KvWriteReply::kOutcome);
  Result<KvWrite> release = ParseKvPut("k", Query::Parse("release=s1"), "v", 1024);
  CHECK(std::get<store::KvUnlock>(release->command) == store::KvUnlock{"k", "v", 0, "s1"});
  CHECK(release->reply == KvWriteReply::kOutcome);
  CHECK(ParseKvPut("k", Query::Parse("acquire="), "v", 1024).status() ==
        FailedPrecondition("missing session"));

  Result<KvWrite> sequential = ParseKvPut("q/", Query::Parse("sequential&acquire=s1"), "v", 1024);
  REQUIRE(sequential.ok());
  CHECK(std::get<store::KvCreateSequential>(sequential->command) ==
        store::KvCreateSequential{"q/", "v", 0, "s1"});
  CHECK(sequential->reply == KvWriteReply::kEntry);
  CHECK(ParseKvPut("", Query::Parse("sequential"), "v", 1024).ok());
  CHECK(ParseKvPut(std::string(1004, 'k'), Query::Parse("sequential"), "v", 1024).ok());
  CHECK_FALSE(ParseKvPut(std::string(1005, 'k'), Query::Parse("sequential"), "v", 1024).ok());
  CHECK(ParseKvPut("q/", Query::Parse("sequential&cas=0"), "v", 1024).status().message() ==
        "Conflicting flags: cas=0&sequential=\n");
}

}  // namespace
}  // namespace roster::http
