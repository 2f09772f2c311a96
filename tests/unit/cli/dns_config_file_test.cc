// DNS settings in config files (cli/dns_config_file.h): Consul's keys become the
// -dns-* flags' values, checked by the flag parser; bad keys and values name file and
// key; the command line wins over files.
#include "cli/dns_config_file.h"

#include "cli/dns_flags.h"

#include <catch2/catch.hpp>

namespace roster::cli {
namespace {

constexpr const char* kGoodFile = R"({
  "service": {"name": "web", "port": 80},
  "domain": "example",
  "alt_domain": "consul.",
  "recursors": ["127.0.0.1:5353"],
  "ports": {"dns": 8601, "http": 8500},
  "dns_config": {
    "node_ttl": "10s",
    "service_ttl": {"*": "5s", "web": "30s"},
    "only_passing": true,
    "a_record_limit": 3,
    "recursor_strategy": "random",
    "recursor_timeout": "1500ms",
    "enable_additional_node_meta_txt": false,
    "soa": {"refresh": 100, "retry": 20, "expire": 300, "min_ttl": 7}
  }
})";

// The DnsFlags that the files' settings (and then `args`) give.
DnsFlags Parsed(const FileFlags& file_flags, const std::vector<std::string>& args = {}) {
  Result<Flags> command_line = Flags::Parse(args, DnsValueFlags(), DnsBoolFlags());
  REQUIRE(command_line.ok());
  Result<Flags> flags =
      Flags::Parse(WithFileFlags(file_flags, *command_line, args), DnsValueFlags(), DnsBoolFlags());
  REQUIRE(flags.ok());
  Result<DnsFlags> parsed = ParseDnsFlags(*flags, "127.0.0.1");
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

// The error a file with `text` gets.
std::string ErrorOf(const std::string& text) {
  FileFlags flags;
  Status status = ReadDnsConfigFile("dns.json", text, &flags);
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == StatusCode::kInvalidArgument);
  return status.message();
}

TEST_CASE("every DNS key of a config file sets its setting") {
  FileFlags file_flags;
  REQUIRE(ReadDnsConfigFile("good.json", kGoodFile, &file_flags).ok());
  const DnsFlags dns = Parsed(file_flags);
  REQUIRE(dns.options.has_value());
  CHECK(dns.port_explicit);
  CHECK(dns.options->listener.port == 8601);
  const dns::DnsConfig& config = dns.options->dns;
  CHECK(config.domain == "example.");
  CHECK(config.alt_domain == "consul.");
  CHECK(config.node_ttl_s == 10);
  CHECK(config.ServiceTtl("web") == 30);
  CHECK(config.ServiceTtl("db") == 5);
  CHECK(config.only_passing);
  CHECK(config.a_record_limit == 3);
  CHECK_FALSE(config.node_meta_txt);
  CHECK(config.soa.refresh_s == 100);
  CHECK(config.soa.retry_s == 20);
  CHECK(config.soa.expire_s == 300);
  CHECK(config.soa.min_ttl_s == 7);
  const dns::RecursorConfig& recursors = dns.options->recursors;
  CHECK(recursors.recursors == std::vector<std::string>{"127.0.0.1:5353"});
  CHECK(recursors.strategy == dns::RecursorStrategy::kRandom);
  CHECK(recursors.timeout_ms == 1500);
}

TEST_CASE("flags on the command line override config files") {
  FileFlags file_flags;
  REQUIRE(ReadDnsConfigFile("good.json", kGoodFile, &file_flags).ok());
  const DnsFlags dns = Parsed(file_flags, {"-dns-port", "-1"});
  CHECK_FALSE(dns.options.has_value());
  const DnsFlags other =
      Parsed(file_flags, {"-recursor", "127.0.0.2", "-dns-node-ttl", "1s", "-domain", "d"});
  REQUIRE(other.options.has_value());
  CHECK(other.options->recursors.recursors == std::vector<std::string>{"127.0.0.2"});
  CHECK(other.options->dns.node_ttl_s == 1);
  CHECK(other.options->dns.domain == "d.");
  CHECK(other.options->dns.a_record_limit == 3);  // from the file
}

