// SimNetwork: delays, loss, duplication and directed partitions, replayable by seed.
#include "tests/sim/network.h"

// base/check.h and Catch2 both define CHECK; the tests mean Catch2's.
#undef CHECK
#include <catch2/catch.hpp>

namespace roster::sim {
namespace {

using consensus::Message;
using consensus::MessageType;

Message Msg(consensus::NodeId from, consensus::NodeId to, consensus::Index index) {
  Message message;
  message.type = MessageType::kAppend;
  message.from = from;
  message.to = to;
  message.term = 1;
  message.index = index;
  return message;
}

// Runs the clock from `from_ms` through `to_ms`, collecting what is delivered.
std::vector<Message> Drain(SimNetwork& network, std::uint64_t from_ms, std::uint64_t to_ms) {
  std::vector<Message> out;
  for (std::uint64_t t = from_ms; t <= to_ms; ++t) network.TakeDue(t, &out);
  return out;
}

TEST_CASE("SimNetwork: a message arrives within the delay bounds, never at once",
          "[sim][network]") {
  DeterministicRandom random(7);
  SimNetwork network(&random);
  NetworkConditions conditions;
  conditions.delay_ms_min = 3;
  conditions.delay_ms_max = 6;
  network.set_conditions(conditions);
  std::vector<Message> out;
  network.TakeDue(0, &out);
  for (int i = 0; i < 50; ++i) network.Enqueue(0, Msg(1, 2, i));
  CHECK(network.in_flight() == 50);
  CHECK(Drain(network, 1, 2).empty());
  CHECK(Drain(network, 3, 6).size() == 50);
  CHECK(network.in_flight() == 0);
}

TEST_CASE("SimNetwork: blocked links are directed", "[sim][network]") {
  DeterministicRandom random(1);
  SimNetwork network(&random);
  network.Block(1, 2);
  CHECK(network.Admit(1, 2) == SendOutcome::kBlocked);
  CHECK(network.Admit(2, 1) == SendOutcome::kQueued);
  CHECK(network.HasPartition());
  network.UnblockAll();
  CHECK(network.Admit(1, 2) == SendOutcome::kQueued);
  CHECK_FALSE(network.HasPartition());
}

TEST_CASE("SimNetwork: loss and duplication follow the conditions", "[sim][network]") {
  DeterministicRandom random(3);
  SimNetwork network(&random);
  NetworkConditions conditions;
  conditions.drop_probability = 0.5;
  conditions.duplicate_probability = 0.5;
  network.set_conditions(conditions);
  int dropped = 0;
  int duplicated = 0;
  for (int i = 0; i < 1000; ++i) {
    const SendOutcome outcome = network.Admit(1, 2);
    dropped += outcome == SendOutcome::kDropped;
    duplicated += outcome == SendOutcome::kDuplicated;
  }
  CHECK(dropped > 400);
  CHECK(dropped < 600);
  CHECK(duplicated > 150);  // half of the survivors
  CHECK(duplicated < 350);
}

TEST_CASE("SimNetwork: the same seed delivers in the same order", "[sim][network]") {
  auto run = [](std::uint64_t seed) {
    DeterministicRandom random(seed);
    SimNetwork network(&random);
    NetworkConditions conditions;
    conditions.delay_ms_max = 20;
    conditions.spike_probability = 0.2;
    conditions.spike_ms_max = 100;
    network.set_conditions(conditions);
    std::vector<Message> out;
    network.TakeDue(0, &out);
    for (int i = 0; i < 100; ++i) network.Enqueue(0, Msg(1, 2, i));
    std::vector<consensus::Index> order;
    for (const Message& m : Drain(network, 1, 200)) order.push_back(m.index);
    return order;
  };
  const std::vector<consensus::Index> first = run(11);
  CHECK(first.size() == 100);
  CHECK(first == run(11));
  CHECK(first != run(12));
  CHECK_FALSE(std::is_sorted(first.begin(), first.end()));  // delays reorder
}

TEST_CASE("SimNetwork: a held message arrives exactly when asked", "[sim][network]") {
  DeterministicRandom random(5);
  SimNetwork network(&random);
  std::vector<Message> out;
  network.TakeDue(10, &out);
  network.EnqueueAfter(10, 25, Msg(1, 2, 9));
  CHECK(Drain(network, 11, 34).empty());
  CHECK(Drain(network, 35, 35).size() == 1);
}

}  // namespace
}  // namespace roster::sim
