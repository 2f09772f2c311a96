// EncodeMessage and EncodeResponse (dns/message.h).
#include <set>
#include <type_traits>

#include "dns/message.h"
#include "dns/wire.h"

namespace roster::dns {
namespace {

constexpr std::size_t kRecordDataBytesMax = 65535;
constexpr std::size_t kOptFixedBytes = 11;  // root name, type, class, TTL, RDLENGTH
constexpr std::size_t kCountsOffset = 4;
constexpr std::size_t kFlagsOffset = 2;
constexpr std::uint16_t kTcBit = 0x0200;

std::uint16_t FlagsFromHeader(const Header& header) {
  std::uint16_t flags = 0;
  if (header.response) flags |= 0x8000;
  flags |= static_cast<std::uint16_t>((header.opcode & 0xF) << 11);
  if (header.authoritative) flags |= 0x0400;
  if (header.truncated) flags |= kTcBit;
  if (header.recursion_desired) flags |= 0x0100;
  if (header.recursion_available) flags |= 0x0080;
  if (header.zero) flags |= 0x0040;
  if (header.authentic_data) flags |= 0x0020;
  if (header.checking_disabled) flags |= 0x0010;
  flags |= header.rcode & 0xF;
  return flags;
}

void WriteHeader(WireWriter& writer, const Message& message) {
  CHECK(message.header.rcode <= 0xF || message.edns.has_value())
      << "rcode " << message.header.rcode << " needs an OPT record";
  CHECK_LE(message.header.rcode, 0xFFF);
  writer.WriteU16(message.header.id);
  writer.WriteU16(FlagsFromHeader(message.header));
  for (int i = 0; i < 4; ++i) writer.WriteU16(0);  // counts, patched when known
}

void PatchCounts(WireWriter& writer, std::size_t questions, std::size_t answers,
                 std::size_t authority, std::size_t additional) {
  const std::size_t counts[4] = {questions, answers, authority, additional};
  for (int i = 0; i < 4; ++i) {
    CHECK_LE(counts[i], 0xFFFFu) << "too many records for one DNS message";
    writer.PatchU16(kCountsOffset + 2 * i, static_cast<std::uint16_t>(counts[i]));
  }
}

void WriteQuestion(WireWriter& writer, const Question& question) {
  writer.WriteName(question.name, /*compress=*/true);
  writer.WriteU16(question.type);
  writer.WriteU16(question.klass);
}

void WriteRecordData(WireWriter& writer, const RecordData& data) {
  std::visit(
      [&](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, AddressV4> || std::is_same_v<T, AddressV6>) {
          writer.WriteBytes(std::string_view(reinterpret_cast<const char*>(value.octets.data()),
                                             value.octets.size()));
        } else if constexpr (std::is_same_v<T, NameData>) {
          writer.WriteName(value.name, /*compress=*/true);  // RFC 3597 §4: NS, CNAME, PTR
        } else if constexpr (std::is_same_v<T, SoaData>) {
          writer.WriteName(value.mname, /*compress=*/true);
          writer.WriteName(value.rname, /*compress=*/true);
          for (std::uint32_t field : {value.serial, value.refresh_s, value.retry_s, value.expire_s,
                                      value.minimum_ttl_s}) {
            writer.WriteU32(field);
          }
        } else if constexpr (std::is_same_v<T, SrvData>) {
          writer.WriteU16(value.priority);
          writer.WriteU16(value.weight);
          writer.WriteU16(value.port);
          writer.WriteName(value.target, /*compress=*/false);  // RFC 2782
        } else if constexpr (std::is_same_v<T, TxtData>) {
          for (const std::string& text : value.strings) {
            CHECK_LE(text.size(), 255u) << "a TXT string longer than 255 octets";
            writer.WriteU8(static_cast<std::uint8_t>(text.size()));
            writer.WriteBytes(text);
          }
        } else {
          static_assert(std::is_same_v<T, RawData>);
          writer.WriteBytes(value.octets);
        }
      },
      data);
}

void WriteRecord(WireWriter& writer, const ResourceRecord& record) {
  writer.WriteName(record.name, /*compress=*/true);
  writer.WriteU16(record.type);
  writer.WriteU16(record.klass);
  writer.WriteU32(record.ttl_s);
  const std::size_t length_offset = writer.size();
  writer.WriteU16(0);
  WriteRecordData(writer, record.data);
  const std::size_t length = writer.size() - length_offset - 2;
  CHECK_LE(length, kRecordDataBytesMax) << "RDATA longer than 65535 octets";
  writer.PatchU16(length_offset, static_cast<std::uint16_t>(length));
}

std::size_t OptBytes(const Edns& edns) {
  std::size_t bytes = kOptFixedBytes;
  for (const EdnsOption& option : edns.options) bytes += 4 + option.data.size();
  return bytes;
}

void WriteOpt(WireWriter& writer, const Edns& edns, std::uint16_t rcode) {
  writer.WriteU8(0);  // the root
  writer.WriteU16(kTypeOpt);
  writer.WriteU16(edns.udp_payload_bytes);
  const std::uint32_t ttl = (static_cast<std::uint32_t>(rcode >> 4) << 24) |
                            (static_cast<std::uint32_t>(edns.version) << 16) |
                            (edns.dnssec_ok ? 0x8000u : 0u) | (edns.flags_z & 0x7FFFu);
  writer.WriteU32(ttl);
  CHECK_LE(OptBytes(edns) - kOptFixedBytes, kRecordDataBytesMax);
  writer.WriteU16(static_cast<std::uint16_t>(OptBytes(edns) - kOptFixedBytes));
  for (const EdnsOption& option : edns.options) {
    CHECK_LE(option.data.size(), 0xFFFFu);
    writer.WriteU16(option.code);
    writer.WriteU16(static_cast<std::uint16_t>(option.data.size()));
    writer.WriteBytes(option.data);
  }
}

// Lowercase text of every name the kept answers are about: owners and targets.
std::set<std::string> NamesMentioned(const std::vector<ResourceRecord>& answers,
                                     std::size_t count) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < count; ++i) {
    names.insert(answers[i].name.ToLowerString());
    if (const DomainName* target = RecordTarget(answers[i])) {
      names.insert(target->ToLowerString());
    }
  }
  return names;
}

