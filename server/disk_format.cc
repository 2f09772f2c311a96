#include "server/disk_format.h"

#include <algorithm>
#include <array>
#include <vector>

namespace roster::server {
namespace {

constexpr std::uint32_t kCrc32cPolynomial = 0x82F63B78u;

// Slice-by-8 tables: table[0] is the classic byte-at-a-time table; table[k][b] is the
// CRC of byte b followed by k zero bytes, so eight bytes fold in with eight lookups.
using Crc32cTables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Crc32cTables MakeCrc32cTables() {
  Crc32cTables tables{};
  for (std::uint32_t byte = 0; byte < 256; ++byte) {
    std::uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kCrc32cPolynomial : 0u);
    tables[0][byte] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t byte = 0; byte < 256; ++byte) {
      const std::uint32_t previous = tables[k - 1][byte];
      tables[k][byte] = (previous >> 8) ^ tables[0][previous & 0xffu];
    }
  }
  return tables;
}

constexpr Crc32cTables kCrc32cTables = MakeCrc32cTables();

std::uint32_t Load32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

Status CheckIds(const std::vector<consensus::NodeId>& ids, std::string_view what) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == consensus::kNoNode || (i > 0 && ids[i] <= ids[i - 1])) {
      return Corruption("conf state: " + std::string(what) + " not positive, sorted and unique");
    }
  }
  return Status::Ok();
}

Status GetIds(std::string_view* in, std::vector<consensus::NodeId>* ids) {
  std::uint64_t count = 0;
  // Every id takes at least one byte, which bounds the allocation by the blob's size.
  if (!GetVarint64(in, &count) || count > in->size()) {
    return Corruption("conf state: bad id count");
  }
  ids->resize(count);
  for (consensus::NodeId& id : *ids) {
    if (!GetVarint64(in, &id)) return Corruption("conf state: truncated id");
  }
  return Status::Ok();
}

}  // namespace

std::uint32_t Crc32cExtend(std::uint32_t crc, std::string_view bytes) {
  const auto& t = kCrc32cTables;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  crc = ~crc;
  while (n >= 8) {
    const std::uint32_t low = crc ^ Load32(p);
    const std::uint32_t high = Load32(p + 4);
    crc = t[7][low & 0xffu] ^ t[6][(low >> 8) & 0xffu] ^ t[5][(low >> 16) & 0xffu] ^
          t[4][low >> 24] ^ t[3][high & 0xffu] ^ t[2][(high >> 8) & 0xffu] ^
          t[1][(high >> 16) & 0xffu] ^ t[0][high >> 24];
    p += 8;
    n -= 8;
  }
  for (; n > 0; --n, ++p) crc = (crc >> 8) ^ t[0][(crc ^ *p) & 0xffu];
  return ~crc;
}

void PutFixed32(std::string* out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xffu));
}

void PutFixed64(std::string* out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xffu));
}

std::uint32_t DecodeFixed32(const char* bytes) {
  return Load32(reinterpret_cast<const unsigned char*>(bytes));
}

std::uint64_t DecodeFixed64(const char* bytes) {
  return static_cast<std::uint64_t>(DecodeFixed32(bytes)) |
         static_cast<std::uint64_t>(DecodeFixed32(bytes + 4)) << 32;
}

void PutVarint64(std::string* out, std::uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

bool GetVarint64(std::string_view* in, std::uint64_t* value) {
  std::uint64_t result = 0;
  for (std::size_t i = 0; i < in->size() && i < 10; ++i) {
    const auto byte = static_cast<std::uint64_t>(static_cast<unsigned char>((*in)[i]));
    result |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in->remove_prefix(i + 1);
      *value = result;
      return true;
    }
  }
  return false;
}

std::string EncodeConfState(const consensus::ConfState& conf_state) {
  std::string blob;
  PutVarint64(&blob, conf_state.voters.size());
  for (consensus::NodeId id : conf_state.voters) PutVarint64(&blob, id);
  PutVarint64(&blob, conf_state.learners.size());
  for (consensus::NodeId id : conf_state.learners) PutVarint64(&blob, id);
  // Checked at both ends: a membership that would not decode must never reach the disk.
  const Result<consensus::ConfState> decoded = DecodeConfState(blob);
  CHECK(decoded.ok()) << "encoding an invalid conf state: " << decoded.status().ToString();
  return blob;
}

Result<consensus::ConfState> DecodeConfState(std::string_view blob) {
  consensus::ConfState conf_state;
  RETURN_IF_ERROR(GetIds(&blob, &conf_state.voters));
  RETURN_IF_ERROR(GetIds(&blob, &conf_state.learners));
  if (!blob.empty()) return Corruption("conf state: trailing bytes");
  RETURN_IF_ERROR(CheckIds(conf_state.voters, "voters"));
  RETURN_IF_ERROR(CheckIds(conf_state.learners, "learners"));
  for (consensus::NodeId id : conf_state.learners) {
    if (std::binary_search(conf_state.voters.begin(), conf_state.voters.end(), id)) {
      return Corruption("conf state: node " + std::to_string(id) + " is voter and learner");
    }
  }
  return conf_state;
}

}  // namespace roster::server
