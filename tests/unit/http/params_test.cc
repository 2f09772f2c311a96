// Query-parameter parsing with Go's grammar (http/params.h, http/kv_params.h): the
// forms Consul clients send, and the malformed ones that must be a clear 400.
#include "http/params.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <variant>

#include "base/random.h"
#include "http/blocking.h"
#include "http/kv_params.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::http {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

nanoseconds Duration(std::string_view text) {
  Result<nanoseconds> parsed = ParseGoDuration(text);
  INFO("duration \"" << text << "\": " << parsed.status().ToString());
  REQUIRE(parsed.ok());
  return *parsed;
}

bool DurationFails(std::string_view text) { return !ParseGoDuration(text).ok(); }

TEST_CASE("Go durations: every unit, with its Go spelling") {
  CHECK(Duration("300ns") == nanoseconds(300));
  CHECK(Duration("300us") == microseconds(300));
  CHECK(Duration("300\u00b5s") == microseconds(300));  // micro sign
  CHECK(Duration("300\u03bcs") == microseconds(300));  // Greek mu
  CHECK(Duration("300ms") == milliseconds(300));
  CHECK(Duration("30s") == seconds(30));
  CHECK(Duration("5m") == minutes(5));
  CHECK(Duration("2h") == hours(2));
}

TEST_CASE("Go durations: fractions, sequences and signs") {
  CHECK(Duration("1.5h") == minutes(90));
  CHECK(Duration("2h45m") == minutes(165));
  CHECK(Duration("1h2m3s4ms5us6ns") ==
        hours(1) + minutes(2) + seconds(3) + milliseconds(4) + microseconds(5) + nanoseconds(6));
  CHECK(Duration(".5s") == milliseconds(500));
  CHECK(Duration("5.s") == seconds(5));
  CHECK(Duration("1.0000000001s") == nanoseconds(1'000'000'000));  // beyond ns precision
  CHECK(Duration("0.3333333333333h") == nanoseconds(1'199'999'999'999));
  CHECK(Duration("-1.5h") == -minutes(90));
  CHECK(Duration("+10s") == seconds(10));
  CHECK(Duration("1m1m") == minutes(2));   // a unit may repeat, as in Go
  CHECK(Duration("0") == nanoseconds(0));  // the one unitless form Go accepts
  CHECK(Duration("-0") == nanoseconds(0));
  CHECK(Duration("0s") == nanoseconds(0));
  CHECK(Duration("60000ms") == minutes(1));
}

TEST_CASE("Go durations: the int64 range, exactly") {
  CHECK(Duration("9223372036854775807ns").count() == std::numeric_limits<std::int64_t>::max());
  CHECK(Duration("-9223372036854775808ns").count() == std::numeric_limits<std::int64_t>::min());
  CHECK(DurationFails("9223372036854775808ns"));
  CHECK(DurationFails("2562048h"));  // > 292 years
  CHECK(Duration("2562047h").count() == 2562047LL * 3'600'000'000'000LL);
  CHECK(DurationFails("99999999999999999999s"));
}

TEST_CASE("Go durations: malformed forms fail") {
  for (const char* bad :
       {"",    "30",   "1",     "-",    "+",    ".",       ".s",      "-.s",    "s",
        "5 s", " 5s",  "5s ",   "5S",   "5sec", "5x",      "1h-5m",   "1.2.3s", "5ms5",
        "h5",  "1e3s", "0x10s", "--5s", "+-5s", "\u00b5s", "5\u00b5", "00"}) {
    INFO("duration \"" << bad << "\"");
    CHECK(DurationFails(bad));
  }
  CHECK(ParseGoDuration("30").status().message() == "time: invalid duration \"30\"");
}

TEST_CASE("uint64 parameters follow strconv.ParseUint") {
  CHECK(ParseUint64("0") == std::optional<std::uint64_t>(0));
  CHECK(ParseUint64("42") == std::optional<std::uint64_t>(42));
  CHECK(ParseUint64("007") == std::optional<std::uint64_t>(7));
  CHECK(ParseUint64("18446744073709551615") == std::numeric_limits<std::uint64_t>::max());
  for (const char* bad : {"", "18446744073709551616", "99999999999999999999", "-1", "+1", " 1",
                          "1 ", "1_000", "0x10", "1.0", "abc", "1e3"}) {
    INFO("uint64 \"" << bad << "\"");
    CHECK_FALSE(ParseUint64(bad).has_value());
  }
}

TEST_CASE("hex digits are ASCII 0-9, a-f and A-F only") {
  for (char c : std::string_view("0123456789abcdefABCDEF")) CHECK(IsAsciiHexDigit(c));
  for (char c : std::string_view("gG-/:@`\x80\xff ")) CHECK_FALSE(IsAsciiHexDigit(c));
}

TEST_CASE("query strings decode like Go's url.ParseQuery") {
  const Query query = Query::Parse("recurse&keys=&flags=42&sep=%2F&space=a+b&plus=a%2Bb&k=v=w");
  CHECK(query.Has("recurse"));
  CHECK(query.Get("recurse") == std::optional<std::string_view>(""));
  CHECK(query.Has("keys"));
  CHECK(query.Get("flags") == std::optional<std::string_view>("42"));
  CHECK(query.Get("sep") == std::optional<std::string_view>("/"));
  CHECK(query.Get("space") == std::optional<std::string_view>("a b"));
  CHECK(query.Get("plus") == std::optional<std::string_view>("a+b"));
  CHECK(query.Get("k") == std::optional<std::string_view>("v=w"));
  CHECK_FALSE(query.Has("missing"));
}

TEST_CASE("query strings: repeated keys keep the first value; bad pairs are dropped") {
  const Query query = Query::Parse("a=1&a=2&&bad=%zz&semi=1;2&%41=ok&trail=%4");
  CHECK(query.Get("a") == std::optional<std::string_view>("1"));
  CHECK_FALSE(query.Has("bad"));
  CHECK_FALSE(query.Has("semi"));
  CHECK_FALSE(query.Has("trail"));
  CHECK(query.Get("A") == std::optional<std::string_view>("ok"));
  CHECK(query.pairs().size() == 3);
}

TEST_CASE("Query::Encode matches Go's Values.Encode") {
  CHECK(Query::Parse("release=s2&cas=0&acquire=s+1").Encode() == "acquire=s+1&cas=0&release=s2");
  CHECK(Query::Parse("b=2&a=x%2Fy&b=1").Encode() == "a=x%2Fy&b=2&b=1");
  CHECK(Query::Parse("flag").Encode() == "flag=");
}

TEST_CASE("request targets: the path is percent-decoded, '+' stays") {
  Result<Target> target = ParseTarget("/v1/kv/a%2Fb%20c+d?recurse&x=%2B");
  REQUIRE(target.ok());
  CHECK(target->path == "/v1/kv/a/b c+d");
  CHECK(target->query.Has("recurse"));
  CHECK(target->query.Get("x") == std::optional<std::string_view>("+"));
  CHECK(ParseTarget("/v1/kv/a?b=?c")->query.Get("b") == std::optional<std::string_view>("?c"));
  Result<Target> bad = ParseTarget("/v1/kv/%zz");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "invalid URL escape \"%zz\"");
  CHECK_FALSE(ParseTarget("/v1/kv/%4").ok());
}

TEST_CASE("consistency modes") {
  CHECK(*ParseConsistency(Query::Parse("")) == Consistency::kDefault);
  CHECK(*ParseConsistency(Query::Parse("leader")) == Consistency::kDefault);
  CHECK(*ParseConsistency(Query::Parse("stale")) == Consistency::kStale);
  CHECK(*ParseConsistency(Query::Parse("stale=false")) == Consistency::kStale);  // presence
  CHECK(*ParseConsistency(Query::Parse("consistent=1")) == Consistency::kConsistent);
  CHECK(*ParseConsistency(Query::Parse("max_stale=5s")) == Consistency::kStale);
  CHECK(*ParseConsistency(Query::Parse("max_stale=0s")) == Consistency::kDefault);
  Result<Consistency> both = ParseConsistency(Query::Parse("stale&consistent"));
  REQUIRE_FALSE(both.ok());
  CHECK(both.status().message() ==
        "Cannot specify ?stale with ?consistent, conflicting semantics.");
  CHECK(ParseConsistency(Query::Parse("max_stale=5")).status().message() ==
        "Invalid max_stale value \"5\"");
}

TEST_CASE("blocking parameters: index and wait") {
  Result<BlockingParams> params = ParseBlocking(Query::Parse("index=42&wait=1.5m"));
  REQUIRE(params.ok());
  CHECK(params->min_index == 42);
  CHECK(params->wait == seconds(90));
  CHECK(ParseBlocking(Query::Parse(""))->min_index == 0);
  CHECK(ParseBlocking(Query::Parse("index=&wait="))->wait == nanoseconds(0));
  for (const char* bad : {"wait=30", "wait=-1s", "wait=-1.5h", "wait=5x", "wait=%20"}) {
    INFO(bad);
    CHECK(ParseBlocking(Query::Parse(bad)).status().message() == "Invalid wait time");
  }
  for (const char* bad : {"index=-1", "index=abc", "index=18446744073709551616", "index=1.0"}) {
    INFO(bad);
    CHECK(ParseBlocking(Query::Parse(bad)).status().message() == "Invalid index");
  }
}

TEST_CASE("the wait is defaulted and capped; jitter stays under wait/16") {
  const BlockingLimits limits{minutes(5), minutes(10)};
  CHECK(EffectiveWait(nanoseconds(0), limits) == minutes(5));
  CHECK(EffectiveWait(seconds(30), limits) == seconds(30));
  CHECK(EffectiveWait(hours(1), limits) == minutes(10));
  DeterministicRandom random(7);
  const nanoseconds wait = minutes(10);
  nanoseconds largest{0};
  for (int i = 0; i < 10'000; ++i) {
    const nanoseconds jitter = Jitter(wait, random);
    REQUIRE(jitter >= nanoseconds(0));
    REQUIRE(jitter < wait / 16);
    largest = std::max(largest, jitter);
  }
  CHECK(largest > wait / 16 * 99 / 100);  // the whole range is used
  CHECK(Jitter(nanoseconds(15), random) == nanoseconds(0));
}

TEST_CASE("KV reads: keys beats recurse; separator and its misspelling") {
  Result<KvRead> keys = ParseKvRead("web/", Query::Parse("keys&recurse&seperator=-"));
  REQUIRE(keys.ok());
  CHECK(keys->mode == KvReadMode::kKeys);
  CHECK(keys->separator == "-");
  CHECK(ParseKvRead("web/", Query::Parse("keys&seperator=-&separator=/"))->separator == "/");
  CHECK(ParseKvRead("", Query::Parse("keys"))->key.empty());
  CHECK(ParseKvRead("", Query::Parse("recurse=false"))->mode == KvReadMode::kRecurse);
  CHECK(ParseKvRead("k", Query::Parse("raw"))->raw);
  CHECK_FALSE(ParseKvRead("k", Query::Parse("raw&recurse"))->raw);
  CHECK(ParseKvRead("", Query::Parse("raw")).status().message() == "Missing key name");
}

TEST_CASE("KV puts: set, cas, flags and the refusals") {
  Result<KvWrite> set = ParseKvPut("k", Query::Parse("flags=42"), "v", 1024);
  REQUIRE(set.ok());
  CHECK(std::get<store::KvSet>(set->command) == store::KvSet{"k", "v", 42});
  CHECK(set->reply == KvWriteReply::kTrue);
  Result<KvWrite> cas = ParseKvPut("k", Query::Parse("cas=0"), "v", 1024);
  REQUIRE(cas.ok());
  CHECK(std::get<store::KvCas>(cas->command) == store::KvCas{"k", "v", 0, 0});
  CHECK(cas->reply == KvWriteReply::kOutcome);
  CHECK(ParseKvPut("", Query::Parse("cas=0"), "v", 1024).status().message() == "Missing key name");
  CHECK(ParseKvPut("k", Query::Parse("cas=0&acquire=s"), "v", 1024).status().message() ==
        "Conflicting flags: acquire=s&cas=0\n");
  CHECK(ParseKvPut("k", Query::Parse("flags=x"), "v", 1024).status().message() ==
        "Invalid flags: must be an unsigned 64-bit integer, got \"x\"");
  CHECK(ParseKvPut("k", Query::Parse("cas=-1"), "v", 1024).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(ParseKvPut(std::string(1025, 'k'), Query(), "v", 1024).status().message() ==
        "Key too long: 1025 bytes, the limit is 1024 bytes");
  CHECK(ParseKvPut(std::string(1024, 'k'), Query(), "v", 1024).ok());
}

TEST_CASE("KV deletes: plain, cas, recurse and the refusals") {
  CHECK(std::get<store::KvDelete>(ParseKvDelete("k", Query(), 1024)->command).key == "k");
  Result<KvWrite> cas = ParseKvDelete("k", Query::Parse("cas=7"), 1024);
  CHECK(std::get<store::KvDeleteCas>(cas->command) == store::KvDeleteCas{"k", 7});
  CHECK(cas->reply == KvWriteReply::kOutcome);
  // cas=0 goes through, as in Consul: it never deletes an existing key.
  CHECK(std::get<store::KvDeleteCas>(ParseKvDelete("k", Query::Parse("cas=0"), 1024)->command)
            .cas_index == 0);
  CHECK(std::get<store::KvDeleteTree>(ParseKvDelete("", Query::Parse("recurse"), 1024)->command)
            .prefix.empty());
  CHECK(ParseKvDelete("", Query(), 1024).status().message() == "Missing key name");
  CHECK(ParseKvDelete("k", Query::Parse("recurse&cas=1"), 1024).status().message() ==
        "Conflicting flags: cas=1&recurse=\n");
}

}  // namespace
}  // namespace roster::http
