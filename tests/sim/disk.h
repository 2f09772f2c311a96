// SimDisk: one simulated node's disk, as the durability contract in
// consensus/raw_node.h sees it.
//
// Writes land at once in live(), the MemoryStorage the running RawNode reads, and are
// queued; Sync() (the fsync) replays the queue onto the durable copy. Crash() throws
// away every write since the last Sync() and rebuilds live() from the durable copy.
// A Sync() is atomic: the durable copy holds all of a batch or none of it.
// Single-threaded: owned by its SimNode.
#pragma once

#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include "consensus/storage.h"
#include "consensus/types.h"

namespace roster::sim {

class SimDisk {
 public:
  // An empty disk: a node joining an existing cluster.
  SimDisk();

  // Writes the membership of a brand-new cluster, durably.
  void Bootstrap(const consensus::ConfState& conf_state);

  // The storage a running node reads and writes. Replaced by Crash(), so callers must
  // not keep the pointer across a crash.
  consensus::MemoryStorage* live() { return live_.get(); }
  const consensus::MemoryStorage& live_view() const { return *live_; }
  // What would survive a crash now.
  const consensus::MemoryStorage& durable() const { return durable_; }

  // Unsynced writes (the MemoryStorage mutators a Ready handler uses).
  void ApplySnapshot(const consensus::Snapshot& snapshot);
  void Append(const std::vector<consensus::Entry>& entries);
  void SetHardState(const consensus::HardState& hard_state);
  void CreateSnapshot(consensus::Index index, const consensus::ConfState& conf_state,
                      const std::string& data, std::uint64_t entries_to_keep);

  // Makes every queued write durable.
  void Sync();
  bool HasUnsyncedWrites() const { return !pending_.empty(); }
  std::uint64_t syncs() const { return syncs_; }

  // Loses every write since the last Sync(); live() becomes a copy of the durable state.
  void Crash();

 private:
  struct CreateSnapshotWrite {
    consensus::Index index;
    consensus::ConfState conf_state;
    std::string data;
    std::uint64_t entries_to_keep;
  };
  using Write = std::variant<consensus::Snapshot, std::vector<consensus::Entry>,
                             consensus::HardState, CreateSnapshotWrite>;

  static void Replay(const Write& write, consensus::MemoryStorage& storage);

  std::unique_ptr<consensus::MemoryStorage> live_;
  consensus::MemoryStorage durable_;
  std::vector<Write> pending_;
  std::uint64_t syncs_ = 0;
};

}  // namespace roster::sim
