// dns_load: a fixed-rate UDP DNS load generator that measures latency at an offered load
// (bench/dns-vs-peers.sh, bench/README.md "dns-vs-peers", issue 6).
//
//   dns_load --server 127.0.0.1:PORT --queries FILE --qps 50000 --duration 10
//            [--timeout-ms 1000] [--sockets 2] [--tick-us 250] [--no-realtime]
//
// FILE is dnsperf's input: one "name TYPE" a line ("svc12.service.roster SRV"); empty
// lines and lines starting with '#' are skipped. Each query is encoded once up front as
// `dnsperf -e` sends it: RD set, QDCOUNT 1, and an EDNS0 OPT record advertising 4096
// bytes. Queries are sent in file order, cycling, spread round-robin over the sockets.
//
// Why not `dnsperf -Q -v`: it prints a line per answer and used 1.5 cores at 50k qps on
// the 2-core bench machine, so its own scheduling was the tail it measured. Here a query
// costs a copy of ~50 bytes, an ID patch and a share of one sendmmsg and one recvmmsg:
// about 0.4 cores at 50k, 90 % of it in the kernel, where each loopback send also runs
// the server socket's receive path (bench/README.md). It prints its own CPU use.
//
// Threads: the main thread paces the sends: every tick (250 µs by default, 12-13 queries
// at 50k) it sends the queries due by then, computed from the elapsed time, so a late
// tick catches up instead of lowering the offered rate. It runs SCHED_FIFO when allowed,
// so it is not queued behind the server's threads. One ordinary receiver thread drains
// all sockets with recvmmsg every millisecond and sleeps in between: a timer wake-up
// costs tens of microseconds of CPU on this VM, too much to take one per reply. The two
// threads meet only in a per-socket table of 65,536 slots indexed by DNS ID, holding the
// send time of the outstanding query with that ID.
//
// Latency runs from just before the sendmmsg that carried the query to the kernel's
// receive timestamp of the reply (SO_TIMESTAMPNS, CLOCK_REALTIME; on loopback it is
// taken as the server's reply enters the loopback device), so when the receiver wakes
// does not change the figure. A reply is matched by its ID and must repeat the question
// sent with that ID. A query not answered within --timeout-ms counts as lost (a reply
// later than that counts as `late`, and the query as lost). A socket reuses an ID after
// 65,536 sends, which at the given rate must take at least twice the timeout: --sockets
// is raised to ensure that.
//
// Output: one line for a person and one machine line starting with "DNSLOAD ".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/check.h"

