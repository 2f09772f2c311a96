// BuildAnswer against a fake catalog (consul-api.md §5.3, §5.4): one table of questions
// over a fixed catalog, then the settings that change answers (only_passing,
// a_record_limit, TTLs, node_meta_txt, SOA timers), the apex, failures and the shuffle.
#include "dns/answer.h"

#include <set>
#include <string>

#include "base/random.h"
#include "dns/records.h"
#include "tests/unit/dns/fixtures.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::dns {
namespace {

using namespace testing;
using Texts_ = std::vector<std::string>;

constexpr std::uint32_t kSerial = 1700000000;
const std::string kSoa = "roster. 0 SOA ns.roster. hostmaster.roster. 1700000000 3600 600 86400 0";
const std::string kConsulSoa =
    "consul. 0 SOA ns.consul. hostmaster.consul. 1700000000 3600 600 86400 0";

DnsNode Node(std::string name, std::string address, std::map<std::string, std::string> meta = {}) {
  return DnsNode{std::move(name), std::move(address), std::move(meta)};
}

DnsInstance On(const DnsNode& node, std::uint16_t port, DnsHealth health = DnsHealth::kPassing) {
  DnsInstance instance;
  instance.node = node;
  instance.port = port;
  instance.health = health;
  return instance;
}

// The catalog every table row asks. Nodes n1-n3 (IPv4), n6 (IPv6), ext (a hostname).
FakeCatalog World() {
  FakeCatalog catalog;
  const DnsNode n1 = Node("n1", "10.0.0.1", {{"rack", "r1"}});
  const DnsNode n2 = Node("n2", "10.0.0.2");
  const DnsNode n3 = Node("n3", "10.0.0.3");
  const DnsNode n6 = Node("n6", "fe80::6");
  const DnsNode ext = Node("ext", "ext.example.com");
  for (const DnsNode& node : {n1, n2, n3, n6, ext}) catalog.nodes[node.name] = node;

  DnsInstance web1 = On(n1, 80);
  web1.tags = {"v1", "Primary"};
  web1.weights = {10, 1};
  DnsInstance web2 = On(n2, 80, DnsHealth::kWarning);
  web2.tags = {"v2"};
  web2.weights = {10, 3};
  DnsInstance web_own_address = On(n1, 81);
  web_own_address.service_address = "10.1.0.1";
  catalog.services["web"] = {web1, web2, On(n3, 80, DnsHealth::kCritical), On(n6, 80),
                             web_own_address};

  catalog.services["down"] = {On(n1, 80, DnsHealth::kCritical)};
  catalog.services["ext"] = {On(ext, 80)};
  catalog.services["mixed"] = {On(ext, 80), On(n1, 80)};
  catalog.services["dup"] = {On(n1, 80), On(n1, 90)};
  DnsInstance alias = On(n2, 443);
  alias.service_address = "alias.example.net";
  catalog.services["alias"] = {alias};
  return catalog;
}

struct Asker {
  FakeCatalog catalog = World();
  DnsConfig config;
  DeterministicRandom random{7};

  AnswerSections Ask(std::string_view name, std::uint16_t type) {
    const Domains domains = *ParseDomains(config.domain, config.alt_domain);
    const Question question{Name(name), type, kClassIn};
    const QueryName parsed = ParseQueryName(question.name, domains, type);
    const AnswerContext context{config, catalog, random, kSerial};
    return BuildAnswer(question, parsed, context);
  }
};

struct Row {
  const char* name;
  std::uint16_t type;
  std::uint16_t rcode;
  Texts_ answers;  // sorted
  Texts_ authority;
  Texts_ additional;  // sorted
};

void CheckRows(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    INFO(row.name << " type " << row.type);
    Asker asker;
    const AnswerSections got = asker.Ask(row.name, row.type);
    CHECK(got.rcode == row.rcode);
    CHECK(Texts(got.answers, true) == row.answers);
    CHECK(Texts(got.authority, false) == row.authority);
    CHECK(Texts(got.additional, true) == row.additional);
  }
}

