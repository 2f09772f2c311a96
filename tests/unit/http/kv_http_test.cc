// The KV endpoint end to end (consul-api.md §0, §1.4, §2.2): a real HttpServer over a
// real store, spoken to with real HTTP.
#include <nlohmann/json.hpp>
#include <string>

#include "store/command.h"
#include "tests/unit/http/raw_http.h"
#include "tests/unit/http/test_server.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http::testing {
namespace {

httplib::Result Put(httplib::Client& client, const std::string& target, const std::string& body) {
  return client.Put(target.c_str(), body, "application/octet-stream");
}

std::string Header(const httplib::Result& result, const char* name) {
  return result->get_header_value(name);
}

// The ModifyIndex of a key, through the API.
std::uint64_t ModifyIndex(httplib::Client& client, const std::string& key) {
  auto result = client.Get(("/v1/kv/" + key).c_str());
  REQUIRE(result);
  REQUIRE(result->status == 200);
  return nlohmann::json::parse(result->body)[0]["ModifyIndex"].get<std::uint64_t>();
}

TEST_CASE("PUT then GET: a one-element list in Consul's exact shape, with read headers") {
  TestServer server;
  auto client = server.Client();
  auto put = Put(client, "/v1/kv/web/config", "value");
  REQUIRE(put);
  CHECK(put->status == 200);
  CHECK(put->body == "true");
  CHECK(Header(put, "Content-Type") == "application/json");

  auto get = client.Get("/v1/kv/web/config");
  REQUIRE(get);
  CHECK(get->status == 200);
  CHECK(Header(get, "Content-Type") == "application/json");
  CHECK(get->body ==
        R"([{"LockIndex":0,"Key":"web/config","Flags":0,"Value":"dmFsdWU=","CreateIndex":2,)"
        R"("ModifyIndex":2}])");
  CHECK(Header(get, "X-Consul-Index") == "2");
  CHECK(Header(get, "X-Consul-KnownLeader") == "true");
  CHECK(Header(get, "X-Consul-LastContact") == "0");
  CHECK(Header(get, "X-Consul-Effective-Consistency") == "leader");
}

TEST_CASE("a missing key is a 404 with an empty body and the read headers") {
  TestServer server;
  auto client = server.Client();
  auto fresh = client.Get("/v1/kv/nothing");
  REQUIRE(fresh);
  CHECK(fresh->status == 404);
  CHECK(fresh->body.empty());
  CHECK(Header(fresh, "X-Consul-Index") == "1");  // an empty table's 0, clamped
  CHECK(Header(fresh, "X-Consul-KnownLeader") == "true");
  CHECK(Header(fresh, "X-Consul-LastContact") == "0");

  REQUIRE(Put(client, "/v1/kv/a", "1")->status == 200);
  REQUIRE(Put(client, "/v1/kv/b", "2")->status == 200);
  auto missing = client.Get("/v1/kv/nothing");
  CHECK(missing->status == 404);
  CHECK(Header(missing, "X-Consul-Index") == "3");  // the table index for a missing key
}

TEST_CASE("an empty value is null; flags round-trip as uint64") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/empty?flags=18446744073709551615", "")->status == 200);
  auto get = client.Get("/v1/kv/empty");
  const auto entry = nlohmann::json::parse(get->body)[0];
  CHECK(entry["Value"].is_null());
  CHECK(entry["Flags"].get<std::uint64_t>() == 18446744073709551615ULL);
  CHECK_FALSE(entry.contains("Session"));
}

TEST_CASE("keys are percent-decoded paths, may hold '/', and are case-sensitive") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/dir/a%20b%2Fc%3Fd", "x")->status == 200);
  REQUIRE(Put(client, "/v1/kv/Case", "upper")->status == 200);
  auto get = client.Get("/v1/kv/dir/a%20b/c%3Fd");
  REQUIRE(get->status == 200);
  CHECK(nlohmann::json::parse(get->body)[0]["Key"] == "dir/a b/c?d");
  CHECK(client.Get("/v1/kv/case")->status == 404);
  CHECK(client.Get("/v1/kv/Case")->status == 200);
  CHECK(client.Get("/v1/kv/bad%zz")->status == 400);
  // Keys are bytes; JSON shows bytes that are not UTF-8 as U+FFFD, as Go does.
  REQUIRE(Put(client, "/v1/kv/bin%FFkey", "x")->status == 200);
  auto listing = client.Get("/v1/kv/bin?keys");
  CHECK(listing->status == 200);
  CHECK(listing->body == "[\"bin\xEF\xBF\xBDkey\"]");
  CHECK(client.Get("/v1/kv/bin%FFkey?raw")->body == "x");
}