namespace {

constexpr char kUsage[] =
    "usage: dns_load --server HOST:PORT --queries FILE --qps N --duration SECONDS\n"
    "                [--timeout-ms 1000] [--sockets 2] [--tick-us 250]\n"
    "                [--no-realtime]\n";

constexpr std::size_t kIdCount = 65536;
constexpr std::size_t kQueryBytesMax = 512;
constexpr std::size_t kReplyBytesMax = 4096;  // what the OPT record advertises
constexpr std::size_t kSendBatchMax = 256;
constexpr std::size_t kReceiveBatchMax = 64;
constexpr int kSocketBufferBytes = 4 << 20;
// How often the receivers drain their sockets. Reply times come from the kernel, so this
// only bounds how much waits in a socket buffer (~25 replies a socket at 50k qps).
constexpr std::int64_t kReceivePollNs = 1'000'000;

struct Options {
  sockaddr_in server{};
  std::string server_text;
  std::string queries_path;
  std::int64_t qps = 0;
  std::int64_t duration_s = 0;
  std::int64_t timeout_ms = 1000;
  std::int64_t sockets = 2;
  std::int64_t tick_us = 250;
  bool realtime = true;
};

// One query, encoded whole with ID 0; `question_bytes` is the length of its question
// section (name, type, class), which a reply must repeat from offset 12.
struct EncodedQuery {
  std::string bytes;
  std::size_t question_bytes = 0;
};

// The outstanding query with one DNS ID on one socket. send_ns 0 means none.
struct Slot {
  std::atomic<std::int64_t> send_ns{0};
  std::atomic<std::uint32_t> query_index{0};
};

// What the receiver thread saw on one socket; read by the main thread after joining it.
struct ReceiverTally {
  std::vector<std::uint32_t> latency_ns;  // kernel receive timestamp - send
  std::int64_t no_timestamp = 0;          // replies timed at recvmmsg's return instead
  std::int64_t late = 0;                  // answered after the timeout
  std::int64_t stray = 0;                 // no query outstanding with that ID
  std::int64_t mismatched = 0;            // outstanding ID, other question
  std::int64_t rcode_errors = 0;          // answered, with an RCODE other than 0
  std::int64_t truncated = 0;             // answered, with TC set
  std::int64_t receive_errors = 0;
};

struct Socket {
  int fd = -1;
  std::unique_ptr<Slot[]> slots = std::make_unique<Slot[]>(kIdCount);
  std::uint16_t next_id = 0;
  ReceiverTally tally;
};

std::int64_t NowRealtimeNs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

std::int64_t NowMonotonicNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

void SleepUntilMonotonicNs(std::int64_t deadline_ns) {
  timespec deadline{};
  deadline.tv_sec = deadline_ns / 1'000'000'000;
  deadline.tv_nsec = deadline_ns % 1'000'000'000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
}

std::optional<std::uint16_t> RecordTypeFromName(const std::string& name) {
  static const std::pair<const char*, std::uint16_t> kTypes[] = {
      {"A", 1},   {"NS", 2},   {"CNAME", 5}, {"SOA", 6},  {"PTR", 12},
      {"MX", 15}, {"TXT", 16}, {"AAAA", 28}, {"SRV", 33}, {"ANY", 255},
  };
  for (const auto& [text, type] : kTypes) {
    if (strcasecmp(text, name.c_str()) == 0) return type;
  }
  return std::nullopt;
}

void AppendUint16(std::string& out, std::uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

// RFC 1035 §4.1: header (ID 0, RD, QDCOUNT 1, ARCOUNT 1), question, then the RFC 6891
// OPT record (root owner, type 41, CLASS = UDP payload size 4096, TTL 0, no options).
std::optional<EncodedQuery> EncodeQuery(const std::string& name, std::uint16_t type,
                                        std::string& error) {
  EncodedQuery query;
  std::string& out = query.bytes;
  out.assign("\0\0\x01\0\0\x01\0\0\0\0\0\x01", 12);
  std::size_t start = 0;
  const std::string trimmed = name.ends_with('.') ? name.substr(0, name.size() - 1) : name;
  while (!trimmed.empty() && start <= trimmed.size()) {
    std::size_t dot = trimmed.find('.', start);
    if (dot == std::string::npos) dot = trimmed.size();
    const std::size_t label_bytes = dot - start;
    if (label_bytes == 0 || label_bytes > 63) {
      error = "bad label in \"" + name + "\"";
      return std::nullopt;
    }
    out.push_back(static_cast<char>(label_bytes));
    out.append(trimmed, start, label_bytes);
    start = dot + 1;
  }
  out.push_back('\0');
  if (out.size() - 12 > 255) {
    error = "name over 255 octets: \"" + name + "\"";
    return std::nullopt;
  }
  AppendUint16(out, type);
  AppendUint16(out, 1);  // IN
  query.question_bytes = out.size() - 12;
  out.push_back('\0');        // OPT owner: the root
  AppendUint16(out, 41);      // OPT
  AppendUint16(out, 4096);    // the requester's UDP payload size
  out.append("\0\0\0\0", 4);  // extended RCODE, version 0, flags 0
  AppendUint16(out, 0);       // RDLENGTH
  CHECK_LE(out.size(), kQueryBytesMax);
  return query;
}

bool ReadQueries(const std::string& path, std::vector<EncodedQuery>& queries) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "dns_load: cannot read %s\n", path.c_str());
    return false;
  }
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    std::istringstream fields(line);
    std::string name, type_name;
    if (!(fields >> name) || name.starts_with('#')) continue;
    if (!(fields >> type_name)) type_name = "A";  // dnsperf's default
    std::optional<std::uint16_t> type = RecordTypeFromName(type_name);
    std::string error = "unknown type " + type_name;
    std::optional<EncodedQuery> query;
    if (type) query = EncodeQuery(name, *type, error);
    if (!query) {
      std::fprintf(stderr, "dns_load: %s:%d: %s\n", path.c_str(), line_number, error.c_str());
      return false;
    }
    queries.push_back(std::move(*query));
  }
  if (queries.empty()) std::fprintf(stderr, "dns_load: %s holds no query\n", path.c_str());
  return !queries.empty();
}

