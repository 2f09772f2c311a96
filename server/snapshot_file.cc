#include "server/snapshot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "base/logging.h"
#include "server/disk_format.h"

namespace roster::server {
namespace {

constexpr std::string_view kMagic = "RSTRSNAP";
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::size_t kFixedHeaderBytes = 48;  // up to the conf state blob
constexpr std::size_t kHeaderCrcBytes = 4;
// A conf state blob larger than this is not a membership but a corrupt length field.
constexpr std::uint32_t kConfStateBytesMax = 1 << 20;
constexpr std::size_t kWriteBufferBytes = 1 << 20;
constexpr std::uint64_t kVerifyChunkBytes = 1 << 20;
constexpr std::string_view kSnapshotSuffix = ".snap";
constexpr std::string_view kTempSuffix = ".snap.tmp";

Status ErrnoStatus(std::string_view what, const std::string& path, int error) {
  std::string message = std::string(what) + " " + path + ": " + std::strerror(error);
  if (error == ENOSPC || error == EDQUOT) {
    return Status(StatusCode::kResourceExhausted, std::move(message));
  }
  if (error == ENOENT) return NotFound(std::move(message));
  return IoError(std::move(message));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return Status::Ok();
}

// Reads up to `size` bytes at `offset`; fewer only at the end of the file.
Result<std::string> PreadUpTo(int fd, std::uint64_t offset, std::uint64_t size,
                              const std::string& path) {
  std::string out(size, '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync directory", dir, error);
  return Status::Ok();
}

std::string EncodeHeader(const consensus::SnapshotMetadata& metadata, std::uint64_t data_bytes,
                         std::uint32_t data_crc) {
  const std::string conf_state = EncodeConfState(metadata.conf_state);
  std::string header(kMagic);
  PutFixed32(&header, kFormatVersion);
  PutFixed32(&header,
             static_cast<std::uint32_t>(kFixedHeaderBytes + conf_state.size() + kHeaderCrcBytes));
  PutFixed64(&header, metadata.index);
  PutFixed64(&header, metadata.term);
  PutFixed64(&header, data_bytes);
  PutFixed32(&header, data_crc);
  PutFixed32(&header, static_cast<std::uint32_t>(conf_state.size()));
  header += conf_state;
  PutFixed32(&header, Crc32c(header));
  return header;
}

struct Header {
  consensus::SnapshotMetadata metadata;
  std::uint64_t data_offset = 0;
  std::uint64_t data_bytes = 0;
  std::uint32_t data_crc = 0;
};

Result<Header> ReadHeader(int fd, std::uint64_t file_bytes, const std::string& path) {
  Result<std::string> fixed = PreadUpTo(fd, 0, kFixedHeaderBytes, path);
  if (!fixed.ok()) return fixed.status();
  if (fixed->size() < kFixedHeaderBytes) return Corruption(path + ": truncated header");
  const char* p = fixed->data();
  if (std::string_view(p, kMagic.size()) != kMagic) return Corruption(path + ": not a snapshot");
  if (DecodeFixed32(p + 8) != kFormatVersion) {
    return Corruption(path + ": unknown format version " + std::to_string(DecodeFixed32(p + 8)));
  }
  const std::uint32_t conf_bytes = DecodeFixed32(p + 44);
  const std::uint64_t header_bytes = DecodeFixed32(p + 12);
  if (conf_bytes > kConfStateBytesMax ||
      header_bytes != kFixedHeaderBytes + conf_bytes + kHeaderCrcBytes) {
    return Corruption(path + ": bad header length");
  }
  Result<std::string> header = PreadUpTo(fd, 0, header_bytes, path);
  if (!header.ok()) return header.status();
  if (header->size() < header_bytes) return Corruption(path + ": truncated header");
  const std::string_view covered(header->data(), header_bytes - kHeaderCrcBytes);
  if (Crc32c(covered) != DecodeFixed32(header->data() + covered.size())) {
    return Corruption(path + ": header checksum mismatch");
  }
  Header out;
  out.metadata.index = DecodeFixed64(p + 16);
  out.metadata.term = DecodeFixed64(p + 24);
  out.data_bytes = DecodeFixed64(p + 32);
  out.data_crc = DecodeFixed32(p + 40);
  out.data_offset = header_bytes;
  Result<consensus::ConfState> conf_state =
      DecodeConfState(covered.substr(kFixedHeaderBytes, conf_bytes));
  if (!conf_state.ok()) return Corruption(path + ": " + conf_state.status().message());
  out.metadata.conf_state = std::move(*conf_state);
  if (file_bytes != header_bytes + out.data_bytes) {
    return Corruption(path + ": size is " + std::to_string(file_bytes) + " bytes, header says " +
                      std::to_string(header_bytes + out.data_bytes) + " (truncated?)");
  }
  return out;
}

Status VerifyData(int fd, const Header& header, const std::string& path) {
  std::uint32_t crc = 0;
  for (std::uint64_t done = 0; done < header.data_bytes;) {
    const std::uint64_t want = std::min(kVerifyChunkBytes, header.data_bytes - done);
    Result<std::string> chunk = PreadUpTo(fd, header.data_offset + done, want, path);
    if (!chunk.ok()) return chunk.status();
    if (chunk->size() != want) return Corruption(path + ": truncated data");
    crc = Crc32cExtend(crc, *chunk);
    done += want;
  }
  if (crc != header.data_crc) return Corruption(path + ": data checksum mismatch");
  return Status::Ok();
}

// Parses `<index>-<term>.snap` with exactly 20 digits each.
bool ParseSnapshotFileName(std::string_view name, SnapshotId* id) {
  constexpr std::size_t kDigits = 20;
  if (name.size() != 2 * kDigits + 1 + kSnapshotSuffix.size() || name[kDigits] != '-' ||
      name.substr(2 * kDigits + 1) != kSnapshotSuffix) {
    return false;
  }
  auto parse = [](std::string_view digits, std::uint64_t* value) {
    std::uint64_t result = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (result > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
      result = result * 10 + digit;
    }
    *value = result;
    return true;
  };
  return parse(name.substr(0, kDigits), &id->index) &&
         parse(name.substr(kDigits + 1, kDigits), &id->term);
}

}  // namespace

std::string SnapshotFileName(SnapshotId id) {
  char name[64];
  std::snprintf(name, sizeof(name), "%020" PRIu64 "-%020" PRIu64 ".snap", id.index, id.term);
  return name;
}

// ---- SnapshotFile ----

SnapshotFile::SnapshotFile(std::string path, int fd, consensus::SnapshotMetadata metadata,
                           std::uint64_t data_offset, std::uint64_t data_bytes)
    : path_(std::move(path)),
      fd_(fd),
      metadata_(std::move(metadata)),
      data_offset_(data_offset),
      data_bytes_(data_bytes) {}

SnapshotFile::~SnapshotFile() { ::close(fd_); }

Result<std::unique_ptr<SnapshotFile>> SnapshotFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    return ErrnoStatus("stat", path, error);
  }
  Result<Header> header = ReadHeader(fd, static_cast<std::uint64_t>(st.st_size), path);
  Status verified = header.ok() ? VerifyData(fd, *header, path) : header.status();
  if (!verified.ok()) {
    ::close(fd);
    return verified;
  }
  return std::unique_ptr<SnapshotFile>(new SnapshotFile(path, fd, std::move(header->metadata),
                                                        header->data_offset, header->data_bytes));
}

