// The probes behind the agent's checks (consul-api.md §4.1): one run of an HTTP, TCP or
// script check, returning a status and the output the catalog will show. Each blocks
// for at most its timeout; the CheckRunner calls them on a WorkerPool thread.
//
//  - HTTP: Method (GET) to the URL with Header and Body; 2xx passing, 429 warning,
//    anything else (or no answer) critical. Output: "HTTP GET <url>: 200 OK Output:
//    <body>", as Consul words it.
//  - TCP: a connection accepted within the timeout is passing, else critical.
//  - Script: runs the arguments (no shell); exit 0 passing, 1 warning, else critical;
//    stdout and stderr together are the output; killed (its process group) at the
//    timeout, which is critical.
// Output is cut to `output_bytes_max`.
// Thread-safety: pure functions of their arguments; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "store/catalog.h"

namespace roster::agent {

struct ProbeResult {
  store::HealthStatus status = store::HealthStatus::kCritical;
  std::string output;
};

ProbeResult RunHttpProbe(const store::CheckDefinition& definition, std::int64_t timeout_ms);
ProbeResult RunTcpProbe(const std::string& address, std::int64_t timeout_ms);
ProbeResult RunScriptProbe(const std::vector<std::string>& args, std::int64_t timeout_ms);

// `output` cut to at most `bytes_max` bytes.
std::string CapOutput(std::string output, std::size_t bytes_max);

}  // namespace roster::agent
