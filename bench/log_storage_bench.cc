// log_storage_bench: how fast SqliteLogStorage makes entries durable on this machine.
//
// For each batch size, a fresh raft.db in a temp dir (or under --dir, to measure a
// particular disk); each Persist appends `batch` entries of 100 bytes plus a hard state,
// as a leader's Ready does: one SQLite transaction, one fsync (synchronous=FULL). Prints
// entries and transactions (= fsyncs) per second, and Persist latency percentiles.
// Then reads: Entries() of 100 recent entries from the in-memory cache and from raft.db.
//
//   build/bin/log_storage_bench [--seconds S] [--batches 1,10,100,1000] [--dir D]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "base/check.h"
#include "server/sqlite_log_storage.h"

namespace roster::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kEntryBytes = 100;

// A fresh directory for one run, removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(const std::filesystem::path& parent) {
    std::string pattern = (parent / "log_storage_bench-XXXXXX").string();
    CHECK(::mkdtemp(pattern.data()) != nullptr) << "mkdtemp under " << parent;
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<SqliteLogStorage> Open(const std::string& dir,
                                       const SqliteLogStorageOptions& options = {}) {
  Result<std::unique_ptr<SqliteLogStorage>> storage = SqliteLogStorage::Open(dir, options);
  CHECK(storage.ok()) << storage.status().ToString();
  return std::move(*storage);
}

PersistBatch NextBatch(consensus::Index first_index, std::size_t batch, consensus::Term term) {
  PersistBatch out;
  const std::string payload(kEntryBytes, 'x');
  for (std::size_t i = 0; i < batch; ++i) {
    out.entries.push_back(consensus::Entry{.term = term,
                                           .index = first_index + i,
                                           .type = consensus::EntryType::kNormal,
                                           .data = payload});
  }
  out.hard_state = consensus::HardState{.term = term, .vote = 1, .commit = first_index - 1};
  return out;
}

double Percentile(std::vector<double>& sorted_us, double fraction) {
  if (sorted_us.empty()) return 0;
  const auto i = static_cast<std::size_t>(fraction * static_cast<double>(sorted_us.size() - 1));
  return sorted_us[i];
}

void RunPersist(const std::filesystem::path& parent, std::size_t batch, double seconds) {
  ScratchDir dir(parent);
  auto storage = Open(dir.path());
  std::vector<double> latencies_us;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  std::uint64_t transactions = 0;
  while (Clock::now() < deadline) {
    const PersistBatch next = NextBatch(storage->LastIndex() + 1, batch, 1);
    const auto before = Clock::now();
    const Status status = storage->Persist(next);
    CHECK(status.ok()) << status.ToString();
    latencies_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - before).count());
    ++transactions;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  std::printf("%8zu %14.0f %14.1f %12.0f %12.0f %12.0f\n", batch,
              static_cast<double>(transactions * batch) / elapsed,
              static_cast<double>(transactions) / elapsed, Percentile(latencies_us, 0.5),
              Percentile(latencies_us, 0.99), latencies_us.back());
  std::fflush(stdout);
}

// Entries() of `span` entries ending at the last index, repeated; reads per second.
double ReadsPerSecond(const SqliteLogStorage& storage, consensus::Index span, double seconds) {
  const consensus::Index lo = storage.LastIndex() + 1 - span;
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  const auto start = Clock::now();
  std::uint64_t reads = 0;
  while (Clock::now() < deadline) {
    Result<std::vector<consensus::Entry>> entries =
        storage.Entries(lo, storage.LastIndex() + 1, 1 << 20);
    CHECK(entries.ok() && entries->size() == span);
    ++reads;
  }
  return static_cast<double>(reads) / std::chrono::duration<double>(Clock::now() - start).count();
}

void RunReads(const std::filesystem::path& parent, double seconds) {
  ScratchDir dir(parent);
  auto storage = Open(dir.path());
  for (int i = 0; i < 10; ++i) {
    CHECK(storage->Persist(NextBatch(storage->LastIndex() + 1, 1000, 1)).ok());
  }
  const double from_cache = ReadsPerSecond(*storage, 100, seconds);  // all 10k entries cached
  storage.reset();
  SqliteLogStorageOptions no_cache;
  no_cache.entry_cache_bytes_max = 0;
  storage = Open(dir.path(), no_cache);
  const double from_db = ReadsPerSecond(*storage, 100, seconds);
  std::printf("Entries() of the last 100 entries: %.0f reads/s from the cache, %.0f from raft.db\n",
              from_cache, from_db);
}

std::vector<std::size_t> ParseBatches(const char* text) {
  std::vector<std::size_t> batches;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    batches.push_back(std::strtoull(item.c_str(), nullptr, 10));
  }
  return batches;
}

}  // namespace
}  // namespace roster::server

int main(int argc, char** argv) {
  double seconds = 2.0;
  std::vector<std::size_t> batches = {1, 10, 100, 1000};
  std::filesystem::path parent = std::filesystem::temp_directory_path();
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--batches") == 0 && i + 1 < argc) {
      batches = roster::server::ParseBatches(argv[++i]);
    } else if (std::strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      parent = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: log_storage_bench [--seconds S] [--batches 1,10,100,1000] [--dir D]\n");
      return 2;
    }
  }
  std::printf(
      "log_storage_bench: SqliteLogStorage::Persist in %s, WAL, synchronous=FULL, "
      "%zu-byte entries + hard state per transaction\n",
      parent.c_str(), roster::server::kEntryBytes);
  std::printf("%8s %14s %14s %12s %12s %12s\n", "batch", "entries/s", "fsyncs/s", "p50 us",
              "p99 us", "max us");
  for (std::size_t batch : batches) roster::server::RunPersist(parent, batch, seconds);
  roster::server::RunReads(parent, seconds / 2);
  return 0;
}
