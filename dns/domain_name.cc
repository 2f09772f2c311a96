#include "dns/domain_name.h"

#include <utility>

namespace roster::dns {
namespace {

char AsciiLowerChar(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Reads one "\X" or "\DDD" escape at text[*pos] == '\\'; advances *pos past it.
Result<char> ReadEscape(std::string_view text, std::size_t* pos) {
  const std::size_t start = *pos + 1;
  if (start >= text.size()) return InvalidArgument("name ends in a lone backslash");
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!is_digit(text[start])) {
    *pos = start + 1;
    return text[start];
  }
  if (start + 3 > text.size() || !is_digit(text[start + 1]) || !is_digit(text[start + 2])) {
    return InvalidArgument("a \\DDD escape needs three decimal digits");
  }
  const int value =
      (text[start] - '0') * 100 + (text[start + 1] - '0') * 10 + (text[start + 2] - '0');
  if (value > 255) return InvalidArgument("a \\DDD escape is above 255");
  *pos = start + 3;
  return static_cast<char>(value);
}

}  // namespace

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = AsciiLowerChar(c);
  return out;
}

bool AsciiEqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLowerChar(a[i]) != AsciiLowerChar(b[i])) return false;
  }
  return true;
}

Result<DomainName> DomainName::FromLabels(std::vector<std::string> labels) {
  std::size_t wire_bytes = 1;
  for (const std::string& label : labels) {
    if (label.empty()) return InvalidArgument("a DNS name has an empty label");
    if (label.size() > kLabelBytesMax) {
      return InvalidArgument("a DNS label is longer than 63 octets");
    }
    wire_bytes += 1 + label.size();
  }
  if (wire_bytes > kNameWireBytesMax)
    return InvalidArgument("a DNS name is longer than 255 octets");
  return DomainName(std::move(labels));
}

Result<DomainName> DomainName::Parse(std::string_view text) {
  if (text == "." || text.empty()) return DomainName();
  std::vector<std::string> labels;
  std::string label;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '.') {
      if (label.empty()) return InvalidArgument("a DNS name has an empty label");
      labels.push_back(std::move(label));
      label.clear();
      ++pos;
    } else if (c == '\\') {
      Result<char> escaped = ReadEscape(text, &pos);
      if (!escaped.ok()) return escaped.status();
      label.push_back(*escaped);
    } else {
      label.push_back(c);
      ++pos;
    }
  }
  if (!label.empty()) labels.push_back(std::move(label));
  return FromLabels(std::move(labels));
}

std::size_t DomainName::WireBytes() const {
  std::size_t bytes = 1;
  for (const std::string& label : labels_) bytes += 1 + label.size();
  return bytes;
}

std::string DomainName::ToString() const {
  if (labels_.empty()) return ".";
  std::string out;
  for (const std::string& label : labels_) {
    for (const char c : label) {
      const auto byte = static_cast<unsigned char>(c);
      if (c == '.' || c == '\\') {
        out.push_back('\\');
        out.push_back(c);
      } else if (byte < 0x21 || byte > 0x7e) {
        out.push_back('\\');
        out.push_back(static_cast<char>('0' + byte / 100));
        out.push_back(static_cast<char>('0' + byte / 10 % 10));
        out.push_back(static_cast<char>('0' + byte % 10));
      } else {
        out.push_back(c);
      }
    }
    out.push_back('.');
  }
  return out;
}

std::string DomainName::ToLowerString() const { return AsciiLower(ToString()); }

bool DomainName::EqualsIgnoreCase(const DomainName& other) const {
  return labels_.size() == other.labels_.size() && EndsWithIgnoreCase(other);
}

bool DomainName::EndsWithIgnoreCase(const DomainName& suffix) const {
  if (suffix.labels_.size() > labels_.size()) return false;
  const std::size_t offset = labels_.size() - suffix.labels_.size();
  for (std::size_t i = 0; i < suffix.labels_.size(); ++i) {
    if (!AsciiEqualsIgnoreCase(labels_[offset + i], suffix.labels_[i])) return false;
  }
  return true;
}

}  // namespace roster::dns
