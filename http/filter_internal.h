// What the three parts of the ?filter= implementation share: the parser (filter.cc),
// the regular-expression guard (filter_regex.cc) and evaluation (filter_eval.cc).
// Not for other callers; http/filter.h is the interface.
// Thread-safety: pure functions.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "http/filter.h"

namespace roster::http::filter_internal {

inline bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsIdentifierChar(char c) { return IsLetter(c) || IsDigit(c) || c == '_'; }
inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// 0-15 for a hex digit, -1 for anything else.
inline int HexDigitValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Compiles the pattern of a `matches`, or returns nullptr and says why (the limits and
// refusals are in filter.h). The result is immutable and safe to share across threads.
std::shared_ptr<const FilterRegex> CompileRegex(std::string_view pattern, std::string& why);

// Whether the pattern occurs anywhere in `subject`. Costs at most the pattern's states
// times the subject's bytes.
bool RegexFinds(const FilterRegex& regex, const std::string& subject);

}  // namespace roster::http::filter_internal
