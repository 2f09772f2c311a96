// coord_bench lock-handoff: how long a lock stays free between one holder's release and
// the next holder's acquire, with contenders that wait as Consul's api.Lock does.
//
// Each contender has its own session and HTTP connection (to the leader, or spread over
// the servers) and its own thread; there are only a handful, so blocking calls are fine.
// A contender loops as api.Lock's Lock() does: read the key (a blocking query on its
// last index); while a session holds it, block again; when it is free, PUT ?acquire;
// if that fails, read again. Unlike a client that locks again at once, a holder that
// has released steps back while the key still shows its own release (the value it
// wrote), so a hand-off goes from one contender to another, not back to itself.
//
// Hand-off latency = the next holder's acquire acknowledged - the previous holder's
// release acknowledged, both read on this process's steady clock right after the reply.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/coord_modes.h"
#include "client/http_client.h"

namespace roster::bench {
namespace {

// api.Lock's LockFlagValue: the flags a Consul lock key carries.
constexpr char kLockFlagValue[] = "3304740253564472344";
// A blocking read's ?wait: a parked read comes back this often even if nothing changes,
// which bounds how long stopping takes.
constexpr char kBlockingWait[] = "5s";
// Contenders give up after this many failed calls (a sick cluster, not a measurement).
constexpr int kErrorsMax = 20;

struct LockOptions {
  std::vector<Server> servers;
  std::size_t leader = 0;
  int contenders = 2;
  int handoffs = 1000;
  int warmup = 10;  // hand-offs measured but left out of the figures
  int hold_ms = 0;
  bool spread = true;
  bool trace = false;  // every call of every contender to stderr
  std::string key = "coord-bench/lock";
  Clock::time_point started = Clock::now();
};

// What the contenders record, shared under one mutex.
class Ledger {
 public:
  explicit Ledger(int acquisitions_max) : acquisitions_max_(acquisitions_max) {}

  // A contender's acquire was acknowledged at `at`; returns the acquisition's number
  // (1, 2, ...). Stops the run after acquisitions_max.
  int Acquired(int contender, Clock::time_point at) {
    std::lock_guard<std::mutex> lock(mutex_);
    acquisitions_.push_back({contender, at, std::nullopt});
    if (static_cast<int>(acquisitions_.size()) >= acquisitions_max_) stop_ = true;
    return static_cast<int>(acquisitions_.size());
  }
  void Released(int acquisition, Clock::time_point at) {
    std::lock_guard<std::mutex> lock(mutex_);
    acquisitions_.at(static_cast<std::size_t>(acquisition - 1)).released_at = at;
  }
  void LostRace() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++lost_races_;
  }
  int lost_races() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lost_races_;
  }
  // Whether the last acquisition has been released (or there is none).
  bool last_released() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return acquisitions_.empty() || acquisitions_.back().released_at.has_value();
  }
  void Error(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (errors_++ == 0) first_error_ = what;
    if (errors_ >= kErrorsMax) stop_ = true;
  }
  bool stopped() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stop_;
  }
  void Stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }

  struct Acquisition {
    int contender = 0;
    Clock::time_point acquired_at;
    std::optional<Clock::time_point> released_at;
  };
  std::vector<Acquisition> acquisitions() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return acquisitions_;
  }
  int errors() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_;
  }
  std::string first_error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return first_error_;
  }

 private:
  const int acquisitions_max_;
  mutable std::mutex mutex_;
  std::vector<Acquisition> acquisitions_;
  int errors_ = 0;
  int lost_races_ = 0;  // acquires refused because another contender got there first
  std::string first_error_;
  bool stop_ = false;
};

// The key as a blocking read sees it.
struct KeyState {
  std::uint64_t index = 0;
  bool held = false;
  std::string value_base64;  // what the last acquire or release wrote (its contender's name)
};

std::string Base64(const std::string& text) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : text) {
    bits = bits << 8 | c;
    count += 8;
    while (count >= 6) out.push_back(kAlphabet[(bits >> (count -= 6)) & 63]);
  }
  if (count > 0) out.push_back(kAlphabet[(bits << (6 - count)) & 63]);
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

class Contender {
 public:
  Contender(int number, const Server& server, Ledger& ledger, const LockOptions& options)
      : number_(number),
        server_(server),
        ledger_(ledger),
        options_(options),
        http_(server.address(), std::chrono::seconds(30)) {}

