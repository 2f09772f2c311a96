// store_snapshot_bench: how long the store takes to write and restore a snapshot of N
// keys (the Raft loop encodes one every -raft-snapshot-threshold entries, and a
// restarting server restores one). Prints figures; see bench/README.md.
//   build/bin/store_snapshot_bench [--keys 100000] [--value-bytes 100] [--rounds 5]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/check.h"
#include "store/command.h"
#include "store/store.h"

namespace {

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  long keys = 100000, value_bytes = 100, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--keys")) keys = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--value-bytes")) value_bytes = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atol(argv[i + 1]);
  }
  roster::store::Store store;
  const std::string value(static_cast<std::size_t>(value_bytes), 'v');
  for (long i = 0; i < keys; ++i) {
    char key[64];
    std::snprintf(key, sizeof(key), "bench/load/%d/%ld", static_cast<int>(i % 32), i);
    store.Apply(static_cast<roster::store::Index>(i + 1),
                roster::store::Encode(roster::store::KvSet{key, value, 0}));
  }
  std::printf("%ld keys, %ld-byte values\n", keys, value_bytes);
  for (long round = 0; round < rounds; ++round) {
    auto start = std::chrono::steady_clock::now();
    const std::string snapshot = store.Snapshot();
    const double write_ms = MsSince(start);
    roster::store::Store restored;
    start = std::chrono::steady_clock::now();
    CHECK(restored.Restore(snapshot).ok());
    const double restore_ms = MsSince(start);
    std::printf("snapshot %zu bytes: write %.1f ms (%.0f MB/s), restore %.1f ms\n", snapshot.size(),
                write_ms, snapshot.size() / write_ms / 1000, restore_ms);
  }
  return 0;
}