TEST_CASE("recurse lists a prefix; presence is what counts") {
  TestServer server;
  auto client = server.Client();
  for (const char* key : {"web/a", "web/b", "webx", "db/a"}) {
    REQUIRE(Put(client, std::string("/v1/kv/") + key, key)->status == 200);
  }
  for (const char* target : {"/v1/kv/web/?recurse", "/v1/kv/web/?recurse=true",
                             "/v1/kv/web/?recurse=false", "/v1/kv/web/?recurse=1"}) {
    INFO(target);
    auto get = client.Get(target);
    REQUIRE(get->status == 200);
    const auto list = nlohmann::json::parse(get->body);
    REQUIRE(list.size() == 2);
    CHECK(list[0]["Key"] == "web/a");
    CHECK(list[1]["Key"] == "web/b");
    CHECK(Header(get, "X-Consul-Index") == "3");  // the newest entry under the prefix
  }
  CHECK(nlohmann::json::parse(client.Get("/v1/kv/?recurse")->body).size() == 4);
  auto none = client.Get("/v1/kv/nope/?recurse");
  CHECK(none->status == 404);
  CHECK(none->body.empty());
  CHECK(client.Get("/v1/kv/?recurse")->get_header_value("X-Consul-Index") == "5");
}

TEST_CASE("keys lists names, rolled up at the separator (either spelling)") {
  TestServer server;
  auto client = server.Client();
  auto empty_root = client.Get("/v1/kv/?keys");
  CHECK(empty_root->status == 200);  // no 404 at the root
  CHECK(empty_root->body == "[]");
  for (const char* key : {"web/foo", "web/bar", "web/subdir/x", "web/subdir/y", "other"}) {
    REQUIRE(Put(client, std::string("/v1/kv/") + key, "v")->status == 200);
  }
  CHECK(client.Get("/v1/kv/web/?keys&separator=/")->body ==
        R"(["web/bar","web/foo","web/subdir/"])");
  CHECK(client.Get("/v1/kv/web/?keys&seperator=/")->body ==
        R"(["web/bar","web/foo","web/subdir/"])");
  CHECK(client.Get("/v1/kv/web/?keys")->body ==
        R"(["web/bar","web/foo","web/subdir/x","web/subdir/y"])");
  CHECK(client.Get("/v1/kv/?keys&separator=/")->body == R"(["other","web/"])");
  auto missing = client.Get("/v1/kv/nope/?keys");
  CHECK(missing->status == 404);
  CHECK_FALSE(Header(missing, "X-Consul-Index").empty());
}

TEST_CASE("raw answers the stored bytes as text/plain that browsers may not run") {
  TestServer server;
  auto client = server.Client();
  const std::string bytes("<script>\0\xff", 10);
  REQUIRE(Put(client, "/v1/kv/raw", bytes)->status == 200);
  auto get = client.Get("/v1/kv/raw?raw");
  REQUIRE(get->status == 200);
  CHECK(get->body == bytes);
  CHECK(Header(get, "Content-Type") == "text/plain");
  CHECK(Header(get, "X-Content-Type-Options") == "nosniff");
  CHECK(Header(get, "Content-Security-Policy") == "sandbox");
  CHECK(Header(get, "X-Consul-Index") == "2");
  // With recurse, raw does not apply: the list comes back.
  CHECK(Header(client.Get("/v1/kv/raw?raw&recurse"), "Content-Type") == "application/json");
}