  Status CreateSession() {
    const std::string body = R"({"Name":"coord-bench contender )" + std::to_string(number_) +
                             R"(","Behavior":"release"})";
    Result<client::Response> reply = http_.Put("/v1/session/create", body);
    if (!reply.ok()) return reply.status();
    const nlohmann::json json = nlohmann::json::parse(reply->body, nullptr, false);
    if (reply->status != 200 || !json.is_object() || !json.contains("ID")) {
      return Unavailable("session create on " + server_.address() + ": HTTP " +
                         std::to_string(reply->status) + " " + reply->body);
    }
    session_ = json["ID"].get<std::string>();
    return Status::Ok();
  }

  void DestroySession() {
    if (!session_.empty()) (void)http_.Put("/v1/session/destroy/" + session_, "");
  }

  void Abort() { http_.Abort(); }

  void Run() {
    std::uint64_t wait_index = 0;  // 0: read at once; else block until past it
    while (!ledger_.stopped()) {
      std::optional<KeyState> key = Read(wait_index);
      if (!key.has_value()) continue;
      wait_index = key->index;
      if (key->held) continue;  // block until the holder lets go
      // Just released, and nobody has taken the lock since: wait for someone who has
      // not just had it. (Two contenders that both released must not both wait.)
      if (stepping_back_ && key->value_base64 == Base64(Name())) continue;
      stepping_back_ = false;
      std::optional<bool> acquired = Put("acquire");
      if (!acquired.has_value()) continue;
      if (!*acquired) {
        // Lost the race to another contender: read at once to see who holds it. (No
        // session here is ever invalidated, so lock-delay, after which api.Lock waits
        // 5 s, never applies.)
        ledger_.LostRace();
        wait_index = 0;
        continue;
      }
      const int acquisition = ledger_.Acquired(number_, Clock::now());
      if (options_.hold_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(options_.hold_ms));
      }
      if (Put("release") == std::optional<bool>(true)) {
        ledger_.Released(acquisition, Clock::now());
      } else if (!ledger_.stopped()) {
        ledger_.Error("contender " + std::to_string(number_) + ": release failed");
      }
      stepping_back_ = true;
      wait_index = 0;
    }
  }

 private:
  std::optional<KeyState> Read(std::uint64_t wait_index) {
    std::string path = "/v1/kv/" + options_.key;
    if (wait_index > 0) path += "?index=" + std::to_string(wait_index) + "&wait=" + kBlockingWait;
    Result<client::Response> reply = http_.Get(path);
    if (!reply.ok() || (reply->status != 200 && reply->status != 404)) {
      if (!ledger_.stopped()) ledger_.Error(Describe("read", reply));
      return std::nullopt;
    }
    KeyState state;
    state.index = reply->index;
    if (reply->status == 200) {
      const nlohmann::json entries = nlohmann::json::parse(reply->body, nullptr, false);
      if (entries.is_array() && !entries.empty() && entries[0].is_object()) {
        state.held = !entries[0].value("Session", "").empty();
        if (entries[0].contains("Value") && entries[0]["Value"].is_string()) {
          state.value_base64 = entries[0]["Value"].get<std::string>();
        }
      }
    }
    Trace("read index=" + std::to_string(wait_index) + " -> " + std::to_string(state.index) +
          (state.held ? " held" : " free"));
    return state;
  }

  // PUT ?acquire= or ?release=: the server's true/false, or nullopt after an error.
  std::optional<bool> Put(const std::string& verb) {
    Result<client::Response> reply =
        http_.Put("/v1/kv/" + options_.key + "?" + verb + "=" + session_ + "&flags=" + kLockFlagValue,
                  Name());
    if (!reply.ok() || reply->status != 200) {
      if (!ledger_.stopped()) ledger_.Error(Describe(verb, reply));
      return std::nullopt;
    }
    const bool done = reply->body.starts_with("true");
    Trace(verb + " -> " + (done ? "true" : "false"));
    return done;
  }

  // The value this contender's acquires and releases write.
  std::string Name() const { return "contender " + std::to_string(number_); }

  void Trace(const std::string& what) const {
    if (!options_.trace) return;
    std::fprintf(stderr, "%10.3f ms contender %d: %s\n",
                 MillisecondsBetween(options_.started, Clock::now()), number_, what.c_str());
  }

  std::string Describe(const std::string& what, const Result<client::Response>& reply) const {
    const std::string outcome = reply.ok() ? "HTTP " + std::to_string(reply->status) + " " + reply->body
                                           : reply.status().message();
    return "contender " + std::to_string(number_) + " " + what + " on " + server_.address() + ": " +
           outcome;
  }

  const int number_;
  const Server server_;
  Ledger& ledger_;
  const LockOptions& options_;
  client::HttpClient http_;
  std::string session_;
  bool stepping_back_ = false;  // released; not contending until another acquires
};

Result<LockOptions> ParseLockOptions(const Args& args) {
  LockOptions options;
  Result<std::vector<Server>> servers = ParseServers(args.Get("servers", "127.0.0.1:8500"));
  if (!servers.ok()) return servers.status();
  options.servers = *servers;
  Result<long long> contenders = args.GetInt("contenders", 2);
  Result<long long> handoffs = args.GetInt("handoffs", 1000);
  Result<long long> warmup = args.GetInt("warmup", 10);
  Result<long long> hold_ms = args.GetInt("hold-ms", 0);
  for (const auto* value : {&contenders, &handoffs, &warmup, &hold_ms}) {
    if (!value->ok()) return value->status();
  }
  if (*contenders < 2 || *contenders > 64) return InvalidArgument("--contenders must be 2..64");
  if (*handoffs < 1 || *warmup < 0 || *hold_ms < 0) {
    return InvalidArgument("--handoffs must be positive, --warmup and --hold-ms not negative");
  }
  options.contenders = static_cast<int>(*contenders);
  options.handoffs = static_cast<int>(*handoffs);
  options.warmup = static_cast<int>(*warmup);
  options.hold_ms = static_cast<int>(*hold_ms);
  options.spread = !args.Has("leader-only");
  options.trace = args.Has("trace");
  // A key of its own per run, so no earlier run's lock-delay or holder is in the way.
  options.key = args.Get("key", options.key + "/" + std::to_string(getpid()) + "-" +
                                    std::to_string(options.contenders));
  return options;
}

