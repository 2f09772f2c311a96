// Encoding helpers shared by server/'s on-disk formats (raft.db blobs, snapshot files):
// little-endian fixed-width integers, LEB128 varints, the ConfState blob and CRC-32C.
//
// Everything that reads bytes from disk treats them as untrusted: decoders return
// Corruption instead of CHECK-failing. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/crc32c.h"
#include "base/status.h"
#include "consensus/types.h"

namespace roster::server {

// CRC-32C is base/crc32c.h's (roster::Crc32c, roster::Crc32cExtend).

void PutFixed32(std::string* out, std::uint32_t value);
void PutFixed64(std::string* out, std::uint64_t value);
// REQUIRES: `bytes` points at 4 (8) readable bytes.
std::uint32_t DecodeFixed32(const char* bytes);
std::uint64_t DecodeFixed64(const char* bytes);

void PutVarint64(std::string* out, std::uint64_t value);
// Reads a varint from the front of *in and advances *in past it; false if *in ends
// inside the varint or the varint is longer than 10 bytes.
bool GetVarint64(std::string_view* in, std::uint64_t* value);

// The membership as a compact blob: voter count, voters, learner count, learners, all
// varints. Decoding checks what ConfState promises (ids positive, sorted, unique,
// learners disjoint from voters) and that no byte is left over.
std::string EncodeConfState(const consensus::ConfState& conf_state);
Result<consensus::ConfState> DecodeConfState(std::string_view blob);

}  // namespace roster::server
