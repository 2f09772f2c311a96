#include "dns/names.h"

#include <utility>

namespace roster::dns {
namespace {

constexpr std::uint16_t kQuestionTypeSrv = 33;

// The label that says which form a name has. Consul's mesh and prepared-query kinds
// are recognised so that their names are kUnknown rather than read as something else.
enum class Kind { kNone, kService, kNode, kAddress, kUnsupported };

Kind KindOfLabel(std::string_view label) {
  if (label == "service") return Kind::kService;
  if (label == "node") return Kind::kNode;
  if (label == "addr") return Kind::kAddress;
  if (label == "connect" || label == "virtual" || label == "ingress" || label == "query") {
    return Kind::kUnsupported;
  }
  return Kind::kNone;
}

std::string Join(const std::vector<std::string>& labels, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) {
    if (i > begin) out.push_back('.');
    out.append(labels[i]);
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> DecodeHex(std::string_view hex) {
  if (hex.size() != 8 && hex.size() != 32) return std::nullopt;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // the labels are lowercased already
  };
  std::vector<std::uint8_t> octets;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = nibble(hex[i]);
    const int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    octets.push_back(static_cast<std::uint8_t>(high * 16 + low));
  }
  return octets;
}

bool StartsWithUnderscore(std::string_view label) { return !label.empty() && label[0] == '_'; }

// Fills the service form from the labels before the `service` label.
void ParseServiceParts(const std::vector<std::string>& parts, QueryName* out) {
  const std::size_t n = parts.size();
  if (n == 2 && StartsWithUnderscore(parts[0]) && StartsWithUnderscore(parts[1])) {
    out->service = parts[0].substr(1);
    out->tag = parts[1] == "_tcp" ? "" : parts[1].substr(1);
  } else if (n >= 1) {
    out->service = parts[n - 1];
    out->tag = Join(parts, 0, n - 1);
  }
  out->form = out->service.empty() ? NameForm::kUnknown : NameForm::kService;
}

// The configured domain `name` is under (the longer one if both), or nullptr.
const DomainName* MatchDomain(const DomainName& name, const Domains& domains) {
  const DomainName* used = name.EndsWithIgnoreCase(domains.domain) ? &domains.domain : nullptr;
  if (domains.alt_domain.has_value() && name.EndsWithIgnoreCase(*domains.alt_domain) &&
      (used == nullptr || domains.alt_domain->labels().size() > used->labels().size())) {
    used = &*domains.alt_domain;
  }
  return used;
}

}  // namespace

Result<Domains> ParseDomains(std::string_view domain, std::string_view alt_domain) {
  Result<DomainName> parsed = DomainName::Parse(domain);
  if (!parsed.ok()) return parsed.status();
  if (parsed->IsRoot()) return InvalidArgument("the DNS domain must not be the root");
  Domains domains{std::move(parsed).value(), std::nullopt};
  if (alt_domain.empty()) return domains;
  Result<DomainName> alt = DomainName::Parse(alt_domain);
  if (!alt.ok()) return alt.status();
  if (alt->IsRoot()) return InvalidArgument("the DNS alt_domain must not be the root");
  domains.alt_domain = std::move(alt).value();
  return domains;
}

QueryName ParseQueryName(const DomainName& name, const Domains& domains,
                         std::uint16_t question_type) {
  QueryName out;
  const DomainName* domain = MatchDomain(name, domains);
  if (domain == nullptr) return out;
  out.domain = *domain;
  out.form = NameForm::kUnknown;

  std::vector<std::string> labels;
  const std::size_t count = name.labels().size() - domain->labels().size();
  for (std::size_t i = 0; i < count; ++i) labels.push_back(AsciiLower(name.labels()[i]));
  if (labels.empty()) {
    out.form = NameForm::kApex;
    return out;
  }

  // The rightmost kind label splits the name into parts (before) and suffixes (after).
  Kind kind = Kind::kNone;
  std::size_t parts_end = 0;
  std::size_t suffixes_begin = 0;
  for (std::size_t i = labels.size(); i-- > 0;) {
    kind = KindOfLabel(labels[i]);
    parts_end = i;
    suffixes_begin = i + 1;
    if (kind == Kind::kNone && question_type == kQuestionTypeSrv &&
        StartsWithUnderscore(labels[i])) {
      kind = Kind::kService;  // _<service>._<tag>[.<dc>].<domain>: `service` left out
      parts_end = i + 1;
    }
    if (kind != Kind::kNone) break;
  }
  const std::size_t suffix_count = labels.size() - suffixes_begin;
  if (kind == Kind::kNone || kind == Kind::kUnsupported || suffix_count > 1) return out;
  if (suffix_count == 1) out.datacenter = labels.back();
  const std::vector<std::string> parts(labels.begin(), labels.begin() + parts_end);
  if (parts.empty()) return out;

  switch (kind) {
    case Kind::kService:
      ParseServiceParts(parts, &out);
      break;
    case Kind::kNode:
      out.node = Join(parts, 0, parts.size());
      out.form = NameForm::kNode;
      break;
    case Kind::kAddress:
      if (parts.size() == 1) {
        std::optional<std::vector<std::uint8_t>> octets = DecodeHex(parts[0]);
        if (octets.has_value()) {
          out.address = std::move(*octets);
          out.form = NameForm::kAddress;
        }
      }
      break;
    default:
      break;
  }
  return out;
}

}  // namespace roster::dns
