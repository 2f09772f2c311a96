// The name forms of consul-api.md §5.2, table-driven.
#include "dns/names.h"

#include <string>

#include "dns/message.h"
#include "tests/unit/dns/fixtures.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::dns {
namespace {

using namespace testing;

Domains DefaultDomains() { return *ParseDomains("roster.", "consul."); }

struct Expected {
  NameForm form;
  std::string domain;
  std::string datacenter;
  std::string service;
  std::string tag;
  std::string node;
  std::vector<std::uint8_t> address;
};

void CheckParse(std::string_view text, std::uint16_t type, const Expected& want,
                const Domains& domains = DefaultDomains()) {
  INFO(text << " type " << type);
  const QueryName got = ParseQueryName(Name(text), domains, type);
  CHECK(got.form == want.form);
  if (want.form != NameForm::kNotOurs) CHECK(got.domain.ToString() == want.domain);
  CHECK(got.datacenter == want.datacenter);
  CHECK(got.service == want.service);
  CHECK(got.tag == want.tag);
  CHECK(got.node == want.node);
  CHECK(got.address == want.address);
}

TEST_CASE("service forms, with tags, RFC 2782 names and datacenters") {
  const struct {
    const char* name;
    std::uint16_t type;
    Expected want;
  } cases[] = {
      {"web.service.roster.", kTypeA, {NameForm::kService, "roster.", "", "web", "", "", {}}},
      {"web.service.consul.", kTypeA, {NameForm::kService, "consul.", "", "web", "", "", {}}},
      {"WEB.Service.ROSTER.", kTypeA, {NameForm::kService, "roster.", "", "web", "", "", {}}},
      {"web.service.dc2.roster.",
       kTypeA,
       {NameForm::kService, "roster.", "dc2", "web", "", "", {}}},
      {"v1.web.service.roster.", kTypeA, {NameForm::kService, "roster.", "", "web", "v1", "", {}}},
      {"a.b.web.service.roster.",
       kTypeA,
       {NameForm::kService, "roster.", "", "web", "a.b", "", {}}},
      {"_web._tcp.service.roster.",
       kTypeSrv,
       {NameForm::kService, "roster.", "", "web", "", "", {}}},
      {"_web._v1.service.roster.",
       kTypeSrv,
       {NameForm::kService, "roster.", "", "web", "v1", "", {}}},
      {"_web._tcp.service.dc1.consul.",
       kTypeSrv,
       {NameForm::kService, "consul.", "dc1", "web", "", "", {}}},
      // SRV questions may leave out the `service` label (Consul's shortcut)...
      {"_web._tcp.roster.", kTypeSrv, {NameForm::kService, "roster.", "", "web", "", "", {}}},
      {"_web._tcp.dc2.roster.",
       kTypeSrv,
       {NameForm::kService, "roster.", "dc2", "web", "", "", {}}},
      // ...but only SRV questions.
      {"_web._tcp.roster.", kTypeA, {NameForm::kUnknown, "roster.", "", "", "", "", {}}},
      // One underscore label is the plain form: the service is "_web".
      {"_web.service.roster.", kTypeA, {NameForm::kService, "roster.", "", "_web", "", "", {}}},
  };
  for (const auto& c : cases) CheckParse(c.name, c.type, c.want);
}

TEST_CASE("node and addr forms") {
  const struct {
    const char* name;
    Expected want;
  } cases[] = {
      {"n1.node.roster.", {NameForm::kNode, "roster.", "", "", "", "n1", {}}},
      {"N1.NODE.dc1.CONSUL.", {NameForm::kNode, "consul.", "dc1", "", "", "n1", {}}},
      {"host.example.node.roster.", {NameForm::kNode, "roster.", "", "", "", "host.example", {}}},
      {"0a000001.addr.roster.", {NameForm::kAddress, "roster.", "", "", "", "", {10, 0, 0, 1}}},
      {"C0A80001.addr.dc1.roster.",
       {NameForm::kAddress, "roster.", "dc1", "", "", "", {192, 168, 0, 1}}},
      {"fe800000000000000000000000000001.addr.roster.",
       {NameForm::kAddress,
        "roster.",
        "",
        "",
        "",
        "",
        {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}},
  };
  for (const auto& c : cases) CheckParse(c.name, kTypeA, c.want);
}

TEST_CASE("names under the domain in no known form are kUnknown (NXDOMAIN)") {
  for (const char* text : {
           "service.roster.",                // no service
           "node.roster.",                   // no node
           "dc1.roster.",                    // no kind
           "x.y.roster.",                    // no kind
           "web.service.dc1.extra.roster.",  // two labels after the kind
           "0a00001.addr.roster.",           // 7 hex digits
           "0a0000011.addr.roster.",         // 9 hex digits
           "0a00000g.addr.roster.",          // not hex
           "a.0a000001.addr.roster.",        // two labels before addr
           "web.connect.roster.",            // mesh and prepared-query forms are not served
           "web.query.roster.",
           "_._tcp.service.roster.",  // an empty service name
       }) {
    CheckParse(text, kTypeA, {NameForm::kUnknown, "roster.", "", "", "", "", {}});
  }
  CheckParse("web.service.dc1.extra.consul.", kTypeA,
             {NameForm::kUnknown, "consul.", "", "", "", "", {}});
}

TEST_CASE("the domain itself is the apex, in either case") {
  CheckParse("roster.", kTypeSoa, {NameForm::kApex, "roster.", "", "", "", "", {}});
  CheckParse("CONSUL.", kTypeNs, {NameForm::kApex, "consul.", "", "", "", "", {}});
}

TEST_CASE("names under neither domain are not ours") {
  for (const char* text : {"example.com.", "roster.example.com.", "web.service.rooster.", "."}) {
    CheckParse(text, kTypeA, {NameForm::kNotOurs, "", "", "", "", "", {}});
  }
}

TEST_CASE("multi-label domains, and the longer domain wins when one ends the other") {
  const Domains nested = *ParseDomains("roster.example.com.", "example.com.");
  CheckParse("web.service.roster.example.com.", kTypeA,
             {NameForm::kService, "roster.example.com.", "", "web", "", "", {}}, nested);
  CheckParse("web.service.example.com.", kTypeA,
             {NameForm::kService, "example.com.", "", "web", "", "", {}}, nested);
  const Domains reversed = *ParseDomains("example.com.", "roster.example.com.");
  CheckParse("n1.node.roster.example.com.", kTypeA,
             {NameForm::kNode, "roster.example.com.", "", "", "", "n1", {}}, reversed);
}

TEST_CASE("without an alt_domain only the domain is ours") {
  const Domains only = *ParseDomains("roster.", "");
  CHECK(!only.alt_domain.has_value());
  CheckParse("web.service.consul.", kTypeA, {NameForm::kNotOurs, "", "", "", "", "", {}}, only);
  CHECK(!ParseDomains(".", "consul.").ok());
  CHECK(!ParseDomains("roster.", "a..b").ok());
}

}  // namespace
}  // namespace roster::dns
