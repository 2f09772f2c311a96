// Consul's ?filter= language, part two: evaluation over the JSON a handler returns,
// with go-bexpr's coercions, its any-element rule for lists and its answers for a
// missing key (http/filter.h).
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "http/filter_internal.h"

namespace roster::http {
namespace {

using filter_internal::HexDigitValue;
using filter_internal::RegexFinds;

// Go's strconv.ParseBool.
std::optional<bool> ParseGoBool(std::string_view text) {
  if (text == "1" || text == "t" || text == "T" || text == "TRUE" || text == "true" ||
      text == "True") {
    return true;
  }
  if (text == "0" || text == "f" || text == "F" || text == "FALSE" || text == "false" ||
      text == "False") {
    return false;
  }
  return std::nullopt;
}

struct GoInteger {
  bool negative = false;
  std::uint64_t magnitude = 0;
};

// Go's integer syntax with base 0 (strconv.ParseInt(s, 0, 64)): a sign, then decimal,
// 0x hex, 0o or leading-0 octal, or 0b binary, with '_' allowed between digits.
std::optional<GoInteger> ParseGoInteger(std::string_view text) {
  GoInteger result;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    result.negative = text[0] == '-';
    text.remove_prefix(1);
  }
  std::uint64_t base = 10;
  bool prefixed = false;
  if (text.size() >= 2 && text[0] == '0') {
    const char kind = static_cast<char>(text[1] | 0x20);
    base = kind == 'x' ? 16 : kind == 'b' ? 2 : 8;
    text.remove_prefix(kind == 'x' || kind == 'b' || kind == 'o' ? 2 : 1);
    prefixed = true;
  }
  bool previous_digit = prefixed;  // '_' may follow a prefix or a digit
  bool any_digit = false;
  for (const char c : text) {
    if (c == '_') {
      if (!previous_digit) return std::nullopt;
      previous_digit = false;
      continue;
    }
    const int digit = HexDigitValue(c);
    if (digit < 0 || static_cast<std::uint64_t>(digit) >= base) return std::nullopt;
    if (result.magnitude > (UINT64_MAX - static_cast<std::uint64_t>(digit)) / base) {
      return std::nullopt;
    }
    result.magnitude = result.magnitude * base + static_cast<std::uint64_t>(digit);
    previous_digit = true;
    any_digit = true;
  }
  if (!any_digit || !previous_digit) return std::nullopt;
  return result;
}

std::optional<double> ParseGoFloat(std::string_view text) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end) return std::nullopt;
  return value;
}

bool IntegerEquals(std::int64_t value, const GoInteger& integer) {
  if (integer.magnitude == 0) return value == 0;
  if (integer.negative != (value < 0)) return false;
  const std::uint64_t magnitude =
      value < 0 ? static_cast<std::uint64_t>(-(value + 1)) + 1 : static_cast<std::uint64_t>(value);
  return magnitude == integer.magnitude;
}

// `==` between one JSON value and the filter's text, read as the value's type.
bool Equals(const Json& value, const std::string& text) {
  switch (value.type()) {
    case Json::value_t::string:
      return value.get_ref<const std::string&>() == text;
    case Json::value_t::boolean: {
      const std::optional<bool> parsed = ParseGoBool(text);
      return parsed.has_value() && *parsed == value.get<bool>();
    }
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      if (const std::optional<GoInteger> integer = ParseGoInteger(text); integer.has_value()) {
        if (value.is_number_unsigned()) {
          return !integer->negative && integer->magnitude == value.get<std::uint64_t>();
        }
        return IntegerEquals(value.get<std::int64_t>(), *integer);
      }
      const std::optional<double> parsed = ParseGoFloat(text);
      return parsed.has_value() && *parsed == value.get<double>();
    }
    case Json::value_t::number_float: {
      const std::optional<double> parsed = ParseGoFloat(text);
      return parsed.has_value() && *parsed == value.get<double>();
    }
    default:
      return false;  // null, lists and objects equal no text
  }
}

bool Contains(const Json& value, const std::string& text) {
  if (value.is_string()) return value.get_ref<const std::string&>().find(text) != std::string::npos;
  if (value.is_object()) return value.contains(text);
  if (!value.is_array()) return false;
  for (const Json& element : value) {
    if (Equals(element, text)) return true;
  }
  return false;
}