const char* const kWebA1 = "web.service.roster. 0 A 10.0.0.1";
const char* const kWebA2 = "web.service.roster. 0 A 10.0.0.2";
const char* const kWebOwn = "web.service.roster. 0 A 10.1.0.1";
const char* const kWebAaaa = "web.service.roster. 0 AAAA fe80:0000:0000:0000:0000:0000:0000:0006";

TEST_CASE("service names: A, AAAA, ANY, tags, health, negative answers") {
  CheckRows({
      // Critical n3 left out; warning n2 kept; the service address 10.1.0.1 used.
      {"web.service.roster", kTypeA, kRcodeNoError, {kWebA1, kWebA2, kWebOwn}, {}, {}},
      {"web.service.roster", kTypeAaaa, kRcodeNoError, {kWebAaaa}, {}, {}},
      {"web.service.roster", kTypeAny, kRcodeNoError, {kWebA1, kWebA2, kWebOwn, kWebAaaa}, {}, {}},
      {"web.service.dc1.roster",
       kTypeA,
       kRcodeNoError,
       {"web.service.dc1.roster. 0 A 10.0.0.1", "web.service.dc1.roster. 0 A 10.0.0.2",
        "web.service.dc1.roster. 0 A 10.1.0.1"},
       {},
       {}},
      // Records are named as the question was asked.
      {"WEB.service.roster",
       kTypeAaaa,
       kRcodeNoError,
       {"WEB.service.roster. 0 AAAA fe80:0000:0000:0000:0000:0000:0000:0006"},
       {},
       {}},
      {"v1.web.service.roster",
       kTypeA,
       kRcodeNoError,
       {"v1.web.service.roster. 0 A 10.0.0.1"},
       {},
       {}},
      {"primary.web.service.roster",
       kTypeA,
       kRcodeNoError,
       {"primary.web.service.roster. 0 A 10.0.0.1"},
       {},
       {}},
      // No instance with the tag, every instance critical, no such service: NXDOMAIN.
      {"v9.web.service.roster", kTypeA, kRcodeNxDomain, {}, {kSoa}, {}},
      {"down.service.roster", kTypeA, kRcodeNxDomain, {}, {kSoa}, {}},
      {"nothing.service.roster", kTypeA, kRcodeNxDomain, {}, {kSoa}, {}},
      {"web.service.dc2.roster", kTypeA, kRcodeNxDomain, {}, {kSoa}, {}},  // unknown datacenter
      // The name exists, the type does not: NODATA.
      {"web.service.roster", kTypeTxt, kRcodeNoError, {}, {kSoa}, {}},
      {"web.service.roster", kTypeMx, kRcodeNoError, {}, {kSoa}, {}},
      {"dup.service.roster", kTypeAaaa, kRcodeNoError, {}, {kSoa}, {}},
      // A hostname address gives a CNAME, but only when no instance has an IP.
      {"ext.service.roster",
       kTypeA,
       kRcodeNoError,
       {"ext.service.roster. 0 CNAME ext.example.com."},
       {},
       {}},
      {"ext.service.roster",
       kTypeCname,
       kRcodeNoError,
       {"ext.service.roster. 0 CNAME ext.example.com."},
       {},
       {}},
      {"mixed.service.roster",
       kTypeA,
       kRcodeNoError,
       {"mixed.service.roster. 0 A 10.0.0.1"},
       {},
       {}},
      // Two instances on one address: one A record.
      {"dup.service.roster", kTypeA, kRcodeNoError, {"dup.service.roster. 0 A 10.0.0.1"}, {}, {}},
      // The alt domain answers with its own SOA.
      {"web.service.consul",
       kTypeAaaa,
       kRcodeNoError,
       {"web.service.consul. 0 AAAA fe80:0000:0000:0000:0000:0000:0000:0006"},
       {},
       {}},
      {"nothing.service.consul", kTypeA, kRcodeNxDomain, {}, {kConsulSoa}, {}},
  });
}

