// Forwarder: sends the queries the Responder marks kNotOurs (names outside both DNS
// domains) to the configured recursors through c-ares, and hands each answer back
// through a callback (consul-api.md §5.7, `recursors`).
//
// One c-ares channel per recursor and transport, each with a single try and the
// configured timeout (Consul's recursor_timeout, 2 s), so the order in which recursors
// are tried is ours: the configured order (`sequential`) or a fresh shuffle per query
// (`random`). A recursor that times out, cannot be reached, or answers SERVFAIL,
// REFUSED or NOTIMP is skipped for the next one; an answer with any other rcode
// (NXDOMAIN included) is the answer. When every recursor failed the client gets
// SERVFAIL. UDP queries go out over UDP and come back as the recursor sent them, TC
// included, so the client retries over TCP, which goes out over TCP. A forwarded answer
// keeps the recursor's flags but gets the client's ID back and RA set.
//
// Threads: Forward may be called from any thread. c-ares runs on the forwarder's own
// thread; `done` callbacks run there (or, when the query is refused at once, on the
// caller's), so they must not block. Design notes: docs/design/dns.md, "Recursors".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "dns/responder.h"

namespace roster::dns {

enum class RecursorStrategy : std::uint8_t { kSequential, kRandom };

struct RecursorConfig {
  // "IP" (port 53), "IP:PORT" or "[IPv6]:PORT"; empty: no forwarding (REFUSED).
  std::vector<std::string> recursors;
  RecursorStrategy strategy = RecursorStrategy::kSequential;
  std::int64_t timeout_ms = 2000;  // per recursor
  // Queries waiting for a recursor at once; beyond it a query gets SERVFAIL at once,
  // so a dead recursor cannot make the forwarder hold unbounded memory.
  std::size_t in_flight_max = 4096;
};

// InvalidArgument naming the recursor when one is not an IP address with an optional
// port, or a timeout is not positive.
Status ValidateRecursorConfig(const RecursorConfig& config);
// "sequential" or "random" (Consul's recursor_strategy values).
Result<RecursorStrategy> ParseRecursorStrategy(std::string_view text);

class Forwarder {
 public:
  // Gets the reply octets to send the client: the recursor's answer with the client's
  // ID, or SERVFAIL. Runs exactly once per Forward, Stop included.
  using Done = std::function<void(std::string reply)>;

  // REQUIRES: ValidateRecursorConfig(config).ok() and at least one recursor.
  static Result<std::unique_ptr<Forwarder>> Start(RecursorConfig config);
  ~Forwarder();  // Stop()

  // REQUIRES: `query` is a query Responder::Respond marked kNotOurs (it parsed).
  void Forward(std::span<const std::uint8_t> query, Transport transport, Done done);

  // Ends the thread; queries still waiting get SERVFAIL. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit Forwarder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::dns
