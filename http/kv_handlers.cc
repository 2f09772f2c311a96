// GET|PUT|DELETE /v1/kv/<key> (consul-api.md §1.4, §2), with locks (?acquire,
// ?release) and Roster's ?sequential. Parsing and validation live in kv_params.cc;
// here a parsed request meets the backend: reads through a blocking query, writes as
// one store command through Raft. Everything is validated before Backend::Apply, so
// nothing is ever half-applied.
#include <string>
#include <utility>
#include <vector>

#include "http/blocking.h"
#include "http/handlers.h"
#include "http/kv_params.h"
#include "store/command.h"

namespace roster::http {
namespace {

constexpr std::string_view kKvPrefix = "/v1/kv/";

// What one run of a KV read found.
struct KvFound {
  std::vector<store::DirEntry> entries;  // kEntry, kRecurse
  std::vector<std::string> keys;         // kKeys
};

// The query and its index (consul-api.md §2.2).
store::Index RunKvRead(const KvRead& read, const store::Store& store, KvFound& found) {
  const store::KvTable& kv = store.kv();
  found = KvFound{};
  switch (read.mode) {
    case KvReadMode::kEntry:
      if (std::optional<store::DirEntry> entry = kv.Get(read.key)) {
        found.entries.push_back(std::move(*entry));
      }
      return kv.KeyIndex(read.key);
    case KvReadMode::kRecurse:
      found.entries = kv.List(read.key);
      return kv.PrefixIndex(read.key);
    case KvReadMode::kKeys:
      found.keys = kv.Keys(read.key, read.separator);
      return kv.PrefixIndex(read.key);
  }
  return 0;  // unreachable: every mode returns above
}

// One key wakes only for writes to that key; a listing for writes under its prefix.
store::WatchKey WatchKeyFor(const KvRead& read) {
  if (read.mode == KvReadMode::kEntry) return store::WatchKey::Key(store::Table::kKvs, read.key);
  return store::WatchKey::Prefix(store::Table::kKvs, read.key);
}

Reply KvReadReply(const KvRead& read, const KvFound& found, bool pretty) {
  const bool keys_mode = read.mode == KvReadMode::kKeys;
  const bool nothing = keys_mode ? found.keys.empty() : found.entries.empty();
  // A miss is a 404 with an empty body, except a key listing of the whole store.
  if (nothing && !(keys_mode && read.key.empty())) return EmptyReply(404);
  if (keys_mode) return JsonReply(StringListJson(found.keys), pretty);
  if (read.raw) {
    // The stored bytes, not to be sniffed or run by a browser (Consul does the same).
    Reply reply = TextReply(200, found.entries.front().value);
    reply.content_type = "text/plain";
    reply.headers = {{"X-Content-Type-Options", "nosniff"}, {"Content-Security-Policy", "sandbox"}};
    return reply;
  }
  return JsonReply(DirEntriesJson(found.entries), pretty);
}

Reply KvGet(const HandlerContext& context, std::string key, const ApiRequest& request,
            const ReadOptions& options) {
  Result<KvRead> read = ParseKvRead(std::move(key), request.query);
  if (!read.ok()) return StatusReply(read.status());
  auto found = std::make_shared<KvFound>();
  auto kv_read = std::make_shared<KvRead>(std::move(*read));
  BlockingRead blocking;
  blocking.consistency = options.consistency;
  blocking.blocking = options.blocking;
  blocking.watch_keys = {WatchKeyFor(*kv_read)};
  blocking.run = [kv_read, found](const store::Store& store) {
    return RunKvRead(*kv_read, store, *found);
  };
  blocking.render = [kv_read, found, pretty = options.pretty] {
    return KvReadReply(*kv_read, *found, pretty);
  };
  return ServeRead(context, std::move(blocking));
}

// Proposes the command; a plain set or delete always answers `true`, the CAS and lock
// forms whether they applied, ?sequential the entry it created. A command refused at
// apply (an unknown session) is FailedPrecondition with the store's text: a 500.
Reply ApplyKvWrite(const HandlerContext& context, const KvWrite& write, bool pretty) {
  Result<WriteOutcome> outcome = context.backend.Apply(store::Encode(write.command));
  if (!outcome.ok()) return StatusReply(outcome.status());
  switch (write.reply) {
    case KvWriteReply::kTrue:
      return JsonReply(Json(true), pretty);
    case KvWriteReply::kOutcome:
      return JsonReply(Json(outcome->ok), pretty);
    case KvWriteReply::kEntry:
      if (!outcome->entry.has_value()) {
        return TextReply(500, "The sequential key was not created (the server did not report it)");
      }
      return JsonReply(DirEntryJson(*outcome->entry), pretty);
  }
  return TextReply(500, "Internal error: unknown KV reply");  // unreachable
}

Reply KvPut(const HandlerContext& context, std::string key, const ApiRequest& request,
            bool pretty) {
  Result<KvWrite> write =
      ParseKvPut(std::move(key), request.query, request.body, context.options.key_bytes_max);
  if (!write.ok()) return StatusReply(write.status());
  const std::size_t value_bytes_max = context.options.kv_value_bytes_max;
  if (request.body.size() > value_bytes_max) {
    // Consul's wording, pointing at Roster's docs instead of Consul's.
    return TextReply(413, "Request body(" + std::to_string(request.body.size()) +
                              " bytes) too large, max size: " + std::to_string(value_bytes_max) +
                              " bytes. See docs/api.md, \"Limits\".");
  }
  return ApplyKvWrite(context, *write, pretty);
}

Reply KvDelete(const HandlerContext& context, std::string key, const ApiRequest& request,
               bool pretty) {
  Result<KvWrite> write =
      ParseKvDelete(std::move(key), request.query, context.options.key_bytes_max);
  if (!write.ok()) return StatusReply(write.status());
  return ApplyKvWrite(context, *write, pretty);
}

}  // namespace

Reply HandleKv(const HandlerContext& context, const ApiRequest& request) {
  // Consul parses ?dc, the consistency mode and ?index/?wait for every method.
  Result<ReadOptions> options = ParseReadOptions(request.query);
  if (!options.ok()) return StatusReply(options.status());
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  std::string key = request.path.substr(kKvPrefix.size());
  if (request.method == "PUT") return KvPut(context, std::move(key), request, options->pretty);
  if (request.method == "DELETE") {
    return KvDelete(context, std::move(key), request, options->pretty);
  }
  return KvGet(context, std::move(key), request, *options);
}

}  // namespace roster::http