bool ParseServer(const std::string& text, sockaddr_in& address) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  address.sin_family = AF_INET;
  const long port = std::strtol(text.c_str() + colon + 1, nullptr, 10);
  if (port <= 0 || port > 65535) return false;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  return inet_pton(AF_INET, text.substr(0, colon).c_str(), &address.sin_addr) == 1;
}

std::optional<Options> ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--no-realtime") {
      options.realtime = false;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "dns_load: %s needs a value\n", flag.c_str());
      return std::nullopt;
    }
    const std::string value = argv[i + 1];
    char* end = nullptr;
    const long long number = std::strtoll(value.c_str(), &end, 10);
    const bool numeric = end != value.c_str() && *end == '\0' && number > 0;
    std::int64_t* target = flag == "--qps"          ? &options.qps
                           : flag == "--duration"   ? &options.duration_s
                           : flag == "--timeout-ms" ? &options.timeout_ms
                           : flag == "--sockets"    ? &options.sockets
                           : flag == "--tick-us"    ? &options.tick_us
                                                    : nullptr;
    if (target != nullptr) {
      if (!numeric) {
        std::fprintf(stderr, "dns_load: %s wants a positive integer, not \"%s\"\n", flag.c_str(),
                     value.c_str());
        return std::nullopt;
      }
      *target = number;
    } else if (flag == "--server") {
      options.server_text = value;
      if (!ParseServer(value, options.server)) {
        std::fprintf(stderr, "dns_load: --server wants IPv4:PORT, not \"%s\"\n", value.c_str());
        return std::nullopt;
      }
    } else if (flag == "--queries") {
      options.queries_path = value;
    } else {
      std::fprintf(stderr, "dns_load: unknown flag %s\n", flag.c_str());
      return std::nullopt;
    }
  }
  if (options.server_text.empty() || options.queries_path.empty() || options.qps == 0 ||
      options.duration_s == 0) {
    return std::nullopt;
  }
  // An ID comes back round after kIdCount sends on its socket; make that take at least
  // twice the timeout, so a reply that is not lost still finds its own query.
  const double id_cycle_s_min = 2.0 * static_cast<double>(options.timeout_ms) / 1000.0;
  const auto sockets_min = static_cast<std::int64_t>(
      std::ceil(id_cycle_s_min * static_cast<double>(options.qps) / kIdCount));
  options.sockets = std::max(options.sockets, sockets_min);
  return options;
}