TEST_CASE("later files win, recursors and service_ttl add up") {
  FileFlags file_flags;
  REQUIRE(ReadDnsConfigFile("a.json",
                            R"({"recursors": "127.0.0.1", "dns_config": {"node_ttl": "1s",
                                "service_ttl": {"a": "1s"}}})",
                            &file_flags)
              .ok());
  REQUIRE(ReadDnsConfigFile("b.json",
                            R"({"recursors": ["127.0.0.2"], "dns_config": {"node_ttl": "2s",
                                "service_ttl": {"b": "2s"}}})",
                            &file_flags)
              .ok());
  const DnsFlags dns = Parsed(file_flags);
  REQUIRE(dns.options.has_value());
  CHECK(dns.options->recursors.recursors == std::vector<std::string>{"127.0.0.1", "127.0.0.2"});
  CHECK(dns.options->dns.node_ttl_s == 2);
  CHECK(dns.options->dns.ServiceTtl("a") == 1);
  CHECK(dns.options->dns.ServiceTtl("b") == 2);
}

TEST_CASE("a file without DNS keys changes nothing") {
  FileFlags file_flags;
  REQUIRE(ReadDnsConfigFile("svc.json", R"({"service": {"name": "web"}, "log_level": "info"})",
                            &file_flags)
              .ok());
  CHECK(file_flags.empty());
}

TEST_CASE("bad config files name the file and the key") {
  struct Case {
    const char* text;
    const char* expected;  // part of the message after "dns.json: "
  };
  const Case cases[] = {
      {"[1]", "not a JSON object"},
      {"{", ""},
      {R"({"dns_config": {"udp_answer_limit": 3}})", "dns_config.udp_answer_limit: unknown key"},
      {R"({"dns_config": {"soa": {"serial": 1}}})", "dns_config.soa.serial: unknown key"},
      {R"({"dns_config": 3})", "dns_config: needs an object"},
      {R"({"dns_config": {"node_ttl": 10}})", "dns_config.node_ttl: needs a duration"},
      {R"({"dns_config": {"node_ttl": "ten"}})", "dns_config.node_ttl: -dns-node-ttl needs"},
      {R"({"dns_config": {"service_ttl": {"web": "x"}}})", "dns_config.service_ttl.web:"},
      {R"({"dns_config": {"service_ttl": {"w*b": "1s"}}})", "dns_config.service_ttl.w*b:"},
      {R"({"dns_config": {"only_passing": "yes"}})", "dns_config.only_passing: needs true or"},
      {R"({"dns_config": {"a_record_limit": -1}})", "dns_config.a_record_limit: -dns-a-record"},
      {R"({"dns_config": {"a_record_limit": 1.5}})", "dns_config.a_record_limit: needs a whole"},
      {R"({"dns_config": {"recursor_strategy": "fast"}})", "dns_config.recursor_strategy:"},
      {R"({"dns_config": {"recursor_timeout": "0s"}})", "dns_config.recursor_timeout:"},
      {R"({"dns_config": {"enable_additional_node_meta_txt": 1}})",
       "dns_config.enable_additional_node_meta_txt: needs true or false"},
      {R"({"dns_config": {"soa": {"retry": -5}}})", "dns_config.soa.retry:"},
      {R"({"dns_config": {"soa": []}})", "dns_config.soa: needs an object"},
      {R"({"ports": {"dns": 70000}})", "ports.dns: -dns-port must be between"},
      {R"({"ports": {"dns": "8600"}})", "ports.dns: needs a whole number"},
      {R"({"domain": 5})", "domain: needs a string"},
      {R"({"domain": "bad..name"})", "domain:"},
      {R"({"recursors": [1]})", "recursors: needs a list"},
      {R"({"recursors": ["not an address"]})", "recursors:"},
      // Only wrong together: the message is the parser's, without a key.
      {R"({"domain": "same", "alt_domain": "same"})", "DNS:"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const std::string message = ErrorOf(c.text);
    CHECK(message.starts_with("dns.json: "));
    CHECK(message.find(c.expected) != std::string::npos);
  }
}

}  // namespace
}  // namespace roster::cli