TEST_CASE("service names: SRV targets, weights, additional records") {
  const Texts_ web_srv_additional = {
      "0a010001.addr.dc1.roster. 0 A 10.1.0.1",
      "n1.node.dc1.roster. 0 A 10.0.0.1",
      "n1.node.dc1.roster. 0 TXT \"rack=r1\"",
      "n2.node.dc1.roster. 0 A 10.0.0.2",
      "n6.node.dc1.roster. 0 AAAA fe80:0000:0000:0000:0000:0000:0000:0006",
  };
  CheckRows({
      // Weights: n1 passing 10, n2 warning 3, defaults 1. A service address of its own
      // gives the <hex>.addr target.
      {"_web._tcp.service.roster",
       kTypeSrv,
       kRcodeNoError,
       {"_web._tcp.service.roster. 0 SRV 1 1 80 n6.node.dc1.roster.",
        "_web._tcp.service.roster. 0 SRV 1 1 81 0a010001.addr.dc1.roster.",
        "_web._tcp.service.roster. 0 SRV 1 10 80 n1.node.dc1.roster.",
        "_web._tcp.service.roster. 0 SRV 1 3 80 n2.node.dc1.roster."},
       {},
       web_srv_additional},
      {"_web._v1.service.roster",
       kTypeSrv,
       kRcodeNoError,
       {"_web._v1.service.roster. 0 SRV 1 10 80 n1.node.dc1.roster."},
       {},
       {"n1.node.dc1.roster. 0 A 10.0.0.1", "n1.node.dc1.roster. 0 TXT \"rack=r1\""}},
      {"_web._tcp.roster",
       kTypeSrv,
       kRcodeNoError,
       {"_web._tcp.roster. 0 SRV 1 1 80 n6.node.dc1.roster.",
        "_web._tcp.roster. 0 SRV 1 1 81 0a010001.addr.dc1.roster.",
        "_web._tcp.roster. 0 SRV 1 10 80 n1.node.dc1.roster.",
        "_web._tcp.roster. 0 SRV 1 3 80 n2.node.dc1.roster."},
       {},
       web_srv_additional},
      {"v2.web.service.consul",
       kTypeSrv,
       kRcodeNoError,
       {"v2.web.service.consul. 0 SRV 1 3 80 n2.node.dc1.consul."},
       {},
       {"n2.node.dc1.consul. 0 A 10.0.0.2"}},
      // A hostname service address is the target itself, with nothing in additional.
      {"alias.service.roster",
       kTypeSrv,
       kRcodeNoError,
       {"alias.service.roster. 0 SRV 1 1 443 alias.example.net."},
       {},
       {}},
      // Same node, two ports: two SRV records, one address record.
      {"dup.service.roster",
       kTypeSrv,
       kRcodeNoError,
       {"dup.service.roster. 0 SRV 1 1 80 n1.node.dc1.roster.",
        "dup.service.roster. 0 SRV 1 1 90 n1.node.dc1.roster."},
       {},
       {"n1.node.dc1.roster. 0 A 10.0.0.1", "n1.node.dc1.roster. 0 TXT \"rack=r1\""}},
      {"ext.service.roster",
       kTypeSrv,
       kRcodeNoError,
       {"ext.service.roster. 0 SRV 1 1 80 ext.example.com."},
       {},
       {}},
      {"down.service.roster", kTypeSrv, kRcodeNxDomain, {}, {kSoa}, {}},
  });
}

