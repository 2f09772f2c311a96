// What the two modes of coord_bench share (bench/coord_bench.cc): the command line,
// the cluster's addresses and leader, and latency summaries.
//
// Used from the bench's main thread only, except Summary, which is a plain value.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace roster::bench {

using Clock = std::chrono::steady_clock;

// "--name value" pairs and bare "--name" switches, in any order.
class Args {
 public:
  static Result<Args> Parse(int argc, char** argv, int first);

  std::string Get(const std::string& name, const std::string& fallback) const;
  Result<long long> GetInt(const std::string& name, long long fallback) const;
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  // Names given but never asked for: typos the caller reports.
  std::vector<std::string> Unused() const;

 private:
  std::map<std::string, std::string> values_;
  mutable std::map<std::string, bool> used_;
};

// One server of the cluster under test, by its HTTP API address.
struct Server {
  std::string host;
  int port = 0;
  std::string address() const { return host + ":" + std::to_string(port); }
};

// "127.0.0.1:27001,127.0.0.1:27002" -> servers; InvalidArgument on a malformed list.
Result<std::vector<Server>> ParseServers(const std::string& list);

// The server whose /v1/agent/self says RaftState "Leader"; polls for up to `timeout`.
Result<std::size_t> FindLeader(const std::vector<Server>& servers, std::chrono::milliseconds timeout);

// Latency figures of one series, in milliseconds (negative values are kept: a watcher
// on the leader may hear of a write before the writer's acknowledgement arrives).
struct Summary {
  std::size_t count = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  double min_ms = 0;
};
// Nearest-rank percentiles; an empty series gives count 0 and zeros.
Summary Summarize(std::vector<double> samples_ms);

double MillisecondsBetween(Clock::time_point from, Clock::time_point to);

// "count=N p50=.. p90=.. p99=.. max=.." with two decimals, for the report lines.
std::string FormatSummary(const Summary& summary);

// The load average line of /proc/loadavg (first three fields), or "n/a".
std::string LoadAverage();

// Arrival times: when the kernel queued received bytes on a socket, as opposed to when
// the bench's thread got round to reading them. With thousands of watchers in one
// process on the same cores as the servers, the two differ by the bench's own backlog.
//
// Asks the kernel to timestamp what `fd` receives (SO_TIMESTAMPNS). False if it refuses.
bool EnableArrivalTimes(int fd);
// read() that also says when the bytes arrived: the kernel's timestamp of the last
// segment read, moved onto Clock (what Clock::now() would have read then), or
// Clock::now() when the socket has no timestamp.
ssize_t ReadWithArrival(int fd, char* buffer, std::size_t size, Clock::time_point* arrived);
// How many reads by ReadWithArrival found no kernel timestamp (and used Clock::now()).
std::uint64_t ReadsWithoutArrivalTime();

}  // namespace roster::bench
