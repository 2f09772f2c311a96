#include "http/params.h"

#include <algorithm>
#include <limits>

namespace roster::http {
namespace {

constexpr std::uint64_t kTwoTo63 = std::uint64_t{1} << 63;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Go's url unescape. In a query component '+' is a space; in a path it is a '+'.
// On a malformed escape returns nullopt and sets *bad_at to its offset.
std::optional<std::string> Unescape(std::string_view text, bool plus_is_space,
                                    std::size_t* bad_at = nullptr) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const int high = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
      const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        if (bad_at != nullptr) *bad_at = i;
        return std::nullopt;
      }
      out.push_back(static_cast<char>(high << 4 | low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Go's url.QueryEscape: unreserved bytes stay, a space becomes '+', the rest %XX.
std::string QueryEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool alphanumeric =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alphanumeric || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

// Go's time.leadingInt: consumes [0-9]*; nullopt on overflow past 2^63.
std::optional<std::uint64_t> LeadingInt(std::string_view& s) {
  std::uint64_t x = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (x > kTwoTo63 / 10) return std::nullopt;
    x = x * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (x > kTwoTo63) return std::nullopt;
  }
  s.remove_prefix(i);
  return x;
}

// Go's time.leadingFraction: consumes [0-9]*, keeping as many digits as fit.
std::uint64_t LeadingFraction(std::string_view& s, double* scale) {
  std::uint64_t x = 0;
  *scale = 1;
  bool overflow = false;
  std::size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (overflow) continue;
    if (x > (kTwoTo63 - 1) / 10) {
      overflow = true;
      continue;
    }
    const std::uint64_t y = x * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (y > kTwoTo63) {
      overflow = true;
      continue;
    }
    x = y;
    *scale *= 10;
  }
  s.remove_prefix(i);
  return x;
}

// Nanoseconds per unit, or 0 for an unknown unit.
std::uint64_t UnitNanoseconds(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60'000'000'000;
  if (unit == "h") return 3'600'000'000'000;
  return 0;
}

bool IsDigitOrDot(char c) { return c == '.' || (c >= '0' && c <= '9'); }

// One <decimal><unit> term of a Go duration, consumed from s; nullopt if malformed.
std::optional<std::uint64_t> DurationTerm(std::string_view& s) {
  if (!IsDigitOrDot(s.front())) return std::nullopt;
  const std::size_t before_int = s.size();
  std::optional<std::uint64_t> whole = LeadingInt(s);
  if (!whole.has_value()) return std::nullopt;
  const bool has_int = s.size() != before_int;
  std::uint64_t fraction = 0;
  double scale = 1;
  bool has_fraction = false;
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    const std::size_t before_fraction = s.size();
    fraction = LeadingFraction(s, &scale);
    has_fraction = s.size() != before_fraction;
  }
  if (!has_int && !has_fraction) return std::nullopt;  // ".s"
  std::size_t unit_length = 0;
  while (unit_length < s.size() && !IsDigitOrDot(s[unit_length])) ++unit_length;
  const std::uint64_t unit = UnitNanoseconds(s.substr(0, unit_length));
  if (unit == 0) return std::nullopt;  // missing or unknown unit
  s.remove_prefix(unit_length);
  if (*whole > kTwoTo63 / unit) return std::nullopt;
  std::uint64_t value = *whole * unit;
  if (fraction > 0) {
    // Below one unit, so at most 3.6e12 for hours: exact enough in a double.
    value += static_cast<std::uint64_t>(static_cast<double>(fraction) *
                                        (static_cast<double>(unit) / scale));
    if (value > kTwoTo63) return std::nullopt;
  }
  return value;
}

}  // namespace

std::string GoQuote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

namespace {

// Go's fmtFrac: the fraction of value / 10^precision (".125"), trailing zeros and a
// zero fraction left out, prepended to out; returns value / 10^precision.
std::uint64_t PrependFraction(std::uint64_t value, int precision, std::string& out) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < precision; ++i) {
    const auto digit = static_cast<char>('0' + value % 10);
    print = print || digit != '0';
    if (print) digits.insert(digits.begin(), digit);
    value /= 10;
  }
  if (print) out.insert(0, "." + digits);
  return value;
}

}  // namespace

std::string FormatGoDuration(std::chrono::nanoseconds duration) {
  const bool negative = duration.count() < 0;
  // Two's complement negation, as Go does, so that the minimum int64 works too.
  std::uint64_t u = static_cast<std::uint64_t>(duration.count());
  if (negative) u = ~u + 1;
  std::string out;
  if (u < 1'000'000'000) {
    if (u == 0) return "0s";
    const char* unit = u < 1'000 ? "ns" : u < 1'000'000 ? "\u00b5s" : "ms";
    const int precision = u < 1'000 ? 0 : u < 1'000'000 ? 3 : 6;
    out = unit;
    u = PrependFraction(u, precision, out);
    out.insert(0, std::to_string(u));
  } else {
    out = "s";
    u = PrependFraction(u, 9, out);  // u is now whole seconds
    out.insert(0, std::to_string(u % 60));
    u /= 60;  // minutes
    if (u > 0) {
      out.insert(0, std::to_string(u % 60) + "m");
      u /= 60;  // hours
      if (u > 0) out.insert(0, std::to_string(u) + "h");
    }
  }
  if (negative) out.insert(0, "-");
  return out;
}