TEST_CASE("cas: 0 creates only if absent; otherwise it must match ModifyIndex") {
  TestServer server;
  auto client = server.Client();
  CHECK(Put(client, "/v1/kv/lock?cas=0", "first")->body == "true");
  CHECK(Put(client, "/v1/kv/lock?cas=0", "second")->body == "false");
  const std::uint64_t index = ModifyIndex(client, "lock");
  CHECK(Put(client, "/v1/kv/lock?cas=" + std::to_string(index + 1), "stale")->body == "false");
  CHECK(Put(client, "/v1/kv/lock?cas=" + std::to_string(index), "third")->body == "true");
  auto get = client.Get("/v1/kv/lock?raw");
  CHECK(get->body == "third");
  const std::uint64_t third = ModifyIndex(client, "lock");
  CHECK(third > index);
  // A plain set always answers true, even when it changes nothing.
  CHECK(Put(client, "/v1/kv/lock", "third")->body == "true");
  CHECK(ModifyIndex(client, "lock") == third);  // the no-op set kept ModifyIndex
}

TEST_CASE("DELETE: a key, a prefix, everything, and cas") {
  TestServer server;
  auto client = server.Client();
  for (const char* key : {"a", "dir/x", "dir/y", "dirx", "z"}) {
    REQUIRE(Put(client, std::string("/v1/kv/") + key, "v")->status == 200);
  }
  CHECK(client.Delete("/v1/kv/a")->body == "true");
  CHECK(client.Get("/v1/kv/a")->status == 404);
  CHECK(client.Delete("/v1/kv/a")->body == "true");  // already gone: still true

  CHECK(client.Delete("/v1/kv/dir/?recurse")->body == "true");
  CHECK(client.Get("/v1/kv/dir/?recurse")->status == 404);
  CHECK(client.Get("/v1/kv/dirx")->status == 200);

  const std::uint64_t index = ModifyIndex(client, "z");
  CHECK(client.Delete(("/v1/kv/z?cas=" + std::to_string(index + 1)).c_str())->body == "false");
  CHECK(client.Delete("/v1/kv/z?cas=0")->body == "false");  // 0 never matches, as in Consul
  CHECK(client.Get("/v1/kv/z")->status == 200);
  CHECK(client.Delete(("/v1/kv/z?cas=" + std::to_string(index)).c_str())->body == "true");
  CHECK(client.Get("/v1/kv/z")->status == 404);
  CHECK(client.Delete("/v1/kv/z?cas=5")->body == "true");  // absent counts as deleted

  CHECK(client.Delete("/v1/kv/?recurse")->body == "true");
  CHECK(client.Get("/v1/kv/?keys")->body == "[]");
}

TEST_CASE("bad requests are 400s with Consul's plain-text messages, before any write") {
  TestServer server;
  auto client = server.Client();
  struct Case {
    const char* method;
    const char* target;
    const char* body;
  };
  for (const Case& c : {
           Case{"PUT", "/v1/kv/", "Missing key name"},
           Case{"DELETE", "/v1/kv/", "Missing key name"},
           Case{"GET", "/v1/kv/", "Missing key name"},
           Case{"PUT", "/v1/kv/k?cas=0&acquire=s1", "Conflicting flags: acquire=s1&cas=0\n"},
           Case{"PUT", "/v1/kv/k?release=s1&acquire=s1",
                "Conflicting flags: acquire=s1&release=s1\n"},
           Case{"PUT", "/v1/kv/k?sequential&cas=0", "Conflicting flags: cas=0&sequential=\n"},
           Case{"PUT", "/v1/kv/k?sequential&release=s1",
                "Conflicting flags: release=s1&sequential=\n"},
           Case{"DELETE", "/v1/kv/k?recurse&cas=3", "Conflicting flags: cas=3&recurse=\n"},
           Case{"PUT", "/v1/kv/k?flags=abc",
                "Invalid flags: must be an unsigned 64-bit integer, got \"abc\""},
           Case{"PUT", "/v1/kv/k?flags=18446744073709551616",
                "Invalid flags: must be an unsigned 64-bit integer, got \"18446744073709551616\""},
           Case{"DELETE", "/v1/kv/k?cas=x",
                "Invalid cas: must be an unsigned 64-bit integer (a ModifyIndex), got \"x\""},
           Case{"GET", "/v1/kv/k?wait=30", "Invalid wait time"},
           Case{"GET", "/v1/kv/k?index=1&wait=-1s", "Invalid wait time"},
           Case{"GET", "/v1/kv/k?index=abc", "Invalid index"},
           Case{"PUT", "/v1/kv/k?index=-1", "Invalid index"},
           Case{"GET", "/v1/kv/k?stale&consistent",
                "Cannot specify ?stale with ?consistent, conflicting semantics."},
       }) {
    INFO(c.method << " " << c.target);
    httplib::Result result = std::string(c.method) == "GET"      ? client.Get(c.target)
                             : std::string(c.method) == "DELETE" ? client.Delete(c.target)
                                                                 : Put(client, c.target, "v");
    REQUIRE(result);
    CHECK(result->status == 400);
    CHECK(result->body == c.body);
    CHECK(Header(result, "Content-Type") == "text/plain; charset=utf-8");
  }
  CHECK(server.backend.apply_count() == 0);
}