TEST_CASE("node and addr names") {
  CheckRows({
      {"n1.node.roster",
       kTypeA,
       kRcodeNoError,
       {"n1.node.roster. 0 A 10.0.0.1"},
       {},
       {"n1.node.roster. 0 TXT \"rack=r1\""}},
      {"n1.node.roster", kTypeTxt, kRcodeNoError, {"n1.node.roster. 0 TXT \"rack=r1\""}, {}, {}},
      {"n1.node.roster",
       kTypeAny,
       kRcodeNoError,
       {"n1.node.roster. 0 A 10.0.0.1", "n1.node.roster. 0 TXT \"rack=r1\""},
       {},
       {}},
      {"N1.NODE.dc1.roster",
       kTypeA,
       kRcodeNoError,
       {"N1.NODE.dc1.roster. 0 A 10.0.0.1"},
       {},
       {"N1.NODE.dc1.roster. 0 TXT \"rack=r1\""}},
      {"n1.node.roster", kTypeAaaa, kRcodeNoError, {}, {kSoa}, {}},
      {"n1.node.roster", kTypeSrv, kRcodeNoError, {}, {kSoa}, {}},
      {"n2.node.roster", kTypeTxt, kRcodeNoError, {}, {kSoa}, {}},  // no meta
      {"n6.node.roster",
       kTypeAaaa,
       kRcodeNoError,
       {"n6.node.roster. 0 AAAA fe80:0000:0000:0000:0000:0000:0000:0006"},
       {},
       {}},
      {"ext.node.roster",
       kTypeA,
       kRcodeNoError,
       {"ext.node.roster. 0 CNAME ext.example.com."},
       {},
       {}},
      {"nobody.node.roster", kTypeA, kRcodeNxDomain, {}, {kSoa}, {}},
      {"n1.node.dc2.roster", kTypeA, kRcodeNxDomain, {}, {kSoa}, {}},
      {"0a000001.addr.roster",
       kTypeA,
       kRcodeNoError,
       {"0a000001.addr.roster. 0 A 10.0.0.1"},
       {},
       {}},
      {"0a000001.addr.dc1.consul",
       kTypeAny,
       kRcodeNoError,
       {"0a000001.addr.dc1.consul. 0 A 10.0.0.1"},
       {},
       {}},
      {"0a000001.addr.roster", kTypeAaaa, kRcodeNoError, {}, {kSoa}, {}},
      {"fe800000000000000000000000000006.addr.roster",
       kTypeAaaa,
       kRcodeNoError,
       {"fe800000000000000000000000000006.addr.roster. 0 AAAA "
        "fe80:0000:0000:0000:0000:0000:0000:0006"},
       {},
       {}},
  });
}

TEST_CASE("names in no known form, the apex's other types, and zone transfers") {
  CheckRows({
      {"x.y.roster", kTypeA, kRcodeNxDomain, {}, {kSoa}, {}},
      {"service.roster", kTypeA, kRcodeNxDomain, {}, {kSoa}, {}},
      {"0a0001.addr.roster", kTypeA, kRcodeNxDomain, {}, {kSoa}, {}},
      {"roster", kTypeA, kRcodeNoError, {}, {kSoa}, {}},
      {"roster", kTypeAxfr, kRcodeNotImp, {}, {}, {}},
      {"web.service.roster", kTypeIxfr, kRcodeNotImp, {}, {}, {}},
  });
}

TEST_CASE("only_passing leaves out warning instances too") {
  Asker asker;
  asker.config.only_passing = true;
  CHECK(Texts(asker.Ask("web.service.roster", kTypeA).answers, true) == Texts_{kWebA1, kWebOwn});
  // A service whose only instance warns is then NXDOMAIN.
  asker.catalog.services["shaky"] = {On(Node("n2", "10.0.0.2"), 80, DnsHealth::kWarning)};
  CHECK(asker.Ask("shaky.service.roster", kTypeA).rcode == kRcodeNxDomain);
}

TEST_CASE("a_record_limit caps A/AAAA/ANY answers but not SRV") {
  Asker asker;
  asker.config.a_record_limit = 2;
  CHECK(asker.Ask("web.service.roster", kTypeA).answers.size() == 2);
  CHECK(asker.Ask("web.service.roster", kTypeAny).answers.size() == 2);
  CHECK(asker.Ask("web.service.roster", kTypeAaaa).answers.size() == 1);
  CHECK(asker.Ask("web.service.roster", kTypeSrv).answers.size() == 4);
  asker.config.a_record_limit = 1;
  CHECK(asker.Ask("web.service.roster", kTypeA).answers.size() == 1);
}

