// The DNS flags of `roster server`, `roster dev` and `roster agent`: Consul's
// -dns-port, -domain, -alt-domain and -recursor, and one -dns-<key> flag per key of
// Consul's dns_config that Roster has (docs/dns.md, "Settings"). Config files set the
// same flags (cli/dns_config_file.h). StartDns runs DNS over a process's catalog.
// Single-threaded.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "cli/flags.h"
#include "dns/catalog.h"
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

struct RunningDns {
  std::unique_ptr<dns::DnsServer> server;  // null when DNS is off
  std::string banner;                      // for the start-up lines
};

// Serves DNS over `catalog` for `datacenter` as the flags say. A taken default port
// turns DNS off with a warning; a taken -dns-port is an error (IoError).
// REQUIRES: `catalog` and `clock` outlive the returned server.
Result<RunningDns> StartDns(const DnsFlags& flags, const dns::DnsCatalog& catalog,
                            const std::string& datacenter, const Clock& clock);

}  // namespace roster::cli