TEST_CASE("size limits: a 512 KiB value fits, one byte more is a 413; long keys are 400s") {
  TestServer server;
  auto client = server.Client();
  const std::string largest(store::kKvValueBytesMax, 'v');
  CHECK(Put(client, "/v1/kv/big", largest)->body == "true");
  auto too_big = Put(client, "/v1/kv/big", largest + "v");
  CHECK(too_big->status == 413);
  CHECK(too_big->body ==
        "Request body(524289 bytes) too large, max size: 524288 bytes. See docs/api.md, "
        "\"Limits\".");
  CHECK(client.Get("/v1/kv/big?raw")->body == largest);  // unchanged

  auto over_request_limit = Put(client, "/v1/kv/big", std::string((1 << 20) + 1, 'v'));
  REQUIRE(over_request_limit);
  CHECK(over_request_limit->status == 413);
  CHECK(over_request_limit->body == "Request body too large: the limit is 1048576 bytes");

  CHECK(Put(client, "/v1/kv/" + std::string(1024, 'k'), "v")->status == 200);
  auto long_key = Put(client, "/v1/kv/" + std::string(1025, 'k'), "v");
  CHECK(long_key->status == 400);
  CHECK(long_key->body == "Key too long: 1025 bytes, the limit is 1024 bytes");
  CHECK(server.backend.apply_count() == 2);
}

