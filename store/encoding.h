// The store's binary encoding primitives, shared by commands and snapshots.
//
// Integers are unsigned LEB128 varints (small indexes and flags take one or two
// bytes); byte strings are a varint length followed by the bytes. Reader checks every
// read against the bytes that remain, so hostile or truncated input fails cleanly;
// its failure is sticky, so a decoder reads every field and checks once at the end.
// Thread-safety: plain values; one thread per Writer or Reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace roster::store {

// Appends encoded fields to a string it does not own.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}

  void U8(std::uint8_t value) { out_->push_back(static_cast<char>(value)); }
  void Varint(std::uint64_t value);
  void Bytes(std::string_view bytes);
  void FixedU32(std::uint32_t value);  // 4 bytes, little-endian

 private:
  std::string* out_;
};

// Reads fields back from a view it does not own. Every method returns false (and
// leaves its output untouched) once the input is exhausted or malformed.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  bool U8(std::uint8_t* value);
  bool Varint(std::uint64_t* value);
  bool Bytes(std::string* bytes);
  bool BytesView(std::string_view* bytes);  // a view into the input, no copy
  // A list's element count. Fails when it exceeds the bytes that remain: every element
  // takes at least one byte, so a hostile count cannot force a huge allocation.
  bool Count(std::uint64_t* count);
  // Marks the input malformed (a decoder's own check failed, e.g. an unknown enum
  // value); returns false.
  bool Fail() {
    ok_ = false;
    return false;
  }

  bool ok() const { return ok_; }
  std::size_t remaining() const { return rest_.size(); }
  // True when every read succeeded and no byte is left over.
  bool Finish() const { return ok_ && rest_.empty(); }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

// CRC-32 (IEEE 802.3, the zlib polynomial) of bytes, byte at a time: only for reading
// snapshots of versions 1 and 2. Everything new uses base/crc32c.h.
std::uint32_t LegacyCrc32(std::string_view bytes);

}  // namespace roster::store
