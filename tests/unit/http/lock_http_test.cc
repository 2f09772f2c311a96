// KV locks (?acquire, ?release; consul-api.md §1.4, §3.3) and Roster's sequential keys
// (?sequential) end to end: LockIndex as a fencing token, Consul's answers and errors,
// and what ending a session does to the keys it holds.
#include <set>
#include <string>
#include <vector>

#include "tests/unit/http/api_test_util.h"

namespace roster::http::testing {
namespace {

using nlohmann::json;

httplib::Result Put(httplib::Client& client, const std::string& target, const std::string& value) {
  return client.Put(target.c_str(), value, "application/octet-stream");
}

TEST_CASE("acquire and release: Consul's answers and the LockIndex sequence") {
  TestServer server;
  RegisterSelf(server.backend);
  auto client = server.Client();
  const std::string s1 = CreateSession(client);
  const std::string s2 = CreateSession(client);

  CHECK(Put(client, "/v1/kv/lock?acquire=" + s1, "one")->body == "true");
  json entry = KvEntry(client, "lock");
  CHECK(entry["Session"] == s1);
  CHECK(entry["LockIndex"] == 1);
  CHECK(entry["Value"] == "b25l");  // "one"

  CHECK(Put(client, "/v1/kv/lock?acquire=" + s2, "two")->body == "false");  // held
  CHECK(KvEntry(client, "lock")["Session"] == s1);
  CHECK(Put(client, "/v1/kv/lock?acquire=" + s1, "again")->body == "true");  // re-acquire
  entry = KvEntry(client, "lock");
  CHECK(entry["LockIndex"] == 1);  // the same holder: no new fencing token
  CHECK(entry["Value"] == "YWdhaW4=");

  CHECK(Put(client, "/v1/kv/lock?release=" + s2, "x")->body == "false");  // not the holder
  CHECK(Put(client, "/v1/kv/lock?release=" + s1, "free")->body == "true");
  entry = KvEntry(client, "lock");
  CHECK_FALSE(entry.contains("Session"));
  CHECK(entry["LockIndex"] == 1);  // a release keeps it

  CHECK(Put(client, "/v1/kv/lock?acquire=" + s2, "two")->body == "true");
  entry = KvEntry(client, "lock");
  CHECK(entry["Session"] == s2);
  CHECK(entry["LockIndex"] == 2);  // a new holder: the next token

  // Locks are advisory: a plain write goes through and keeps the holder.
  CHECK(Put(client, "/v1/kv/lock", "overwrite")->body == "true");
  CHECK(KvEntry(client, "lock")["Session"] == s2);
  // Release of a key nobody holds, or by an unknown session: false, not an error.
  CHECK(Put(client, "/v1/kv/other?release=" + s1, "")->body == "false");
  CHECK(Put(client, "/v1/kv/lock?release=no-such-session", "")->body == "false");
}

TEST_CASE("acquire with an unknown or empty session is Consul's 500, and writes nothing") {
  TestServer server;
  auto client = server.Client();
  auto unknown = Put(client, "/v1/kv/k?acquire=no-such-session", "v");
  CHECK(unknown->status == 500);
  CHECK(unknown->body == R"(invalid session "no-such-session")");
  CHECK(client.Get("/v1/kv/k")->status == 404);

  const std::size_t applied = server.backend.apply_count();
  for (const char* target : {"/v1/kv/k?acquire=", "/v1/kv/k?release="}) {
    auto empty = Put(client, target, "v");
    CHECK(empty->status == 500);
    CHECK(empty->body == "missing session");
  }
  CHECK(server.backend.apply_count() == applied);  // refused before the log
}

TEST_CASE("ending a session releases its locks, or deletes its keys with behavior delete") {
  TestServer server;
  RegisterSelf(server.backend);
  auto client = server.Client();
  const std::string releasing = CreateSession(client);
  const std::string deleting = CreateSession(client, R"({"Behavior":"delete"})");
  REQUIRE(Put(client, "/v1/kv/a?acquire=" + releasing, "x")->body == "true");
  REQUIRE(Put(client, "/v1/kv/b?acquire=" + deleting, "y")->body == "true");

  REQUIRE(client.Put(("/v1/session/destroy/" + releasing).c_str(), "", "")->body == "true");
  const json a = KvEntry(client, "a");
  CHECK_FALSE(a.contains("Session"));
  CHECK(a["LockIndex"] == 1);
  REQUIRE(client.Put(("/v1/session/destroy/" + deleting).c_str(), "", "")->body == "true");
  CHECK(KvEntry(client, "b").is_null());
}

TEST_CASE("sequential keys: unique, increasing, the created entry as an object") {
  TestServer server;
  auto client = server.Client();
  std::vector<std::string> keys;
  for (const char* value : {"first", "second", "third"}) {
    auto created = Put(client, "/v1/kv/queue/job-?sequential&flags=7", value);
    REQUIRE(created->status == 200);
    CHECK(created->get_header_value("Content-Type") == "application/json");
    const json entry = JsonOf(created);
    REQUIRE(entry.is_object());  // one entry, not a list
    const std::string key = entry["Key"];
    CHECK(key.size() == std::string("queue/job-").size() + 20);
    CHECK(key.starts_with("queue/job-"));
    // The suffix is the creating index, zero-padded: the entry's CreateIndex.
    CHECK(std::stoull(key.substr(10)) == entry["CreateIndex"].get<std::uint64_t>());
    CHECK(entry["Flags"] == 7);
    CHECK(entry["LockIndex"] == 0);
    CHECK_FALSE(entry.contains("Session"));
    CHECK(KvEntry(client, key)["Key"] == key);
    keys.push_back(key);
  }
  CHECK(keys[0] < keys[1]);
  CHECK(keys[1] < keys[2]);
  CHECK(std::set<std::string>(keys.begin(), keys.end()).size() == 3);
  auto listing = client.Get("/v1/kv/queue/?keys");
  CHECK(JsonOf(listing) == json(keys));  // key order is creation order

  // An empty prefix is allowed: the key is just the 20 digits.
  auto bare = Put(client, "/v1/kv/?sequential", "v");
  REQUIRE(bare->status == 200);
  CHECK(JsonOf(bare)["Key"].get<std::string>().size() == 20);
}

TEST_CASE("sequential with acquire: an ephemeral-sequential key held by the session") {
  TestServer server;
  RegisterSelf(server.backend);
  auto client = server.Client();
  const std::string session = CreateSession(client, R"({"Behavior":"delete"})");
  auto created = Put(client, "/v1/kv/election/candidate-?sequential&acquire=" + session, "me");
  REQUIRE(created->status == 200);
  const json entry = JsonOf(created);
  CHECK(entry["Session"] == session);
  CHECK(entry["LockIndex"] == 1);
  const std::string key = entry["Key"];
  REQUIRE(client.Put(("/v1/session/destroy/" + session).c_str(), "", "")->body == "true");
  CHECK(KvEntry(client, key).is_null());

  auto unknown = Put(client, "/v1/kv/election/candidate-?sequential&acquire=gone", "me");
  CHECK(unknown->status == 500);
  CHECK(unknown->body == R"(invalid session "gone")");
  auto too_long = Put(client, "/v1/kv/" + std::string(1005, 'p') + "?sequential", "v");
  CHECK(too_long->status == 400);
  CHECK(too_long->body == "Key too long: 1005 bytes, the limit is 1004 bytes");
}

}  // namespace
}  // namespace roster::http::testing