TEST_CASE("TTLs: service_ttl by exact name, then the longest prefix; node_ttl for nodes") {
  Asker asker;
  asker.config.service_ttl_s = {{"web", 30}, {"w*", 20}, {"d*", 15}, {"du*", 16}, {"*", 5}};
  asker.config.node_ttl_s = 7;
  CHECK(asker.Ask("web.service.roster", kTypeA).answers[0].ttl_s == 30);
  CHECK(asker.Ask("dup.service.roster", kTypeA).answers[0].ttl_s == 16);  // longest prefix
  CHECK(asker.Ask("ext.service.roster", kTypeA).answers[0].ttl_s == 5);   // "*"
  const AnswerSections srv = asker.Ask("web.service.roster", kTypeSrv);
  for (const ResourceRecord& record : srv.answers) CHECK(record.ttl_s == 30);
  for (const ResourceRecord& record : srv.additional) CHECK(record.ttl_s == 30);
  CHECK(asker.Ask("n1.node.roster", kTypeA).answers[0].ttl_s == 7);
  CHECK(asker.Ask("0a000001.addr.roster", kTypeA).answers[0].ttl_s == 7);
  CHECK(asker.config.ServiceTtl("WEB") == 30);  // names compare ignoring case
  asker.config.service_ttl_s = {{"web", 30}};
  CHECK(asker.config.ServiceTtl("other") == 0);
}

TEST_CASE("node_meta_txt=false keeps node meta out of the additional section only") {
  Asker asker;
  asker.config.node_meta_txt = false;
  CHECK(asker.Ask("n1.node.roster", kTypeA).additional.empty());
  CHECK(Texts(asker.Ask("_web._v1.service.roster", kTypeSrv).additional, true) ==
        Texts_{"n1.node.dc1.roster. 0 A 10.0.0.1"});
  CHECK(asker.Ask("n1.node.roster", kTypeTxt).answers.size() == 1);
}

TEST_CASE("the SOA timers come from config, and the SOA's TTL is its minimum") {
  Asker asker;
  asker.config.soa = SoaConfig{100, 20, 3000, 60};
  const AnswerSections out = asker.Ask("nothing.service.roster", kTypeA);
  CHECK(Texts(out.authority, false) ==
        Texts_{"roster. 60 SOA ns.roster. hostmaster.roster. 1700000000 100 20 3000 60"});
}

TEST_CASE("the datacenter: the default is asked when the name has none") {
  Asker asker;
  asker.config.datacenter = "dc1";
  (void)asker.Ask("WEB.service.roster", kTypeA);
  (void)asker.Ask("n1.node.DC1.roster", kTypeA);
  CHECK(asker.catalog.calls == std::vector<std::string>{"service dc1 web", "node dc1 n1"});
}

TEST_CASE("a catalog error is SERVFAIL; an unknown datacenter NXDOMAIN") {
  Asker asker;
  asker.catalog.failure = Unavailable("replica not ready");
  for (const char* name : {"web.service.roster", "n1.node.roster"}) {
    const AnswerSections out = asker.Ask(name, kTypeA);
    CHECK(out.rcode == kRcodeServFail);
    CHECK(out.answers.empty());
    CHECK(out.authority.empty());
  }
  CHECK(asker.Ask("roster", kTypeNs).rcode == kRcodeServFail);
  // The SOA needs no catalog; its optional NS records are left out.
  const AnswerSections soa = asker.Ask("roster", kTypeSoa);
  CHECK(soa.rcode == kRcodeNoError);
  CHECK(soa.answers.size() == 1);
  CHECK(soa.authority.empty());
}

// Servers srv1..srv4 healthy, srvbad critical.
void AddServers(FakeCatalog& catalog) {
  std::vector<DnsInstance>& servers = catalog.services[std::string(kServerServiceName)];
  for (int i = 1; i <= 4; ++i) {
    servers.push_back(On(Node("Srv" + std::to_string(i), "10.0.1." + std::to_string(i)), 8300));
  }
  servers.push_back(On(Node("srvbad", "10.0.1.9"), 8300, DnsHealth::kCritical));
  servers.push_back(On(Node("srv1", "10.0.1.1"), 8301));  // a second instance: one NS
}

