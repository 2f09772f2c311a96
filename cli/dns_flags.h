// The DNS flags of `roster server` and `roster dev` (and, later, `roster agent`): Consul's
// -dns-port, -domain, -alt-domain and -recursor, and one -dns-<key> flag per key of
// Consul's dns_config that Roster has (docs/dns.md, "Settings"). There is no config-file
// loader yet, so flags are the only way to set them.
// Single-threaded.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "base/status.h"
#include "cli/flags.h"
#include "dns/dns_server.h"

namespace roster::cli {

// Flags that take a value, and boolean flags, to add to the command's own. (Functions,
// not globals: other files' static sets are built from them.)
const std::set<std::string>& DnsValueFlags();
const std::set<std::string>& DnsBoolFlags();

// The usage lines for these flags.
extern const char kDnsUsage[];

struct DnsFlags {
  // nullopt: -dns-port -1, DNS is off.
  std::optional<dns::DnsServerOptions> options;
  // -dns-port was given: a taken port is an error. Otherwise the default 8600 was
  // asked for, and a taken port only turns DNS off with a warning, so several servers
  // on one host (tests, benchmarks) start without each naming a port.
  bool port_explicit = false;
};

// InvalidArgument with a message naming the flag. `bind_address` is where DNS listens.
Result<DnsFlags> ParseDnsFlags(const Flags& flags, const std::string& bind_address);

}  // namespace roster::cli