TEST_CASE("curl-style PUTs: no Content-Length is an empty body; Content-Type is ignored") {
  TestServer server;
  const int fd = ConnectLoopback(server.port());
  REQUIRE(fd >= 0);
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(SendAll(fd, "PUT /v1/kv/empty HTTP/1.1\r\nHost: roster\r\n\r\n"));
  const std::string response = ReadHeaders(fd, std::chrono::milliseconds(5000));
  ::close(fd);
  CHECK(response.starts_with("HTTP/1.1 200"));
  CHECK(MillisecondsSince(start) < 2000);  // not after a read timeout
  auto client = server.Client();
  CHECK(nlohmann::json::parse(client.Get("/v1/kv/empty")->body)[0]["Value"].is_null());

  // curl --data-binary sends application/x-www-form-urlencoded; the bytes stay bytes.
  std::string value = "a=1&b=%20+";
  value.resize(600'000, 'x');
  auto form = client.Put("/v1/kv/form", value, "application/x-www-form-urlencoded");
  CHECK(form->status == 413);  // over 512 KiB: Roster's own check, not httplib's 8 KiB
  CHECK(form->body.starts_with("Request body(600000 bytes) too large"));
  value.resize(500'000);
  CHECK(client.Put("/v1/kv/form", value, "application/x-www-form-urlencoded")->body == "true");
  CHECK(client.Get("/v1/kv/form?raw")->body == value);
}

TEST_CASE("limits are configurable") {
  HttpOptions options = TestOptions();
  options.kv_value_bytes_max = 4;
  options.key_bytes_max = 3;
  TestServer server(options);
  auto client = server.Client();
  CHECK(Put(client, "/v1/kv/abc", "1234")->status == 200);
  CHECK(Put(client, "/v1/kv/abc", "12345")->status == 413);
  CHECK(Put(client, "/v1/kv/abcd", "1")->status == 400);
}

TEST_CASE("?dc: the local datacenter works, another one has no path") {
  HttpOptions options = TestOptions();
  options.datacenter = "east";
  TestServer server(options);
  auto client = server.Client();
  CHECK(Put(client, "/v1/kv/k?dc=east", "v")->status == 200);
  CHECK(client.Get("/v1/kv/k?dc=east")->status == 200);
  auto other = client.Get("/v1/kv/k?dc=dc1");
  CHECK(other->status == 500);
  CHECK(other->body == "No path to datacenter");
  CHECK(Put(client, "/v1/kv/k?dc=west", "v")->status == 500);
  CHECK(server.backend.apply_count() == 1);
}

TEST_CASE("?pretty indents JSON by four spaces, with a final newline") {
  TestServer server;
  auto client = server.Client();
  CHECK(Put(client, "/v1/kv/k?pretty", "v")->body == "true\n");
  CHECK(client.Get("/v1/kv/k?pretty")->body ==
        "[\n    {\n        \"LockIndex\": 0,\n        \"Key\": \"k\",\n        \"Flags\": 0,\n"
        "        \"Value\": \"dg==\",\n        \"CreateIndex\": 2,\n        \"ModifyIndex\": 2\n"
        "    }\n]\n");
}

TEST_CASE("consistency modes reach the backend and come back in the header") {
  TestServer server;
  auto client = server.Client();
  REQUIRE(Put(client, "/v1/kv/k", "v")->status == 200);
  auto stale = client.Get("/v1/kv/k?stale");
  CHECK(Header(stale, "X-Consul-Effective-Consistency") == "stale");
  CHECK(server.backend.last_read_mode() == Consistency::kStale);
  auto consistent = client.Get("/v1/kv/k?consistent");
  CHECK(Header(consistent, "X-Consul-Effective-Consistency") == "consistent");
  CHECK(server.backend.last_read_mode() == Consistency::kConsistent);
}

TEST_CASE("backend errors map to Consul's codes and say what to do") {
  TestServer server;
  auto client = server.Client();
  server.backend.FailWritesWith(Unavailable("No cluster leader"));
  auto no_leader = Put(client, "/v1/kv/k", "v");
  CHECK(no_leader->status == 500);
  CHECK(no_leader->body == "No cluster leader");
  CHECK(Header(no_leader, "Content-Type") == "text/plain; charset=utf-8");

  server.backend.FailWritesWith(Status(StatusCode::kResourceExhausted, "data disk is full"));
  auto full = Put(client, "/v1/kv/k", "v");
  CHECK(full->status == 500);
  CHECK(full->body.find("data disk is full") != std::string::npos);
  CHECK(full->body.find("free space") != std::string::npos);

  server.backend.FailWritesWith(IoError("fsync failed"));
  auto io = client.Delete("/v1/kv/k");
  CHECK(io->status == 500);
  CHECK(io->body.find("fsync failed") != std::string::npos);

  server.backend.FailWritesWith(InvalidArgument("bad command"));
  CHECK(Put(client, "/v1/kv/k", "v")->status == 400);

  server.backend.FailReadsWith(Unavailable("No cluster leader"));
  auto read = client.Get("/v1/kv/k");
  CHECK(read->status == 500);
  CHECK(read->body == "No cluster leader");
}

TEST_CASE("methods: 405 with Allow, OPTIONS answers Allow, HEAD reads") {
  TestServer server;
  auto client = server.Client();
  auto post = client.Post("/v1/kv/k", "v", "text/plain");
  REQUIRE(post);
  CHECK(post->status == 405);
  CHECK(Header(post, "Allow") == "OPTIONS,GET,PUT,DELETE");
  CHECK(post->body == "method POST not allowed");
  auto options = client.Options("/v1/kv/k");
  CHECK(options->status == 200);
  CHECK(Header(options, "Allow") == "OPTIONS,GET,PUT,DELETE");
  REQUIRE(Put(client, "/v1/kv/k", "v")->status == 200);
  auto head = client.Head("/v1/kv/k");
  CHECK(head->status == 200);
  CHECK(Header(head, "X-Consul-Index") == "2");
  CHECK(server.backend.apply_count() == 1);
}

TEST_CASE("unknown paths are 404s") {
  TestServer server;
  auto client = server.Client();
  for (const char* target : {"/v1/nope", "/v1/kv", "/v2/kv/k", "/v1/status/leaderx"}) {
    INFO(target);
    auto result = client.Get(target);
    CHECK(result->status == 404);
    CHECK(Header(result, "Content-Type") == "text/plain; charset=utf-8");
  }
  CHECK(client.Get("/")->body == "Roster Agent");
}

}  // namespace
}  // namespace roster::http::testing
