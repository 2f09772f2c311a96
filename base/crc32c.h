// CRC-32C (Castagnoli; reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 and
// LevelDB, used by every on-disk format in the tree (snapshot files, raft.db blobs, the
// store's snapshot stream). On x86-64 with SSE4.2 it runs on the CPU's crc32
// instruction (several GB/s); elsewhere a slice-by-8 table (about 1 GB/s).
//   Crc32cExtend(Crc32c(a), b) == Crc32c(a + b).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace roster {

std::uint32_t Crc32cExtend(std::uint32_t crc, std::string_view bytes);
inline std::uint32_t Crc32c(std::string_view bytes) { return Crc32cExtend(0, bytes); }

namespace internal {
// The portable table version, for tests that compare the two.
std::uint32_t Crc32cExtendPortable(std::uint32_t crc, std::string_view bytes);
}  // namespace internal

}  // namespace roster