Result<std::string> SnapshotFile::ReadChunk(std::uint64_t offset, std::uint64_t max_bytes) const {
  if (offset > data_bytes_) return InvalidArgument("offset beyond the snapshot");
  const std::uint64_t want = std::min(max_bytes, data_bytes_ - offset);
  Result<std::string> chunk = PreadUpTo(fd_, data_offset_ + offset, want, path_);
  if (chunk.ok() && chunk->size() != want) {
    return Corruption(path_ + ": shrank while open (truncated data)");
  }
  return chunk;
}

Result<std::string> SnapshotFile::ReadAll() const { return ReadChunk(0, data_bytes_); }

// ---- SnapshotWriter ----

SnapshotWriter::SnapshotWriter(std::string dir, consensus::SnapshotMetadata metadata)
    : dir_(std::move(dir)), metadata_(std::move(metadata)) {
  const std::string name = SnapshotFileName({metadata_.index, metadata_.term});
  final_path_ = dir_ + "/" + name;
  temp_path_ = final_path_ + ".tmp";
}

SnapshotWriter::~SnapshotWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

Status SnapshotWriter::Start() {
  // O_TRUNC: a temp file of the same name is garbage from an earlier attempt.
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return Fail(ErrnoStatus("create", temp_path_, errno));
  // Room for the header, written for real by Commit once size and checksum are known.
  header_ = EncodeHeader(metadata_, 0, 0);
  return Fail(WriteAll(fd_, std::string(header_.size(), '\0'), temp_path_));
}

