// SessionClient: the session and KV calls the CLI recipes (lock, elect, watch) share,
// typed over client::HttpClient: create/renew/destroy a session, read a key or a prefix
// (optionally blocking and consistent), acquire/release, CAS, and the ?sequential
// extension. HTTP and JSON details stop here; recipes see KvEntry values and Status.
//
// Thread-safety: one thread per instance (like HttpClient), except Abort(). Each
// background loop of a recipe owns its own SessionClient.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/recipes.h"
#include "client/http_client.h"

namespace roster::cli {

struct SessionOptions {
  std::string name;
  std::chrono::milliseconds ttl{15000};         // api.Lock's DefaultLockSessionTTL
  std::string behavior = "release";             // or "delete"
  std::chrono::milliseconds lock_delay{15000};  // Consul's default
};

struct ReadOptions {
  std::uint64_t index = 0;            // > 0: a blocking query that waits for a newer index
  std::chrono::milliseconds wait{0};  // with index: the longest wait (0: server default)
  bool consistent = false;
};

// One read: the entries (empty when the key or prefix is absent, a 404) and the
// X-Consul-Index to block on next.
struct KvRead {
  std::vector<KvEntry> entries;
  std::uint64_t index = 0;
};

class SessionClient {
 public:
  explicit SessionClient(std::string address, std::chrono::milliseconds read_timeout =
                                                  client::HttpClient::kReadTimeoutDefault);

  const std::string& address() const { return address_; }

  // PUT /v1/session/create; returns the session id.
  Result<std::string> CreateSession(const SessionOptions& options);
  // PUT /v1/session/renew/<id>: true if renewed, false if the session no longer exists
  // (404); an error when the server cannot answer.
  Result<bool> RenewSession(const std::string& id);
  Status DestroySession(const std::string& id);

  // GET /v1/kv/<key>.
  Result<KvRead> Get(const std::string& key, const ReadOptions& options = {});
  // GET /v1/kv/<prefix>?recurse.
  Result<KvRead> List(const std::string& prefix, const ReadOptions& options = {});
  // GET /v1/kv/<prefix>?keys: the key names.
  Result<std::vector<std::string>> Keys(const std::string& prefix, const ReadOptions& options = {});

  // PUT ?acquire=<session>&flags=<flags>: the server's true/false.
  Result<bool> Acquire(const std::string& key, const std::string& value, std::uint64_t flags,
                       const std::string& session);
  // PUT ?release=<session>&flags=<flags>. A release writes value and flags like any
  // PUT, so api.Lock passes the lock's own (else the key would lose kLockFlagValue).
  Result<bool> Release(const std::string& key, const std::string& value, std::uint64_t flags,
                       const std::string& session);
  // PUT ?cas=<index>&flags=<flags> (index 0: create only if absent).
  Result<bool> Cas(const std::string& key, const std::string& value, std::uint64_t flags,
                   std::uint64_t index);
  // DELETE ?cas=<index>; true also when the key was already gone.
  Result<bool> DeleteCas(const std::string& key, std::uint64_t index);
  Result<bool> Delete(const std::string& key);
  // PUT /v1/kv/<prefix>?sequential&acquire=<session> (Roster extension): creates
  // <prefix><20-digit index> held by session and returns the created entry.
  Result<KvEntry> CreateSequential(const std::string& prefix, const std::string& value,
                                   const std::string& session);

  // Fails a request in flight on another thread (HttpClient::Abort).
  void Abort() { http_.Abort(); }

 private:
  Result<KvRead> Read(const std::string& path_and_query);
  Result<bool> WriteBool(const std::string& method, const std::string& path,
                         const std::string& body);

  std::string address_;
  client::HttpClient http_;
};

// An HTTP status other than 200 as a Status: the server's own words, and where.
Status ResponseError(const std::string& what, const client::Response& response);

// Base64 (standard alphabet) decoding of a KV Value.
std::string Base64Decode(const std::string& text);

}  // namespace roster::cli
