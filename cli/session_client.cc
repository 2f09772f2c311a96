#include "cli/session_client.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace roster::cli {
namespace {

using client::HttpClient;
using nlohmann::json;

std::string KvPath(const std::string& key) { return "/v1/kv/" + HttpClient::EscapePath(key); }

std::string Join(const std::string& path, const std::string& query) {
  return query.empty() ? path : path + "?" + query;
}

void AddParam(std::string& query, const std::string& param) {
  if (param.empty()) return;
  query += (query.empty() ? "" : "&") + param;
}

// The query parameters of a read: consistency and blocking.
std::string ReadParams(const ReadOptions& options) {
  std::string query;
  if (options.consistent) AddParam(query, "consistent");
  if (options.index > 0) {
    AddParam(query, "index=" + std::to_string(options.index));
    if (options.wait.count() > 0) AddParam(query, "wait=" + GoDuration(options.wait));
  }
  return query;
}

Result<KvEntry> EntryFromJson(const json& object) {
  if (!object.is_object() || !object.contains("Key") || !object["Key"].is_string()) {
    return Internal("the server sent a KV entry without a Key: " + object.dump());
  }
  KvEntry entry;
  entry.key = object["Key"].get<std::string>();
  if (object.contains("Value") && object["Value"].is_string()) {
    entry.value = Base64Decode(object["Value"].get<std::string>());
  }
  if (object.contains("Session") && object["Session"].is_string()) {
    entry.session = object["Session"].get<std::string>();
  }
  entry.flags = object.value("Flags", std::uint64_t{0});
  entry.create_index = object.value("CreateIndex", std::uint64_t{0});
  entry.modify_index = object.value("ModifyIndex", std::uint64_t{0});
  entry.lock_index = object.value("LockIndex", std::uint64_t{0});
  return entry;
}

Result<json> ParseBody(const std::string& what, const client::Response& response) {
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return Internal(what +
                    ": the server sent JSON that does not parse: " + response.body.substr(0, 200));
  }
  return body;
}

}  // namespace

Status ResponseError(const std::string& what, const client::Response& response) {
  std::string body = response.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return Unavailable(what + ": HTTP " + std::to_string(response.status) +
                     (body.empty() ? "" : ": " + body));
}

