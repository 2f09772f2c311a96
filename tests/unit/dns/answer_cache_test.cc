// The answer cache (dns/answer_cache.h) behind the Responder: a cached reply is the
// reply the slow path would give but for the ID, the question's case and the order of
// the answers; the order is new per reply; a catalog change is seen by the next query;
// cut (TC) replies are never reused; the cache stays within its bound.
#include "dns/answer_cache.h"

#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/random.h"
#include "dns/responder.h"
#include "tests/unit/dns/fixtures.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::dns {
namespace {

using namespace testing;

// Ten instances of `web`: eight nodes with meta (two nodes carry two instances each,
// so two SRV records share a target), and one instance with an address of its own.
struct Cluster {
  FakeCatalog catalog;
  FakeClock clock{1700000000123};
  DeterministicRandom random{7};
  DnsConfig config;

  Cluster() {
    for (int i = 0; i < 10; ++i) {
      const int node = i < 8 ? i : i - 8;  // n0 and n1 run two instances
      DnsInstance instance =
          Instance("Node" + std::to_string(node), "10.0.0." + std::to_string(node + 1),
                   static_cast<std::uint16_t>(8000 + i));
      instance.node.meta = {{"rack", "r" + std::to_string(node % 3)}};
      if (i == 9) instance.service_address = "10.7.0.9";
      catalog.services["web"].push_back(std::move(instance));
    }
    for (int i = 0; i < 200; ++i) {
      catalog.services["big"].push_back(
          Instance("big" + std::to_string(i),
                   "10.9." + std::to_string(i / 250) + "." + std::to_string(i % 250), 80));
    }
  }
};

Message Parsed(const DnsReply& reply) {
  REQUIRE(reply.action == ReplyAction::kSend);
  return MustParse(reply.bytes);
}

Message AskedAs(std::string_view name, std::uint16_t type, std::uint16_t id) {
  return WithEdns(Query(name, type, id), 4096);
}

// Two replies say the same but for the ID and the order of records within sections.
void CheckSameModuloOrder(const Message& cached, const Message& uncached) {
  CHECK(cached.header.rcode == uncached.header.rcode);
  CHECK(cached.header.truncated == uncached.header.truncated);
  CHECK(cached.header.authoritative == uncached.header.authoritative);
  CHECK(cached.header.recursion_desired == uncached.header.recursion_desired);
  CHECK(cached.questions.size() == uncached.questions.size());
  CHECK(Texts(cached.answers, true) == Texts(uncached.answers, true));
  CHECK(Texts(cached.authority, true) == Texts(uncached.authority, true));
  CHECK(Texts(cached.additional, true) == Texts(uncached.additional, true));
  CHECK(cached.edns.has_value() == uncached.edns.has_value());
}

TEST_CASE("a cached reply is the built one but for ID, question case and record order") {
  Cluster cluster;
  const Responder cached(cluster.config, cluster.catalog, cluster.clock);
  const Responder uncached(cluster.config, cluster.catalog, cluster.clock,
                           /*cached_answers_max=*/0);
  REQUIRE(uncached.answer_cache() == nullptr);
  for (const std::uint16_t type : {kTypeA, kTypeSrv}) {
    const std::size_t calls_before = cluster.catalog.calls.size();
    const DnsReply first = cached.Respond(Encode(AskedAs("web.service.roster", type, 1)),
                                          Transport::kUdp, cluster.random);
    // Built: one catalog read for the version, one for the answer.
    CHECK(cluster.catalog.calls.size() == calls_before + 2);
    for (std::uint16_t id = 2; id < 40; ++id) {
      const std::string name = id % 2 ? "WEB.service.Roster" : "web.Service.roster";
      const Bytes query = Encode(AskedAs(name, type, id));
      const std::size_t calls = cluster.catalog.calls.size();
      const DnsReply hit = cached.Respond(query, Transport::kUdp, cluster.random);
      CHECK(cluster.catalog.calls.size() == calls + 1);  // from the cache: the version only
      const DnsReply built = uncached.Respond(query, Transport::kUdp, cluster.random);
      CHECK(hit.bytes.size() == built.bytes.size());
      CHECK(hit.bytes.substr(0, 12) == built.bytes.substr(0, 12));  // ID, flags, counts
      const Message hit_message = Parsed(hit);
      CHECK(hit_message.header.id == id);
      CHECK(hit_message.questions[0].name.ToString() == name + ".");
      CheckSameModuloOrder(hit_message, Parsed(built));
    }
    CheckSameModuloOrder(Parsed(first),
                         Parsed(uncached.Respond(Encode(AskedAs("web.service.roster", type, 1)),
                                                 Transport::kUdp, cluster.random)));
  }
  CHECK(cached.answer_cache()->size() == 2);
}

TEST_CASE("SRV targets moved by the shuffle keep their additional records pointing at them") {
  Cluster cluster;
  const Responder responder(cluster.config, cluster.catalog, cluster.clock);
  const Bytes query = Encode(AskedAs("web.service.roster", kTypeSrv, 9));
  for (int i = 0; i < 30; ++i) {
    const Message reply = Parsed(responder.Respond(query, Transport::kUdp, cluster.random));
    REQUIRE(reply.answers.size() == 10);
    std::set<std::string> targets;
    for (const ResourceRecord& record : reply.answers) {
      targets.insert(std::get<SrvData>(record.data).target.ToString());
    }
    CHECK(targets.size() == 9);  // n0 and n1 twice, 10.7.0.9 as an addr target
    for (const ResourceRecord& record : reply.additional) {
      CHECK(targets.count(record.name.ToString()) == 1);  // a pointer that moved along
    }
  }
}

TEST_CASE("the answer order varies over replies from the cache") {
  Cluster cluster;
  const Responder responder(cluster.config, cluster.catalog, cluster.clock);
  for (const std::uint16_t type : {kTypeA, kTypeSrv}) {
    const Bytes query = Encode(AskedAs("web.service.roster", type, 3));
    std::set<std::vector<std::string>> orders;
    std::set<std::string> firsts;
    for (int i = 0; i < 200; ++i) {
      const Message reply = Parsed(responder.Respond(query, Transport::kUdp, cluster.random));
      orders.insert(Texts(reply.answers, false));
      firsts.insert(RecordText(reply.answers.front()));
    }
    CHECK(orders.size() > 190);                           // 9! and 10! orders: repeats are rare
    CHECK(firsts.size() == (type == kTypeA ? 9u : 10u));  // every record gets to be first
  }
}

TEST_CASE("a change to the service's instances is seen by the very next query") {
  Cluster cluster;
  const Responder responder(cluster.config, cluster.catalog, cluster.clock);
  const Bytes query = Encode(AskedAs("web.service.roster", kTypeA, 4));
  CHECK(Parsed(responder.Respond(query, Transport::kUdp, cluster.random)).answers.size() == 9);
  CHECK(Parsed(responder.Respond(query, Transport::kUdp, cluster.random)).answers.size() == 9);

  cluster.catalog.services["web"].push_back(Instance("n99", "10.0.0.99", 80));
  CHECK(Parsed(responder.Respond(query, Transport::kUdp, cluster.random)).answers.size() == 10);

  for (DnsInstance& instance : cluster.catalog.services["web"]) {
    instance.health = DnsHealth::kCritical;
  }
  const Message gone = Parsed(responder.Respond(query, Transport::kUdp, cluster.random));
  CHECK(gone.header.rcode == kRcodeNxDomain);
  CHECK(gone.answers.empty());
}

TEST_CASE("the question comes back in the client's case from the cache") {
  Cluster cluster;
  const Responder responder(cluster.config, cluster.catalog, cluster.clock);
  responder.Respond(Encode(Query("web.service.roster", kTypeA)), Transport::kUdp, cluster.random);
  const Bytes query = Encode(Query("wEb.SeRvIcE.rOsTeR", kTypeA, 0x0b0b));
  const DnsReply reply = responder.Respond(query, Transport::kUdp, cluster.random);
  const std::size_t question_end = 12 + 20 + 4;
  CHECK(ToBytes(reply.bytes.substr(12, question_end - 12)) ==
        Bytes(query.begin() + 12, query.begin() + question_end));
  const Message parsed = Parsed(reply);
  CHECK(parsed.header.id == 0x0b0b);
  for (const ResourceRecord& record : parsed.answers) {
    CHECK(record.name.ToString() == "wEb.SeRvIcE.rOsTeR.");
  }
}

TEST_CASE("replies cut to fit are never reused: TC stays right for large answers") {
  Cluster cluster;
  const Responder cached(cluster.config, cluster.catalog, cluster.clock);
  const Responder uncached(cluster.config, cluster.catalog, cluster.clock, 0);
  const Bytes udp_query = Encode(Query("big.service.roster", kTypeA, 5));
  for (int i = 0; i < 3; ++i) {
    const Message reply = Parsed(cached.Respond(udp_query, Transport::kUdp, cluster.random));
    CHECK(reply.header.truncated);
    CHECK(reply.answers.size() ==
          Parsed(uncached.Respond(udp_query, Transport::kUdp, cluster.random)).answers.size());
    CHECK(reply.answers.size() < 200);
  }
  CHECK(cached.answer_cache()->size() == 0);

  // Over TCP the whole answer fits: cached, and still whole and without TC.
  for (int i = 0; i < 3; ++i) {
    const Message reply = Parsed(cached.Respond(udp_query, Transport::kTcp, cluster.random));
    CHECK_FALSE(reply.header.truncated);
    CHECK(reply.answers.size() == 200);
  }
  CHECK(cached.answer_cache()->size() == 1);
}

TEST_CASE("answers whose records depend on the shuffle are not cached") {
  Cluster cluster;
  cluster.config.a_record_limit = 3;  // which 3 of 9 addresses is the shuffle's choice
  const Responder responder(cluster.config, cluster.catalog, cluster.clock);
  const Bytes query = Encode(Query("web.service.roster", kTypeA));
  std::set<std::vector<std::string>> chosen;
  for (int i = 0; i < 50; ++i) {
    const Message reply = Parsed(responder.Respond(query, Transport::kUdp, cluster.random));
    CHECK(reply.answers.size() == 3);
    chosen.insert(Texts(reply.answers, true));
  }
  CHECK(chosen.size() > 10);
  CHECK(responder.answer_cache()->size() == 0);
  // Negative answers carry the SOA, whose serial is the clock: not cached either.
  responder.Respond(Encode(Query("nope.service.roster", kTypeA)), Transport::kUdp, cluster.random);
  CHECK(responder.answer_cache()->size() == 0);
}

TEST_CASE("the cache never holds more than its bound") {
  Cluster cluster;
  for (int i = 0; i < 100; ++i) {
    cluster.catalog.services["s" + std::to_string(i)] = {Instance("n", "10.0.0.1", 80)};
  }
  const Responder responder(cluster.config, cluster.catalog, cluster.clock,
                            /*cached_answers_max=*/20);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 100; ++i) {
      const Bytes query = Encode(Query("s" + std::to_string(i) + ".service.roster", kTypeA));
      CHECK(Parsed(responder.Respond(query, Transport::kUdp, cluster.random)).answers.size() == 1);
      CHECK(responder.answer_cache()->size() <= 20);
    }
  }
  CHECK(responder.answer_cache()->size() > 0);

  AnswerCache tiny(3);
  for (int i = 0; i < 50; ++i) {
    tiny.Insert("key" + std::to_string(i), std::make_shared<const CachedAnswer>());
    CHECK(tiny.size() <= 3);
  }
}

