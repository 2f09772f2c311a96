// Request-target and query-parameter parsing for the HTTP API, with the grammar of Go's
// net/url, strconv and time packages, because that is what Consul (and so every
// Consul client) speaks: percent-decoded paths, presence-based flags, Go durations
// ("1h30m", never a bare "30"), and Consul's consistency and blocking parameters
// (consul-api.md §0, §2.1, §2.3).
//
// Pure functions over strings: no httplib, no I/O, so the fuzzer
// (tests/fuzz/http_params_fuzz.cc) drives them directly. Errors are InvalidArgument
// statuses whose message is the exact plain-text body Consul answers (a 400).
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ascii.h"  // ParseUint64, used with the parameters
#include "base/status.h"
#include "http/backend.h"

namespace roster::http {

// The decoded query string of one request, in the order it was sent.
class Query {
 public:
  // Go's url.ParseQuery, keeping what req.URL.Query() keeps: pairs split on '&', the
  // key and value split at the first '='; '+' means a space and %XX a byte. A pair with
  // a bad escape or a ';' is dropped, as are empty pairs; nothing fails.
  static Query Parse(std::string_view raw);

  // Presence, not value: Consul treats "?recurse", "?recurse=" and "?recurse=false"
  // alike (python-consul sends "recurse=1", others "recurse=true").
  bool Has(std::string_view name) const;
  // The first value of name (Go's Values.Get), or nullopt when it is absent.
  std::optional<std::string_view> Get(std::string_view name) const;
  // Go's Values.Encode: keys sorted, each key's values in order, query-escaped. Consul
  // echoes it in "Conflicting flags: ..." messages.
  std::string Encode() const;

  const std::vector<std::pair<std::string, std::string>>& pairs() const { return pairs_; }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// A request target ("/v1/kv/a%2Fb?recurse") split into its decoded path and its query.
struct Target {
  std::string path;
  Query query;
};
// Fails (400) when the path holds a malformed percent escape, as Go's server does.
Result<Target> ParseTarget(std::string_view raw_target);

// Go's time.ParseDuration, all of it: an optional sign, then one or more
// <decimal><unit> terms with units ns, us, µs (U+00B5), μs (U+03BC), ms, s, m, h;
// "0" alone is zero. Fails on a missing or unknown unit and on int64 overflow.
Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);

// Go's time.Duration.String: "0s", "1.5s", "1m0s", "24h0m0s", "500ms", "10µs". Consul
// prints durations this way in its messages (the session TTL bounds).
std::string FormatGoDuration(std::chrono::nanoseconds duration);

// Go's %q, close enough for echoing client input in a message: quotes, with '"' and
// '\\' escaped and control bytes as \xNN.
std::string GoQuote(std::string_view text);

// ?stale, ?consistent and ?leader. Both stale and consistent: 400 "Cannot specify
// ?stale with ?consistent, conflicting semantics.". A positive ?max_stale=<duration>
// implies stale (Roster does not re-query the leader when the reply is staler).
Result<Consistency> ParseConsistency(const Query& query);

// ?index=<uint64>&wait=<Go duration> (consul-api.md §2.1).
struct BlockingParams {
  std::uint64_t min_index = 0;       // 0: answer at once
  std::chrono::nanoseconds wait{0};  // 0: the server's default wait
};
// Errors: 400 "Invalid wait time" (not a Go duration, or negative) and
// 400 "Invalid index".
Result<BlockingParams> ParseBlocking(const Query& query);

// What every read takes from the query string.
struct ReadOptions {
  std::string datacenter;  // ?dc; empty means the local one
  Consistency consistency = Consistency::kDefault;
  BlockingParams blocking;
  bool pretty = false;  // ?pretty: indented JSON
};
Result<ReadOptions> ParseReadOptions(const Query& query);

}  // namespace roster::http
