#include "dns/records.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "base/check.h"

namespace roster::dns {
namespace {

constexpr std::size_t kTxtStringBytesMax = 255;

bool IsV4Mapped(const std::array<std::uint8_t, 16>& octets) {
  static constexpr std::array<std::uint8_t, 12> kPrefix = {0, 0, 0, 0, 0,    0,
                                                           0, 0, 0, 0, 0xff, 0xff};
  return std::equal(kPrefix.begin(), kPrefix.end(), octets.begin());
}

// RFC 1464 §2: '`' quotes the next character in the attribute name.
std::string EscapeMetaKey(std::string_view key) {
  std::string escaped;
  for (const char c : key) {
    if (c == '`' || c == '=') escaped.push_back('`');
    escaped.push_back(c);
  }
  const std::size_t leading = escaped.find_first_not_of(' ');
  if (leading == std::string::npos) {  // all spaces: each one quoted
    std::string all;
    for (std::size_t i = 0; i < escaped.size(); ++i) all += "` ";
    return all;
  }
  const std::size_t trailing = escaped.size() - 1 - escaped.find_last_not_of(' ');
  std::string out;
  for (std::size_t i = 0; i < leading; ++i) out += "` ";
  out.append(escaped, leading, escaped.size() - leading - trailing);
  for (std::size_t i = 0; i < trailing; ++i) out += "` ";
  return out;
}

std::string EscapeMetaValue(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  return out;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         AsciiEqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

}  // namespace

std::optional<RecordData> ParseIpAddress(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  const std::string terminated(text);
  AddressV4 v4;
  if (inet_pton(AF_INET, terminated.c_str(), v4.octets.data()) == 1) return RecordData(v4);
  AddressV6 v6;
  if (inet_pton(AF_INET6, terminated.c_str(), v6.octets.data()) != 1) return std::nullopt;
  if (IsV4Mapped(v6.octets)) {
    std::copy(v6.octets.begin() + 12, v6.octets.end(), v4.octets.begin());
    return RecordData(v4);
  }
  return RecordData(v6);
}

ResourceRecord MakeRecord(DomainName name, std::uint16_t type, std::uint32_t ttl_s,
                          RecordData data) {
  ResourceRecord record;
  record.name = std::move(name);
  record.type = type;
  record.klass = kClassIn;
  record.ttl_s = ttl_s;
  record.data = std::move(data);
  return record;
}

ResourceRecord MakeAddressRecord(DomainName name, std::uint32_t ttl_s, const RecordData& address) {
  const bool v4 = std::holds_alternative<AddressV4>(address);
  CHECK(v4 || std::holds_alternative<AddressV6>(address)) << "not an address";
  ResourceRecord record;
  record.name = std::move(name);
  record.type = v4 ? kTypeA : kTypeAaaa;
  record.klass = kClassIn;
  record.ttl_s = ttl_s;
  record.data = address;
  return record;
}

TxtData NodeMetaTxt(std::string_view key, std::string_view value) {
  const std::string text = StartsWithIgnoreCase(key, "rfc1035-")
                               ? std::string(value)
                               : EscapeMetaKey(key) + "=" + EscapeMetaValue(value);
  TxtData txt;
  for (std::size_t at = 0; at < text.size(); at += kTxtStringBytesMax) {
    txt.strings.push_back(text.substr(at, kTxtStringBytesMax));
  }
  if (txt.strings.empty()) txt.strings.emplace_back();  // a TXT record has one string at least
  return txt;
}

std::optional<DomainName> NodeTargetName(std::string_view node, std::string_view datacenter,
                                         const DomainName& domain) {
  if (node.empty()) return std::nullopt;
  Result<DomainName> prefix =
      DomainName::Parse(std::string(node) + ".node." + std::string(datacenter) + ".");
  if (!prefix.ok()) return std::nullopt;
  std::vector<std::string> labels = prefix->labels();
  labels.insert(labels.end(), domain.labels().begin(), domain.labels().end());
  Result<DomainName> name = DomainName::FromLabels(std::move(labels));
  if (!name.ok()) return std::nullopt;
  return std::move(name).value();
}

std::optional<DomainName> AddressTargetName(const RecordData& address, std::string_view datacenter,
                                            const DomainName& domain) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  const auto append = [&](const auto& octets) {
    for (const std::uint8_t octet : octets) {
      hex.push_back(kHex[octet >> 4]);
      hex.push_back(kHex[octet & 0xF]);
    }
  };
  if (const auto* v4 = std::get_if<AddressV4>(&address)) append(v4->octets);
  if (const auto* v6 = std::get_if<AddressV6>(&address)) append(v6->octets);
  CHECK(!hex.empty()) << "not an address";
  std::vector<std::string> labels = {hex, "addr", std::string(datacenter)};
  labels.insert(labels.end(), domain.labels().begin(), domain.labels().end());
  Result<DomainName> name = DomainName::FromLabels(std::move(labels));
  if (!name.ok()) return std::nullopt;  // a domain and datacenter near 255 octets
  return std::move(name).value();
}

std::optional<DomainName> HostName(std::string_view host) {
  Result<DomainName> name = DomainName::Parse(host);
  if (!name.ok() || name->IsRoot()) return std::nullopt;
  return std::move(name).value();
}

}  // namespace roster::dns