int OpenSocket(const sockaddr_in& server) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBufferBytes, sizeof kSocketBufferBytes);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof kSocketBufferBytes);
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  // Connected: sendmmsg needs no address, and only the server's replies are received.
  if (connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `count` queries starting at query number `first` (cycling through `queries`),
// spread round-robin over the sockets. Returns how many the kernel took.
std::int64_t SendBatch(std::vector<Socket>& sockets, const std::vector<EncodedQuery>& queries,
                       std::int64_t first, std::int64_t count) {
  static thread_local std::vector<std::array<char, kQueryBytesMax>> buffers(kSendBatchMax);
  static thread_local std::vector<mmsghdr> messages(kSendBatchMax);
  static thread_local std::vector<iovec> iovecs(kSendBatchMax);
  static thread_local std::vector<std::uint16_t> ids(kSendBatchMax);
  std::int64_t sent = 0;
  const auto socket_count = static_cast<std::int64_t>(sockets.size());
  for (std::int64_t s = 0; s < socket_count; ++s) {
    Socket& socket = sockets[static_cast<std::size_t>(s)];
    // Query numbers first + k with (first + k) % socket_count == s go to this socket.
    std::int64_t number = first + ((s - first % socket_count) + socket_count) % socket_count;
    while (number < first + count) {
      std::size_t batch = 0;
      for (; batch < kSendBatchMax && number < first + count; ++batch, number += socket_count) {
        const auto query_index = static_cast<std::uint32_t>(number % std::ssize(queries));
        const EncodedQuery& query = queries[query_index];
        const std::uint16_t id = socket.next_id++;
        std::memcpy(buffers[batch].data(), query.bytes.data(), query.bytes.size());
        buffers[batch][0] = static_cast<char>(id >> 8);
        buffers[batch][1] = static_cast<char>(id & 0xff);
        iovecs[batch] = {buffers[batch].data(), query.bytes.size()};
        messages[batch] = {};
        messages[batch].msg_hdr.msg_iov = &iovecs[batch];
        messages[batch].msg_hdr.msg_iovlen = 1;
        ids[batch] = id;
        socket.slots[id].query_index.store(query_index, std::memory_order_relaxed);
      }
      // Stamped once per sendmmsg: at most a tick's share of queries for one socket.
      const std::int64_t send_ns = NowRealtimeNs();
      for (std::size_t i = 0; i < batch; ++i) {
        socket.slots[ids[i]].send_ns.store(send_ns, std::memory_order_release);
      }
      std::size_t done = 0;
      while (done < batch) {
        const int n = sendmmsg(socket.fd, &messages[done], static_cast<unsigned>(batch - done), 0);
        if (n <= 0) {
          // Not sent (ECONNREFUSED from an earlier ICMP, ENOBUFS): the query is lost.
          socket.slots[ids[done]].send_ns.store(0, std::memory_order_relaxed);
          ++done;
          continue;
        }
        done += static_cast<std::size_t>(n);
        sent += n;
      }
    }
  }
  return sent;
}

// Reads one reply: finds its query by ID, checks it repeats the question, and tallies.
void OnReply(Socket& socket, const std::vector<EncodedQuery>& queries, const char* bytes,
             std::size_t size, std::int64_t receive_ns, std::int64_t timeout_ns) {
  ReceiverTally& tally = socket.tally;
  if (size < 12 || (static_cast<std::uint8_t>(bytes[2]) & 0x80) == 0) {
    ++tally.stray;  // not a response
    return;
  }
  const std::uint16_t id = static_cast<std::uint16_t>(static_cast<std::uint8_t>(bytes[0]) << 8 |
                                                      static_cast<std::uint8_t>(bytes[1]));
  Slot& slot = socket.slots[id];
  const std::int64_t send_ns = slot.send_ns.exchange(0, std::memory_order_acq_rel);
  if (send_ns == 0) {
    ++tally.stray;
    return;
  }
  const EncodedQuery& query = queries[slot.query_index.load(std::memory_order_relaxed)];
  if (size < 12 + query.question_bytes ||
      std::memcmp(bytes + 12, query.bytes.data() + 12, query.question_bytes) != 0) {
    ++tally.mismatched;
    return;
  }
  const std::int64_t latency_ns = receive_ns - send_ns;
  if (latency_ns > timeout_ns) {
    ++tally.late;
    return;
  }
  tally.latency_ns.push_back(static_cast<std::uint32_t>(std::max<std::int64_t>(latency_ns, 0)));
  if ((static_cast<std::uint8_t>(bytes[3]) & 0x0f) != 0) ++tally.rcode_errors;
  if ((static_cast<std::uint8_t>(bytes[2]) & 0x02) != 0) ++tally.truncated;
}

// The kernel's receive time of a datagram (SO_TIMESTAMPNS); nullopt without one.
std::optional<std::int64_t> ReceiveTimestampNs(msghdr& header) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec stamp{};
      std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
      return std::int64_t{stamp.tv_sec} * 1'000'000'000 + stamp.tv_nsec;
    }
  }
  return std::nullopt;
}

// Buffers for one recvmmsg of up to kReceiveBatchMax replies with their timestamps.
struct ReceiveBuffers {
  std::vector<std::array<char, kReplyBytesMax>> payloads{kReceiveBatchMax};
  std::vector<std::array<char, CMSG_SPACE(sizeof(timespec)) + 64>> controls{kReceiveBatchMax};
  std::vector<iovec> iovecs{kReceiveBatchMax};
  std::vector<mmsghdr> messages{kReceiveBatchMax};

