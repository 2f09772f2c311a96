// Consul's `?filter=` expression language (hashicorp/go-bexpr, as Consul uses it), over
// the JSON a handler is about to return. docs/api.md ("Filtering") is the user's view;
// this header is the contract for handlers.
//
//   Service.Tags contains "primary" and ServiceMeta.env != "test"
//   "web" in ServiceName or not (Checks.Status == passing)
//   NodeMeta["rack"] matches `^r[0-9]+$` and Port == 8080
//
// Grammar (go-bexpr's): `or` binds looser than `and`, which binds looser than `not`;
// parentheses group. A match is one of
//   <selector> == <value>            <selector> != <value>
//   <selector> contains <value>      <selector> not contains <value>
//   <value> in <selector>            <value> not in <selector>
//   <selector> is empty              <selector> is not empty
//   <selector> matches <value>       <selector> not matches <value>   (a regex)
// A selector is a dotted path of names ([A-Za-z][A-Za-z0-9_]*), digits (a list index),
// or ["quoted keys"]: `Service.Meta.env`, `NodeMeta["rack-id"]`. A value is a string in
// "double quotes" (Go escapes) or `backquotes` (raw), a number (-12, 3.5), or a bare
// word such as passing or true (its text, like go-bexpr's selector-shaped values).
// Keywords are lower case and whole words.
//
// Evaluation follows go-bexpr over Go structs, whose field names are the JSON names:
//   - A value is text; it is read as the type of what it is compared with. Strings
//     compare exactly (case matters); numbers by value (Go's integer syntax, 0x1f
//     included, or a float); booleans by Go's ParseBool (true, True, TRUE, t, 1, ...).
//   - `in`/`contains`: on a list, some element equals the value; on an object, it has
//     the value as a key; on a string, the value is a substring.
//   - `is empty`: an empty string, list or object, or null.
//   - `matches`: the value is a regular expression searched for in a string.
//   - When a selector crosses a list before its last name (`Checks.Status`), the match
//     holds if it holds for ANY element; an empty list matches nothing, `!=` included.
//   - A selector that does not resolve (no such key, or a name under a string) is
//     treated as null: `==`, `in`, `contains`, `matches` and `is not empty` are false;
//     `!=`, `not in`, `not contains`, `not matches` and `is empty` are true. go-bexpr
//     answers so for a missing map key; for an unknown struct field it refuses the
//     filter, which cannot be told apart over JSON. Fields a handler omits when empty
//     (Consul's omitempty) are therefore missing, not "".
//   - An operator that does not apply to a value (`==` on a list, `contains` on a
//     number, `matches` on a bool): the plain form is false, the `not` form true, where
//     go-bexpr would refuse the filter.
//
// Errors are InvalidArgument (a 400) with Consul's text: "Failed to create boolean
// expression evaluator: 1:9 (8): ..." (line:column (byte offset): what is wrong). Consul
// itself answers 500 with that text; Roster answers 400 because the fault is the
// client's. Limits keep a hostile filter cheap: kFilterBytesMax of text, kFilterDepthMax
// levels of parentheses and `not`, and for each regular expression kFilterRegexBytesMax
// bytes and about kFilterRegexStatesMax automaton states once counted repeats ({n,m})
// are expanded. Regular expressions run on std::regex's breadth-first matcher (no
// backtracking), so a match costs at most states x subject bytes, and its stack does
// not grow with the subject; Go's syntax beyond ECMAScript is not translated except a
// leading (?i). Lookahead and back-references are refused (Go's regexp has neither).
//
// Pure functions; no I/O. A FilterExpr is immutable once parsed and may be evaluated
// from many threads at once. Fuzzed by tests/fuzz/filter_fuzz.cc.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace roster::http {

// The JSON type of the handlers (the same alias as json_mapping.h): objects keep
// Consul's field order.
using Json = nlohmann::ordered_json;

inline constexpr std::size_t kFilterBytesMax = 4096;
inline constexpr int kFilterDepthMax = 32;
inline constexpr std::size_t kFilterRegexBytesMax = 128;
inline constexpr std::size_t kFilterRegexStatesMax = 256;

// `contains` is `in` with its operands swapped, as in go-bexpr.
enum class FilterOp {
  kEqual,
  kNotEqual,
  kIn,
  kNotIn,
  kIsEmpty,
  kIsNotEmpty,
  kMatches,
  kNotMatches
};

// A compiled `matches` pattern (defined in filter.cc).
struct FilterRegex;

// One node of the parsed expression.
struct FilterNode {
  enum class Kind { kMatch, kAnd, kOr, kNot };
  Kind kind = Kind::kMatch;
  std::vector<FilterNode> operands;  // kAnd, kOr: two or more; kNot: exactly one

  // kMatch only.
  std::vector<std::string> selector;  // the path, one entry per name, index or key
  FilterOp op = FilterOp::kEqual;
  std::string value;                         // the raw text; empty for is (not) empty
  std::shared_ptr<const FilterRegex> regex;  // set for kMatches and kNotMatches
};

struct FilterExpr {
  FilterNode root;
};

// Parses a filter. The empty string is not a filter (handlers skip filtering when
// ?filter is absent or empty; FilterArray does that itself).
Result<FilterExpr> ParseFilter(std::string_view text);

// Whether `item` (one element of the list a handler returns) passes the filter.
bool MatchesFilter(const FilterExpr& filter, const Json& item);

// Keeps, in place, what matches: an array its matching elements, in order; an object
// (the agent's map of ID to service or check) the members whose value matches; null
// stays null. Internal error (and `items` untouched) for any other JSON type. For a
// handler that parses ?filter before its read, so a bad filter is a 400 before any work.
Status FilterItems(const FilterExpr& filter, Json& items);

// Both steps at once: parses `filter`, then FilterItems. An empty `filter` returns
// `items` unchanged without looking at it. A bad filter is an error even when there is
// nothing to filter, as in Consul.
Result<Json> FilterArray(std::string_view filter, Json items);

// The tree as an S-expression, for tests and logs:
// (and (== Service.Tags "x") (not (is-empty Meta["a b"]))).
std::string FilterToString(const FilterExpr& filter);

}  // namespace roster::http