bool IsEmpty(const Json& value) {
  if (value.is_null()) return true;
  if (value.is_string()) return value.get_ref<const std::string&>().empty();
  if (value.is_array() || value.is_object()) return value.empty();
  return false;
}

// The operator applied to the value the selector reached. A selector that did not
// resolve arrives as null, which gives go-bexpr's answers for a missing map key.
bool Apply(const FilterNode& node, const Json& value) {
  switch (node.op) {
    case FilterOp::kEqual:
      return Equals(value, node.value);
    case FilterOp::kNotEqual:
      return !Equals(value, node.value);
    case FilterOp::kIn:
      return Contains(value, node.value);
    case FilterOp::kNotIn:
      return !Contains(value, node.value);
    case FilterOp::kIsEmpty:
      return IsEmpty(value);
    case FilterOp::kIsNotEmpty:
      return !IsEmpty(value);
    case FilterOp::kMatches:
      return value.is_string() && RegexFinds(*node.regex, value.get_ref<const std::string&>());
    case FilterOp::kNotMatches:
      return !(value.is_string() && RegexFinds(*node.regex, value.get_ref<const std::string&>()));
  }
  return false;
}

std::optional<std::size_t> ListIndex(const std::string& part) {
  std::size_t index = 0;
  const auto [stop, error] = std::from_chars(part.data(), part.data() + part.size(), index);
  if (error != std::errc() || stop != part.data() + part.size()) return std::nullopt;
  return index;
}

// Follows the selector from `value`, beginning at part `part`. A list met before the
// last part fans out: the match holds if it holds for any element (go-bexpr's rule for
// slices), unless the part is a number, which indexes the list.
bool MatchFrom(const FilterNode& node, const Json& value, std::size_t part) {
  const Json* current = &value;
  for (; part < node.selector.size(); ++part) {
    const std::string& name = node.selector[part];
    if (current->is_object()) {
      const auto found = current->find(name);
      if (found == current->end()) return Apply(node, Json());
      current = &*found;
    } else if (current->is_array()) {
      if (const std::optional<std::size_t> index = ListIndex(name); index.has_value()) {
        if (*index >= current->size()) return Apply(node, Json());
        current = &(*current)[*index];
        continue;
      }
      for (const Json& element : *current) {
        if (MatchFrom(node, element, part)) return true;
      }
      return false;
    } else {
      return Apply(node, Json());  // a name under a string, number, bool or null
    }
  }
  return Apply(node, *current);
}

bool Evaluate(const FilterNode& node, const Json& item) {
  switch (node.kind) {
    case FilterNode::Kind::kMatch:
      return MatchFrom(node, item, 0);
    case FilterNode::Kind::kNot:
      return !Evaluate(node.operands.front(), item);
    case FilterNode::Kind::kAnd:
      for (const FilterNode& operand : node.operands) {
        if (!Evaluate(operand, item)) return false;
      }
      return true;
    case FilterNode::Kind::kOr:
      for (const FilterNode& operand : node.operands) {
        if (Evaluate(operand, item)) return true;
      }
      return false;
  }
  return false;
}

}  // namespace

bool MatchesFilter(const FilterExpr& filter, const Json& item) {
  return Evaluate(filter.root, item);
}

Status FilterItems(const FilterExpr& filter, Json& items) {
  if (items.is_null()) return Status::Ok();
  if (items.is_array()) {
    Json kept = Json::array();
    for (Json& item : items) {
      if (MatchesFilter(filter, item)) kept.push_back(std::move(item));
    }
    items = std::move(kept);
    return Status::Ok();
  }
  if (items.is_object()) {
    Json kept = Json::object();
    for (auto member = items.begin(); member != items.end(); ++member) {
      if (MatchesFilter(filter, member.value())) kept[member.key()] = std::move(member.value());
    }
    items = std::move(kept);
    return Status::Ok();
  }
  return Internal(std::string("a filter applies to a JSON array or object, not ") +
                  items.type_name());
}

Result<Json> FilterArray(std::string_view filter, Json items) {
  if (filter.empty()) return items;
  Result<FilterExpr> expr = ParseFilter(filter);
  if (!expr.ok()) return expr.status();
  RETURN_IF_ERROR(FilterItems(*expr, items));
  return items;
}

}  // namespace roster::http
