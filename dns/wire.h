// WireReader and WireWriter: the octet-level half of the DNS codec (dns/message.h is
// the message-level half). Internal to dns/; other modules use dns/message.h.
//
// WireReader reads big-endian integers and names from a span, never past its end; a
// failed read returns an error and leaves the position unspecified. Names follow RFC
// 1035 §4.1.4 pointers only backwards: the first must point before itself, each next
// one before the previous one's target, so a chain strictly descends and cannot loop.
// A name stops at 255 octets.
// WireWriter appends to a string and remembers where each name suffix was written so
// later names can point at it; Mark/Rollback undo a record that did not fit.
// Thread-safety: one instance per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "dns/domain_name.h"

namespace roster::dns {

class WireReader {
 public:
  explicit WireReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  std::size_t position() const { return position_; }
  std::size_t remaining() const { return bytes_.size() - position_; }

  Result<std::uint8_t> ReadU8();
  Result<std::uint16_t> ReadU16();
  Result<std::uint32_t> ReadU32();
  // Exactly `count` octets.
  Result<std::string> ReadBytes(std::size_t count);
  // A possibly compressed name starting at the current position; the position moves
  // past the name's own octets (up to and including the first pointer).
  Result<DomainName> ReadName();

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
};

class WireWriter {
 public:
  // A point to return to: how many octets had been written.
  struct Mark {
    std::size_t size = 0;
  };

  const std::string& bytes() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }
  std::string Release() { return std::move(bytes_); }

  void WriteU8(std::uint8_t value) { bytes_.push_back(static_cast<char>(value)); }
  void WriteU16(std::uint16_t value);
  void WriteU32(std::uint32_t value);
  void WriteBytes(std::string_view octets) { bytes_.append(octets); }
  // Overwrites two octets already written.
  void PatchU16(std::size_t offset, std::uint16_t value);

  // Writes `name`, replacing its longest suffix already written (same octets, same
  // case) with a pointer when `compress`. Suffixes written at offsets below 0x4000 are
  // remembered in either case, so later names can point at them.
  void WriteName(const DomainName& name, bool compress);

  Mark GetMark() const { return Mark{bytes_.size()}; }
  // Forgets everything written after `mark`, compression targets included.
  void Rollback(Mark mark);

 private:
  std::string bytes_;
  // Name suffix (its labels joined with their length octets, exact case) -> offset.
  std::map<std::string, std::uint16_t, std::less<>> suffix_offsets_;
};

}  // namespace roster::dns
