// consensus_bench: how fast the pure Raft core commits entries.
//
// A 3-node cluster in one process: an instant network (messages handed straight to
// Step), MemoryStorage, no fsync. Each round the leader proposes `batch` entries of
// 100 bytes, then every node handles its Ready once and messages are delivered, so
// consecutive batches pipeline exactly as they would in a server. Prints entries
// committed (applied by the leader) per second for each batch size.
//
//   build/bin/consensus_bench [--seconds S] [--batches 1,10,100,1000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/check.h"
#include "consensus/raw_node.h"

namespace roster::consensus {
namespace {

constexpr std::size_t kEntryBytes = 100;

struct BenchNode {
  MemoryStorage storage;
  std::unique_ptr<RawNode> raw_node;
  std::uint64_t applied_entries = 0;
};

class Cluster {
 public:
  explicit Cluster(int size) {
    ConfState conf;
    for (int i = 1; i <= size; ++i) conf.voters.push_back(static_cast<NodeId>(i));
    for (NodeId id : conf.voters) {
      auto node = std::make_unique<BenchNode>();
      node->storage.Bootstrap(conf);
      Config config;
      config.id = id;
      config.storage = &node->storage;
      config.random_seed = 1;
      node->raw_node = std::move(RawNode::Create(config)).value();
      nodes_[id] = std::move(node);
    }
    CHECK(nodes_[1]->raw_node->Campaign().ok());
    while (Round()) {
    }
    CHECK(nodes_[1]->raw_node->role() == Role::kLeader);
  }

  BenchNode& leader() { return *nodes_[1]; }

  // One Ready per node, then deliver every message. Returns whether anything happened.
  bool Round() {
    bool progressed = false;
    for (auto& [id, node] : nodes_) {
      if (!node->raw_node->HasReady()) continue;
      progressed = true;
      Ready ready = node->raw_node->GetReady();
      Queue(ready.messages);
      if (ready.snapshot) node->storage.ApplySnapshot(*ready.snapshot);
      node->storage.Append(std::move(ready.entries));
      if (ready.hard_state) node->storage.SetHardState(*ready.hard_state);
      Queue(ready.persisted_messages);
      node->applied_entries += ready.committed_entries.size();
      node->raw_node->Advance();
    }
    std::vector<Message> in_flight = std::move(network_);
    network_.clear();
    for (Message& message : in_flight) {
      progressed = true;
      const NodeId to = message.to;
      CHECK(nodes_[to]->raw_node->Step(std::move(message)).ok());
    }
    return progressed;
  }

  // Drops log entries the bench no longer needs, as a server's snapshots would.
  void Compact() {
    for (auto& [id, node] : nodes_) {
      const Index applied = node->raw_node->applied();
      if (applied > node->storage.FirstIndex() + 100000) {
        node->storage.CreateSnapshot(applied, node->raw_node->conf_state(), "", 1000);
      }
    }
  }

 private:
  void Queue(std::vector<Message>& messages) {
    for (Message& m : messages) network_.push_back(std::move(m));
  }

  std::map<NodeId, std::unique_ptr<BenchNode>> nodes_;
  std::vector<Message> network_;
};

double Run(std::size_t batch, double seconds) {
  Cluster cluster(3);
  const std::string payload(kEntryBytes, 'x');
  BenchNode& leader = cluster.leader();
  const std::uint64_t applied_before = leader.applied_entries;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  std::uint64_t rounds = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (std::size_t i = 0; i < batch; ++i) CHECK(leader.raw_node->Propose(payload).ok());
    cluster.Round();
    if (++rounds % 256 == 0) cluster.Compact();
  }
  while (cluster.Round()) {
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(leader.applied_entries - applied_before) / elapsed;
}

std::vector<std::size_t> ParseBatches(const char* text) {
  std::vector<std::size_t> batches;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) batches.push_back(std::strtoull(item.c_str(), nullptr, 10));
  return batches;
}

}  // namespace
}  // namespace roster::consensus

int main(int argc, char** argv) {
  double seconds = 2.0;
  std::vector<std::size_t> batches = {1, 10, 100, 1000};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--batches") == 0 && i + 1 < argc) {
      batches = roster::consensus::ParseBatches(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: consensus_bench [--seconds S] [--batches 1,10,100,1000]\n");
      return 2;
    }
  }
  std::printf("consensus_bench: 3 nodes in one process, instant network, no fsync, %zu-byte entries\n",
              roster::consensus::kEntryBytes);
  std::printf("%8s %16s\n", "batch", "entries/s");
  for (std::size_t batch : batches) {
    std::printf("%8zu %16.0f\n", batch, roster::consensus::Run(batch, seconds));
    std::fflush(stdout);
  }
  return 0;
}