// Writes records while each fits under `budget_bytes`; returns how many were written.
// With `stop_at_first_misfit`, the first record that does not fit ends the section.
std::size_t WriteWhileFits(WireWriter& writer, const std::vector<ResourceRecord>& records,
                           std::size_t budget_bytes, bool stop_at_first_misfit,
                           const std::set<std::string>* only_names) {
  std::size_t written = 0;
  for (const ResourceRecord& record : records) {
    if (only_names != nullptr && !only_names->contains(record.name.ToLowerString())) continue;
    const WireWriter::Mark mark = writer.GetMark();
    WriteRecord(writer, record);
    if (writer.size() <= budget_bytes) {
      ++written;
      continue;
    }
    writer.Rollback(mark);
    if (stop_at_first_misfit) break;
  }
  return written;
}

}  // namespace

std::string EncodeMessage(const Message& message) {
  WireWriter writer;
  WriteHeader(writer, message);
  for (const Question& question : message.questions) WriteQuestion(writer, question);
  for (const ResourceRecord& record : message.answers) WriteRecord(writer, record);
  for (const ResourceRecord& record : message.authority) WriteRecord(writer, record);
  for (const ResourceRecord& record : message.additional) WriteRecord(writer, record);
  if (message.edns.has_value()) WriteOpt(writer, *message.edns, message.header.rcode);
  PatchCounts(writer, message.questions.size(), message.answers.size(), message.authority.size(),
              message.additional.size() + (message.edns.has_value() ? 1 : 0));
  return writer.Release();
}

EncodedResponse EncodeResponse(const Message& message, std::size_t size_limit_bytes,
                               bool set_tc_when_cut) {
  CHECK_GE(size_limit_bytes, kHeaderBytes);
  WireWriter writer;
  WriteHeader(writer, message);
  for (const Question& question : message.questions) WriteQuestion(writer, question);
  const std::size_t opt_bytes = message.edns.has_value() ? OptBytes(*message.edns) : 0;
  const std::size_t budget_bytes =
      size_limit_bytes > writer.size() + opt_bytes ? size_limit_bytes - opt_bytes : writer.size();

  EncodedResponse out;
  out.answers_written = WriteWhileFits(writer, message.answers, budget_bytes,
                                       /*stop_at_first_misfit=*/true, nullptr);
  out.truncated = out.answers_written < message.answers.size();

  // The authority section goes whole or not at all. Without answers it carries what a
  // negative answer needs (the SOA), so leaving it out is a truncation.
  const WireWriter::Mark before_authority = writer.GetMark();
  for (const ResourceRecord& record : message.authority) WriteRecord(writer, record);
  std::size_t authority_written = message.authority.size();
  if (writer.size() > budget_bytes) {
    writer.Rollback(before_authority);
    authority_written = 0;
    if (out.answers_written == 0) out.truncated = true;
  }

  // Once answers are cut, additional records about the names cut would be noise.
  std::set<std::string> names;
  if (out.truncated) names = NamesMentioned(message.answers, out.answers_written);
  out.additional_written =
      WriteWhileFits(writer, message.additional, budget_bytes,
                     /*stop_at_first_misfit=*/false, out.truncated ? &names : nullptr);

  if (message.edns.has_value()) WriteOpt(writer, *message.edns, message.header.rcode);
  PatchCounts(writer, message.questions.size(), out.answers_written, authority_written,
              out.additional_written + (message.edns.has_value() ? 1 : 0));
  if (out.truncated && set_tc_when_cut) {
    const std::uint16_t flags = FlagsFromHeader(message.header) | kTcBit;
    writer.PatchU16(kFlagsOffset, flags);
  }
  out.bytes = writer.Release();
  return out;
}

}  // namespace roster::dns