// Hand-off g (g >= 2) = acquire of g - release of g-1, past the warm-up.
void Report(const LockOptions& options, const Ledger& ledger, double seconds) {
  const std::vector<Ledger::Acquisition> acquisitions = ledger.acquisitions();
  std::vector<double> samples;
  int same_holder = 0, unreleased = 0, negative = 0;
  for (std::size_t g = 1; g < acquisitions.size(); ++g) {
    const Ledger::Acquisition& previous = acquisitions[g - 1];
    if (!previous.released_at.has_value()) {
      ++unreleased;
      continue;
    }
    if (acquisitions[g].contender == previous.contender) ++same_holder;
    if (static_cast<int>(g) <= options.warmup) continue;
    samples.push_back(MillisecondsBetween(*previous.released_at, acquisitions[g].acquired_at));
    if (samples.back() < 0) ++negative;
  }
  const Summary summary = Summarize(samples);
  std::printf("lock-handoff: %d contenders (%s), hold %d ms, %zu acquisitions in %.1f s, "
              "%d warm-up hand-offs left out\n",
              options.contenders, options.spread ? "spread over the servers" : "all on the leader",
              options.hold_ms, acquisitions.size(), seconds, options.warmup);
  std::printf("  hand-off (release ack -> next acquire ack): %s\n", FormatSummary(summary).c_str());
  std::printf("  hand-offs to the same contender: %d; without a recorded release: %d; "
              "negative (the release's reply read after the next acquire's): %d; "
              "acquires lost to another contender: %d; errors: %d%s%s\n",
              same_holder, unreleased, negative,
              ledger.lost_races(), ledger.errors(), ledger.errors() ? " (first: " : "",
              ledger.errors() ? (ledger.first_error() + ")").c_str() : "");
  std::printf("LOCK contenders=%d hold_ms=%d spread=%d count=%zu p50_ms=%.2f p90_ms=%.2f "
              "p99_ms=%.2f max_ms=%.2f errors=%d load=\"%s\"\n",
              options.contenders, options.hold_ms, options.spread ? 1 : 0, summary.count,
              summary.p50_ms, summary.p90_ms, summary.p99_ms, summary.max_ms, ledger.errors(),
              LoadAverage().c_str());
}

}  // namespace

int RunLockHandoff(const Args& args) {
  Result<LockOptions> parsed = ParseLockOptions(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "coord_bench lock-handoff: %s\n", parsed.status().message().c_str());
    return 2;
  }
  LockOptions options = *parsed;
  Result<std::size_t> leader = FindLeader(options.servers, std::chrono::seconds(30));
  if (!leader.ok()) {
    std::fprintf(stderr, "coord_bench lock-handoff: %s\n", leader.status().message().c_str());
    return 1;
  }
  options.leader = *leader;

  Ledger ledger(options.handoffs + options.warmup + 1);
  std::vector<std::unique_ptr<Contender>> contenders;
  for (int i = 0; i < options.contenders; ++i) {
    const std::size_t server =
        options.spread ? (options.leader + static_cast<std::size_t>(i)) % options.servers.size()
                       : options.leader;
    contenders.push_back(std::make_unique<Contender>(i, options.servers[server], ledger, options));
    if (Status created = contenders.back()->CreateSession(); !created.ok()) {
      std::fprintf(stderr, "coord_bench lock-handoff: %s\n", created.message().c_str());
      return 1;
    }
  }

  const Clock::time_point started = Clock::now();
  std::atomic<int> running{options.contenders};
  std::vector<std::thread> threads;
  for (auto& contender : contenders) {
    threads.emplace_back([&running, raw = contender.get()] {
      raw->Run();
      --running;
    });
  }
  while (!ledger.stopped()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double seconds = MillisecondsBetween(started, Clock::now()) / 1000;
  // Let the last holder release: a session destroyed while holding would leave the key
  // under lock-delay for the next run.
  const Clock::time_point release_deadline = Clock::now() + std::chrono::seconds(5);
  while (!ledger.last_released() && Clock::now() < release_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Contenders parked in a blocking read: abort until every thread has seen the stop.
  while (running > 0) {
    for (auto& contender : contenders) contender->Abort();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (std::thread& thread : threads) thread.join();
  for (auto& contender : contenders) contender->DestroySession();

  Report(options, ledger, seconds);
  const bool complete = static_cast<int>(ledger.acquisitions().size()) > options.handoffs;
  return complete && ledger.errors() < kErrorsMax ? 0 : 1;
}

}  // namespace roster::bench
