#include "tests/sim/disk.h"

#include <type_traits>
#include <utility>

#include "base/check.h"

namespace roster::sim {

SimDisk::SimDisk() : live_(std::make_unique<consensus::MemoryStorage>()) {}

void SimDisk::Bootstrap(const consensus::ConfState& conf_state) {
  CHECK(pending_.empty());
  live_->Bootstrap(conf_state);
  durable_.Bootstrap(conf_state);
}

void SimDisk::ApplySnapshot(const consensus::Snapshot& snapshot) {
  live_->ApplySnapshot(snapshot);
  pending_.emplace_back(snapshot);
}

void SimDisk::Append(const std::vector<consensus::Entry>& entries) {
  if (entries.empty()) return;
  live_->Append(entries);
  pending_.emplace_back(entries);
}

void SimDisk::SetHardState(const consensus::HardState& hard_state) {
  live_->SetHardState(hard_state);
  pending_.emplace_back(hard_state);
}

void SimDisk::CreateSnapshot(consensus::Index index, const consensus::ConfState& conf_state,
                             const std::string& data, std::uint64_t entries_to_keep) {
  live_->CreateSnapshot(index, conf_state, data, entries_to_keep);
  pending_.emplace_back(CreateSnapshotWrite{index, conf_state, data, entries_to_keep});
}

void SimDisk::Sync() {
  for (const Write& write : pending_) Replay(write, durable_);
  pending_.clear();
  ++syncs_;
}

void SimDisk::Crash() {
  pending_.clear();
  live_ = std::make_unique<consensus::MemoryStorage>(durable_);
}

void SimDisk::Replay(const Write& write, consensus::MemoryStorage& storage) {
  std::visit(
      [&storage](const auto& w) {
        using W = std::decay_t<decltype(w)>;
        if constexpr (std::is_same_v<W, consensus::Snapshot>) {
          storage.ApplySnapshot(w);
        } else if constexpr (std::is_same_v<W, std::vector<consensus::Entry>>) {
          storage.Append(w);
        } else if constexpr (std::is_same_v<W, consensus::HardState>) {
          storage.SetHardState(w);
        } else {
          storage.CreateSnapshot(w.index, w.conf_state, w.data, w.entries_to_keep);
        }
      },
      write);
}

}  // namespace roster::sim
