// Resource-record makers for the answers Roster builds, and the text rules they need:
// addresses from catalog strings, RFC 1464 TXT for node meta, the synthetic
// <node>.node.<dc>.<domain> and <hex>.addr.<dc>.<domain> names. Internal to dns/.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dns/message.h"

namespace roster::dns {

// AddressV4 or AddressV6 for an IP literal ("10.0.0.1", "fe80::1"); nullopt for
// anything else, such as a hostname. An IPv4-mapped IPv6 address counts as IPv4.
std::optional<RecordData> ParseIpAddress(std::string_view text);

ResourceRecord MakeRecord(DomainName name, std::uint16_t type, std::uint32_t ttl_s,
                          RecordData data);
// An A or AAAA record, by the kind of address.
ResourceRecord MakeAddressRecord(DomainName name, std::uint32_t ttl_s, const RecordData& address);

// One TXT record's data for one node meta pair (Consul's encoding): "key=value" with
// RFC 1464 escaping of the key's '`', '=' and leading or trailing spaces and of the
// value's '`'; a key starting with "rfc1035-" (any case) gives the value alone. Split
// into strings of at most 255 octets.
TxtData NodeMetaTxt(std::string_view key, std::string_view value);

// <node>.node.<dc>.<domain>; nullopt if the node name does not make a valid DNS name.
std::optional<DomainName> NodeTargetName(std::string_view node, std::string_view datacenter,
                                         const DomainName& domain);
// <hex>.addr.<dc>.<domain> for an AddressV4 or AddressV6; nullopt if the domain and
// datacenter are too long to leave room for it.
std::optional<DomainName> AddressTargetName(const RecordData& address, std::string_view datacenter,
                                            const DomainName& domain);

// `host` as an absolute name for a CNAME or SRV target; nullopt if it is not a valid
// DNS name.
std::optional<DomainName> HostName(std::string_view host);

}  // namespace roster::dns
