// coord_bench fanout: how long after a write is acknowledged the last of thousands of
// watchers hears of it.
//
// Stream watchers (GET /v1/watch) and blocking-query watchers (GET /v1/kv/P?recurse
// with ?index) on one prefix, spread over the servers as clients behind their agents
// would be (or all on one server), held by a WatcherPool (bench/watcher_pool.h). Each
// round PUTs one key under the prefix to the leader, takes the time the reply arrived
// (the ack), reads the write's index, and waits until every watcher has seen that index.
// A watcher's latency is the time it read the line or reply carrying the index minus
// the ack; a round's fan-out latency is the last watcher's. Rounds are spaced so that
// blocking watchers have re-armed before the next write.
//
// Each latency is reported twice: as read by the bench's threads ("ack -> seen"), and
// from the kernel's receive timestamps of the ack and of the notification ("ack ->
// arrived"). The second leaves out the bench's own backlog: one process reading 2,000
// sockets on the cores the servers use reads the last notification well after it
// arrived, which real watchers, each in its own process on its own host, would not.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/coord_modes.h"
#include "bench/http_response_reader.h"
#include "bench/watcher_pool.h"
#include "client/http_client.h"

namespace roster::bench {
namespace {

struct FanoutOptions {
  std::vector<Server> servers;
  std::size_t leader = 0;
  int stream_watchers = 1000;
  int blocking_watchers = 1000;
  int rounds = 50;
  int interval_ms = 200;       // pause before each write, after the last round settled
  int round_timeout_ms = 10'000;
  int connect_timeout_ms = 120'000;
  bool spread = true;          // watchers over all servers, else all on --server
  std::size_t server = 0;      // with !spread: the one server (default the leader)
  bool server_given = false;   // --server I; else --server leader, or spread
  int conns_per_source = 100;  // watchers per local source address; 0 = one address
  WatcherPoolOptions pool;
};

// Watcher k connects from 127.0.<1 + k / (250 * per)>.<1 + (k / per) % 250>: the
// servers' per-client-IP limit (200 by default) counts each address apart.
std::string SourceAddress(int watcher, int per_source) {
  if (per_source <= 0) return "";
  const int source = watcher / per_source;
  return "127.0." + std::to_string(1 + source / 250) + "." + std::to_string(1 + source % 250);
}

Result<FanoutOptions> ParseFanoutOptions(const Args& args) {
  FanoutOptions options;
  Result<std::vector<Server>> servers = ParseServers(args.Get("servers", "127.0.0.1:8500"));
  if (!servers.ok()) return servers.status();
  options.servers = *servers;
  Result<long long> stream = args.GetInt("stream", 1000);
  Result<long long> blocking = args.GetInt("blocking", 1000);
  Result<long long> rounds = args.GetInt("rounds", 50);
  Result<long long> interval = args.GetInt("interval-ms", 200);
  Result<long long> timeout = args.GetInt("round-timeout-ms", 10'000);
  Result<long long> threads = args.GetInt("threads", 2);
  Result<long long> per_source = args.GetInt("conns-per-source", 100);
  // --server I (an index into --servers) or --server leader: every watcher there.
  const std::string server_flag = args.Get("server", "");
  const bool on_leader = server_flag == "leader";
  Result<long long> server = on_leader ? Result<long long>(-1) : args.GetInt("server", -1);
  for (const auto* value :
       {&stream, &blocking, &rounds, &interval, &timeout, &threads, &per_source, &server}) {
    if (!value->ok()) return value->status();
  }
  if (*stream < 0 || *blocking < 0 || *stream + *blocking == 0 || *rounds < 1 || *interval < 0 ||
      *timeout < 1 || *threads < 1 || *threads > 16 || *per_source < 0) {
    return InvalidArgument(
        "need --stream, --blocking >= 0 (not both 0), --rounds >= 1, --interval-ms >= 0, "
        "--round-timeout-ms >= 1, --threads 1..16, --conns-per-source >= 0");
  }
  if (*server >= static_cast<long long>(options.servers.size())) {
    return InvalidArgument("--server is an index into --servers (0.." +
                           std::to_string(options.servers.size() - 1) + ")");
  }
  options.stream_watchers = static_cast<int>(*stream);
  options.blocking_watchers = static_cast<int>(*blocking);
  options.rounds = static_cast<int>(*rounds);
  options.interval_ms = static_cast<int>(*interval);
  options.round_timeout_ms = static_cast<int>(*timeout);
  options.conns_per_source = static_cast<int>(*per_source);
  options.server_given = *server >= 0;
  options.server = options.server_given ? static_cast<std::size_t>(*server) : 0;
  options.spread = !options.server_given && !on_leader;
  options.pool.servers = options.servers;
  options.pool.prefix = args.Get("prefix", "coord-bench/fanout/");
  options.pool.blocking_wait = args.Get("wait", "10m");
  options.pool.blocking_stale = args.Has("stale");
  options.pool.threads = static_cast<int>(*threads);
  return options;
}

// The writer's keep-alive connection to the leader: plain blocking HTTP/1.1 rather than
// client::HttpClient, so that the kernel timestamps the acknowledgement's arrival as it
// does the watchers' notifications.
class Writer {
 public:
  struct Reply {
    int status = 0;
    std::string body;
    Clock::time_point read_at;  // when the bench read the reply's last bytes
    Clock::time_point arrived;  // when those bytes reached the socket
  };

  explicit Writer(Server server) : server_(std::move(server)) {}
  ~Writer() { Disconnect(); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  Result<Reply> Put(const std::string& key, const std::string& value) {
    if (fd_ < 0) {
      if (Status connected = Connect(); !connected.ok()) return connected;
    }
    const std::string request =
        "PUT /v1/kv/" + key + " HTTP/1.1\r\nHost: " + server_.address() +
        "\r\nUser-Agent: coord-bench\r\nContent-Length: " + std::to_string(value.size()) +
        "\r\n\r\n" + value;
    for (std::size_t sent = 0; sent < request.size();) {
      const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Fail("send");
      sent += static_cast<std::size_t>(n);
    }
    Collector collector;
    char buffer[16 * 1024];
    while (!collector.complete) {
      Clock::time_point arrived;
      const ssize_t got = ReadWithArrival(fd_, buffer, sizeof(buffer), &arrived);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return Fail(got == 0 ? "the leader closed the connection" : "read");
      collector.reply.read_at = Clock::now();
      collector.reply.arrived = arrived;
      if (Status fed =
              reader_.Feed(std::string_view(buffer, static_cast<std::size_t>(got)), collector);
          !fed.ok()) {
        Disconnect();
        return fed;
      }
    }
    if (collector.close) Disconnect();
    return collector.reply;
  }

 private:
  struct Collector final : ResponseReader::Handler {
    void OnHead(const ResponseHead& head) override {
      reply.status = head.status;
      close = head.close;
    }
    void OnBody(std::string_view bytes) override { reply.body.append(bytes); }
    void OnComplete() override { complete = true; }
    Reply reply;
    bool close = false;
    bool complete = false;
  };

  Status Connect() {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(server_.port));
    if (inet_pton(AF_INET, server_.host.c_str(), &to.sin_addr) != 1) {
      return InvalidArgument("leader host " + server_.host + " is not an IPv4 address");
    }
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Fail("socket");
    int yes = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    EnableArrivalTimes(fd_);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) return Fail("connect");
    reader_ = ResponseReader();
    return Status::Ok();
  }

  Status Fail(const std::string& what) {
    const std::string message = what + " (" + server_.address() + "): " + std::strerror(errno);
    Disconnect();
    return Unavailable(message);
  }

  void Disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  const Server server_;
  int fd_ = -1;
  ResponseReader reader_;
};

// The write of one round, and what the watchers made of it.
struct Round {
  std::uint64_t index = 0;
  double put_ms = 0;  // sent -> acknowledged
  // From sending the write to the last watcher seeing it: unlike "ack -> seen", this
  // does not shrink when the notifications delay the acknowledgement itself.
  double sent_to_last_ms = 0;
  // Per watcher kind: each watcher's latency (ack -> seen), and how many missed it.
  std::map<WatcherKind, std::vector<double>> latencies_ms;
  // Per watcher kind: the last watcher's latency in kernel arrival times (ack -> arrived).
  std::map<WatcherKind, double> last_arrived_ms;
  std::map<WatcherKind, int> missed;
  std::map<std::size_t, double> last_by_server_ms;
};

const char* KindName(WatcherKind kind) {
  return kind == WatcherKind::kStream ? "stream" : "blocking";
}

// When a round's write was acknowledged: read by the bench, and arrived at its socket.
struct Ack {
  Clock::time_point read_at;
  Clock::time_point arrived;
};

// PUTs the round's key to the leader; returns the index it was written at.
Result<std::uint64_t> Write(Writer& writer, client::HttpClient& leader, const std::string& key,
                            int round, Ack* ack, double* put_ms) {
  const Clock::time_point sent = Clock::now();
  Result<Writer::Reply> put = writer.Put(key, "round " + std::to_string(round));
  if (!put.ok()) return put.status();
  *ack = Ack{put->read_at, put->arrived};
  *put_ms = MillisecondsBetween(sent, ack->read_at);
  if (put->status != 200 || !put->body.starts_with("true")) {
    return Unavailable("PUT " + key + ": HTTP " + std::to_string(put->status) + " " + put->body);
  }
  // Nobody else writes under the prefix: the key's ModifyIndex is this write's index.
  Result<client::Response> get = leader.Get("/v1/kv/" + key);
  if (!get.ok()) return get.status();
  const nlohmann::json entries = nlohmann::json::parse(get->body, nullptr, false);
  if (get->status != 200 || !entries.is_array() || entries.empty() ||
      !entries[0].contains("ModifyIndex")) {
    return Unavailable("GET " + key + " after the write: HTTP " + std::to_string(get->status));
  }
  return entries[0]["ModifyIndex"].get<std::uint64_t>();
}

Round Measure(const std::vector<WatcherState>& watchers, std::uint64_t index, const Ack& ack) {
  Round round;
  round.index = index;
  for (const WatcherState& watcher : watchers) {
    if (watcher.failed) continue;  // counted once, in the connection report
    if (watcher.seen_index < index) {
      ++round.missed[watcher.spec.kind];
      continue;
    }
    const double ms = MillisecondsBetween(ack.read_at, watcher.seen_at);
    round.latencies_ms[watcher.spec.kind].push_back(ms);
    double& arrived = round.last_arrived_ms.try_emplace(watcher.spec.kind, -1e9).first->second;
    arrived = std::max(arrived, MillisecondsBetween(ack.arrived, watcher.arrived_at));
    double& last = round.last_by_server_ms[watcher.spec.server];
    last = std::max(last, ms);
    round.sent_to_last_ms = std::max(round.sent_to_last_ms, ms);
  }
  return round;
}

// Connection failures grouped by message, so 1,000 refusals print as one line.
void ReportFailures(const std::vector<WatcherState>& watchers) {
  std::map<std::string, int> reasons;
  for (const WatcherState& watcher : watchers) {
    if (watcher.failed) ++reasons[std::string(KindName(watcher.spec.kind)) + ": " + watcher.error];
  }
  for (const auto& [reason, count] : reasons) {
    std::printf("  FAILED %d watchers: %s\n", count, reason.c_str());
  }
}

void Report(const FanoutOptions& options, const std::vector<Round>& rounds,
            const std::vector<WatcherState>& watchers) {
  std::map<WatcherKind, std::vector<double>> last_ms, every_ms, last_arrived_ms;
  std::vector<double> last_combined_ms, arrived_combined_ms, put_ms, sent_to_last_ms;
  std::map<std::size_t, std::vector<double>> last_by_server_ms;
  std::map<WatcherKind, int> missed, seen_min;
  for (const Round& round : rounds) {
    double combined = 0;
    for (const auto& [kind, samples] : round.latencies_ms) {
      const double last = *std::max_element(samples.begin(), samples.end());
      last_ms[kind].push_back(last);
      combined = std::max(combined, last);
      every_ms[kind].insert(every_ms[kind].end(), samples.begin(), samples.end());
    }
    double arrived_combined = -1e9;
    for (const auto& [kind, ms] : round.last_arrived_ms) {
      last_arrived_ms[kind].push_back(ms);
      arrived_combined = std::max(arrived_combined, ms);
    }
    if (!round.last_arrived_ms.empty()) arrived_combined_ms.push_back(arrived_combined);
    for (const auto& [kind, count] : round.missed) missed[kind] += count;
    last_combined_ms.push_back(combined);
    put_ms.push_back(round.put_ms);
    sent_to_last_ms.push_back(round.sent_to_last_ms);
    for (const auto& [server, ms] : round.last_by_server_ms) last_by_server_ms[server].push_back(ms);
  }
  int failed = 0;
  for (const WatcherState& watcher : watchers) failed += watcher.failed ? 1 : 0;
  std::printf("fanout: %d stream + %d blocking watchers on \"%s\", %s, %zu rounds, "
              "%d failed, load average %s\n",
              options.stream_watchers, options.blocking_watchers, options.pool.prefix.c_str(),
              options.spread ? "spread over the servers"
                             : ("all on " + options.servers[options.server].address()).c_str(),
              rounds.size(), failed, LoadAverage().c_str());
  std::printf("  PUT to the leader (sent -> ack):      %s\n", FormatSummary(Summarize(put_ms)).c_str());
  for (WatcherKind kind : {WatcherKind::kStream, WatcherKind::kBlocking}) {
    if (!last_ms.count(kind)) continue;
    std::printf("  %-8s last watcher (ack -> seen):  %s\n", KindName(kind),
                FormatSummary(Summarize(last_ms[kind])).c_str());
    std::printf("  %-8s every watcher (ack -> seen): %s; missed %d\n", KindName(kind),
                FormatSummary(Summarize(every_ms[kind])).c_str(), missed[kind]);
    std::printf("  %-8s last watcher (ack -> arrived, kernel times): %s\n", KindName(kind),
                FormatSummary(Summarize(last_arrived_ms[kind])).c_str());
  }
  const Summary combined = Summarize(last_combined_ms);
  const Summary arrived = Summarize(arrived_combined_ms);
  const Summary from_sent = Summarize(sent_to_last_ms);
  std::printf("  combined last watcher (ack -> seen):  %s\n", FormatSummary(combined).c_str());
  std::printf("  combined last watcher (ack -> arrived, kernel times): %s\n",
              FormatSummary(arrived).c_str());
  if (const std::uint64_t unstamped = ReadsWithoutArrivalTime(); unstamped > 0) {
    std::printf("  (%llu reads had no kernel timestamp; their arrival is when they were read)\n",
                static_cast<unsigned long long>(unstamped));
  }
  std::printf("  combined last watcher (sent -> seen): %s\n", FormatSummary(from_sent).c_str());
  for (const auto& [server, samples] : last_by_server_ms) {
    std::printf("  last watcher on %s%s: %s\n", options.servers[server].address().c_str(),
                server == options.leader ? " (leader)  " : " (follower)",
                FormatSummary(Summarize(samples)).c_str());
  }
  const Summary stream = Summarize(last_ms[WatcherKind::kStream]);
  const Summary blocking = Summarize(last_ms[WatcherKind::kBlocking]);
  std::printf(
      "FANOUT stream=%d blocking=%d spread=%d rounds=%zu failed=%d "
      "stream_p50_ms=%.2f stream_p99_ms=%.2f blocking_p50_ms=%.2f blocking_p99_ms=%.2f "
      "combined_p50_ms=%.2f combined_p99_ms=%.2f combined_max_ms=%.2f "
      "arrived_p50_ms=%.2f arrived_p99_ms=%.2f arrived_max_ms=%.2f "
      "sent_p50_ms=%.2f sent_p99_ms=%.2f put_p50_ms=%.2f missed=%d load=\"%s\"\n",
      options.stream_watchers, options.blocking_watchers, options.spread ? 1 : 0, rounds.size(),
      failed, stream.p50_ms, stream.p99_ms, blocking.p50_ms, blocking.p99_ms, combined.p50_ms,
      combined.p99_ms, combined.max_ms, arrived.p50_ms, arrived.p99_ms, arrived.max_ms,
      from_sent.p50_ms, from_sent.p99_ms, Summarize(put_ms).p50_ms,
      missed[WatcherKind::kStream] + missed[WatcherKind::kBlocking], LoadAverage().c_str());
}

void AddWatchers(const FanoutOptions& options, WatcherPool& pool) {
  int number = 0;
  const auto add = [&](WatcherKind kind, int count) {
    for (int i = 0; i < count; ++i, ++number) {
      WatcherSpec spec;
      spec.kind = kind;
      spec.server = options.spread ? static_cast<std::size_t>(number) % options.servers.size()
                                   : options.server;
      spec.source_ip = SourceAddress(number, options.conns_per_source);
      pool.Add(spec);
    }
  };
  // Interleaved, so that both kinds connect at the same pace.
  for (int i = 0; i < std::max(options.stream_watchers, options.blocking_watchers); ++i) {
    if (i < options.stream_watchers) add(WatcherKind::kStream, 1);
    if (i < options.blocking_watchers) add(WatcherKind::kBlocking, 1);
  }
}

}  // namespace

int RunFanout(const Args& args) {
  Result<FanoutOptions> parsed = ParseFanoutOptions(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "coord_bench fanout: %s\n", parsed.status().message().c_str());
    return 2;
  }
  FanoutOptions options = *parsed;
  Result<std::size_t> leader = FindLeader(options.servers, std::chrono::seconds(30));
  if (!leader.ok()) {
    std::fprintf(stderr, "coord_bench fanout: %s\n", leader.status().message().c_str());
    return 1;
  }
  options.leader = *leader;
  if (!options.server_given) options.server = options.leader;
  Writer writer(options.servers[options.leader]);
  client::HttpClient reader(options.servers[options.leader].address(), std::chrono::seconds(30));
  const std::string key = options.pool.prefix + "key";

