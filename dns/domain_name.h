// DomainName: a DNS name as its labels (RFC 1035 §2.3.4, §3.1).
//
// A DomainName is valid by construction: every label is 1..63 octets and the name's wire
// length (each label with its length octet, plus the root's zero octet) is at most 255.
// Labels are raw octets, so a label may hold a '.' or any byte; the text form escapes
// them as RFC 1035 §5.1 master files do ("\." and "\DDD"). Comparison with == is exact
// (case-sensitive), which is what round trips and name compression need; DNS lookups
// compare with EqualsIgnoreCase (ASCII only, RFC 4343).
// Thread-safety: a plain value.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace roster::dns {

inline constexpr std::size_t kLabelBytesMax = 63;
inline constexpr std::size_t kNameWireBytesMax = 255;

class DomainName {
 public:
  DomainName() = default;  // the root, "."

  // From labels, leftmost first. InvalidArgument for an empty label, a label over 63
  // octets, or a name over 255 octets on the wire.
  static Result<DomainName> FromLabels(std::vector<std::string> labels);
  // From text: "web.service.roster." or without the final dot; "." or "" is the root.
  // Understands "\." and "\DDD" escapes. Same errors as FromLabels, plus bad escapes.
  static Result<DomainName> Parse(std::string_view text);

  const std::vector<std::string>& labels() const { return labels_; }
  bool IsRoot() const { return labels_.empty(); }
  // Octets on the wire without compression: sum of (1 + label length), plus 1.
  std::size_t WireBytes() const;

  // Text form with a final dot, escaping '.', '\\' and bytes outside 0x21..0x7e.
  std::string ToString() const;
  // ASCII lowercase text form without escapes beyond ToString's; for map keys.
  std::string ToLowerString() const;

  bool EqualsIgnoreCase(const DomainName& other) const;
  // True if the last labels of this name are `suffix`'s labels (ignoring case). Every
  // name ends with the root.
  bool EndsWithIgnoreCase(const DomainName& suffix) const;

  bool operator==(const DomainName&) const = default;

 private:
  explicit DomainName(std::vector<std::string> labels) : labels_(std::move(labels)) {}
  std::vector<std::string> labels_;
};

// ASCII case folding, as DNS does (RFC 4343): only A-Z change.
std::string AsciiLower(std::string_view text);
bool AsciiEqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace roster::dns
