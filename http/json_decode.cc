#include "http/json_decode.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace roster::http {
namespace {

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// How deeply arrays and objects nest in `text`, counted without parsing (brackets
// inside strings do not count). Stops counting past limit.
std::size_t NestingDepth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size() && deepest <= limit; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped byte cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// The value of one base64 digit, or -1.
int Base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

Status IllegalBase64(std::size_t at) {
  return InvalidArgument("illegal base64 data at input byte " + std::to_string(at));
}

}  // namespace

Result<Json> ParseJsonBody(std::string_view body, std::size_t depth_max) {
  if (NestingDepth(body, depth_max) > depth_max) {
    return InvalidArgument("JSON nested deeper than " + std::to_string(depth_max) + " levels");
  }
  try {
    return Json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for a number too large for a double (1E999).
    return InvalidArgument(e.what());
  }
}

const Json* FindField(const Json& object, std::string_view name) {
  const auto exact = object.find(std::string(name));
  if (exact != object.end()) return &*exact;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (EqualsIgnoringAsciiCase(it.key(), name)) return &*it;
  }
  return nullptr;
}

std::string_view GoJsonKind(const Json& value) {
  if (value.is_string()) return "string";
  if (value.is_number()) return "number";
  if (value.is_boolean()) return "bool";
  if (value.is_array()) return "array";
  if (value.is_object()) return "object";
  return "null";
}

Status UnmarshalTypeError(const Json& value, std::string_view field, std::string_view go_type) {
  return InvalidArgument("json: cannot unmarshal " + std::string(GoJsonKind(value)) +
                         " into Go struct field " + std::string(field) + " of type " +
                         std::string(go_type));
}

Status DecodeString(const Json* value, std::string_view field, std::string* out) {
  if (value == nullptr || value->is_null()) return Status::Ok();
  if (!value->is_string()) return UnmarshalTypeError(*value, field, "string");
  *out = value->get<std::string>();
  return Status::Ok();
}

Status DecodeUint64(const Json* value, std::string_view field, std::uint64_t* out) {
  if (value == nullptr || value->is_null()) return Status::Ok();
  if (!value->is_number_unsigned()) {
    if (value->is_number()) {
      // Go's wording for a number that does not fit: "json: cannot unmarshal number -1
      // into Go struct field ... of type uint64".
      return InvalidArgument("json: cannot unmarshal number " + value->dump() +
                             " into Go struct field " + std::string(field) + " of type uint64");
    }
    return UnmarshalTypeError(*value, field, "uint64");
  }
  *out = value->get<std::uint64_t>();
  return Status::Ok();
}

Status DecodeStringList(const Json* value, std::string_view field, std::vector<std::string>* out) {
  if (value == nullptr) return Status::Ok();
  out->clear();
  if (value->is_null()) return Status::Ok();
  if (!value->is_array()) return UnmarshalTypeError(*value, field, "[]string");
  for (const Json& item : *value) {
    if (!item.is_string()) return UnmarshalTypeError(item, field, "string");
    out->push_back(item.get<std::string>());
  }
  return Status::Ok();
}

Status DecodeBool(const Json* value, std::string_view field, bool* out) {
  if (value == nullptr || value->is_null()) return Status::Ok();
  if (!value->is_boolean()) return UnmarshalTypeError(*value, field, "bool");
  *out = value->get<bool>();
  return Status::Ok();
}

Status DecodeInt64(const Json* value, std::string_view field, std::int64_t* out) {
  if (value == nullptr || value->is_null()) return Status::Ok();
  if (value->is_number_integer() &&
      (!value->is_number_unsigned() ||
       value->get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX))) {
    *out = value->get<std::int64_t>();
    return Status::Ok();
  }
  if (value->is_number()) {
    return InvalidArgument("json: cannot unmarshal number " + value->dump() +
                           " into Go struct field " + std::string(field) + " of type int");
  }
  return UnmarshalTypeError(*value, field, "int");
}

Status DecodeStringMap(const Json* value, std::string_view field,
                       std::map<std::string, std::string, std::less<>>* out) {
  if (value == nullptr) return Status::Ok();
  out->clear();
  if (value->is_null()) return Status::Ok();
  if (!value->is_object()) return UnmarshalTypeError(*value, field, "map[string]string");
  for (auto it = value->begin(); it != value->end(); ++it) {
    if (it->is_null()) {
      (*out)[it.key()] = "";
      continue;
    }
    if (!it->is_string()) return UnmarshalTypeError(*it, field, "string");
    (*out)[it.key()] = it->get<std::string>();
  }
  return Status::Ok();
}

Result<std::string> Base64Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::array<int, 4> quantum{};
  std::size_t filled = 0;   // digits in the current quantum
  std::size_t padding = 0;  // '=' seen; only at the very end
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') continue;
    if (c == '=') {
      // Padding completes a quantum of two or three digits, and nothing follows it.
      if (filled < 2 || filled + padding >= 4) return IllegalBase64(i);
      ++padding;
      continue;
    }
    const int digit = Base64Digit(c);
    if (digit < 0 || padding > 0) return IllegalBase64(i);
    quantum[filled++] = digit;
    if (filled == 4) {
      const std::uint32_t group = static_cast<std::uint32_t>(quantum[0]) << 18 |
                                  static_cast<std::uint32_t>(quantum[1]) << 12 |
                                  static_cast<std::uint32_t>(quantum[2]) << 6 |
                                  static_cast<std::uint32_t>(quantum[3]);
      out.push_back(static_cast<char>(group >> 16));
      out.push_back(static_cast<char>(group >> 8 & 0xFF));
      out.push_back(static_cast<char>(group & 0xFF));
      filled = 0;
    }
  }
  if (filled == 0 && padding == 0) return out;
  if (filled + padding != 4) return IllegalBase64(text.size());
  const std::uint32_t group = static_cast<std::uint32_t>(quantum[0]) << 18 |
                              static_cast<std::uint32_t>(quantum[1]) << 12 |
                              (filled == 3 ? static_cast<std::uint32_t>(quantum[2]) << 6 : 0);
  out.push_back(static_cast<char>(group >> 16));
  if (filled == 3) out.push_back(static_cast<char>(group >> 8 & 0xFF));
  return out;
}

}  // namespace roster::http
