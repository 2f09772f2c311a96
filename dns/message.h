// The DNS message model and its wire codec: RFC 1035 §4 (header, question, resource
// records, name compression), RFC 6891 (the EDNS0 OPT pseudo-record), RFC 2782 (SRV),
// RFC 3596 (AAAA).
//
// ParseMessage reads any message and checks every length, pointer and count against the
// bytes it was given (compression pointers must point backwards, so they cannot loop);
// it never reads outside the span and fails with InvalidArgument naming what is wrong.
// EncodeMessage writes a message whole; EncodeResponse (dns/message_encode.cc) fits one
// into a size limit by dropping whole records and setting TC. What a responder does
// with a bad query (drop, FORMERR, NOTIMP...) is decided in dns/query.h, not here.
// Design notes: docs/design/dns.md. Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"
#include "dns/domain_name.h"

namespace roster::dns {

// Record types (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 6891) and query-only types.
enum RecordType : std::uint16_t {
  kTypeA = 1,
  kTypeNs = 2,
  kTypeCname = 5,
  kTypeSoa = 6,
  kTypePtr = 12,
  kTypeMx = 15,
  kTypeTxt = 16,
  kTypeAaaa = 28,
  kTypeSrv = 33,
  kTypeOpt = 41,
  kTypeIxfr = 251,
  kTypeAxfr = 252,
  kTypeAny = 255,
};

enum RecordClass : std::uint16_t {
  kClassIn = 1,
  kClassCh = 3,
  kClassHs = 4,
  kClassNone = 254,
  kClassAny = 255,
};

enum Opcode : std::uint8_t {
  kOpcodeQuery = 0,
  kOpcodeIquery = 1,
  kOpcodeStatus = 2,
  kOpcodeNotify = 4,
  kOpcodeUpdate = 5,
};

// Response codes: the low 4 bits go in the header, the high 8 in the OPT record.
enum Rcode : std::uint16_t {
  kRcodeNoError = 0,
  kRcodeFormErr = 1,
  kRcodeServFail = 2,
  kRcodeNxDomain = 3,
  kRcodeNotImp = 4,
  kRcodeRefused = 5,
  kRcodeBadVers = 16,  // RFC 6891 §6.1.3; needs an OPT record
};

inline constexpr std::size_t kHeaderBytes = 12;
inline constexpr std::size_t kMessageBytesMax = 65535;       // a TCP message's length prefix
inline constexpr std::size_t kUdpPayloadBytesDefault = 512;  // RFC 1035 §4.2.1

struct Header {
  std::uint16_t id = 0;
  bool response = false;               // QR
  std::uint8_t opcode = kOpcodeQuery;  // 4 bits
  bool authoritative = false;          // AA
  bool truncated = false;              // TC
  bool recursion_desired = false;      // RD
  bool recursion_available = false;    // RA
  bool zero = false;                   // Z: reserved, must be zero in queries
  bool authentic_data = false;         // AD (RFC 4035)
  bool checking_disabled = false;      // CD (RFC 4035)
  // The whole response code: with an OPT record up to 12 bits (RFC 6891 §6.1.3),
  // without one at most 15.
  std::uint16_t rcode = kRcodeNoError;

  bool operator==(const Header&) const = default;
};

struct Question {
  DomainName name;
  std::uint16_t type = kTypeA;
  std::uint16_t klass = kClassIn;

