// Consul's ?filter= language, part one: the parser for go-bexpr's grammar (recursive
// descent) and FilterToString. Evaluation is in filter_eval.cc, the regular-expression
// guard in filter_regex.cc; http/filter.h is the contract, docs/api.md ("Filtering")
// the user's description.
#include "http/filter.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/filter_internal.h"

namespace roster::http {
namespace {

using filter_internal::HexDigitValue;
using filter_internal::IsDigit;
using filter_internal::IsIdentifierChar;
using filter_internal::IsLetter;
using filter_internal::IsSpace;

constexpr std::string_view kErrorPrefix = "Failed to create boolean expression evaluator: ";

// The offset of the first byte that does not start a valid UTF-8 sequence, or npos.
// go-bexpr's parser refuses such input ("invalid encoding").
std::size_t InvalidUtf8At(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // The sequence's length from its lead byte, and the smallest code point that needs
    // that length (anything below is an overlong encoding).
    const std::size_t length = (lead & 0xE0) == 0xC0   ? 2
                               : (lead & 0xF0) == 0xE0 ? 3
                               : (lead & 0xF8) == 0xF0 ? 4
                                                       : 0;
    if (length == 0) return i;
    static constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    std::uint32_t code_point = lead & (0x7F >> length);
    if (i + length > text.size()) return i;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return i;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
    if (code_point < kSmallest[length] || code_point > 0x10FFFF || surrogate) return i;
    i += length;
  }
  return std::string_view::npos;
}

// "line:column (offset)" as go-bexpr's parser prints a position: the line and column
// count from 1 (the column in characters), the byte offset from 0.
std::string Position(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column) + " (" + std::to_string(offset) + ")";
}

// "text" with '"', '\\' and control bytes escaped, for messages and FilterToString.
void AppendQuoted(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7F) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string Quoted(std::string_view text) {
  std::string out;
  AppendQuoted(out, text);
  return out;
}

void AppendUtf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// Reads `digits` hex digits at body[at...] into value; false if there are fewer.
bool ReadHex(std::string_view body, std::size_t at, int digits, std::uint32_t& value) {
  if (at + digits > body.size()) return false;
  value = 0;
  for (int k = 0; k < digits; ++k) {
    const int digit = HexDigitValue(body[at + k]);
    if (digit < 0) return false;
    value = value * 16 + static_cast<std::uint32_t>(digit);
  }
  return true;
}

