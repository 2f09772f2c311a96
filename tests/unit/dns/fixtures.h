// A small vocabulary for DNS tests: a fake catalog, octet strings written as hex, and
// helpers that build a query the way a client would.
#pragma once

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/check.h"
#include "dns/catalog.h"
#include "dns/domain_name.h"
#include "dns/message.h"

namespace roster::dns::testing {

using Bytes = std::vector<std::uint8_t>;

// "12 34 01 00" -> {0x12, 0x34, 0x01, 0x00}; spaces and newlines are ignored.
inline Bytes Hex(std::string_view text) {
  Bytes out;
  int high = -1;
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    const int value =
        std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    CHECK(value >= 0 && value < 16) << "not hex: " << c;
    if (high < 0) {
      high = value;
    } else {
      out.push_back(static_cast<std::uint8_t>(high * 16 + value));
      high = -1;
    }
  }
  CHECK(high < 0) << "odd number of hex digits";
  return out;
}

inline Bytes ToBytes(std::string_view octets) { return Bytes(octets.begin(), octets.end()); }

inline DomainName Name(std::string_view text) {
  Result<DomainName> name = DomainName::Parse(text);
  CHECK(name.ok()) << name.status().ToString();
  return std::move(name).value();
}

inline Message Query(std::string_view name, std::uint16_t type, std::uint16_t id = 0x1234) {
  Message query;
  query.header.id = id;
  query.header.recursion_desired = true;
  query.questions.push_back(Question{Name(name), type, kClassIn});
  return query;
}

inline Message WithEdns(Message query, std::uint16_t udp_payload_bytes) {
  Edns edns;
  edns.udp_payload_bytes = udp_payload_bytes;
  query.edns = edns;
  return query;
}

inline Bytes Encode(const Message& message) { return ToBytes(EncodeMessage(message)); }

inline Message MustParse(std::string_view octets) {
  const Bytes bytes = ToBytes(octets);
  Result<Message> message = ParseMessage(bytes);
  CHECK(message.ok()) << message.status().ToString();
  return std::move(message).value();
}

// Instances and nodes in memory. Datacenters other than `datacenter` are unknown.
class FakeCatalog final : public DnsCatalog {
 public:
  std::string datacenter = "dc1";
  std::map<std::string, std::vector<DnsInstance>> services;  // by lowercase name
  std::map<std::string, DnsNode> nodes;                      // by lowercase name
  std::optional<Status> failure;                             // when set, every call fails with it
  mutable std::vector<std::string> calls;

  DnsInstance& Add(std::string service, DnsInstance instance) {
    std::vector<DnsInstance>& list = services[service];
    list.push_back(std::move(instance));
    return list.back();
  }

  // As a real catalog: the same vector while a service's instances stay equal, a new
  // one once a test changes them.
  Result<DnsInstances> ServiceInstances(std::string_view dc,
                                        std::string_view service) const override {
    calls.push_back("service " + std::string(dc) + " " + std::string(service));
    if (failure.has_value()) return *failure;
    if (dc != datacenter) return NotFound("no datacenter " + std::string(dc));
    const std::string lower = AsciiLower(service);
    const auto found = services.find(lower);
    if (found == services.end()) return std::make_shared<const std::vector<DnsInstance>>();
    DnsInstances& shared = shared_[lower];
    if (shared == nullptr || *shared != found->second) {
      shared = std::make_shared<const std::vector<DnsInstance>>(found->second);
    }
    return shared;
  }

  Result<std::optional<DnsNode>> Node(std::string_view dc, std::string_view node) const override {
    calls.push_back("node " + std::string(dc) + " " + std::string(node));
    if (failure.has_value()) return *failure;
    if (dc != datacenter) return NotFound("no datacenter " + std::string(dc));
    const auto found = nodes.find(AsciiLower(node));
    if (found == nodes.end()) return std::optional<DnsNode>();
    return std::optional<DnsNode>(found->second);
  }

 private:
  mutable std::map<std::string, DnsInstances> shared_;  // by lowercase name
};

// A record as one line of master-file text: "web.service.roster. 0 A 10.0.0.1".
inline std::string RecordText(const ResourceRecord& record) {
  std::string out = record.name.ToString() + " " + std::to_string(record.ttl_s) + " ";
  const auto hex = [](std::uint8_t octet) {
    static constexpr char kDigits[] = "0123456789abcdef";
    return std::string{kDigits[octet >> 4], kDigits[octet & 0xF]};
  };
  if (const auto* v4 = std::get_if<AddressV4>(&record.data)) {
    const auto& o = v4->octets;
    return out + "A " + std::to_string(o[0]) + "." + std::to_string(o[1]) + "." +
           std::to_string(o[2]) + "." + std::to_string(o[3]);
  }
  if (const auto* v6 = std::get_if<AddressV6>(&record.data)) {
    out += "AAAA ";
    for (std::size_t i = 0; i < 16; i += 2) {
      out += hex(v6->octets[i]) + hex(v6->octets[i + 1]) + (i < 14 ? ":" : "");
    }
    return out;
  }
  if (const auto* srv = std::get_if<SrvData>(&record.data)) {
    return out + "SRV " + std::to_string(srv->priority) + " " + std::to_string(srv->weight) + " " +
           std::to_string(srv->port) + " " + srv->target.ToString();
  }
  if (const auto* txt = std::get_if<TxtData>(&record.data)) {
    out += "TXT";
    for (const std::string& text : txt->strings) out += " \"" + text + "\"";
    return out;
  }
  if (const auto* soa = std::get_if<SoaData>(&record.data)) {
    return out + "SOA " + soa->mname.ToString() + " " + soa->rname.ToString() + " " +
           std::to_string(soa->serial) + " " + std::to_string(soa->refresh_s) + " " +
           std::to_string(soa->retry_s) + " " + std::to_string(soa->expire_s) + " " +
           std::to_string(soa->minimum_ttl_s);
  }
  if (const auto* name = std::get_if<NameData>(&record.data)) {
    const char* type = record.type == kTypeCname ? "CNAME "
                       : record.type == kTypeNs  ? "NS "
                                                 : "PTR ";
    return out + type + name->name.ToString();
  }
  return out + "TYPE" + std::to_string(record.type);
}

inline std::vector<std::string> Texts(const std::vector<ResourceRecord>& records, bool sorted) {
  std::vector<std::string> out;
  for (const ResourceRecord& record : records) out.push_back(RecordText(record));
  if (sorted) std::sort(out.begin(), out.end());
  return out;
}

inline DnsInstance Instance(std::string node, std::string node_address, std::uint16_t port,
                            DnsHealth health = DnsHealth::kPassing) {
  DnsInstance instance;
  instance.node.name = std::move(node);
  instance.node.address = std::move(node_address);
  instance.port = port;
  instance.health = health;
  return instance;
}

}  // namespace roster::dns::testing
