#include "store/encoding.h"

#include <array>

namespace roster::store {
namespace {

// A varint of a 64-bit value never needs more than 10 bytes of 7 bits.
constexpr int kVarintBytesMax = 10;

constexpr std::array<std::uint32_t, 256> MakeCrc32Table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    table[i] = crc;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> kCrc32Table = MakeCrc32Table();

}  // namespace

void Writer::Varint(std::uint64_t value) {
  while (value >= 0x80) {
    out_->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out_->push_back(static_cast<char>(value));
}

void Writer::Bytes(std::string_view bytes) {
  Varint(bytes.size());
  out_->append(bytes);
}

void Writer::FixedU32(std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out_->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

bool Reader::U8(std::uint8_t* value) {
  if (!ok_ || rest_.empty()) return Fail();
  *value = static_cast<std::uint8_t>(rest_[0]);
  rest_.remove_prefix(1);
  return true;
}

bool Reader::Varint(std::uint64_t* value) {
  if (!ok_) return false;
  std::uint64_t result = 0;
  for (int i = 0; i < kVarintBytesMax; ++i) {
    if (static_cast<std::size_t>(i) >= rest_.size()) return Fail();
    const auto byte = static_cast<std::uint8_t>(rest_[i]);
    // The tenth byte holds bit 63 only; anything more would overflow.
    if (i == kVarintBytesMax - 1 && byte > 1) return Fail();
    result |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      rest_.remove_prefix(i + 1);
      *value = result;
      return true;
    }
  }
  return Fail();
}

bool Reader::BytesView(std::string_view* bytes) {
  std::uint64_t size = 0;
  if (!Varint(&size)) return false;
  if (size > rest_.size()) return Fail();
  *bytes = rest_.substr(0, size);
  rest_.remove_prefix(size);
  return true;
}

bool Reader::Count(std::uint64_t* count) {
  std::uint64_t value = 0;
  if (!Varint(&value)) return false;
  if (value > rest_.size()) return Fail();
  *count = value;
  return true;
}

bool Reader::Bytes(std::string* bytes) {
  std::string_view view;
  if (!BytesView(&view)) return false;
  bytes->assign(view);
  return true;
}

std::uint32_t LegacyCrc32(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (char c : bytes) crc = kCrc32Table[(crc ^ static_cast<std::uint8_t>(c)) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

}  // namespace roster::store
