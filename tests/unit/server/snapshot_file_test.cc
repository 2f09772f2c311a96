// Snapshot files: atomic commit, chunked reads, and corruption that is detected,
// reported and never used. Also the encoding helpers the file format is built from.
#include "server/snapshot_file.h"

#include "server/disk_format.h"
#include "tests/unit/server/temp_dir.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace roster::server {
namespace {

using consensus::ConfState;
using consensus::SnapshotMetadata;
using testing::TempDir;

const ConfState kThreeVoters{.voters = {1, 2, 3}, .learners = {}};

SnapshotMetadata Metadata(consensus::Index index, consensus::Term term,
                          ConfState conf_state = kThreeVoters) {
  return SnapshotMetadata{.index = index, .term = term, .conf_state = std::move(conf_state)};
}

std::unique_ptr<SnapshotStore> OpenStore(const std::string& dir) {
  Result<std::unique_ptr<SnapshotStore>> store = SnapshotStore::Open(dir);
  REQUIRE(store.ok());
  return std::move(*store);
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

void FlipByte(const std::string& path, std::size_t offset_from_end) {
  std::string bytes = ReadFileBytes(path);
  REQUIRE(bytes.size() > offset_from_end);
  bytes[bytes.size() - 1 - offset_from_end] ^= 0x40;
  WriteFileBytes(path, bytes);
}

std::vector<std::string> FileNames(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Data that differs at every offset, so a misplaced chunk cannot pass.
std::string PatternData(std::size_t bytes) {
  std::string data(bytes, '\0');
  for (std::size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>((i * 131 + i / 251) & 0xff);
  return data;
}

// ---- Encoding helpers ----

TEST_CASE("CRC-32C matches the published check values") {
  CHECK(Crc32c("") == 0u);
  CHECK(Crc32c("123456789") == 0xE3069283u);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of ones, ascending.
  CHECK(Crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(Crc32c(std::string(32, '\xff')) == 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  CHECK(Crc32c(ascending) == 0x46DD794Eu);
}

TEST_CASE("CRC-32C extends across any split of the input") {
  const std::string data = PatternData(1000);
  for (std::size_t split : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
    const std::string_view view(data);
    CHECK(Crc32cExtend(Crc32c(view.substr(0, split)), view.substr(split)) == Crc32c(data));
  }
}

TEST_CASE("Varints round-trip and reject truncated input") {
  for (std::uint64_t value : {0ull, 1ull, 127ull, 128ull, 300ull, 1ull << 35, ~0ull}) {
    std::string encoded;
    PutVarint64(&encoded, value);
    std::string_view in = encoded;
    std::uint64_t decoded = 0;
    REQUIRE(GetVarint64(&in, &decoded));
    CHECK(decoded == value);
    CHECK(in.empty());
    std::string_view truncated = std::string_view(encoded).substr(0, encoded.size() - 1);
    CHECK_FALSE(GetVarint64(&truncated, &decoded));
  }
}

TEST_CASE("A conf state round-trips through its blob") {
  const ConfState conf_state{.voters = {1, 2, 300}, .learners = {7, 1ull << 40}};
  Result<ConfState> decoded = DecodeConfState(EncodeConfState(conf_state));
  REQUIRE(decoded.ok());
  CHECK(*decoded == conf_state);
  CHECK(*DecodeConfState(EncodeConfState({})) == ConfState{});
}

TEST_CASE("A damaged conf state blob is Corruption") {
  const std::string blob = EncodeConfState(kThreeVoters);
  CHECK(DecodeConfState(blob.substr(0, blob.size() - 1)).status().code() ==
        StatusCode::kCorruption);
  CHECK(DecodeConfState(blob + "x").status().code() == StatusCode::kCorruption);
  std::string unsorted;
  PutVarint64(&unsorted, 2);
  PutVarint64(&unsorted, 3);
  PutVarint64(&unsorted, 1);
  PutVarint64(&unsorted, 0);
  CHECK(DecodeConfState(unsorted).status().code() == StatusCode::kCorruption);
  std::string huge_count;
  PutVarint64(&huge_count, 1ull << 60);
  CHECK(DecodeConfState(huge_count).status().code() == StatusCode::kCorruption);
}

// ---- Writing and reading ----

TEST_CASE("A committed snapshot reads back with its metadata and data") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const SnapshotMetadata metadata = Metadata(42, 3, {.voters = {1, 2, 3}, .learners = {4}});
  REQUIRE(store->Write(metadata, "the state").ok());

  CHECK(FileNames(dir.path()) == std::vector<std::string>{SnapshotFileName({42, 3})});
  CHECK(SnapshotFileName({42, 3}) == "00000000000000000042-00000000000000000003.snap");
  Result<std::unique_ptr<SnapshotFile>> file = store->Load({42, 3});
  REQUIRE(file.ok());
  CHECK((*file)->metadata() == metadata);
  CHECK((*file)->data_bytes() == 9);
  CHECK(*(*file)->ReadAll() == "the state");
}

TEST_CASE("A snapshot streamed in many appends, larger than the write buffer, reads back") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const std::string data = PatternData(3 * 1024 * 1024 + 17);
  Result<std::unique_ptr<SnapshotWriter>> writer = store->NewWriter(Metadata(10, 2));
  REQUIRE(writer.ok());
  for (std::size_t offset = 0; offset < data.size(); offset += 4099) {
    REQUIRE((*writer)->Append(std::string_view(data).substr(offset, 4099)).ok());
  }
  REQUIRE((*writer)->Append(std::string(2 * 1024 * 1024, 'z')).ok());  // one big append too
  REQUIRE((*writer)->Commit().ok());
  Result<std::unique_ptr<SnapshotFile>> file = store->Load({10, 2});
  REQUIRE(file.ok());
  CHECK(*(*file)->ReadAll() == data + std::string(2 * 1024 * 1024, 'z'));
}

TEST_CASE("Chunked reads at an offset return exactly those bytes") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const std::string data = PatternData(1000);
  REQUIRE(store->Write(Metadata(5, 1), data).ok());
  auto file = store->Load({5, 1}).value();

  std::string assembled;
  for (std::uint64_t offset = 0; offset < data.size();) {
    Result<std::string> chunk = file->ReadChunk(offset, 64);
    REQUIRE(chunk.ok());
    REQUIRE(!chunk->empty());
    CHECK(chunk->size() <= 64);
    assembled += *chunk;
    offset += chunk->size();
  }
  CHECK(assembled == data);
  CHECK(*file->ReadChunk(990, 64) == data.substr(990));
  CHECK(file->ReadChunk(1000, 64)->empty());
  CHECK(file->ReadChunk(1001, 64).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("An empty snapshot is valid and reads as no bytes") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Write(Metadata(1, 1), "").ok());
  Result<std::unique_ptr<SnapshotFile>> file = store->Load({1, 1});
  REQUIRE(file.ok());
  CHECK((*file)->data_bytes() == 0);
  CHECK((*file)->ReadAll()->empty());
}

TEST_CASE("A writer destroyed before Commit leaves no file behind") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  {
    Result<std::unique_ptr<SnapshotWriter>> writer = store->NewWriter(Metadata(9, 9));
    REQUIRE(writer.ok());
    REQUIRE((*writer)->Append("partial").ok());
    CHECK(FileNames(dir.path()).size() == 1);  // the temp file
  }
  CHECK(FileNames(dir.path()).empty());
  CHECK(store->Load({9, 9}).status().code() == StatusCode::kNotFound);
}

TEST_CASE("An open snapshot stays readable after its file is deleted") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Write(Metadata(3, 1), "still here").ok());
  auto file = store->Load({3, 1}).value();
  std::filesystem::remove(store->PathOf({3, 1}));
  CHECK(*file->ReadAll() == "still here");
}

