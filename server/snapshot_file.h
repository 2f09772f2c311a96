// Snapshot files: the state machine's snapshots as checksummed files in one directory
// (`<data_dir>/snapshots/`), the snapshot half of DESIGN.md's Durability section.
//
// A snapshot is written to `<name>.tmp`, fsynced, renamed to `<name>` and the directory
// fsynced, so after a crash the final name holds a complete file or does not exist; a
// leftover temp file is ignored and SnapshotStore::Open removes it. `<name>` is
// `<index>-<term>.snap`, both zero-padded to 20 digits, so names sort by index.
//
// File format (integers little-endian):
//   offset  bytes  field
//   0       8      magic "RSTRSNAP"
//   8       4      format version (1)
//   12      4      header bytes H: where the data starts (52 + C)
//   16      8      index of the last entry the snapshot covers
//   24      8      term of that entry
//   32      8      data bytes D
//   40      4      CRC-32C of the data
//   44      4      conf state blob bytes C
//   48      C      conf state blob (EncodeConfState, disk_format.h)
//   48+C    4      CRC-32C of bytes [0, 48+C)
//   H       D      data, opaque (the store's snapshot stream)
// A file is valid when both checksums verify, its size is exactly H + D and its header
// names the index and term its file name does. Corruption is reported, never used.
//
// Thread-safety: a SnapshotFile is immutable once open; its reads use pread and may
// run on any number of threads. SnapshotWriter and SnapshotStore belong to one thread
// at a time.
#pragma once

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "consensus/types.h"

namespace roster::server {

// Which snapshot a file holds. Ordered by index, then term.
struct SnapshotId {
  consensus::Index index = 0;
  consensus::Term term = 0;

  auto operator<=>(const SnapshotId&) const = default;
};

// `<index>-<term>.snap`, zero-padded.
std::string SnapshotFileName(SnapshotId id);

// An open, verified snapshot file.
class SnapshotFile {
 public:
  // Opens `path` and verifies it completely (header, size, data checksum), reading the
  // whole file once. NotFound if it does not exist, Corruption if it fails verification,
  // IoError if it cannot be read.
  static Result<std::unique_ptr<SnapshotFile>> Open(const std::string& path);
  ~SnapshotFile();
  SnapshotFile(const SnapshotFile&) = delete;
  SnapshotFile& operator=(const SnapshotFile&) = delete;

  const consensus::SnapshotMetadata& metadata() const { return metadata_; }
  SnapshotId id() const { return {metadata_.index, metadata_.term}; }
  std::uint64_t data_bytes() const { return data_bytes_; }
  const std::string& path() const { return path_; }

  // Up to max_bytes of the data starting at `offset` (fewer only at the end of the data).
  // InvalidArgument if offset > data_bytes(). The file stays readable after it is
  // deleted from the directory (a reader keeps its descriptor).
  Result<std::string> ReadChunk(std::uint64_t offset, std::uint64_t max_bytes) const;
  Result<std::string> ReadAll() const;

 private:
  SnapshotFile(std::string path, int fd, consensus::SnapshotMetadata metadata,
               std::uint64_t data_offset, std::uint64_t data_bytes);

  std::string path_;
  int fd_;
  consensus::SnapshotMetadata metadata_;
  std::uint64_t data_offset_;  // the header's size
  std::uint64_t data_bytes_;
};

// Receives one snapshot's data (from the application, or assembled from a leader's
// chunks) and commits it atomically under its final name. Destroying a writer that was
// not committed removes its temp file.
class SnapshotWriter {
 public:
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  // Appends data. After any error the writer is dead: every later call returns it.
  Status Append(std::string_view bytes);
  // Writes the header, fsyncs the file, renames it into place and fsyncs the directory.
  // OK means the snapshot survives a crash. REQUIRES: not committed yet.
  Status Commit();

  const consensus::SnapshotMetadata& metadata() const { return metadata_; }
  std::uint64_t data_bytes() const { return data_bytes_; }
  const std::string& path() const { return final_path_; }

 private:
  friend class SnapshotStore;
  SnapshotWriter(std::string dir, consensus::SnapshotMetadata metadata);
  Status Start();
  Status Flush();
  void StartWriteback();
  Status Fail(Status status);

  static constexpr off_t kWritebackBytes = 1 << 20;

  std::string dir_;
  consensus::SnapshotMetadata metadata_;
  std::string temp_path_;
  std::string final_path_;
  std::string header_;  // encoded once the data's size and checksum are known
  std::string buffer_;  // data not yet written, to keep small Appends off the syscall path
  int fd_ = -1;
  std::uint64_t data_bytes_ = 0;
  std::uint32_t data_crc_ = 0;
  off_t writeback_offset_ = 0;  // the file up to here is being written back already
  bool committed_ = false;
  Status error_;
};

// The result of looking for the newest valid snapshot.
struct LoadedSnapshot {
  std::unique_ptr<SnapshotFile> file;  // nullptr when no valid snapshot was found
  // One line per snapshot file skipped because it failed to open or verify, newest
  // first (each is also logged as a warning).
  std::vector<std::string> problems;
};

// The directory of snapshot files.
class SnapshotStore {
 public:
  // How many committed snapshots Prune keeps: the one in use and the one before it, a
  // fallback should the newest turn out corrupt.
  static constexpr std::size_t kSnapshotsKept = 2;

  // Creates `dir` if needed and removes the temp files a crash left behind.
  static Result<std::unique_ptr<SnapshotStore>> Open(std::string dir);

  const std::string& dir() const { return dir_; }
  std::string PathOf(SnapshotId id) const;

  // Starts writing a snapshot with `metadata`. Writing one that exists already replaces
  // it when committed.
  Result<std::unique_ptr<SnapshotWriter>> NewWriter(const consensus::SnapshotMetadata& metadata);
  // NewWriter + Append + Commit, for a snapshot held in memory.
  Status Write(const consensus::SnapshotMetadata& metadata, std::string_view data);

  // Opens and verifies the snapshot `id`: NotFound if there is no such file, Corruption
  // if it fails verification.
  Result<std::unique_ptr<SnapshotFile>> Load(SnapshotId id) const;

  // The newest snapshot with index <= index_max that verifies; corrupt ones on the way
  // are skipped and reported in `problems`. An error only if the directory is unreadable.
  Result<LoadedSnapshot> LoadNewestValid(
      consensus::Index index_max = std::numeric_limits<consensus::Index>::max()) const;

  // Committed snapshot files (temp files and foreign names ignored), newest first.
  Result<std::vector<SnapshotId>> List() const;

  // Deletes the snapshots older than `in_use` except the newest kSnapshotsKept - 1 of
  // them. Newer files are left alone: they may be committed but not yet recorded.
  Status Prune(SnapshotId in_use);

 private:
  explicit SnapshotStore(std::string dir) : dir_(std::move(dir)) {}
  Status RemoveTempFiles();

  std::string dir_;
};

}  // namespace roster::server
