#include "cli/dns_flags.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "base/logging.h"
#include "http/params.h"

namespace roster::cli {

const std::set<std::string>& DnsValueFlags() {
  static const std::set<std::string> flags = {
      "dns-port",        "domain",          "alt-domain",           "recursor",
      "dns-recursor-strategy",              "dns-recursor-timeout", "dns-node-ttl",
      "dns-service-ttl", "dns-a-record-limit",                     "dns-soa-refresh",
      "dns-soa-retry",   "dns-soa-expire",  "dns-soa-min-ttl",      "dns-udp-workers",
      "dns-tcp-connections-max"};
  return flags;
}

const std::set<std::string>& DnsBoolFlags() {
  static const std::set<std::string> flags = {"dns-only-passing",
                                              "dns-enable-additional-node-meta-txt"};
  return flags;
}

const char kDnsUsage[] =
    "         [-dns-port 8600 (-1: off)] [-domain roster.] [-alt-domain consul.]\n"
    "         [-recursor IP[:PORT] ...] [-dns-recursor-strategy sequential|random]\n"
    "         [-dns-recursor-timeout 2s] [-dns-node-ttl 0s] [-dns-service-ttl NAME=TTL ...]\n"
    "         [-dns-only-passing] [-dns-a-record-limit 0]\n"
    "         [-dns-enable-additional-node-meta-txt=true|false]\n"
    "         [-dns-soa-refresh 3600] [-dns-soa-retry 600] [-dns-soa-expire 86400]\n"
    "         [-dns-soa-min-ttl 0] [-dns-udp-workers 2] [-dns-tcp-connections-max 256]\n";

namespace {

// A Go duration (Consul's TTL syntax: "30s", "5m") in whole seconds.
Result<std::uint32_t> TtlSeconds(const std::string& flag, const std::string& text) {
  Result<std::chrono::nanoseconds> duration = http::ParseGoDuration(text);
  if (!duration.ok() || duration->count() < 0) {
    return InvalidArgument("-" + flag + " needs a duration such as 30s or 5m, not \"" + text +
                           "\"");
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*duration).count();
  if (seconds > std::numeric_limits<std::int32_t>::max()) {
    return InvalidArgument("-" + flag + " is longer than a DNS TTL can be");
  }
  return static_cast<std::uint32_t>(seconds);
}

// A whole number flag in [low, high].
Result<long long> Bounded(const Flags& flags, const std::string& flag, long long fallback,
                          long long low, long long high) {
  Result<long long> value = flags.GetInt(flag, fallback);
  if (!value.ok()) return value.status();
  if (*value < low || *value > high) {
    return InvalidArgument("-" + flag + " must be between " + std::to_string(low) + " and " +
                           std::to_string(high));
  }
  return value;
}

Status ParseTtls(const Flags& flags, dns::DnsConfig& config) {
  if (flags.Has("dns-node-ttl")) {
    Result<std::uint32_t> ttl = TtlSeconds("dns-node-ttl", flags.Get("dns-node-ttl"));
    if (!ttl.ok()) return ttl.status();
    config.node_ttl_s = *ttl;
  }
  for (const std::string& entry : flags.GetAll("dns-service-ttl")) {
    const std::size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
      return InvalidArgument("-dns-service-ttl takes NAME=TTL (NAME may be prefix* or *), not \"" +
                             entry + "\"");
    }
    Result<std::uint32_t> ttl = TtlSeconds("dns-service-ttl", entry.substr(equals + 1));
    if (!ttl.ok()) return ttl.status();
    config.service_ttl_s[entry.substr(0, equals)] = *ttl;
  }
  return Status::Ok();
}

Status ParseSoa(const Flags& flags, dns::SoaConfig& soa) {
  constexpr long long kMax = std::numeric_limits<std::int32_t>::max();
  struct Field {
    const char* flag;
    std::uint32_t* value;
  };
  for (const Field& field : {Field{"dns-soa-refresh", &soa.refresh_s},
                             Field{"dns-soa-retry", &soa.retry_s},
                             Field{"dns-soa-expire", &soa.expire_s},
                             Field{"dns-soa-min-ttl", &soa.min_ttl_s}}) {
    Result<long long> seconds = Bounded(flags, field.flag, *field.value, 0, kMax);
    if (!seconds.ok()) return seconds.status();
    *field.value = static_cast<std::uint32_t>(*seconds);
  }
  return Status::Ok();
}

Status ParseRecursors(const Flags& flags, dns::RecursorConfig& recursors) {
  recursors.recursors = flags.GetAll("recursor");
  const std::string strategy_text = flags.Get("dns-recursor-strategy", "sequential");
  Result<dns::RecursorStrategy> strategy = dns::ParseRecursorStrategy(strategy_text);
  if (!strategy.ok()) {
    return InvalidArgument("-dns-recursor-strategy must be sequential or random, not \"" +
                           strategy_text + "\"");
  }
  recursors.strategy = *strategy;
  Result<std::chrono::nanoseconds> timeout =
      http::ParseGoDuration(flags.Get("dns-recursor-timeout", "2s"));
  if (!timeout.ok() || timeout->count() <= 0) {
    return InvalidArgument("-dns-recursor-timeout needs a positive duration such as 2s");
  }
  recursors.timeout_ms = std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(*timeout).count());
  return dns::ValidateRecursorConfig(recursors);
}

}  // namespace