TEST_CASE("a query whose name uses a compression pointer is answered without the cache") {
  // web.service.roster A with the question name as a pointer to itself is malformed;
  // KeyOf refuses any pointer so the slow path decides.
  const Bytes query = Hex("4242 0100 0001 0000 0000 0000 c00c 0001 0001");
  std::string key;
  CHECK_FALSE(AnswerCache::KeyOf(query, Transport::kUdp, &key));
  const Bytes plain = Hex("4242 0100 0001 0000 0000 0000 03 574542 00 0001 0001");
  REQUIRE(AnswerCache::KeyOf(plain, Transport::kUdp, &key));
  CHECK(key.find("web") != std::string::npos);  // folded to lowercase
  std::string tcp_key;
  REQUIRE(AnswerCache::KeyOf(plain, Transport::kTcp, &tcp_key));
  CHECK(tcp_key != key);
}

TEST_CASE("a reply written over a worker's reused buffers is the one a fresh call gives") {
  // Two responders over the same catalog see the same queries, so their caches fill
  // alike: one answers into the same DnsReply and key buffer every time (as a UDP worker
  // does), the other returns a new reply. Same seeds, so the octets must be equal.
  Cluster cluster;
  const Responder reusing(cluster.config, cluster.catalog, cluster.clock);
  const Responder fresh(cluster.config, cluster.catalog, cluster.clock);
  Bytes response = Encode(AskedAs("web.service.roster", kTypeA, 6));
  response[2] |= 0x80;  // QR: dropped
  const std::vector<Bytes> queries = {
      Encode(AskedAs("web.service.roster", kTypeA, 1)),  // built, then cached
      Encode(AskedAs("WEB.service.roster", kTypeA, 2)),  // from the cache
      Encode(Query("big.service.roster", kTypeA, 3)),    // cut, TC: built every time
      Encode(AskedAs("web.service.roster", kTypeSrv, 4)),
      Hex("0005 0000 0001 0000 0000 0000 c00c 0001 0001"),  // FORMERR
      response,
      Encode(Query("www.example.com", kTypeA, 7)),         // not ours
      Encode(AskedAs("web.service.roster", kTypeSrv, 8)),  // from the cache
      Encode(AskedAs("web.service.roster", kTypeA, 9)),
  };
  DnsReply reply;
  std::string key;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    DeterministicRandom random(i);
    DeterministicRandom same_random(i);
    reusing.Respond(queries[i], Transport::kUdp, random, &reply, &key);
    const DnsReply expected = fresh.Respond(queries[i], Transport::kUdp, same_random);
    INFO("query " << i);
    CHECK(reply.action == expected.action);
    CHECK(reply.bytes == expected.bytes);
    CHECK(reply.reason == expected.reason);
  }
  CHECK(reusing.answer_cache()->size() == fresh.answer_cache()->size());
}

TEST_CASE("a key written over a used buffer is the one written into an empty one") {
  std::string key = std::string(300, 'x');  // longer than any key below
  for (const Bytes& query : {Encode(AskedAs("Web.Service.Roster", kTypeA, 1)),
                             Encode(Query("web.service.roster", kTypeSrv, 2))}) {
    REQUIRE(AnswerCache::KeyOf(query, Transport::kUdp, &key));
    std::string fresh;
    REQUIRE(AnswerCache::KeyOf(query, Transport::kUdp, &fresh));
    CHECK(key == fresh);
  }
  CHECK_FALSE(AnswerCache::KeyOf(Hex("0102 03"), Transport::kUdp, &key));
}

}  // namespace
}  // namespace roster::dns
