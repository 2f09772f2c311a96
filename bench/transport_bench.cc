// transport_bench: the peer transport on loopback, two Transports in one process.
//
// Throughput: node 1 sends Raft appends of 100 entries x 100 bytes to node 2 as fast
// as its queue takes them (a full queue makes the sender yield, not drop); prints the
// frames and megabytes per second that node 2 received.
// Latency: node 1 sends a small heartbeat, node 2 answers through its own connection
// back (as Raft responses travel), node 1 waits for the answer before the next one;
// prints round-trip percentiles.
//
//   build/bin/transport_bench [--seconds S] [--pings N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/check.h"
#include "base/logging.h"
#include "server/transport.h"

namespace roster::server {
namespace {

using SteadyClock = std::chrono::steady_clock;
using consensus::Message;
using consensus::MessageType;

constexpr std::size_t kEntriesPerAppend = 100;
constexpr std::size_t kEntryBytes = 100;

struct Options {
  double seconds = 3;
  int pings = 20'000;
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) {
      options.seconds = std::atof(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--pings") == 0) {
      options.pings = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--pings N]\n", argv[0]);
      std::exit(2);
    }
  }
  return options;
}

TransportOptions NodeOptions(consensus::NodeId node_id) {
  TransportOptions options;
  options.self.node_id = node_id;
  options.self.node_name = "bench-" + std::to_string(node_id);
  options.listen_address = "127.0.0.1:0";
  return options;
}

Message Append(consensus::Index first_index) {
  Message append;
  append.type = MessageType::kAppend;
  append.from = 1;
  append.to = 2;
  append.term = 2;
  append.log_term = 2;
  append.index = first_index - 1;
  append.commit = first_index - 1;
  for (std::size_t i = 0; i < kEntriesPerAppend; ++i) {
    append.entries.push_back(consensus::Entry{.term = 2,
                                              .index = first_index + i,
                                              .type = consensus::EntryType::kNormal,
                                              .data = std::string(kEntryBytes, 'x')});
  }
  return append;
}

// What node 2 counts, and node 1's view of the answers to its pings.
struct Counters {
  std::atomic<std::uint64_t> appends_received{0};
  std::mutex mu;
  std::condition_variable answered;
  std::uint64_t last_answer = 0;  // read_round of the newest heartbeat response
  std::uint64_t last_ping = 0;    // the sender's own; rounds never repeat across runs
};

void RunThroughput(Transport& sender, Transport& receiver, Counters& counters, double seconds) {
  const std::uint64_t frame_bytes = EncodeFrame(Append(1)).size();
  const std::uint64_t received_before = counters.appends_received.load();
  const std::uint64_t bytes_before = receiver.stats().bytes_received;
  const auto start = SteadyClock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  consensus::Index next_index = 1;
  std::uint64_t sent_frames = 0;
  while (SteadyClock::now() < end) {
    const Status sent = sender.Send(2, Append(next_index));
    if (sent.ok()) {
      next_index += kEntriesPerAppend;
      ++sent_frames;
    } else {
      CHECK(sent.code() == StatusCode::kResourceExhausted) << sent.ToString();
      std::this_thread::yield();  // the queue is full: let the writer drain it
    }
  }
  // The clock stops when the last frame has arrived, not when the last was queued.
  const auto drain_deadline = SteadyClock::now() + std::chrono::seconds(30);
  while (counters.appends_received.load() - received_before < sent_frames &&
         SteadyClock::now() < drain_deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  const double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  const double frames = static_cast<double>(counters.appends_received.load() - received_before);
  const double bytes = static_cast<double>(receiver.stats().bytes_received - bytes_before);
  std::printf("throughput: appends of %zu x %zu B entries (%llu B frames)\n", kEntriesPerAppend,
              kEntryBytes, static_cast<unsigned long long>(frame_bytes));
  std::printf("  %.0f frames/s  %.0f entries/s  %.1f MB/s  (%.1f s)\n", frames / elapsed,
              frames * kEntriesPerAppend / elapsed, bytes / elapsed / 1e6, elapsed);
}

void RunPingPong(Transport& sender, Counters& counters, int pings) {
  std::vector<double> round_trips_us;
  round_trips_us.reserve(static_cast<std::size_t>(pings));
  Message ping;
  ping.type = MessageType::kHeartbeat;
  ping.from = 1;
  ping.to = 2;
  ping.term = 2;
  for (int i = 1; i <= pings; ++i) {
    const std::uint64_t round = ++counters.last_ping;
    ping.read_round = round;
    const auto start = SteadyClock::now();
    CHECK(sender.Send(2, ping).ok());
    std::unique_lock<std::mutex> lock(counters.mu);
    const bool answered = counters.answered.wait_for(lock, std::chrono::seconds(5),
                                                     [&] { return counters.last_answer >= round; });
    CHECK(answered) << "no answer to ping " << i;
    round_trips_us.push_back(
        std::chrono::duration<double, std::micro>(SteadyClock::now() - start).count());
  }
  std::sort(round_trips_us.begin(), round_trips_us.end());
  auto percentile = [&round_trips_us](double p) {
    return round_trips_us[static_cast<std::size_t>(p * (round_trips_us.size() - 1))];
  };
  std::printf("ping-pong: %d small frames, round trip through both connections\n", pings);
  std::printf("  p50 %.1f us  p99 %.1f us  max %.1f us\n", percentile(0.50), percentile(0.99),
              round_trips_us.back());
}

int Main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  SetLogLevel(LogLevel::kWarning);
  Counters counters;
  std::atomic<Transport*> node2{nullptr};

  Transport one(
      NodeOptions(1),
      [&counters](const PeerInfo&, Frame frame, Reply) {
        const auto* message = std::get_if<Message>(&frame);
        if (message == nullptr || message->type != MessageType::kHeartbeatResponse) return;
        std::lock_guard<std::mutex> lock(counters.mu);
        counters.last_answer = message->read_round;
        counters.answered.notify_one();
      },
      nullptr);
  Transport two(
      NodeOptions(2),
      [&counters, &node2](const PeerInfo&, Frame frame, Reply) {
        const auto* message = std::get_if<Message>(&frame);
        if (message == nullptr) return;
        if (message->type == MessageType::kAppend) {
          counters.appends_received.fetch_add(1, std::memory_order_relaxed);
        } else if (message->type == MessageType::kHeartbeat) {
          Message response;
          response.type = MessageType::kHeartbeatResponse;
          response.from = 2;
          response.to = 1;
          response.term = message->term;
          response.read_round = message->read_round;
          (void)node2.load()->Send(1, response);
        }
      },
      nullptr);
  node2.store(&two);
  CHECK(one.Start().ok());
  CHECK(two.Start().ok());
  one.AddPeer(2, "127.0.0.1:" + std::to_string(two.port()));
  two.AddPeer(1, "127.0.0.1:" + std::to_string(one.port()));

  RunPingPong(one, counters, 200);  // warm-up: both connections are up
  RunThroughput(one, two, counters, options.seconds);
  RunPingPong(one, counters, options.pings);
  one.Stop();
  two.Stop();
  return 0;
}

}  // namespace
}  // namespace roster::server

int main(int argc, char** argv) { return roster::server::Main(argc, argv); }
