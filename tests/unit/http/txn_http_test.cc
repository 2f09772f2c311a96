// PUT /v1/txn end to end (consul-api.md §1.5; Consul's agent/txn_endpoint.go): commit
// and rollback, the read-only path with its consistency modes, Consul's limits and
// texts, and refusals that write nothing.
#include <string>

#include "tests/unit/http/api_test_util.h"

namespace roster::http::testing {
namespace {

using nlohmann::json;

httplib::Result Txn(httplib::Client& client, const std::string& body,
                    const std::string& query = "") {
  return client.Put(("/v1/txn" + query).c_str(), body, "application/json");
}

// {"KV": {...}} for a verb and key, with the given extra fields.
json KvOp(const std::string& verb, const std::string& key, json fields = json::object()) {
  fields["Verb"] = verb;
  fields["Key"] = key;
  return json{{"KV", fields}};
}

TEST_CASE("a committed transaction: 200, Results in op order, values only for reads") {
  TestServer server;
  auto client = server.Client();
  const json body =
      json::array({KvOp("set", "a", {{"Value", "MQ=="}, {"Flags", 3}}),
                   KvOp("set", "b", {{"Value", "Mg=="}}), KvOp("get", "a"), KvOp("delete", "zzz")});
  auto result = Txn(client, body.dump());
  REQUIRE(result->status == 200);
  CHECK(result->get_header_value("Content-Type") == "application/json");
  CHECK(
      result->body ==
      R"({"Results":[)"
      R"({"KV":{"LockIndex":0,"Key":"a","Flags":3,"Value":null,"CreateIndex":2,"ModifyIndex":2}},)"
      R"({"KV":{"LockIndex":0,"Key":"b","Flags":0,"Value":null,"CreateIndex":2,"ModifyIndex":2}},)"
      R"({"KV":{"LockIndex":0,"Key":"a","Flags":3,"Value":"MQ==","CreateIndex":2,"ModifyIndex":2}}],)"
      R"("Errors":null})");
  CHECK(result->get_header_value("X-Consul-Index").empty());  // writes carry no index
  CHECK(KvEntry(client, "b")["Value"] == "Mg==");

  // Only deletes: nothing to report, and Results is null, as in Consul.
  auto deletes = Txn(client, json::array({KvOp("delete", "a"), KvOp("delete-tree", "")}).dump());
  CHECK(deletes->status == 200);
  CHECK(deletes->body == R"({"Results":null,"Errors":null})");
  CHECK(client.Get("/v1/kv/?recurse")->status == 404);
}

TEST_CASE("a rolled-back transaction: 409, every failed op, nothing applied") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(client.Put("/v1/kv/existing", "v", "text/plain")->body == "true");  // index 2
  const json body = json::array({KvOp("set", "new", {{"Value", "eA=="}}),
                                 KvOp("cas", "existing", {{"Index", 99}, {"Value", "eQ=="}}),
                                 KvOp("get", "missing")});
  auto result = Txn(client, body.dump());
  CHECK(result->status == 409);
  CHECK(result->get_header_value("Content-Type") == "application/json");
  CHECK(result->body == R"({"Results":null,"Errors":[)"
                        R"({"OpIndex":1,"What":"failed to set key \"existing\", index is stale"},)"
                        R"({"OpIndex":2,"What":"key \"missing\" doesn't exist"}]})");
  CHECK(KvEntry(client, "new").is_null());
  CHECK(KvEntry(client, "existing")["Value"] == "dg==");
}

TEST_CASE("lock verbs in a transaction use sessions like ?acquire") {
  TestServer server;
  RegisterSelf(server.backend);
  auto client = server.Client();
  const std::string session = CreateSession(client);
  auto locked = Txn(client, json::array({KvOp("lock", "leader", {{"Session", session}}),
                                         KvOp("check-session", "leader", {{"Session", session}})})
                                .dump());
  REQUIRE(locked->status == 200);
  CHECK(JsonOf(locked)["Results"][0]["KV"]["LockIndex"] == 1);
  CHECK(JsonOf(locked)["Results"][1]["KV"]["Session"] == session);
  auto bad_session =
      Txn(client, json::array({KvOp("lock", "other", {{"Session", "nope"}})}).dump());
  CHECK(bad_session->status == 409);
  CHECK(JsonOf(bad_session)["Errors"][0]["What"] == R"(invalid session "nope")");
}

TEST_CASE("a read-only transaction takes the read path with the consistency mode") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(client.Put("/v1/kv/k", "v", "text/plain")->body == "true");
  const std::size_t applied = server.backend.apply_count();
  const std::string reads = json::array({KvOp("get", "k"), KvOp("check-index", "k", {{"Index", 2}}),
                                         KvOp("get-or-empty", "none"), KvOp("get-tree", "")})
                                .dump();
  auto stale = Txn(client, reads, "?stale");
  REQUIRE(stale->status == 200);
  CHECK(server.backend.last_read_mode() == Consistency::kStale);
  CHECK(stale->get_header_value("X-Consul-KnownLeader") == "true");
  CHECK(stale->get_header_value("X-Consul-LastContact") == "0");
  CHECK(stale->get_header_value("X-Consul-Index").empty());
  const json results = JsonOf(stale)["Results"];
  REQUIRE(results.size() == 4);
  CHECK(results[0]["KV"]["Value"] == "dg==");
  CHECK(results[2]["KV"] == json::parse(R"({"LockIndex":0,"Key":"none","Flags":0,"Value":null,)"
                                        R"("CreateIndex":0,"ModifyIndex":0})"));
  REQUIRE(Txn(client, reads, "?consistent")->status == 200);
  CHECK(server.backend.last_read_mode() == Consistency::kConsistent);
  REQUIRE(Txn(client, reads)->status == 200);
  CHECK(server.backend.last_read_mode() == Consistency::kDefault);
  CHECK(server.backend.apply_count() == applied);  // no log entry for reads

  auto failed_check = Txn(client, json::array({KvOp("check-not-exists", "k")}).dump());
  CHECK(failed_check->status == 409);
  CHECK(failed_check->body ==
        R"({"Results":null,"Errors":[{"OpIndex":0,"What":"key \"k\" exists"}]})");
  CHECK(Txn(client, reads, "?stale&consistent")->status == 400);
  CHECK(Txn(client, "[]")->body == R"({"Results":null,"Errors":null})");
  server.backend.FailReadsWith(Unavailable("No cluster leader"));
  auto no_leader = Txn(client, reads);
  CHECK(no_leader->status == 500);
  CHECK(no_leader->body == "No cluster leader");
}