// ---- Corruption ----

TEST_CASE("A flipped data byte is detected when the snapshot is loaded") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Write(Metadata(7, 2), PatternData(5000)).ok());
  FlipByte(store->PathOf({7, 2}), 100);
  Result<std::unique_ptr<SnapshotFile>> file = store->Load({7, 2});
  REQUIRE_FALSE(file.ok());
  CHECK(file.status().code() == StatusCode::kCorruption);
  CHECK(file.status().message().find("data checksum") != std::string::npos);
}

TEST_CASE("A flipped header byte is detected") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Write(Metadata(7, 2), "abc").ok());
  std::string bytes = ReadFileBytes(store->PathOf({7, 2}));
  bytes[20] ^= 0x01;  // inside the index field
  WriteFileBytes(store->PathOf({7, 2}), bytes);
  CHECK(store->Load({7, 2}).status().code() == StatusCode::kCorruption);
}

TEST_CASE("A truncated snapshot is detected") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Write(Metadata(7, 2), PatternData(5000)).ok());
  const std::string path = store->PathOf({7, 2});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 1);
  Result<std::unique_ptr<SnapshotFile>> file = store->Load({7, 2});
  REQUIRE_FALSE(file.ok());
  CHECK(file.status().code() == StatusCode::kCorruption);
  CHECK(file.status().message().find("truncated") != std::string::npos);

  std::filesystem::resize_file(path, 10);  // cut inside the header
  CHECK(store->Load({7, 2}).status().code() == StatusCode::kCorruption);
  std::filesystem::resize_file(path, 0);
  CHECK(store->Load({7, 2}).status().code() == StatusCode::kCorruption);
}

