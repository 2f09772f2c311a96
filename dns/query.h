// ParseQuery: what a DNS server must do with the octets of one incoming query, before
// looking at the name (RFC 1035 §4.1.1, RFC 6891 §6.1.3 and §7).
//
//   fewer than 12 octets (no header to answer with)  -> kDrop
//   QR set (a response; answering could loop)        -> kDrop
//   an opcode other than QUERY                       -> kNotImplemented (NOTIMP)
//   anything ParseMessage rejects                    -> kFormatError (FORMERR)
//   QDCOUNT other than 1                             -> kFormatError
//   EDNS version above 0                             -> kBadVersion (BADVERS, with OPT)
//   a class other than IN or ANY                     -> kRefused (REFUSED)
//   otherwise                                        -> kAnswer
//
// Why REFUSED for other classes: Consul (through miekg/dns) ignores the class and
// answers with IN records; RFC 1035 names no code for it. A server without data in a
// class has no authority there, and REFUSED is what BIND and Knot say for a class they
// serve no zone in; NOTIMP would claim the query kind itself is unknown.
// Thread-safety: pure.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "dns/message.h"

namespace roster::dns {

enum class QueryVerdict : std::uint8_t {
  kAnswer,
  kDrop,
  kFormatError,
  kNotImplemented,
  kRefused,
  kBadVersion,
};

struct ParsedQuery {
  QueryVerdict verdict = QueryVerdict::kDrop;
  std::string reason;              // why, for a log line; empty for kAnswer
  Header header;                   // the query's header; meaningless for kDrop
  std::optional<Message> message;  // when the whole message parsed
};

ParsedQuery ParseQuery(std::span<const std::uint8_t> bytes);

}  // namespace roster::dns