Result<DnsFlags> ParseDnsFlags(const Flags& flags, const std::string& bind_address) {
  DnsFlags out;
  out.port_explicit = flags.Has("dns-port");
  Result<long long> port = Bounded(flags, "dns-port", 8600, -1, 65535);
  if (!port.ok()) return port.status();
  if (*port < 0) return out;

  dns::DnsServerOptions options;
  options.listener.bind_address = bind_address;
  options.listener.port = static_cast<int>(*port);
  dns::DnsConfig& config = options.dns;
  config.domain = flags.Get("domain", config.domain);
  config.alt_domain = flags.Get("alt-domain", config.alt_domain);
  // Consul writes domains without the final dot as often as with it.
  for (std::string* domain : {&config.domain, &config.alt_domain}) {
    if (!domain->empty() && domain->back() != '.') *domain += '.';
  }
  config.only_passing = flags.GetBool("dns-only-passing");
  if (flags.Has("dns-enable-additional-node-meta-txt")) {
    config.node_meta_txt = flags.GetBool("dns-enable-additional-node-meta-txt");
  }
  Result<long long> a_limit = Bounded(flags, "dns-a-record-limit", 0, 0, 65535);
  Result<long long> workers = Bounded(flags, "dns-udp-workers", 2, 1, 64);
  Result<long long> connections = Bounded(flags, "dns-tcp-connections-max", 256, 1, 65536);
  for (const auto* value : {&a_limit, &workers, &connections}) {
    if (!value->ok()) return value->status();
  }
  config.a_record_limit = static_cast<std::size_t>(*a_limit);
  options.listener.udp_workers = static_cast<int>(*workers);
  options.listener.tcp_connections_max = static_cast<std::size_t>(*connections);
  RETURN_IF_ERROR(ParseTtls(flags, config));
  RETURN_IF_ERROR(ParseSoa(flags, config.soa));
  RETURN_IF_ERROR(ParseRecursors(flags, options.recursors));
  if (Status valid = dns::ValidateDnsServerOptions(options); !valid.ok()) {
    return InvalidArgument("DNS: " + valid.message());
  }
  out.options = std::move(options);
  return out;
}

Result<RunningDns> StartDns(const DnsFlags& flags, const dns::DnsCatalog& catalog,
                            const std::string& datacenter, const Clock& clock) {
  RunningDns running;
  if (!flags.options.has_value()) {
    running.banner = "off (-dns-port -1)";
    return running;
  }
  dns::DnsServerOptions options = *flags.options;
  options.dns.datacenter = datacenter;
  Result<std::unique_ptr<dns::DnsServer>> started = dns::DnsServer::Start(options, catalog, clock);
  if (!started.ok()) {
    if (flags.port_explicit) return started.status();
    // The default port is taken (another server or agent on this host): run without DNS.
    LOG(WARNING) << "DNS is off: " << started.status().message()
                 << " (pass -dns-port to choose a port, or -dns-port -1)";
    running.banner = "off (port " + std::to_string(options.listener.port) + " taken)";
    return running;
  }
  running.server = std::move(started).value();
  running.banner = options.listener.bind_address + ":" + std::to_string(running.server->port()) +
                   " (udp, tcp), domains " + running.server->config().domain +
                   (options.dns.alt_domain.empty() ? "" : " and " + options.dns.alt_domain);
  return running;
}

}  // namespace roster::cli