TEST_CASE("A snapshot renamed to another index-term is detected") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Write(Metadata(7, 2), "abc").ok());
  std::filesystem::rename(store->PathOf({7, 2}), store->PathOf({8, 2}));
  CHECK(store->Load({8, 2}).status().code() == StatusCode::kCorruption);
}

TEST_CASE("LoadNewestValid skips a corrupt newest snapshot for an older valid one") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Write(Metadata(10, 1), "older").ok());
  REQUIRE(store->Write(Metadata(20, 2), "newer").ok());
  FlipByte(store->PathOf({20, 2}), 0);

  Result<LoadedSnapshot> loaded = store->LoadNewestValid();
  REQUIRE(loaded.ok());
  REQUIRE(loaded->file != nullptr);
  CHECK(loaded->file->id() == SnapshotId{10, 1});
  CHECK(*loaded->file->ReadAll() == "older");
  REQUIRE(loaded->problems.size() == 1);
  CHECK(loaded->problems[0].find(SnapshotFileName({20, 2})) != std::string::npos);
  CHECK(loaded->problems[0].find("Corruption") != std::string::npos);
}

TEST_CASE("LoadNewestValid finds nothing when every snapshot is corrupt, and says why") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Write(Metadata(10, 1), "a").ok());
  REQUIRE(store->Write(Metadata(20, 2), "b").ok());
  FlipByte(store->PathOf({10, 1}), 0);
  std::filesystem::resize_file(store->PathOf({20, 2}), 30);
  Result<LoadedSnapshot> loaded = store->LoadNewestValid();
  REQUIRE(loaded.ok());
  CHECK(loaded->file == nullptr);
  CHECK(loaded->problems.size() == 2);
}

TEST_CASE("LoadNewestValid honours index_max and an empty directory has no snapshot") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  Result<LoadedSnapshot> none = store->LoadNewestValid();
  REQUIRE(none.ok());
  CHECK(none->file == nullptr);
  CHECK(none->problems.empty());

  REQUIRE(store->Write(Metadata(10, 1), "a").ok());
  REQUIRE(store->Write(Metadata(20, 2), "b").ok());
  CHECK(store->LoadNewestValid()->file->id() == SnapshotId{20, 2});
  CHECK(store->LoadNewestValid(19)->file->id() == SnapshotId{10, 1});
  CHECK(store->LoadNewestValid(9)->file == nullptr);
}

// ---- Crash leftovers and retention ----

TEST_CASE("A temp file left by a crash is ignored, and removed when the store opens") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    REQUIRE(store->Write(Metadata(10, 1), "complete").ok());
  }
  // What a crash in the middle of writing snapshot 20 leaves behind.
  WriteFileBytes(dir / (SnapshotFileName({20, 2}) + ".tmp"), "RSTRSNAP half-written");
  WriteFileBytes(dir / "notes.txt", "not ours");

  Result<std::unique_ptr<SnapshotStore>> direct = SnapshotStore::Open(dir.path());
  REQUIRE(direct.ok());
  CHECK(FileNames(dir.path()) == std::vector<std::string>{SnapshotFileName({10, 1}), "notes.txt"});
  Result<LoadedSnapshot> loaded = (*direct)->LoadNewestValid();
  REQUIRE(loaded.ok());
  CHECK(loaded->file->id() == SnapshotId{10, 1});
  CHECK(loaded->problems.empty());
  CHECK(*(*direct)->List() == std::vector<SnapshotId>{{10, 1}});
}

TEST_CASE("A temp file is ignored by List and LoadNewestValid while it exists") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Write(Metadata(10, 1), "complete").ok());
  WriteFileBytes(dir / (SnapshotFileName({20, 2}) + ".tmp"), "garbage");
  CHECK(*store->List() == std::vector<SnapshotId>{{10, 1}});
  CHECK(store->LoadNewestValid()->problems.empty());
}

TEST_CASE("Prune keeps the snapshot in use and the one before it, and newer files") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (consensus::Index index : {10, 20, 30, 40, 50}) {
    REQUIRE(store->Write(Metadata(index, 1), "s").ok());
  }
  REQUIRE(store->Prune({40, 1}).ok());
  CHECK(*store->List() == std::vector<SnapshotId>{{50, 1}, {40, 1}, {30, 1}});
  REQUIRE(store->Prune({50, 1}).ok());
  CHECK(*store->List() == std::vector<SnapshotId>{{50, 1}, {40, 1}});
}

TEST_CASE("Writing a snapshot that exists already replaces it") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  REQUIRE(store->Write(Metadata(10, 1), "first").ok());
  REQUIRE(store->Write(Metadata(10, 1), "second").ok());
  CHECK(*store->List() == std::vector<SnapshotId>{{10, 1}});
  CHECK(*(*store->Load({10, 1}))->ReadAll() == "second");
}

}  // namespace
}  // namespace roster::server