Status SnapshotWriter::Fail(Status status) {
  if (!status.ok() && error_.ok()) error_ = status;
  return status;
}

Status SnapshotWriter::Flush() {
  Status status = WriteAll(fd_, buffer_, temp_path_);
  buffer_.clear();
  if (status.ok()) StartWriteback();
  return Fail(std::move(status));
}

// Starts the disk writing what is written so far, a MiB at a time, so Commit's fsync
// finds little left to do. One fsync of a whole 15 MB snapshot stalled the Raft log's
// own fsyncs behind it for tens of ms (RocksDB's bytes_per_sync answers the same).
void SnapshotWriter::StartWriteback() {
  const off_t end = ::lseek(fd_, 0, SEEK_CUR);
  if (end < 0 || end - writeback_offset_ < kWritebackBytes) return;
  // Advisory: an error here leaves the work to Commit's fsync, which reports it.
  ::sync_file_range(fd_, writeback_offset_, end - writeback_offset_, SYNC_FILE_RANGE_WRITE);
  writeback_offset_ = end;
}

Status SnapshotWriter::Append(std::string_view bytes) {
  CHECK(!committed_) << "Append after Commit";
  RETURN_IF_ERROR(error_);
  data_crc_ = Crc32cExtend(data_crc_, bytes);
  data_bytes_ += bytes.size();
  if (buffer_.size() + bytes.size() < kWriteBufferBytes) {
    buffer_.append(bytes);
    return Status::Ok();
  }
  RETURN_IF_ERROR(Flush());
  Status status = WriteAll(fd_, bytes, temp_path_);
  if (status.ok()) StartWriteback();
  return Fail(std::move(status));
}

Status SnapshotWriter::Commit() {
  CHECK(!committed_) << "snapshot committed twice";
  RETURN_IF_ERROR(error_);
  RETURN_IF_ERROR(Flush());
  header_ = EncodeHeader(metadata_, data_bytes_, data_crc_);
  if (::lseek(fd_, 0, SEEK_SET) != 0) return Fail(ErrnoStatus("seek", temp_path_, errno));
  RETURN_IF_ERROR(Fail(WriteAll(fd_, header_, temp_path_)));
  if (::fsync(fd_) != 0) return Fail(ErrnoStatus("fsync", temp_path_, errno));
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return Fail(ErrnoStatus("close", temp_path_, errno));
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return Fail(ErrnoStatus("rename", temp_path_, errno));
  }
  committed_ = true;  // the temp name is gone; nothing for the destructor to remove
  // Without this the rename itself may not survive a crash.
  return Fail(SyncDirectory(dir_));
}

