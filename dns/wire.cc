#include "dns/wire.h"

#include <utility>
#include <vector>

namespace roster::dns {
namespace {

constexpr std::uint8_t kPointerBits = 0xC0;
constexpr std::size_t kPointerOffsetMax = 0x3FFF;

// The key a suffix is remembered by: its labels with their length octets, as written.
std::string SuffixKey(const std::vector<std::string>& labels, std::size_t first) {
  std::string key;
  for (std::size_t i = first; i < labels.size(); ++i) {
    key.push_back(static_cast<char>(labels[i].size()));
    key.append(labels[i]);
  }
  return key;
}

}  // namespace

Result<std::uint8_t> WireReader::ReadU8() {
  if (remaining() < 1) return InvalidArgument("message ends inside a field");
  return bytes_[position_++];
}

Result<std::uint16_t> WireReader::ReadU16() {
  if (remaining() < 2) return InvalidArgument("message ends inside a field");
  const std::uint16_t value =
      static_cast<std::uint16_t>((bytes_[position_] << 8) | bytes_[position_ + 1]);
  position_ += 2;
  return value;
}

Result<std::uint32_t> WireReader::ReadU32() {
  if (remaining() < 4) return InvalidArgument("message ends inside a field");
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | bytes_[position_ + i];
  position_ += 4;
  return value;
}

Result<std::string> WireReader::ReadBytes(std::size_t count) {
  if (remaining() < count) return InvalidArgument("message ends inside a field");
  std::string out(reinterpret_cast<const char*>(bytes_.data() + position_), count);
  position_ += count;
  return out;
}

Result<DomainName> WireReader::ReadName() {
  std::vector<std::string> labels;
  std::size_t wire_bytes = 1;
  std::size_t pos = position_;
  // Every pointer must point below this; it starts at the name's first octet and drops
  // to each pointer's target, so a chain of pointers strictly descends and ends.
  std::size_t pointer_limit = position_;
  bool jumped = false;
  while (true) {
    if (pos >= bytes_.size()) return InvalidArgument("a name runs past the end of the message");
    const std::uint8_t length = bytes_[pos];
    if ((length & kPointerBits) == kPointerBits) {
      if (pos + 1 >= bytes_.size()) {
        return InvalidArgument("a compression pointer runs past the end of the message");
      }
      const std::size_t target = (static_cast<std::size_t>(length & 0x3F) << 8) | bytes_[pos + 1];
      if (target >= pointer_limit) {
        return InvalidArgument("a compression pointer does not point to an earlier name");
      }
      if (!jumped) position_ = pos + 2;
      jumped = true;
      pointer_limit = target;
      pos = target;
      continue;
    }
    if ((length & kPointerBits) != 0) return InvalidArgument("a name has an unknown label type");
    if (length == 0) {
      if (!jumped) position_ = pos + 1;
      break;
    }
    if (pos + 1 + length > bytes_.size()) {
      return InvalidArgument("a label runs past the end of the message");
    }
    wire_bytes += 1 + length;
    if (wire_bytes > kNameWireBytesMax) return InvalidArgument("a name is longer than 255 octets");
    labels.emplace_back(reinterpret_cast<const char*>(bytes_.data() + pos + 1), length);
    pos += 1 + length;
    if (!jumped) pointer_limit = pos;
  }
  return DomainName::FromLabels(std::move(labels));
}

void WireWriter::WriteU16(std::uint16_t value) {
  bytes_.push_back(static_cast<char>(value >> 8));
  bytes_.push_back(static_cast<char>(value & 0xFF));
}

void WireWriter::WriteU32(std::uint32_t value) {
  WriteU16(static_cast<std::uint16_t>(value >> 16));
  WriteU16(static_cast<std::uint16_t>(value & 0xFFFF));
}

void WireWriter::PatchU16(std::size_t offset, std::uint16_t value) {
  CHECK_LE(offset + 2, bytes_.size());
  bytes_[offset] = static_cast<char>(value >> 8);
  bytes_[offset + 1] = static_cast<char>(value & 0xFF);
}

void WireWriter::WriteName(const DomainName& name, bool compress) {
  const std::vector<std::string>& labels = name.labels();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::string key = SuffixKey(labels, i);
    if (compress) {
      const auto found = suffix_offsets_.find(key);
      if (found != suffix_offsets_.end()) {
        WriteU16(static_cast<std::uint16_t>(0xC000 | found->second));
        return;
      }
    }
    if (bytes_.size() <= kPointerOffsetMax) {
      suffix_offsets_.emplace(std::move(key), static_cast<std::uint16_t>(bytes_.size()));
    }
    WriteU8(static_cast<std::uint8_t>(labels[i].size()));
    WriteBytes(labels[i]);
  }
  WriteU8(0);
}

void WireWriter::Rollback(Mark mark) {
  CHECK_LE(mark.size, bytes_.size());
  bytes_.resize(mark.size);
  std::erase_if(suffix_offsets_, [&](const auto& entry) { return entry.second >= mark.size; });
}

}  // namespace roster::dns