// Go's strconv.Unquote of a double-quoted literal, given what lies between the quotes:
// \a \b \f \n \r \t \v \\ \xHH \ooo \uHHHH \UHHHHHHHH; a raw newline is invalid.
std::optional<std::string> UnquoteGo(std::string_view body) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\n') return std::nullopt;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= body.size()) return std::nullopt;
    static constexpr std::string_view kSimple = "abfnrtv\\";
    static constexpr std::string_view kSimpleBytes = "\a\b\f\n\r\t\v\\";
    const char escape = body[i];
    std::uint32_t value = 0;
    if (const std::size_t simple = kSimple.find(escape); simple != std::string_view::npos) {
      out += kSimpleBytes[simple];
    } else if (escape == 'x') {
      if (!ReadHex(body, i + 1, 2, value)) return std::nullopt;
      out += static_cast<char>(value);
      i += 2;
    } else if (escape == 'u' || escape == 'U') {
      const int digits = escape == 'u' ? 4 : 8;
      if (!ReadHex(body, i + 1, digits, value)) return std::nullopt;
      if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return std::nullopt;
      AppendUtf8(out, value);
      i += digits;
    } else if (escape >= '0' && escape <= '7') {
      if (i + 2 >= body.size()) return std::nullopt;
      for (std::size_t k = i; k < i + 3; ++k) {
        if (body[k] < '0' || body[k] > '7') return std::nullopt;
        value = value * 8 + static_cast<std::uint32_t>(body[k] - '0');
      }
      if (value > 0xFF) return std::nullopt;
      out += static_cast<char>(value);
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// ---- The parser --------------------------------------------------------------------

// go-bexpr's grammar by recursive descent. Every Parse* returns false after recording
// the first error; `depth` counts the parentheses and `not`s around the current point.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<FilterExpr> Parse() {
    FilterExpr expr;
    SkipSpace();
    if (!ParseBinary(expr.root, 0, FilterNode::Kind::kOr)) return error_;
    SkipSpace();
    if (pos_ < text_.size()) {
      Fail(pos_, R"(no match found, expected: "and", "or" or the end of the filter)");
      return error_;
    }
    return expr;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }

  void SkipSpace() {
    while (!AtEnd() && IsSpace(text_[pos_])) ++pos_;
  }

  // Whether `word` stands at `at` as a whole word (not the start of a longer name).
  bool WordAt(std::size_t at, std::string_view word) const {
    if (text_.substr(at, word.size()) != word) return false;
    const std::size_t after = at + word.size();
    return after >= text_.size() || !IsIdentifierChar(text_[after]);
  }

  bool ConsumeWord(std::string_view word) {
    if (!WordAt(pos_, word)) return false;
    pos_ += word.size();
    return true;
  }

  bool Fail(std::size_t at, std::string_view message) {
    if (error_.ok()) {
      error_ = InvalidArgument(std::string(kErrorPrefix) + Position(text_, at) + ": " +
                               std::string(message));
    }
    return false;
  }

  bool FailTooDeep(std::size_t at) {
    return Fail(at, "the filter nests parentheses and \"not\" deeper than " +
                        std::to_string(kFilterDepthMax) + " levels");
  }

  // operand ("or"|"and" operand)*, as one n-ary node: both are associative, and a flat
  // node keeps the tree (and its evaluation) as shallow as the parentheses.
  bool ParseBinary(FilterNode& out, int depth, FilterNode::Kind kind) {
    const bool is_or = kind == FilterNode::Kind::kOr;
    const auto parse_operand = [&](FilterNode& node) {
      return is_or ? ParseBinary(node, depth, FilterNode::Kind::kAnd) : ParseNot(node, depth);
    };
    std::vector<FilterNode> operands(1);
    if (!parse_operand(operands.back())) return false;
    while (true) {
      const std::size_t before = pos_;
      SkipSpace();
      if (!ConsumeWord(is_or ? "or" : "and")) {
        pos_ = before;
        break;
      }
      SkipSpace();
      operands.emplace_back();
      if (!parse_operand(operands.back())) return false;
    }
    if (operands.size() == 1) {
      out = std::move(operands.front());
    } else {
      out = FilterNode{};
      out.kind = kind;
      out.operands = std::move(operands);
    }
    return true;
  }

  // "not" then something that can start an operand; otherwise "not" is a name.
  bool NegationAt(std::size_t at) const {
    if (!WordAt(at, "not")) return false;
    std::size_t next = at + 3;
    while (next < text_.size() && IsSpace(text_[next])) ++next;
    if (next >= text_.size()) return false;
    const char c = text_[next];
    return IsLetter(c) || IsDigit(c) || c == '(' || c == '"' || c == '`' || c == '-';
  }

  bool ParseNot(FilterNode& out, int depth) {
    if (!NegationAt(pos_)) return ParsePrimary(out, depth);
    if (depth >= kFilterDepthMax) return FailTooDeep(pos_);
    pos_ += 3;
    SkipSpace();
    FilterNode operand;
    if (!ParseNot(operand, depth + 1)) return false;
    if (operand.kind == FilterNode::Kind::kNot) {  // "not not x" is x, as in go-bexpr
      FilterNode inner = std::move(operand.operands.front());
      out = std::move(inner);
      return true;
    }
    out = FilterNode{};
    out.kind = FilterNode::Kind::kNot;
    out.operands.push_back(std::move(operand));
    return true;
  }

  bool ParsePrimary(FilterNode& out, int depth) {
    if (Peek() != '(') return ParseMatch(out);
    if (depth >= kFilterDepthMax) return FailTooDeep(pos_);
    const std::size_t open = pos_++;
    SkipSpace();
    if (!ParseBinary(out, depth + 1, FilterNode::Kind::kOr)) return false;
    SkipSpace();
    if (AtEnd()) return Fail(open, "Unmatched parentheses");
    if (Peek() != ')') return Fail(pos_, R"msg(no match found, expected: "and", "or" or ")")msg");
    ++pos_;
    return true;
  }

  bool ParseMatch(FilterNode& out) {
    out = FilterNode{};
    if (IsLetter(Peek())) {
      if (!ParseSelector(out.selector)) return false;
      return ParseOperatorAfterSelector(out);
    }
    // A string or a number can only be the value of "in".
    std::string value;
    if (!ParseLiteral(value, R"("(", "not", a selector, a string or a number)")) return false;
    SkipSpace();
    if (ConsumeWord("in")) return ParseInSelector(out, std::move(value), FilterOp::kIn);
    if (ConsumeWord("not")) {
      SkipSpace();
      if (ConsumeWord("in")) return ParseInSelector(out, std::move(value), FilterOp::kNotIn);
    }
    return Fail(pos_, R"(no match found, expected: "in" or "not in")");
  }

  bool ParseOperatorAfterSelector(FilterNode& out) {
    SkipSpace();
    const std::string_view two = text_.substr(pos_, 2);
    if (two == "==" || two == "!=") {
      out.op = two == "==" ? FilterOp::kEqual : FilterOp::kNotEqual;
      pos_ += 2;
      return ParseValueOf(out);
    }
    if (ConsumeWord("is")) {
      SkipSpace();
      const bool negated = ConsumeWord("not");
      if (negated) SkipSpace();
      if (ConsumeWord("empty")) {
        out.op = negated ? FilterOp::kIsNotEmpty : FilterOp::kIsEmpty;
        return true;
      }
      return Fail(pos_, R"(no match found, expected: "empty" or "not empty")");
    }
    const bool negated = ConsumeWord("not");
    if (negated) SkipSpace();
    if (ConsumeWord("contains")) {
      out.op = negated ? FilterOp::kNotIn : FilterOp::kIn;
      return ParseValueOf(out);
    }
    if (ConsumeWord("matches")) {
      out.op = negated ? FilterOp::kNotMatches : FilterOp::kMatches;
      return ParseValueOf(out) && CompileMatches(out);
    }
    if (ConsumeWord("in")) {  // what looked like a selector was the value
      std::string value = JoinSelector(out.selector);
      return ParseInSelector(out, std::move(value), negated ? FilterOp::kNotIn : FilterOp::kIn);
    }
    if (negated) return Fail(pos_, R"(no match found, expected: "contains", "in" or "matches")");
    return Fail(pos_, R"(no match found, expected: "!=", "==", "contains", "in", "is", )"
                      R"("matches" or "not")");
  }

  bool ParseValueOf(FilterNode& out) {
    SkipSpace();
    value_at_ = pos_;
    if (!IsLetter(Peek())) return ParseLiteral(out.value, "a string, a number or a name");
    std::vector<std::string> path;
    if (!ParseSelector(path)) return false;
    out.value = JoinSelector(path);  // go-bexpr keeps a bare word's text
    return true;
  }

  bool CompileMatches(FilterNode& out) {
    std::string why;
    out.regex = filter_internal::CompileRegex(out.value, why);
    if (out.regex != nullptr) return true;
    return Fail(value_at_,
                "Failed to compile regular expression " + Quoted(out.value) + ": " + why);
  }

  bool ParseInSelector(FilterNode& out, std::string value, FilterOp op) {
    SkipSpace();
    if (!IsLetter(Peek())) return Fail(pos_, "Invalid selector");
    out.op = op;
    out.value = std::move(value);
    return ParseSelector(out.selector);
  }

  // A quoted string or a number; `expected` names what else could have stood here.
  bool ParseLiteral(std::string& out, std::string_view expected) {
    const char c = Peek();
    if (c == '"' || c == '`') return ParseString(out);
    if (IsDigit(c) || c == '-') return ParseNumber(out);
    return Fail(pos_, "no match found, expected: " + std::string(expected));
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?, then a space, ")" or the end, as go-bexpr has it.
  bool ParseNumber(std::string& out) {
    const std::size_t start = pos_;
    std::size_t i = pos_;
    if (text_[i] == '-') ++i;
    if (i >= text_.size() || !IsDigit(text_[i])) return Fail(start, "Invalid number literal");
    if (text_[i] == '0') {
      ++i;
    } else {
      while (i < text_.size() && IsDigit(text_[i])) ++i;
    }
    if (i + 1 < text_.size() && text_[i] == '.' && IsDigit(text_[i + 1])) {
      i += 2;
      while (i < text_.size() && IsDigit(text_[i])) ++i;
    }
    if (i < text_.size() && !IsSpace(text_[i]) && text_[i] != ')') {
      return Fail(start, "Invalid number literal");
    }
    out = std::string(text_.substr(start, i - start));
    pos_ = i;
    return true;
  }

  // "Go string" or `raw string`. A double-quoted string cannot hold '"' (go-bexpr's
  // grammar ends it at the first one); a raw one loses its '\r's, as Go's do.
  bool ParseString(std::string& out) {
    const std::size_t start = pos_;
    const char quote = text_[pos_];
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) return Fail(start, "Unterminated string literal");
    const std::string_view body = text_.substr(start + 1, end - start - 1);
    pos_ = end + 1;
    out.clear();
    if (quote == '`') {
      for (const char c : body) {
        if (c != '\r') out += c;
      }
      return true;
    }
    std::optional<std::string> unquoted = UnquoteGo(body);
    if (!unquoted.has_value()) {
      return Fail(start, "invalid syntax in string literal (a bad escape or a raw newline)");
    }
    out = std::move(*unquoted);
    return true;
  }

  std::string_view Identifier() {
    const std::size_t start = pos_;
    while (!AtEnd() && IsIdentifierChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // name ("." name | "." digits | "[" string "]")*. REQUIRES: IsLetter(Peek()).
  bool ParseSelector(std::vector<std::string>& path) {
    path.clear();
    path.emplace_back(Identifier());
    while (!AtEnd()) {
      if (Peek() == '.') {
        const char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
        if (!IsLetter(next) && !IsDigit(next)) {
          return Fail(pos_ + 1, R"(no match found, expected: a name or an index after ".")");
        }
        ++pos_;
        if (IsLetter(next)) {
          path.emplace_back(Identifier());
        } else {
          const std::size_t start = pos_;
          while (!AtEnd() && IsDigit(text_[pos_])) ++pos_;
          path.emplace_back(text_.substr(start, pos_ - start));
        }
      } else if (Peek() == '[') {
        const std::size_t open = pos_++;
        SkipSpace();
        if (Peek() != '"' && Peek() != '`') return Fail(open, "Invalid index");
        std::string key;
        if (!ParseString(key)) return false;
        SkipSpace();
        if (Peek() != ']') return Fail(open, "Unclosed index expression");
        ++pos_;
        path.push_back(std::move(key));
      } else {
        break;
      }
    }
    return true;
  }

  // go-bexpr's Selector.String(): the parts joined with dots.
  static std::string JoinSelector(const std::vector<std::string>& path) {
    std::string joined;
    for (const std::string& part : path) {
      if (!joined.empty()) joined += '.';
      joined += part;
    }
    return joined;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t value_at_ = 0;  // where the last value began, for regex errors
  Status error_;
};

// ---- FilterToString -----------------------------------------------------------------

std::string_view OpName(FilterOp op) {
  switch (op) {
    case FilterOp::kEqual:
      return "==";
    case FilterOp::kNotEqual:
      return "!=";
    case FilterOp::kIn:
      return "in";
    case FilterOp::kNotIn:
      return "not-in";
    case FilterOp::kIsEmpty:
      return "is-empty";
    case FilterOp::kIsNotEmpty:
      return "is-not-empty";
    case FilterOp::kMatches:
      return "matches";
    case FilterOp::kNotMatches:
      return "not-matches";
  }
  return "?";
}

bool IsName(std::string_view part) {
  if (part.empty() || !IsLetter(part[0])) return false;
  for (const char c : part) {
    if (!IsIdentifierChar(c)) return false;
  }
  return true;
}

bool IsNumber(std::string_view part) {
  if (part.empty()) return false;
  for (const char c : part) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

void AppendNode(std::string& out, const FilterNode& node) {
  if (node.kind != FilterNode::Kind::kMatch) {
    out += node.kind == FilterNode::Kind::kAnd  ? "(and"
           : node.kind == FilterNode::Kind::kOr ? "(or"
                                                : "(not";
    for (const FilterNode& operand : node.operands) {
      out += ' ';
      AppendNode(out, operand);
    }
    out += ')';
    return;
  }
  out += '(';
  out += OpName(node.op);
  out += ' ';
  for (std::size_t i = 0; i < node.selector.size(); ++i) {
    const std::string& part = node.selector[i];
    if (IsName(part) || (i > 0 && IsNumber(part))) {
      if (i > 0) out += '.';
      out += part;
    } else {
      out += '[';
      AppendQuoted(out, part);
      out += ']';
    }
  }
  if (node.op != FilterOp::kIsEmpty && node.op != FilterOp::kIsNotEmpty) {
    out += ' ';
    AppendQuoted(out, node.value);
  }
  out += ')';
}

}  // namespace

Result<FilterExpr> ParseFilter(std::string_view text) {
  if (text.size() > kFilterBytesMax) {
    return InvalidArgument(std::string(kErrorPrefix) + "the filter is " +
                           std::to_string(text.size()) + " bytes; the limit is " +
                           std::to_string(kFilterBytesMax));
  }
  if (const std::size_t bad = InvalidUtf8At(text); bad != std::string_view::npos) {
    return InvalidArgument(std::string(kErrorPrefix) + Position(text, bad) + ": invalid encoding");
  }
  return Parser(text).Parse();
}

std::string FilterToString(const FilterExpr& filter) {
  std::string out;
  AppendNode(out, filter.root);
  return out;
}

}  // namespace roster::http
