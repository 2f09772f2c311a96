#include "http/kv_params.h"

#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

namespace roster::http {
namespace {

// Consul's conflictingFlags: more than one of `flags` present is a 400 that echoes
// the whole query (with Consul's trailing newline).
Status CheckConflicting(const Query& query, std::initializer_list<std::string_view> flags) {
  int present = 0;
  for (std::string_view flag : flags) present += query.Has(flag) ? 1 : 0;
  if (present > 1) return InvalidArgument("Conflicting flags: " + query.Encode() + "\n");
  return Status::Ok();
}

// ?name=<uint64>, when present. Consul answers a 500 with Go's strconv error here;
// a bad parameter is the client's mistake, so Roster answers 400 and names it.
Status ParseUint64Param(const Query& query, std::string_view name, std::string_view meaning,
                        std::optional<std::uint64_t>* out) {
  std::optional<std::string_view> text = query.Get(name);
  if (!text.has_value()) return Status::Ok();
  *out = ParseUint64(*text);
  if (!out->has_value()) {
    return InvalidArgument("Invalid " + std::string(name) + ": must be an unsigned 64-bit " +
                           std::string(meaning) + ", got \"" + std::string(*text) + "\"");
  }
  return Status::Ok();
}

Status CheckKeyLength(const std::string& key, std::size_t key_bytes_max) {
  if (key.size() <= key_bytes_max) return Status::Ok();
  return InvalidArgument("Key too long: " + std::to_string(key.size()) + " bytes, the limit is " +
                         std::to_string(key_bytes_max) + " bytes");
}

Status MissingKeyName() { return InvalidArgument("Missing key name"); }

}  // namespace

Result<KvRead> ParseKvRead(std::string key, const Query& query) {
  KvRead read;
  if (query.Has("keys")) {
    read.mode = KvReadMode::kKeys;
    // Consul accepts its historic misspelling too; the right spelling wins.
    read.separator =
        std::string(query.Get("separator").value_or(query.Get("seperator").value_or("")));
  } else if (query.Has("recurse")) {
    read.mode = KvReadMode::kRecurse;
  } else {
    if (key.empty()) return MissingKeyName();
    read.raw = query.Has("raw");
  }
  read.key = std::move(key);
  return read;
}

Result<KvWrite> ParseKvPut(std::string key, const Query& query, std::string value,
                           std::size_t key_bytes_max) {
  if (key.empty()) return MissingKeyName();
  RETURN_IF_ERROR(CheckConflicting(query, {"cas", "acquire", "release"}));
  std::optional<std::uint64_t> flags;
  RETURN_IF_ERROR(ParseUint64Param(query, "flags", "integer", &flags));
  std::optional<std::uint64_t> cas;
  RETURN_IF_ERROR(ParseUint64Param(query, "cas", "integer (a ModifyIndex)", &cas));
  if (query.Has("acquire") || query.Has("release")) {
    return InvalidArgument(
        "Locks are not implemented yet: ?acquire and ?release need sessions, which this "
        "version of Roster does not have");
  }
  RETURN_IF_ERROR(CheckKeyLength(key, key_bytes_max));
  KvWrite write;
  if (cas.has_value()) {
    write.command = store::KvCas{std::move(key), std::move(value), flags.value_or(0), *cas};
    write.reply_outcome = true;
  } else {
    write.command = store::KvSet{std::move(key), std::move(value), flags.value_or(0)};
  }
  return write;
}

Result<KvWrite> ParseKvDelete(std::string key, const Query& query, std::size_t key_bytes_max) {
  RETURN_IF_ERROR(CheckConflicting(query, {"recurse", "cas"}));
  const bool recurse = query.Has("recurse");
  if (!recurse && key.empty()) return MissingKeyName();
  std::optional<std::uint64_t> cas;
  RETURN_IF_ERROR(ParseUint64Param(query, "cas", "integer (a ModifyIndex)", &cas));
  RETURN_IF_ERROR(CheckKeyLength(key, key_bytes_max));
  KvWrite write;
  if (recurse) {
    write.command = store::KvDeleteTree{std::move(key)};
  } else if (cas.has_value()) {
    write.command = store::KvDeleteCas{std::move(key), *cas};
    write.reply_outcome = true;
  } else {
    write.command = store::KvDelete{std::move(key)};
  }
  return write;
}

}  // namespace roster::http