std::string Base64Decode(const std::string& text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int value = 0;
  int bits = -8;
  for (char c : text) {
    const std::size_t position = kAlphabet.find(c);
    if (position == std::string::npos) break;  // '=' padding ends the data
    value = (value << 6) + static_cast<int>(position);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((value >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

SessionClient::SessionClient(std::string address, std::chrono::milliseconds read_timeout)
    : address_(std::move(address)), http_(address_, read_timeout) {}

Result<std::string> SessionClient::CreateSession(const SessionOptions& options) {
  // No node checks: a session bound to serfHealth can be ended whenever the leader
  // judges this node failed, which the holder cannot see coming. TTL alone gives the
  // holder a deadline it can keep (docs/cli.md, "Why no renewal for a TTL").
  const json body = {{"Name", options.name},
                     {"TTL", GoDuration(options.ttl)},
                     {"NodeChecks", json::array()},
                     {"Checks", json::array()},
                     {"Behavior", options.behavior},
                     {"LockDelay", GoDuration(options.lock_delay)}};
  Result<client::Response> response = http_.Put("/v1/session/create", body.dump());
  if (!response.ok()) return response.status();
  if (response->status != 200) return ResponseError("cannot create a session", *response);
  Result<json> parsed = ParseBody("session create", *response);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object() || !parsed->contains("ID") || !(*parsed)["ID"].is_string()) {
    return Internal("session create: no ID in the reply " + response->body);
  }
  return (*parsed)["ID"].get<std::string>();
}

Result<bool> SessionClient::RenewSession(const std::string& id) {
  Result<client::Response> response =
      http_.Put("/v1/session/renew/" + HttpClient::EscapePath(id), "");
  if (!response.ok()) return response.status();
  if (response->status == 404) return false;
  if (response->status != 200) return ResponseError("cannot renew session " + id, *response);
  return true;
}

Status SessionClient::DestroySession(const std::string& id) {
  Result<client::Response> response =
      http_.Put("/v1/session/destroy/" + HttpClient::EscapePath(id), "");
  if (!response.ok()) return response.status();
  if (response->status != 200) return ResponseError("cannot destroy session " + id, *response);
  return Status::Ok();
}

Result<KvRead> SessionClient::Read(const std::string& path) {
  Result<client::Response> response = http_.Get(path);
  if (!response.ok()) return response.status();
  KvRead read;
  read.index = response->index;
  if (response->status == 404) return read;
  if (response->status != 200) return ResponseError("GET " + path, *response);
  Result<json> parsed = ParseBody("GET " + path, *response);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_array()) return Internal("GET " + path + ": expected a list of entries");
  for (const json& object : *parsed) {
    Result<KvEntry> entry = EntryFromJson(object);
    if (!entry.ok()) return entry.status();
    read.entries.push_back(std::move(*entry));
  }
  return read;
}

Result<KvRead> SessionClient::Get(const std::string& key, const ReadOptions& options) {
  return Read(Join(KvPath(key), ReadParams(options)));
}

Result<KvRead> SessionClient::List(const std::string& prefix, const ReadOptions& options) {
  std::string query = "recurse";
  AddParam(query, ReadParams(options));
  return Read(Join(KvPath(prefix), query));
}

Result<std::vector<std::string>> SessionClient::Keys(const std::string& prefix,
                                                     const ReadOptions& options) {
  std::string query = "keys";
  AddParam(query, ReadParams(options));
  Result<client::Response> response = http_.Get(Join(KvPath(prefix), query));
  if (!response.ok()) return response.status();
  if (response->status == 404) return std::vector<std::string>{};
  if (response->status != 200) return ResponseError("GET keys under " + prefix, *response);
  Result<json> parsed = ParseBody("GET keys", *response);
  if (!parsed.ok()) return parsed.status();
  std::vector<std::string> keys;
  for (const json& key : *parsed) {
    if (key.is_string()) keys.push_back(key.get<std::string>());
  }
  return keys;
}

Result<bool> SessionClient::WriteBool(const std::string& method, const std::string& path,
                                      const std::string& body) {
  Result<client::Response> response =
      method == "DELETE" ? http_.Delete(path) : http_.Put(path, body);
  if (!response.ok()) return response.status();
  if (response->status != 200) return ResponseError(method + " " + path, *response);
  std::string text = response->body;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text != "true" && text != "false") {
    return Internal(method + " " + path + ": expected true or false, got " + text);
  }
  return text == "true";
}

Result<bool> SessionClient::Acquire(const std::string& key, const std::string& value,
                                    std::uint64_t flags, const std::string& session) {
  return WriteBool("PUT",
                   KvPath(key) + "?acquire=" + HttpClient::EscapePath(session) +
                       "&flags=" + std::to_string(flags),
                   value);
}

Result<bool> SessionClient::Release(const std::string& key, const std::string& value,
                                    std::uint64_t flags, const std::string& session) {
  return WriteBool("PUT",
                   KvPath(key) + "?release=" + HttpClient::EscapePath(session) +
                       "&flags=" + std::to_string(flags),
                   value);
}

Result<bool> SessionClient::Cas(const std::string& key, const std::string& value,
                                std::uint64_t flags, std::uint64_t index) {
  return WriteBool(
      "PUT", KvPath(key) + "?cas=" + std::to_string(index) + "&flags=" + std::to_string(flags),
      value);
}

Result<bool> SessionClient::DeleteCas(const std::string& key, std::uint64_t index) {
  return WriteBool("DELETE", KvPath(key) + "?cas=" + std::to_string(index), "");
}

Result<bool> SessionClient::Delete(const std::string& key) {
  return WriteBool("DELETE", KvPath(key), "");
}

Result<KvEntry> SessionClient::CreateSequential(const std::string& prefix, const std::string& value,
                                                const std::string& session) {
  const std::string path =
      KvPath(prefix) + "?sequential&acquire=" + HttpClient::EscapePath(session);
  Result<client::Response> response = http_.Put(path, value);
  if (!response.ok()) return response.status();
  if (response->status != 200) return ResponseError("PUT " + path, *response);
  Result<json> parsed = ParseBody("PUT " + path, *response);
  if (!parsed.ok()) return parsed.status();
  // The created entry; accept a one-element list too, the shape of a KV read.
  const json& object = parsed->is_array() && parsed->size() == 1 ? (*parsed)[0] : *parsed;
  return EntryFromJson(object);
}

}  // namespace roster::cli