  void Reset() {
    for (std::size_t i = 0; i < kReceiveBatchMax; ++i) {
      iovecs[i] = {payloads[i].data(), payloads[i].size()};
      messages[i] = {};
      messages[i].msg_hdr.msg_iov = &iovecs[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_control = controls[i].data();
      messages[i].msg_hdr.msg_controllen = controls[i].size();
    }
  }
};

// Reads every reply queued on the socket, without blocking.
void DrainSocket(Socket& socket, const std::vector<EncodedQuery>& queries, std::int64_t timeout_ns,
                 ReceiveBuffers& buffers) {
  for (;;) {
    buffers.Reset();
    const int n =
        recvmmsg(socket.fd, buffers.messages.data(), kReceiveBatchMax, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      // ECONNREFUSED: an ICMP port unreachable for an earlier query (no server there).
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        ++socket.tally.receive_errors;
        continue;
      }
      return;
    }
    const std::int64_t now_ns = NowRealtimeNs();
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      std::optional<std::int64_t> receive_ns = ReceiveTimestampNs(buffers.messages[i].msg_hdr);
      if (!receive_ns) ++socket.tally.no_timestamp;
      OnReply(socket, queries, buffers.payloads[i].data(), buffers.messages[i].msg_len,
              receive_ns.value_or(now_ns), timeout_ns);
    }
  }
}

// Drains every socket every `poll_ns` until `stop`. The reply times come from the
// kernel, so sleeping between drains costs no accuracy and saves a wake-up per reply.
void ReceiveLoop(std::vector<Socket>& sockets, const std::vector<EncodedQuery>& queries,
                 std::int64_t timeout_ns, std::int64_t poll_ns, const std::atomic<bool>& stop) {
  ReceiveBuffers buffers;
  while (!stop.load(std::memory_order_relaxed)) {
    SleepUntilMonotonicNs(NowMonotonicNs() + poll_ns);
    for (Socket& socket : sockets) DrainSocket(socket, queries, timeout_ns, buffers);
  }
}

