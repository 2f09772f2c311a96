#include "http/kv_params.h"

#include <algorithm>
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
  const bool sequential = query.Has("sequential");
  if (key.empty() && !sequential) return MissingKeyName();
  RETURN_IF_ERROR(CheckConflicting(query, {"cas", "acquire", "release"}));
  RETURN_IF_ERROR(CheckConflicting(query, {"sequential", "cas"}));
  RETURN_IF_ERROR(CheckConflicting(query, {"sequential", "release"}));
  std::optional<std::uint64_t> flags;
  RETURN_IF_ERROR(ParseUint64Param(query, "flags", "integer", &flags));
  std::optional<std::uint64_t> cas;
  RETURN_IF_ERROR(ParseUint64Param(query, "cas", "integer (a ModifyIndex)", &cas));
  const std::optional<std::string_view> acquire = query.Get("acquire");
  const std::optional<std::string_view> release = query.Get("release");
  if ((acquire.has_value() && acquire->empty()) || (release.has_value() && release->empty())) {
    return FailedPrecondition("missing session");
  }
  RETURN_IF_ERROR(CheckKeyLength(
      key, sequential ? key_bytes_max - std::min(key_bytes_max, kSequentialSuffixBytes)
                      : key_bytes_max));
  KvWrite write;
  const std::uint64_t flag_bits = flags.value_or(0);
  if (sequential) {
    write.command = store::KvCreateSequential{std::move(key), std::move(value), flag_bits,
                                              std::string(acquire.value_or(""))};
    write.reply = KvWriteReply::kEntry;
  } else if (acquire.has_value()) {
    write.command =
        store::KvLock{std::move(key), std::move(value), flag_bits, std::string(*acquire)};
    write.reply = KvWriteReply::kOutcome;
  } else if (release.has_value()) {
    write.command =
        store::KvUnlock{std::move(key), std::move(value), flag_bits, std::string(*release)};
    write.reply = KvWriteReply::kOutcome;
  } else if (cas.has_value()) {
    write.command = store::KvCas{std::move(key), std::move(value), flag_bits, *cas};
    write.reply = KvWriteReply::kOutcome;
  } else {
    write.command = store::KvSet{std::move(key), std::move(value), flag_bits};
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
    write.reply = KvWriteReply::kOutcome;
  } else {
    write.command = store::KvDelete{std::move(key)};
  }
  return write;
}

}  // namespace roster::http