// ---- SnapshotStore ----

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::Open(std::string dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return IoError("create directory " + dir + ": " + error.message());
  std::unique_ptr<SnapshotStore> store(new SnapshotStore(std::move(dir)));
  RETURN_IF_ERROR(store->RemoveTempFiles());
  return store;
}

Status SnapshotStore::RemoveTempFiles() {
  std::error_code error;
  for (std::filesystem::directory_iterator it(dir_, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= kTempSuffix.size() || !name.ends_with(kTempSuffix)) continue;
    LOG(INFO) << "removing " << it->path().string() << ", left behind by an unfinished write";
    std::error_code remove_error;
    std::filesystem::remove(it->path(), remove_error);
    if (remove_error) {
      return IoError("remove " + it->path().string() + ": " + remove_error.message());
    }
  }
  if (error) return IoError("list " + dir_ + ": " + error.message());
  return Status::Ok();
}

std::string SnapshotStore::PathOf(SnapshotId id) const { return dir_ + "/" + SnapshotFileName(id); }

Result<std::unique_ptr<SnapshotWriter>> SnapshotStore::NewWriter(
    const consensus::SnapshotMetadata& metadata) {
  std::unique_ptr<SnapshotWriter> writer(new SnapshotWriter(dir_, metadata));
  RETURN_IF_ERROR(writer->Start());
  return writer;
}

Status SnapshotStore::Write(const consensus::SnapshotMetadata& metadata, std::string_view data) {
  Result<std::unique_ptr<SnapshotWriter>> writer = NewWriter(metadata);
  if (!writer.ok()) return writer.status();
  RETURN_IF_ERROR((*writer)->Append(data));
  return (*writer)->Commit();
}

Result<std::unique_ptr<SnapshotFile>> SnapshotStore::Load(SnapshotId id) const {
  Result<std::unique_ptr<SnapshotFile>> file = SnapshotFile::Open(PathOf(id));
  if (file.ok() && (*file)->id() != id) {
    return Corruption(PathOf(id) + ": header names snapshot " +
                      std::to_string((*file)->id().index) + "-" +
                      std::to_string((*file)->id().term));
  }
  return file;
}

Result<LoadedSnapshot> SnapshotStore::LoadNewestValid(consensus::Index index_max) const {
  Result<std::vector<SnapshotId>> ids = List();
  if (!ids.ok()) return ids.status();
  LoadedSnapshot loaded;
  for (SnapshotId id : *ids) {
    if (id.index > index_max) continue;
    Result<std::unique_ptr<SnapshotFile>> file = Load(id);
    if (file.ok()) {
      loaded.file = std::move(*file);
      break;
    }
    // Every status from Load names the file.
    LOG(WARNING) << "skipping snapshot: " << file.status().ToString();
    loaded.problems.push_back(file.status().ToString());
  }
  return loaded;
}

Result<std::vector<SnapshotId>> SnapshotStore::List() const {
  std::vector<SnapshotId> ids;
  std::error_code error;
  for (std::filesystem::directory_iterator it(dir_, error), end; !error && it != end;
       it.increment(error)) {
    SnapshotId id;
    if (ParseSnapshotFileName(it->path().filename().string(), &id)) ids.push_back(id);
  }
  if (error) return IoError("list " + dir_ + ": " + error.message());
  std::sort(ids.begin(), ids.end(), std::greater<>());
  return ids;
}

Status SnapshotStore::Prune(SnapshotId in_use) {
  Result<std::vector<SnapshotId>> ids = List();
  if (!ids.ok()) return ids.status();
  std::size_t older_kept = 0;
  for (SnapshotId id : *ids) {
    if (id >= in_use) continue;
    if (older_kept < kSnapshotsKept - 1) {
      ++older_kept;
      continue;
    }
    if (::unlink(PathOf(id).c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus("remove", PathOf(id), errno);
    }
  }
  return Status::Ok();
}

}  // namespace roster::server