TEST_CASE("field names match without regard to case, as Go decodes them") {
  TestServer server;
  auto client = server.Client();
  auto result = Txn(client, R"([{"kv":{"verb":"set","key":"k","value":"aGk=","flags":1}}])");
  REQUIRE(result->status == 200);
  CHECK(KvEntry(client, "k")["Value"] == "aGk=");
}

TEST_CASE("limits: 128 ops fit, 129 are Consul's 413; a large body or value is a 413") {
  TestServer server;
  auto client = server.Client();
  const auto ops = [](int count) {
    json body = json::array();
    for (int i = 0; i < count; ++i) body.push_back(KvOp("set", "k" + std::to_string(i)));
    return body.dump();
  };
  CHECK(Txn(client, ops(128))->status == 200);
  const std::size_t applied = server.backend.apply_count();
  auto too_many = Txn(client, ops(129));
  CHECK(too_many->status == 413);
  CHECK(too_many->body == "Transaction contains too many operations (129 > 128)");

  const std::string big_value(400 * 1024, 'A');  // base64 of 300 KiB
  auto too_long = Txn(client, json::array({KvOp("set", "a", {{"Value", big_value}}),
                                           KvOp("set", "b", {{"Value", big_value}})})
                                  .dump());
  CHECK(too_long->status == 413);
  CHECK(too_long->body == "Request body too large, max size: 524288 bytes");

  HttpOptions small = TestOptions();
  small.kv_value_bytes_max = 1024;
  small.txn_body_bytes_max = 64 * 1024;
  TestServer strict(small);
  auto strict_client = strict.Client();
  auto value_too_big = Txn(
      strict_client, json::array({KvOp("set", "big", {{"Value", std::string(1368, 'A')}})}).dump());
  CHECK(value_too_big->status == 413);
  CHECK(value_too_big->body == R"(Value for key "big" is too large (1026 > 1024 bytes))");
  CHECK(server.backend.apply_count() == applied);
}

TEST_CASE("malformed transactions are 400s that name the problem, and write nothing") {
  TestServer server;
  auto client = server.Client();
  struct Case {
    std::string body;
    std::string text;
  };
  for (const Case& c : {
           Case{"[{", ""},
           Case{R"({"KV":{}})",
                "Failed to parse body: json: cannot unmarshal object into Go value of type "
                "api.TxnOps"},
           Case{R"([{"KV":{"Verb":"set","Key":"a"}},{"KV":{"Verb":"frob","Key":"b"}}])",
                R"(Failed to parse body: op 1: unknown KV verb "frob")"},
           Case{R"([{"KV":{"Verb":"set","Key":"a","Value":"not base64!"}}])",
                "Failed to parse body: failed to decode value: illegal base64 data at input "
                "byte 3"},
           Case{R"([{"KV":{"Verb":"set","Key":"a","Value":5}}])",
                "Failed to parse body: unexpected value type: float64"},
           Case{R"([{"KV":{"Verb":"set","Key":"a","Flags":-1}}])",
                "Failed to parse body: json: cannot unmarshal number -1 into Go struct field "
                "TxnOp.KV.Flags of type uint64"},
           Case{R"([{"KV":{"Verb":"set","Key":"a"}},{"Node":{"Verb":"set"}}])",
                "Failed to parse body: op 1: Node operations are not supported by Roster yet; "
                "only KV operations are"},
           Case{R"([{"Service":{"Verb":"get"}}])",
                "Failed to parse body: op 0: Service operations are not supported by Roster "
                "yet; only KV operations are"},
           Case{R"([{}])", "Failed to parse body: op 0 has no KV operation"},
           Case{R"([{"KV":{"Verb":"set","Key":""}}])", "op 0: Missing key name"},
           Case{R"([{"KV":{"Verb":"set","Key":")" + std::string(1025, 'k') + R"("}}])",
                "op 0: Key too long: 1025 bytes, the limit is 1024 bytes"},
       }) {
    INFO(c.body.substr(0, 80));
    auto result = Txn(client, c.body);
    CHECK(result->status == 400);
    if (c.text.empty()) {
      CHECK(result->body.starts_with("Failed to parse body: "));
    } else {
      CHECK(result->body == c.text);
    }
  }
  CHECK(server.backend.apply_count() == 0);
  CHECK(client.Get("/v1/txn")->status == 405);
}

}  // namespace
}  // namespace roster::http::testing