TEST_CASE("the apex: SOA, and up to three healthy servers as NS with glue") {
  Asker asker;
  AddServers(asker.catalog);
  const AnswerSections soa = asker.Ask("roster", kTypeSoa);
  CHECK(soa.rcode == kRcodeNoError);
  CHECK(Texts(soa.answers, false) == Texts_{kSoa});
  CHECK(soa.authority.size() == 3);  // NS records, as Consul adds them
  CHECK(soa.additional.size() == 3);

  const AnswerSections ns = asker.Ask("roster", kTypeNs);
  REQUIRE(ns.answers.size() == 3);
  std::set<std::string> targets;
  for (const ResourceRecord& record : ns.answers) {
    CHECK(record.type == kTypeNs);
    CHECK(record.name.ToString() == "roster.");
    targets.insert(std::get<NameData>(record.data).name.ToString());
  }
  CHECK(targets.size() == 3);
  for (const std::string& target : targets) {
    CHECK_THAT(target, Catch::Matches("srv[1-4]\\.node\\.dc1\\.roster\\."));  // lowercased
  }
  REQUIRE(ns.additional.size() == 3);
  for (const ResourceRecord& glue : ns.additional) {
    CHECK(targets.count(glue.name.ToString()) == 1);
    const auto& octets = std::get<AddressV4>(glue.data).octets;
    CHECK(glue.name.ToString() == "srv" + std::to_string(octets[3]) + ".node.dc1.roster.");
  }

  const AnswerSections any = asker.Ask("CONSUL", kTypeAny);
  CHECK(any.answers.size() == 4);  // SOA and three NS
  CHECK(RecordText(any.answers[0]).find("CONSUL. 0 SOA ns.consul. hostmaster.consul.") == 0);
}

TEST_CASE("NS with no healthy server is NODATA") {
  Asker asker;
  const AnswerSections ns = asker.Ask("roster", kTypeNs);
  CHECK(ns.rcode == kRcodeNoError);
  CHECK(ns.answers.empty());
  CHECK(Texts(ns.authority, false) == Texts_{kSoa});
}

TEST_CASE("answers are shuffled per response, reproducibly from the Random") {
  const auto order = [](std::uint64_t seed) {
    Asker asker;
    asker.random = DeterministicRandom(seed);
    std::vector<DnsInstance>& many = asker.catalog.services["many"];
    for (int i = 1; i <= 20; ++i)
      many.push_back(On(Node("m" + std::to_string(i), "10.2.0." + std::to_string(i)), 80));
    return Texts(asker.Ask("many.service.roster", kTypeA).answers, false);
  };
  CHECK(order(1) == order(1));
  const Texts_ first = order(1);
  CHECK(std::set<std::string>(first.begin(), first.end()).size() == 20);
  std::set<Texts_> orders;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) orders.insert(order(seed));
  CHECK(orders.size() == 5);  // 20! orders: five seeds colliding would be a broken shuffle
}

TEST_CASE("node meta as TXT: RFC 1464 escapes, rfc1035- keys, 255-octet strings") {
  const auto text = [](std::string_view key, std::string_view value) {
    return NodeMetaTxt(key, value).strings;
  };
  CHECK(text("rack", "r1") == Texts_{"rack=r1"});
  CHECK(text("a=b", "c=d") == Texts_{"a`=b=c=d"});
  CHECK(text("a`b", "c`d") == Texts_{"a``b=c``d"});
  CHECK(text("  k ", "v") == Texts_{"` ` k` =v"});
  CHECK(text("rfc1035-note", "v=spf1 -all") == Texts_{"v=spf1 -all"});
  CHECK(text("RFC1035-x", "raw") == Texts_{"raw"});
  CHECK(text("rfc1035-empty", "") == Texts_{""});
  const Texts_ split = text("k", std::string(600, 'v'));
  REQUIRE(split.size() == 3);
  CHECK(split[0].size() == 255);
  CHECK(split[1].size() == 255);
  CHECK(split[2].size() == 2 + 600 - 510);
}

}  // namespace
}  // namespace roster::dns