  bool operator==(const Question&) const = default;
};

// RDATA, decoded for the types Roster answers with. Anything else (and A/AAAA/SRV in
// classes other than IN) is kept as raw octets.
struct AddressV4 {
  std::array<std::uint8_t, 4> octets{};
  bool operator==(const AddressV4&) const = default;
};
struct AddressV6 {
  std::array<std::uint8_t, 16> octets{};
  bool operator==(const AddressV6&) const = default;
};
struct NameData {  // NS, CNAME, PTR
  DomainName name;
  bool operator==(const NameData&) const = default;
};
struct SoaData {
  DomainName mname;  // the primary name server
  DomainName rname;  // the responsible mailbox, '@' written as '.'
  std::uint32_t serial = 0;
  std::uint32_t refresh_s = 0;
  std::uint32_t retry_s = 0;
  std::uint32_t expire_s = 0;
  std::uint32_t minimum_ttl_s = 0;  // the negative-caching TTL (RFC 2308 §4)
  bool operator==(const SoaData&) const = default;
};
struct SrvData {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  DomainName target;  // never compressed on write (RFC 2782)
  bool operator==(const SrvData&) const = default;
};
struct TxtData {
  std::vector<std::string> strings;  // each at most 255 octets
  bool operator==(const TxtData&) const = default;
};
struct RawData {
  std::string octets;  // at most 65535
  bool operator==(const RawData&) const = default;
};
using RecordData = std::variant<AddressV4, AddressV6, NameData, SoaData, SrvData, TxtData, RawData>;

struct ResourceRecord {
  DomainName name;
  std::uint16_t type = kTypeA;
  std::uint16_t klass = kClassIn;
  std::uint32_t ttl_s = 0;
  RecordData data;

  bool operator==(const ResourceRecord&) const = default;
};

// The OPT pseudo-record (RFC 6891 §6.1), which is not kept among the additional records.
struct EdnsOption {
  std::uint16_t code = 0;
  std::string data;
  bool operator==(const EdnsOption&) const = default;
};
inline constexpr std::uint16_t kEdnsOptionClientSubnet = 8;  // RFC 7871

struct Edns {
  std::uint16_t udp_payload_bytes = kUdpPayloadBytesDefault;  // the OPT record's CLASS
  std::uint8_t version = 0;
  bool dnssec_ok = false;     // DO
  std::uint16_t flags_z = 0;  // the other 15 flag bits, reserved
  std::vector<EdnsOption> options;

  bool operator==(const Edns&) const = default;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  std::vector<ResourceRecord> additional;  // without the OPT record
  std::optional<Edns> edns;

  bool operator==(const Message&) const = default;
};

// Reads the fixed 12-octet header only; nullopt if there are fewer octets. The rcode is
// the header's 4 bits.
struct HeaderCounts {
  Header header;
  std::uint16_t question_count = 0;
  std::uint16_t answer_count = 0;
  std::uint16_t authority_count = 0;
  std::uint16_t additional_count = 0;
};
std::optional<HeaderCounts> ParseHeader(std::span<const std::uint8_t> bytes);

// Reads a whole message. InvalidArgument, with the reason, for: fewer octets than a
// header or than the counts promise, octets left over, a label over 63 octets, a name
// over 255, a compression pointer that does not point before itself or outside the
// message, an unknown label type, RDATA that does not match its length or type, a
// second OPT record, an OPT record outside the additional section or not owned by the
// root.
Result<Message> ParseMessage(std::span<const std::uint8_t> bytes);

// Writes the whole message, compressing names (not SRV targets). CHECKs that the rcode
// fits (at most 15 without EDNS) and that RDATA fits in 65535 octets; the result may be
// longer than kMessageBytesMax if the caller put that much in.
std::string EncodeMessage(const Message& message);

// Writes the message into at most `size_limit_bytes` (>= kHeaderBytes), compressed:
// the header, the question and the OPT record always; then answers in order while the
// next whole record fits. If an answer is left out, `truncated` is true, TC is set when
// `set_tc_when_cut`, and additional records are kept only if they are about a name an
// answer kept mentions (its owner or target). Authority records go in whole or not at
// all; additional records each if they fit. The question and OPT alone always fit in
// 512 octets, so a limit of 512 or more never cuts them.
struct EncodedResponse {
  std::string bytes;
  bool truncated = false;
  std::size_t answers_written = 0;
  std::size_t additional_written = 0;  // the OPT record not counted
};
EncodedResponse EncodeResponse(const Message& message, std::size_t size_limit_bytes,
                               bool set_tc_when_cut);

// The name RDATA mentions: an SRV target, a CNAME/NS/PTR name; nullptr for others.
const DomainName* RecordTarget(const ResourceRecord& record);

}  // namespace roster::dns
