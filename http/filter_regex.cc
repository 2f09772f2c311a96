// Consul's ?filter= language, part three: the `matches` patterns. std::regex is
// ECMAScript with a backtracking matcher by default and a recursive compiler, so a
// pattern from the network is sized up before it is built and then run on libstdc++'s
// breadth-first matcher. http/filter.h states the limits.
#include <algorithm>
#include <regex>
#include <vector>

#include "http/filter_internal.h"

namespace roster::http {

// A `matches` pattern P compiled as [\s\S]*(?:P)[\s\S]* for std::regex_match: one
// breadth-first pass over the subject finds P anywhere in it. regex_search would run
// the pass once per starting position, which is quadratic in the subject.
struct FilterRegex {
  std::regex anywhere;
};

namespace filter_internal {
namespace {

// The index just past the bracket expression that starts at pattern[at] ('['), by
// libstdc++'s ECMAScript rules: '\' escapes, [:name:] [.x.] [=x=] nest, and the first
// unescaped ']' closes (even right after '['). pattern.size() when it never closes.
std::size_t SkipBracket(std::string_view pattern, std::size_t at) {
  std::size_t i = at + 1;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '\\') {
      i += 2;
    } else if (c == '[' && i + 1 < pattern.size() &&
               (pattern[i + 1] == ':' || pattern[i + 1] == '.' || pattern[i + 1] == '=')) {
      const char closer[] = {pattern[i + 1], ']', '\0'};
      const std::size_t end = pattern.find(closer, i + 2);
      if (end == std::string_view::npos) return pattern.size();
      i = end + 2;
    } else if (c == ']') {
      return i + 1;
    } else {
      ++i;
    }
  }
  return pattern.size();
}

// Parses "{n}", "{n,}" or "{n,m}" at pattern[at]; returns how many copies of the
// repeated item libstdc++ builds (about max(n, m) + 1), or 0 if it is not a counted
// repeat. `end` is set past the '}'. Counts over 1000 are refused as Go refuses them.
std::size_t CountedRepeat(std::string_view pattern, std::size_t at, std::size_t& end,
                          bool& too_large) {
  std::size_t i = at + 1;
  std::size_t bound[2] = {0, 0};
  int which = 0;
  bool digits[2] = {false, false};
  for (; i < pattern.size() && pattern[i] != '}'; ++i) {
    const char c = pattern[i];
    if (c == ',' && which == 0) {
      which = 1;
    } else if (IsDigit(c) && bound[which] <= 100000) {
      bound[which] = bound[which] * 10 + static_cast<std::size_t>(c - '0');
      digits[which] = true;
    } else if (!IsDigit(c)) {
      return 0;
    }
  }
  if (i >= pattern.size() || !digits[0]) return 0;
  end = i + 1;
  if (bound[0] > 1000 || bound[1] > 1000) too_large = true;
  return std::max(bound[0], bound[1]) + 1;
}

// Refuses what std::regex would make slow, deep or unbounded, before it builds
// anything: an estimate of the automaton's states (an atom one, a group its contents
// plus two, a counted repeat multiplying what it repeats), nesting, lookahead and
// back-references. Returns why, or "" when the pattern may be compiled.
std::string RegexTooComplex(std::string_view pattern) {
  std::vector<std::size_t> enclosing;  // the outer groups' states so far
  std::size_t states = 0;              // in the innermost open group
  std::size_t last = 0;                // of the item a quantifier would repeat
  const auto too_many = [&] {
    std::size_t total = states;
    for (const std::size_t outer : enclosing) total += outer;
    return total > kFilterRegexStatesMax;
  };
  std::size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    std::size_t atom = 1;
    if (c == '\\') {
      if (i + 1 < pattern.size() && pattern[i + 1] >= '1' && pattern[i + 1] <= '9') {
        return "back-references are not supported";
      }
      i += 2;
    } else if (c == '[') {
      i = SkipBracket(pattern, i);
    } else if (c == '(') {
      if (pattern.substr(i, 3) == "(?=" || pattern.substr(i, 3) == "(?!") {
        return "lookahead is not supported";
      }
      if (enclosing.size() >= static_cast<std::size_t>(kFilterDepthMax)) {
        return "groups are nested deeper than " + std::to_string(kFilterDepthMax) + " levels";
      }
      enclosing.push_back(states);
      states = 0;
      ++i;
      continue;
    } else if (c == ')' && !enclosing.empty()) {
      atom = states + 2;
      states = enclosing.back();
      enclosing.pop_back();
      ++i;
    } else if (c == '{') {
      std::size_t end = 0;
      bool too_large = false;
      if (const std::size_t copies = CountedRepeat(pattern, i, end, too_large); copies > 0) {
        if (too_large) return "invalid repeat count (the limit is 1000)";
        states += last * (copies - 1);
        last *= copies;
        i = end;
        if (too_many()) break;
        continue;
      }
      ++i;
    } else if (c == '*' || c == '+' || c == '?') {
      states += 2;
      last += 2;
      ++i;
      if (too_many()) break;
      continue;
    } else if (c == '|') {
      states += 1;
      last = 0;
      ++i;
      continue;
    } else {
      ++i;
    }
    states += atom;
    last = atom;
    if (too_many()) break;
  }
  if (too_many()) {
    return "it is too large (more than about " + std::to_string(kFilterRegexStatesMax) +
           " states once repeats are counted)";
  }
  return "";
}

// Compiles a `matches` pattern, or says why it cannot be used.
}  // namespace

std::shared_ptr<const FilterRegex> CompileRegex(std::string_view pattern, std::string& why) {
  if (pattern.size() > kFilterRegexBytesMax) {
    why = "it is " + std::to_string(pattern.size()) + " bytes; the limit is " +
          std::to_string(kFilterRegexBytesMax);
    return nullptr;
  }
  // __polynomial is libstdc++'s breadth-first matcher: no backtracking, and a stack
  // that does not grow with the subject. nosubs: nothing reads the groups.
  auto flags = std::regex::ECMAScript | std::regex::nosubs | std::regex_constants::__polynomial;
  std::string_view body = pattern;
  if (body.starts_with("(?i)")) {  // Go's case-insensitive flag, the one users write
    flags |= std::regex::icase;
    body.remove_prefix(4);
  }
  why = RegexTooComplex(body);
  if (!why.empty()) return nullptr;
  try {
    // Alone first: a pattern such as "a)|(b" must not become valid inside the wrapper.
    const std::regex alone(body.begin(), body.end(), flags);
    auto regex = std::make_shared<FilterRegex>();
    regex->anywhere = std::regex("[\\s\\S]*(?:" + std::string(body) + ")[\\s\\S]*", flags);
    return regex;
  } catch (const std::regex_error& error) {
    why = error.what();
    return nullptr;
  }
}

bool RegexFinds(const FilterRegex& regex, const std::string& subject) {
  try {
    return std::regex_match(subject, regex.anywhere);
  } catch (const std::regex_error&) {
    return false;  // error_complexity or error_stack: treated as no match
  }
}

}  // namespace filter_internal
}  // namespace roster::http
