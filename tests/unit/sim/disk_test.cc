// SimDisk: writes are visible at once, survive a crash only once synced.
#include "tests/sim/disk.h"

// base/check.h and Catch2 both define CHECK; the tests mean Catch2's.
#undef CHECK
#include <catch2/catch.hpp>

namespace roster::sim {
namespace {

using consensus::ConfState;
using consensus::Entry;
using consensus::HardState;

std::vector<Entry> Entries(consensus::Index first, consensus::Index last, consensus::Term term) {
  std::vector<Entry> entries;
  for (consensus::Index i = first; i <= last; ++i) entries.push_back({term, i, {}, "e"});
  return entries;
}

TEST_CASE("SimDisk: a bootstrap is durable at once", "[sim][disk]") {
  SimDisk disk;
  disk.Bootstrap(ConfState{{1, 2, 3}, {}});
  CHECK_FALSE(disk.HasUnsyncedWrites());
  CHECK(disk.durable().LastIndex() == disk.live()->LastIndex());
  CHECK(disk.durable().hard_state() == disk.live()->hard_state());
}

TEST_CASE("SimDisk: writes are visible in the live storage before any sync", "[sim][disk]") {
  SimDisk disk;
  disk.Bootstrap(ConfState{{1, 2, 3}, {}});
  const consensus::Index base = disk.durable().LastIndex();
  disk.Append(Entries(base + 1, base + 3, 1));
  disk.SetHardState(HardState{1, 1, base + 2});
  CHECK(disk.live()->LastIndex() == base + 3);
  CHECK(disk.live()->hard_state() == HardState{1, 1, base + 2});
  CHECK(disk.durable().LastIndex() == base);
  CHECK(disk.HasUnsyncedWrites());
}

TEST_CASE("SimDisk: a crash loses exactly the unsynced writes", "[sim][disk]") {
  SimDisk disk;
  disk.Bootstrap(ConfState{{1, 2, 3}, {}});
  const consensus::Index base = disk.durable().LastIndex();
  disk.Append(Entries(base + 1, base + 3, 1));
  disk.SetHardState(HardState{1, 1, base + 2});
  disk.Sync();
  disk.Append(Entries(base + 3, base + 5, 2));  // overwrites base+3 with a term-2 entry
  disk.SetHardState(HardState{2, 2, base + 4});
  disk.Crash();
  CHECK_FALSE(disk.HasUnsyncedWrites());
  CHECK(disk.live()->LastIndex() == base + 3);
  CHECK(disk.live()->TermAt(base + 3).value() == 1);
  CHECK(disk.live()->hard_state() == HardState{1, 1, base + 2});
  CHECK(disk.live()->FirstIndex() == disk.durable().FirstIndex());
}

TEST_CASE("SimDisk: a sync replays snapshots and compaction in order", "[sim][disk]") {
  SimDisk disk;
  disk.Bootstrap(ConfState{{1, 2, 3}, {}});
  const consensus::Index base = disk.durable().LastIndex();
  disk.Append(Entries(base + 1, base + 10, 1));
  disk.CreateSnapshot(base + 8, ConfState{{1, 2, 3}, {}}, "state@8", 2);
  disk.Sync();
  CHECK(disk.durable().snapshot().metadata.index == base + 8);
  CHECK(disk.durable().FirstIndex() == disk.live()->FirstIndex());
  CHECK(disk.durable().LastIndex() == base + 10);

  consensus::Snapshot received;
  received.metadata = {base + 20, 3, ConfState{{1, 2, 3}, {}}};
  received.data = "state@20";
  disk.ApplySnapshot(received);
  disk.Crash();  // the received snapshot was never synced
  CHECK(disk.live()->snapshot().metadata.index == base + 8);
  disk.ApplySnapshot(received);
  disk.Sync();
  disk.Crash();
  CHECK(disk.live()->snapshot().data == "state@20");
  CHECK(disk.live()->LastIndex() == base + 20);
}

}  // namespace
}  // namespace roster::sim