Query Query::Parse(std::string_view raw) {
  Query query;
  while (!raw.empty()) {
    const std::size_t amp = raw.find('&');
    std::string_view pair = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (pair.empty() || pair.find(';') != std::string_view::npos) continue;
    const std::size_t eq = pair.find('=');
    std::optional<std::string> key = Unescape(pair.substr(0, eq), /*plus_is_space=*/true);
    std::optional<std::string> value = eq == std::string_view::npos
                                           ? std::string()
                                           : Unescape(pair.substr(eq + 1), /*plus_is_space=*/true);
    if (!key.has_value() || !value.has_value()) continue;
    query.pairs_.emplace_back(std::move(*key), std::move(*value));
  }
  return query;
}

bool Query::Has(std::string_view name) const { return Get(name).has_value(); }

std::optional<std::string_view> Query::Get(std::string_view name) const {
  for (const auto& [key, value] : pairs_) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::string Query::Encode() const {
  std::vector<std::pair<std::string, std::string>> sorted = pairs_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [key, value] : sorted) {
    if (!out.empty()) out.push_back('&');
    out += QueryEscape(key) + "=" + QueryEscape(value);
  }
  return out;
}

Result<Target> ParseTarget(std::string_view raw_target) {
  const std::size_t question = raw_target.find('?');
  const std::string_view raw_path = raw_target.substr(0, question);
  std::size_t bad_at = 0;
  std::optional<std::string> path = Unescape(raw_path, /*plus_is_space=*/false, &bad_at);
  if (!path.has_value()) {
    return InvalidArgument("invalid URL escape " + GoQuote(raw_path.substr(bad_at, 3)));
  }
  Target target;
  target.path = std::move(*path);
  if (question != std::string_view::npos) {
    target.query = Query::Parse(raw_target.substr(question + 1));
  }
  return target;
}

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  const Status invalid = InvalidArgument("time: invalid duration " + GoQuote(text));
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return invalid;
  std::uint64_t total = 0;
  while (!s.empty()) {
    std::optional<std::uint64_t> term = DurationTerm(s);
    if (!term.has_value()) return invalid;
    total += *term;  // both at most 2^63, so no wrap
    if (total > kTwoTo63) return invalid;
  }
  if (negative) {
    // -2^63 is representable; reach it without overflowing an int64.
    return std::chrono::nanoseconds(total == kTwoTo63 ? std::numeric_limits<std::int64_t>::min()
                                                      : -static_cast<std::int64_t>(total));
  }
  if (total > kTwoTo63 - 1) return invalid;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(total));
}

Result<Consistency> ParseConsistency(const Query& query) {
  bool stale = query.Has("stale");
  const bool consistent = query.Has("consistent");
  std::optional<std::string_view> max_stale = query.Get("max_stale");
  if (max_stale.has_value() && !max_stale->empty()) {
    Result<std::chrono::nanoseconds> parsed = ParseGoDuration(*max_stale);
    if (!parsed.ok()) return InvalidArgument("Invalid max_stale value " + GoQuote(*max_stale));
    if (parsed->count() > 0) stale = true;
  }
  if (stale && consistent) {
    return InvalidArgument("Cannot specify ?stale with ?consistent, conflicting semantics.");
  }
  if (stale) return Consistency::kStale;
  if (consistent) return Consistency::kConsistent;
  return Consistency::kDefault;  // also for ?leader, which asks for exactly this
}

Result<BlockingParams> ParseBlocking(const Query& query) {
  BlockingParams params;
  std::optional<std::string_view> wait = query.Get("wait");
  if (wait.has_value() && !wait->empty()) {
    Result<std::chrono::nanoseconds> parsed = ParseGoDuration(*wait);
    // Go accepts a negative duration and Consul then uses its default; a negative wait
    // is always a client bug, so Roster says so.
    if (!parsed.ok() || parsed->count() < 0) return InvalidArgument("Invalid wait time");
    params.wait = *parsed;
  }
  std::optional<std::string_view> index = query.Get("index");
  if (index.has_value() && !index->empty()) {
    std::optional<std::uint64_t> parsed = ParseUint64(*index);
    if (!parsed.has_value()) return InvalidArgument("Invalid index");
    params.min_index = *parsed;
  }
  return params;
}

Result<ReadOptions> ParseReadOptions(const Query& query) {
  ReadOptions options;
  options.datacenter = std::string(query.Get("dc").value_or(""));
  options.pretty = query.Has("pretty");
  Result<Consistency> consistency = ParseConsistency(query);
  if (!consistency.ok()) return consistency.status();
  options.consistency = *consistency;
  Result<BlockingParams> blocking = ParseBlocking(query);
  if (!blocking.ok()) return blocking.status();
  options.blocking = *blocking;
  return options;
}

}  // namespace roster::http