// Sends `qps` a second for `duration_s`, each tick the queries due by then.
// Returns the number sent and the largest number sent in one tick.
std::pair<std::int64_t, std::int64_t> Pace(const Options& options, std::vector<Socket>& sockets,
                                           const std::vector<EncodedQuery>& queries) {
  const std::int64_t total = options.qps * options.duration_s;
  const std::int64_t tick_ns = options.tick_us * 1000;
  const std::int64_t start_ns = NowMonotonicNs();
  std::int64_t due_sent = 0, sent = 0, burst_max = 0;
  for (std::int64_t tick = 1; due_sent < total; ++tick) {
    const std::int64_t elapsed_ns = NowMonotonicNs() - start_ns;
    const auto due = std::min<std::int64_t>(
        total,
        static_cast<std::int64_t>(static_cast<__int128>(elapsed_ns) * options.qps / 1'000'000'000));
    if (due > due_sent) {
      burst_max = std::max(burst_max, due - due_sent);
      sent += SendBatch(sockets, queries, due_sent, due - due_sent);
      due_sent = due;
    }
    SleepUntilMonotonicNs(std::max(start_ns + tick * tick_ns, NowMonotonicNs()));
  }
  return {sent, burst_max};
}

// The sender runs SCHED_FIFO when allowed (root), so a tick is not held up for
// milliseconds behind the server's threads on a 2-core machine: real clients do not wait
// for the server's CPU. It sleeps between ticks, so it cannot starve the server.
bool MakeThisThreadRealtime() {
  sched_param param{};
  param.sched_priority = 10;
  if (sched_setscheduler(0, SCHED_FIFO, &param) == 0) return true;
  std::fprintf(stderr, "dns_load: sender not real-time (%s); ticks may be late under load\n",
               std::strerror(errno));
  return false;
}

double PercentileMs(const std::vector<std::uint32_t>& sorted, double fraction) {
  if (sorted.empty()) return std::nan("");
  const auto rank =
      static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1] / 1e6;
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

void Report(const Options& options, std::vector<Socket>& sockets, std::int64_t sent,
            std::int64_t burst_max, bool sender_realtime, double wall_s, double cpu_s) {
  ReceiverTally all;
  for (Socket& socket : sockets) {
    ReceiverTally& t = socket.tally;
    all.latency_ns.insert(all.latency_ns.end(), t.latency_ns.begin(), t.latency_ns.end());
    all.late += t.late, all.stray += t.stray, all.mismatched += t.mismatched;
    all.rcode_errors += t.rcode_errors, all.truncated += t.truncated;
    all.receive_errors += t.receive_errors, all.no_timestamp += t.no_timestamp;
  }
  std::sort(all.latency_ns.begin(), all.latency_ns.end());
  const auto answered = std::ssize(all.latency_ns);
  const std::int64_t offered = options.qps * options.duration_s;
  const std::int64_t lost = offered - answered;
  const double qps_answered =
      static_cast<double>(answered) / static_cast<double>(options.duration_s);
  const double p50 = PercentileMs(all.latency_ns, 0.50), p90 = PercentileMs(all.latency_ns, 0.90);
  const double p99 = PercentileMs(all.latency_ns, 0.99), p999 = PercentileMs(all.latency_ns, 0.999);
  const double max = PercentileMs(all.latency_ns, 1.0);
  const double cores = cpu_s / wall_s;
  std::printf(
      "dns_load: %s at %lld qps offered for %lld s (%zu sockets, %lld us ticks): "
      "%lld of %lld answered within %lld ms, %lld lost (%.3f %%); latency p50 %.3f ms, "
      "p90 %.3f, p99 %.3f, p99.9 %.3f, max %.3f; dns_load used %.2f cores\n",
      options.server_text.c_str(), static_cast<long long>(options.qps),
      static_cast<long long>(options.duration_s), sockets.size(),
      static_cast<long long>(options.tick_us), static_cast<long long>(answered),
      static_cast<long long>(offered), static_cast<long long>(options.timeout_ms),
      static_cast<long long>(lost),
      100.0 * static_cast<double>(lost) / static_cast<double>(offered), p50, p90, p99, p999, max,
      cores);
  std::printf(
      "DNSLOAD qps_offered=%lld qps_answered=%.0f sent=%lld answered=%lld lost=%lld "
      "late=%lld stray=%lld mismatched=%lld rcode_errors=%lld truncated=%lld "
      "receive_errors=%lld no_timestamp=%lld "
      "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f "
      "burst_max=%lld sender_realtime=%d cpu_cores=%.3f\n",
      static_cast<long long>(options.qps), qps_answered, static_cast<long long>(sent),
      static_cast<long long>(answered), static_cast<long long>(lost),
      static_cast<long long>(all.late), static_cast<long long>(all.stray),
      static_cast<long long>(all.mismatched), static_cast<long long>(all.rcode_errors),
      static_cast<long long>(all.truncated), static_cast<long long>(all.receive_errors),
      static_cast<long long>(all.no_timestamp), p50, p90, p99, p999, max,
      static_cast<long long>(burst_max), sender_realtime ? 1 : 0, cores);
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Options> options = ParseOptions(argc, argv);
  if (!options) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::vector<EncodedQuery> queries;
  if (!ReadQueries(options->queries_path, queries)) return 2;
  // Wake at the tick, not up to 50 µs after it (the default timer slack).
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

  std::vector<Socket> sockets(static_cast<std::size_t>(options->sockets));
  for (Socket& socket : sockets) {
    socket.fd = OpenSocket(options->server);
    if (socket.fd < 0) {
      std::fprintf(stderr, "dns_load: socket to %s: %s\n", options->server_text.c_str(),
                   std::strerror(errno));
      return 1;
    }
    const auto expected =
        static_cast<std::size_t>(options->qps * options->duration_s / options->sockets + 1024);
    socket.tally.latency_ns.reserve(expected);
  }
  const std::int64_t timeout_ns = options->timeout_ms * 1'000'000;
  std::atomic<bool> stop{false};
  std::thread receiver([&sockets, &queries, timeout_ns, &stop] {
    ReceiveLoop(sockets, queries, timeout_ns, kReceivePollNs, stop);
  });
  // After starting the receiver, which is to stay an ordinary thread.
  const bool sender_realtime = options->realtime && MakeThisThreadRealtime();
  const double cpu_start_s = CpuSeconds();
  const std::int64_t start_ns = NowMonotonicNs();
  const auto [sent, burst_max] = Pace(*options, sockets, queries);
  const double wall_s = static_cast<double>(NowMonotonicNs() - start_ns) / 1e9;
  const double cpu_s = CpuSeconds() - cpu_start_s;  // the sending period only
  // Wait out the timeout for the last queries' replies.
  SleepUntilMonotonicNs(NowMonotonicNs() + timeout_ns + 2 * kReceivePollNs);
  stop.store(true);
  receiver.join();
  for (Socket& socket : sockets) close(socket.fd);
  Report(*options, sockets, sent, burst_max, sender_realtime, wall_s, cpu_s);
  return 0;
}
