// ParseMessage and ParseHeader (dns/message.h).
#include <utility>

#include "dns/message.h"
#include "dns/wire.h"

namespace roster::dns {
namespace {

// Propagates a failed Result<T> from `expr` or binds its value to `var`.
#define DNS_ASSIGN_OR_RETURN(var, expr)                 \
  auto var##_result = (expr);                           \
  if (!var##_result.ok()) return var##_result.status(); \
  auto var = std::move(var##_result).value()

Header HeaderFromFlags(std::uint16_t id, std::uint16_t flags) {
  Header header;
  header.id = id;
  header.response = (flags & 0x8000) != 0;
  header.opcode = static_cast<std::uint8_t>((flags >> 11) & 0xF);
  header.authoritative = (flags & 0x0400) != 0;
  header.truncated = (flags & 0x0200) != 0;
  header.recursion_desired = (flags & 0x0100) != 0;
  header.recursion_available = (flags & 0x0080) != 0;
  header.zero = (flags & 0x0040) != 0;
  header.authentic_data = (flags & 0x0020) != 0;
  header.checking_disabled = (flags & 0x0010) != 0;
  header.rcode = flags & 0xF;
  return header;
}

Result<Question> ReadQuestion(WireReader& reader) {
  DNS_ASSIGN_OR_RETURN(name, reader.ReadName());
  DNS_ASSIGN_OR_RETURN(type, reader.ReadU16());
  DNS_ASSIGN_OR_RETURN(klass, reader.ReadU16());
  return Question{std::move(name), type, klass};
}

Result<TxtData> ReadTxt(WireReader& reader, std::size_t end) {
  TxtData txt;
  while (reader.position() < end) {
    DNS_ASSIGN_OR_RETURN(length, reader.ReadU8());
    if (reader.position() + length > end) {
      return InvalidArgument("a TXT string runs past its record");
    }
    DNS_ASSIGN_OR_RETURN(text, reader.ReadBytes(length));
    txt.strings.push_back(std::move(text));
  }
  return txt;
}

Result<SoaData> ReadSoa(WireReader& reader) {
  SoaData soa;
  DNS_ASSIGN_OR_RETURN(mname, reader.ReadName());
  DNS_ASSIGN_OR_RETURN(rname, reader.ReadName());
  soa.mname = std::move(mname);
  soa.rname = std::move(rname);
  for (std::uint32_t* field :
       {&soa.serial, &soa.refresh_s, &soa.retry_s, &soa.expire_s, &soa.minimum_ttl_s}) {
    DNS_ASSIGN_OR_RETURN(value, reader.ReadU32());
    *field = value;
  }
  return soa;
}

Result<SrvData> ReadSrv(WireReader& reader) {
  SrvData srv;
  DNS_ASSIGN_OR_RETURN(priority, reader.ReadU16());
  DNS_ASSIGN_OR_RETURN(weight, reader.ReadU16());
  DNS_ASSIGN_OR_RETURN(port, reader.ReadU16());
  // RFC 2782 forbids compressing the target; a pointer is still read, as others do.
  DNS_ASSIGN_OR_RETURN(target, reader.ReadName());
  srv.priority = priority;
  srv.weight = weight;
  srv.port = port;
  srv.target = std::move(target);
  return srv;
}

template <typename Address>
Result<RecordData> ReadAddress(WireReader& reader, std::size_t length) {
  Address address;
  if (length != address.octets.size()) {
    return InvalidArgument("an address record has the wrong RDATA length");
  }
  for (std::uint8_t& octet : address.octets) {
    DNS_ASSIGN_OR_RETURN(value, reader.ReadU8());
    octet = value;
  }
  return RecordData(address);
}

template <typename Data>
Result<RecordData> Widen(Result<Data> data) {
  if (!data.ok()) return data.status();
  return RecordData(std::move(data).value());
}

// RDATA at the reader's position, decoded by type (and class, for the class-specific
// A, AAAA and SRV). `end` is where the RDATA must end.
Result<RecordData> ReadTypedData(WireReader& reader, std::uint16_t type, std::uint16_t klass,
                                 std::size_t end) {
  const std::size_t length = end - reader.position();
  if (type == kTypeA && klass == kClassIn) return ReadAddress<AddressV4>(reader, length);
  if (type == kTypeAaaa && klass == kClassIn) return ReadAddress<AddressV6>(reader, length);
  if (type == kTypeNs || type == kTypeCname || type == kTypePtr) {
    Result<DomainName> name = reader.ReadName();
    if (!name.ok()) return name.status();
    return RecordData(NameData{std::move(name).value()});
  }
  if (type == kTypeSoa) return Widen(ReadSoa(reader));
  if (type == kTypeSrv && klass == kClassIn) return Widen(ReadSrv(reader));
  if (type == kTypeTxt) return Widen(ReadTxt(reader, end));
  Result<std::string> octets = reader.ReadBytes(length);
  if (!octets.ok()) return octets.status();
  return RecordData(RawData{std::move(octets).value()});
}

// RDATA of `length` octets, which the decoded data must use exactly.
Result<RecordData> ReadRecordData(WireReader& reader, std::uint16_t type, std::uint16_t klass,
                                  std::size_t length) {
  if (reader.remaining() < length) return InvalidArgument("RDATA runs past the end of the message");
  const std::size_t end = reader.position() + length;
  Result<RecordData> data = ReadTypedData(reader, type, klass, end);
  if (data.ok() && reader.position() != end) {
    return InvalidArgument("RDATA does not match its length");
  }
  return data;
}

Result<std::vector<EdnsOption>> ReadEdnsOptions(WireReader& reader, std::size_t length) {
  if (reader.remaining() < length)
    return InvalidArgument("OPT RDATA runs past the end of the message");
  const std::size_t end = reader.position() + length;
  std::vector<EdnsOption> options;
  while (reader.position() < end) {
    DNS_ASSIGN_OR_RETURN(code, reader.ReadU16());
    DNS_ASSIGN_OR_RETURN(option_length, reader.ReadU16());
    if (reader.position() + option_length > end) {
      return InvalidArgument("an EDNS option runs past the OPT record");
    }
    DNS_ASSIGN_OR_RETURN(data, reader.ReadBytes(option_length));
    options.push_back(EdnsOption{code, std::move(data)});
  }
  if (reader.position() != end) return InvalidArgument("an EDNS option runs past the OPT record");
  return options;
}

// One resource record of `section` (0 answer, 1 authority, 2 additional). An OPT
// record fills `message->edns` instead.
Status ReadRecord(WireReader& reader, int section, Message* message,
                  std::vector<ResourceRecord>* records) {
  DNS_ASSIGN_OR_RETURN(name, reader.ReadName());
  DNS_ASSIGN_OR_RETURN(type, reader.ReadU16());
  DNS_ASSIGN_OR_RETURN(klass, reader.ReadU16());
  DNS_ASSIGN_OR_RETURN(ttl, reader.ReadU32());
  DNS_ASSIGN_OR_RETURN(length, reader.ReadU16());
  if (type == kTypeOpt) {
    if (section != 2) return InvalidArgument("an OPT record outside the additional section");
    if (message->edns.has_value()) return InvalidArgument("more than one OPT record");
    if (!name.IsRoot()) return InvalidArgument("an OPT record not owned by the root");
    DNS_ASSIGN_OR_RETURN(options, ReadEdnsOptions(reader, length));
    Edns edns;
    edns.udp_payload_bytes = klass;
    message->header.rcode = static_cast<std::uint16_t>(message->header.rcode | ((ttl >> 24) << 4));
    edns.version = static_cast<std::uint8_t>((ttl >> 16) & 0xFF);
    edns.dnssec_ok = (ttl & 0x8000) != 0;
    edns.flags_z = static_cast<std::uint16_t>(ttl & 0x7FFF);
    edns.options = std::move(options);
    message->edns = std::move(edns);
    return Status::Ok();
  }
  DNS_ASSIGN_OR_RETURN(data, ReadRecordData(reader, type, klass, length));
  records->push_back(ResourceRecord{std::move(name), type, klass, ttl, std::move(data)});
  return Status::Ok();
}

}  // namespace

std::optional<HeaderCounts> ParseHeader(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kHeaderBytes) return std::nullopt;
  const auto u16 = [&](std::size_t at) {
    return static_cast<std::uint16_t>((bytes[at] << 8) | bytes[at + 1]);
  };
  HeaderCounts counts;
  counts.header = HeaderFromFlags(u16(0), u16(2));
  counts.question_count = u16(4);
  counts.answer_count = u16(6);
  counts.authority_count = u16(8);
  counts.additional_count = u16(10);
  return counts;
}

Result<Message> ParseMessage(std::span<const std::uint8_t> bytes) {
  const std::optional<HeaderCounts> counts = ParseHeader(bytes);
  if (!counts.has_value()) return InvalidArgument("message is shorter than a DNS header");
  Message message;
  message.header = counts->header;
  WireReader reader(bytes);
  (void)reader.ReadBytes(kHeaderBytes);
  for (std::uint16_t i = 0; i < counts->question_count; ++i) {
    DNS_ASSIGN_OR_RETURN(question, ReadQuestion(reader));
    message.questions.push_back(std::move(question));
  }
  const std::uint16_t section_counts[3] = {counts->answer_count, counts->authority_count,
                                           counts->additional_count};
  std::vector<ResourceRecord>* sections[3] = {&message.answers, &message.authority,
                                              &message.additional};
  for (int section = 0; section < 3; ++section) {
    for (std::uint16_t i = 0; i < section_counts[section]; ++i) {
      RETURN_IF_ERROR(ReadRecord(reader, section, &message, sections[section]));
    }
  }
  if (reader.remaining() != 0) return InvalidArgument("octets left over after the last record");
  return message;
}

const DomainName* RecordTarget(const ResourceRecord& record) {
  if (const auto* srv = std::get_if<SrvData>(&record.data)) return &srv->target;
  if (const auto* name = std::get_if<NameData>(&record.data)) return &name->name;
  return nullptr;
}

}  // namespace roster::dns

#undef DNS_ASSIGN_OR_RETURN