  // The key exists before anyone watches, so blocking watchers start from a 200.
  Ack ack;
  double put_ms = 0;
  Result<std::uint64_t> first = Write(writer, reader, key, 0, &ack, &put_ms);
  if (!first.ok()) {
    std::fprintf(stderr, "coord_bench fanout: first write: %s\n", first.status().message().c_str());
    return 1;
  }

  WatcherPool pool(options.pool);
  AddWatchers(options, pool);
  const Clock::time_point connecting = Clock::now();
  pool.Start();
  const bool connected = pool.WaitForIndex(
      *first, connecting + std::chrono::milliseconds(options.connect_timeout_ms));
  std::vector<WatcherState> watchers = pool.Snapshot();
  const auto failed = std::count_if(watchers.begin(), watchers.end(),
                                    [](const WatcherState& w) { return w.failed; });
  std::fprintf(stderr, "fanout: %zu watchers, %zd failed, %s after %.1f s\n", watchers.size(),
               failed, connected ? "all connected" : "NOT all connected",
               MillisecondsBetween(connecting, Clock::now()) / 1000);
  ReportFailures(watchers);
  if (!connected || failed == static_cast<long>(watchers.size())) return 1;

  std::vector<Round> rounds;
  for (int r = 1; r <= options.rounds; ++r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(options.interval_ms));
    Result<std::uint64_t> index = Write(writer, reader, key, r, &ack, &put_ms);
    if (!index.ok()) {
      std::fprintf(stderr, "fanout: round %d: %s\n", r, index.status().message().c_str());
      return 1;
    }
    const bool all = pool.WaitForIndex(
        *index, ack.read_at + std::chrono::milliseconds(options.round_timeout_ms));
    Round round = Measure(pool.Snapshot(), *index, ack);
    round.put_ms = put_ms;
    round.sent_to_last_ms += put_ms;
    if (!all) std::fprintf(stderr, "fanout: round %d: not every watcher saw index %llu\n", r,
                           static_cast<unsigned long long>(*index));
    rounds.push_back(std::move(round));
  }
  watchers = pool.Snapshot();
  pool.Stop();
  Report(options, rounds, watchers);
  ReportFailures(watchers);
  return 0;
}

}  // namespace roster::bench
