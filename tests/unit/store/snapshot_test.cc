// Snapshots round-trip the whole store exactly, and damaged ones are refused cleanly.
#include <string>

#include "base/crc32c.h"
#include "base/random.h"
#include "store/command.h"
#include "store/encoding.h"
#include "store/store.h"
#include "tests/unit/store/fixtures.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::store {
namespace {

using namespace testing;

// A store with entries, flags, binary values, tombstones of both kinds, a reap, and
// commands after the last KV change (so last applied > table index).
Store PopulatedStore() {
  Store store;
  store.Apply(1, "");
  store.Apply(2, Encode(KvSet{"web/a", "1", 7}));
  store.Apply(3, Encode(KvSet{"web/b", std::string("\0\xff", 2), 0}));
  store.Apply(4, Encode(KvSet{"db/x", std::string(1000, 'x'), ~std::uint64_t{0}}));
  store.Apply(5, Encode(KvSet{"web/a", "2", 7}));
  store.Apply(6, Encode(KvDelete{"web/b"}));
  store.Apply(7, Encode(KvSet{"tmp/1", "t", 0}));
  store.Apply(8, Encode(KvDeleteTree{"tmp/"}));
  store.Apply(9, Encode(KvSet{"old/1", "o", 0}));
  store.Apply(10, Encode(KvDelete{"old/1"}));
  store.Apply(11, Encode(KvReapTombstones{6}));  // reaps web/b only
  store.Apply(12, "");
  return store;
}

TEST_CASE("a snapshot restores every entry, tombstone and index exactly") {
  Store original = PopulatedStore();
  Store restored;
  REQUIRE(restored.Restore(original.Snapshot()).ok());

  CHECK(restored.last_applied_index() == 12);
  CHECK(restored.kv().TableIndex() == 10);
  CHECK(restored.kv().entries() == original.kv().entries());
  CHECK(restored.kv().tombstones() == original.kv().tombstones());
  CHECK(restored.kv().tombstones() == KvTable::Tombstones{{"old/1", 10}, {"tmp/", 8}});
  CHECK(restored.kv().entries().size() == 2);
  for (const auto& [key, entry] : original.kv().entries()) {
    INFO(key);
    CHECK(restored.kv().Get(key) == entry);
    CHECK(restored.kv().KeyIndex(key) == original.kv().KeyIndex(key));
  }
  for (const char* prefix : {"", "web/", "db/", "tmp/", "old/", "none"}) {
    CHECK(restored.kv().PrefixIndex(prefix) == original.kv().PrefixIndex(prefix));
  }
  CHECK(restored == original);
  CHECK(restored.Snapshot() == original.Snapshot());
}

TEST_CASE("an empty store round-trips") {
  Store original;
  Store restored = PopulatedStore();
  REQUIRE(restored.Restore(original.Snapshot()).ok());
  CHECK(restored == original);
  CHECK(restored.last_applied_index() == 0);
}

TEST_CASE("a restored store applies later commands exactly like the original") {
  Store original = PopulatedStore();
  Store restored;
  REQUIRE(restored.Restore(original.Snapshot()).ok());
  for (Store* store : {&original, &restored}) {
    store->Apply(13, Encode(KvCas{"web/a", "3", 0, 5}));
    store->Apply(14, Encode(KvSet{"web/b", "again", 0}));
  }
  CHECK(restored == original);
  CHECK(restored.kv().Get("web/a")->value == "3");
}

// PopulatedStore plus nodes, checks of every status, sessions of both behaviors with
// node and service checks, and keys they hold.
Store StoreWithEverything() {
  Store store = PopulatedStore();
  HealthCheck web = ServiceCheck("web", "web-1", HealthStatus::kWarning);
  web.notes = "notes";
  web.output = "HTTP GET: 200";
  web.type = "http";
  web.definition.http = "http://10.0.0.1/health";
  web.definition.header = {{"Accept", {"text/plain", "*/*"}}};
  web.definition.interval_ns = 10'000'000'000;
  NodeService service = Service("web-1", "web", {"v1", "primary"}, 8080);
  service.address = "10.0.0.9";
  service.tagged_addresses = {{"wan", ServiceAddress{"198.51.100.1", 80}}};
  service.meta = {{"version", "1.2"}};
  service.weights = ServiceWeights{10, 1};
  service.enable_tag_override = true;
  CatalogRegister command{"n1", "id-n1", "10.0.0.1",
                          {Check("serfHealth", HealthStatus::kPassing), web,
                           Check("down", HealthStatus::kCritical)}};
  command.service = service;
  command.datacenter = "dc1";
  command.tagged_addresses = {{"lan", "10.0.0.1"}, {"wan", "198.51.100.1"}};
  command.node_meta = {{"rack", "r1"}};
  store.Apply(13, Encode(command));
  Register(store, 14, "n2");
  Session bound = NewSession("s1", "n1", SessionBehavior::kDelete, {"serfHealth"});
  bound.service_checks = {ServiceCheckRef{"web", "ns"}};
  bound.ttl_ms = 10000;
  CreateSession(store, 15, bound);
  CreateSession(store, 16, NewSession("s2", "n2"));
  Lock(store, 17, "web/a", "s1", "held", 9);
  Lock(store, 18, "lock", "s2");
  Unlock(store, 19, "lock", "s2");
  Lock(store, 20, "lock", "s2");
  return store;
}

TEST_CASE("a snapshot restores sessions, nodes, services and checks exactly") {
  Store original = StoreWithEverything();
  Store restored;
  REQUIRE(restored.Restore(original.Snapshot()).ok());
  CHECK(restored.sessions() == original.sessions());
  CHECK(restored.catalog() == original.catalog());
  CHECK(restored.kv() == original.kv());
  CHECK(restored == original);
  CHECK(restored.Snapshot() == original.Snapshot());
  CHECK(restored.sessions().Find("s1")->service_checks ==
        std::vector<ServiceCheckRef>{{"web", "ns"}});
  CHECK(restored.catalog().FindCheck("n1", "web")->output == "HTTP GET: 200");
  CHECK(restored.catalog().FindCheck("n1", "web")->definition.header.at("Accept").size() == 2);
  CHECK(restored.catalog().FindService("n1", "web-1")->weights.passing == 10);
  CHECK(restored.catalog().FindNode("n1")->meta.at("rack") == "r1");
  CHECK(restored.catalog().service_indexes() == original.catalog().service_indexes());
  CHECK(restored.catalog().node_indexes() == original.catalog().node_indexes());
  CHECK(restored.catalog().InstancesOf("web").size() == 1);
  CHECK(restored.kv().KeysHeldBy("s1") == std::vector<std::string>{"web/a"});
  CHECK(restored.sessions().IdsBoundTo("n1", "web") == std::vector<std::string>{"s1"});
  CHECK(restored.sessions().TableIndex() == 16);
  CHECK(restored.catalog().NodesIndex() == 14);
  CHECK(restored.catalog().ChecksIndex() == 13);

  SECTION("and the restored store ends sessions exactly like the original") {
    for (Store* store : {&original, &restored}) {
      ApplyResult result = Register(*store, 21, "n1", {Check("web", HealthStatus::kCritical)});
      CHECK(result.invalidated_sessions.at(0).keys == std::vector<std::string>{"web/a"});
      Deregister(*store, 22, "n2");
    }
    CHECK(restored == original);
    CHECK(restored.kv().Get("lock")->session.empty());
  }
}

TEST_CASE("random histories round-trip through a snapshot and apply alike afterwards") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    DeterministicRandom random(seed);
    Store original;
    for (Index index = 1; index <= 200; ++index) {
      original.Apply(index, RandomCommand(random, original));
    }
    Store restored;
    REQUIRE(restored.Restore(original.Snapshot()).ok());
    REQUIRE(restored == original);
    for (Index index = 201; index <= 300; ++index) {
      const std::string command = RandomCommand(random, original);
      ApplyResult one = original.Apply(index, command);
      ApplyResult two = restored.Apply(index, command);
      CHECK(one.ok == two.ok);
      CHECK(one.error == two.error);
      CHECK(one.changes == two.changes);
      CHECK(one.invalidated_sessions == two.invalidated_sessions);
      CHECK(one.txn == two.txn);
    }
    CHECK(restored == original);
  }
}

// A check as the catalog stores it: on node n1, stamped with index 1.
HealthCheck StoredCheck(std::string check_id, HealthStatus status) {
  HealthCheck check = Check(std::move(check_id), status);
  check.node = "n1";
  check.create_index = 1;
  check.modify_index = 1;
  return check;
}

TEST_CASE("a snapshot whose tables contradict each other is Corruption") {
  auto read = [](const StoreState& state) { return ReadSnapshot(WriteSnapshot(state)).status(); };
  StoreState state;
  state.last_applied_index = 9;
  CatalogTable::Checks checks;
  checks["n1"]["up"] = StoredCheck("up", HealthStatus::kPassing);
  checks["n1"]["down"] = StoredCheck("down", HealthStatus::kCritical);
  Node node;
  node.name = "n1";
  node.create_index = node.modify_index = 1;
  state.catalog = *CatalogTable::FromParts({.nodes = {{"n1", node}},
                                            .checks = std::move(checks),
                                            .indexes = {.nodes = 1, .checks = 1},
                                            .node_indexes = {{"n1", 1}}});
  REQUIRE(read(state).ok());
  auto with_session = [&state](Session session) {
    session.create_index = session.modify_index = 2;
    StoreState copy = state;
    copy.sessions = *SessionTable::FromParts({{session.id, session}}, 2);
    return copy;
  };
  REQUIRE(read(with_session(NewSession("s1", "n1", SessionBehavior::kRelease, {"up"}))).ok());

  SECTION("a session on a missing node") {
    CHECK(read(with_session(NewSession("s1", "n9"))).code() == StatusCode::kCorruption);
  }
  SECTION("a session bound to a missing or critical check") {
    CHECK_FALSE(read(with_session(NewSession("s1", "n1", SessionBehavior::kRelease, {"x"}))).ok());
    CHECK_FALSE(
        read(with_session(NewSession("s1", "n1", SessionBehavior::kRelease, {"down"}))).ok());
  }
  SECTION("a key held by a missing session") {
    StoreState copy = with_session(NewSession("s1", "n1"));
    copy.kv = *KvTable::FromParts({{"k", DirEntry{"k", "v", 0, 3, 3, 1, "ghost"}}}, {}, 3);
    CHECK_FALSE(read(copy).ok());
    copy.kv = *KvTable::FromParts({{"k", DirEntry{"k", "v", 0, 3, 3, 1, "s1"}}}, {}, 3);
    CHECK(read(copy).ok());
  }
  SECTION("a table index beyond the last applied index") {
    StoreState copy = with_session(NewSession("s1", "n1"));
    copy.last_applied_index = 1;
    CHECK_FALSE(read(copy).ok());
  }
}

TEST_CASE("a truncated snapshot is Corruption and leaves the store unchanged") {
  const std::string snapshot = StoreWithEverything().Snapshot();
  Store store;
  store.Apply(1, Encode(KvSet{"keep", "me", 0}));
  const Store before = store;
  for (std::size_t size = 0; size < snapshot.size(); ++size) {
    Status status = store.Restore(std::string_view(snapshot).substr(0, size));
    INFO("cut to " << size << " of " << snapshot.size() << " bytes");
    CHECK(status.code() == StatusCode::kCorruption);
  }
  CHECK(store == before);
}

TEST_CASE("a snapshot with any flipped bit is Corruption") {
  const std::string snapshot = StoreWithEverything().Snapshot();
  for (std::size_t at = 0; at < snapshot.size(); ++at) {
    std::string damaged = snapshot;
    damaged[at] = static_cast<char>(damaged[at] ^ (1 << (at % 8)));
    Store store;
    INFO("bit flipped in byte " << at);
    CHECK(store.Restore(damaged).code() == StatusCode::kCorruption);
  }
}

// Snapshot bytes built by hand, with a valid checksum for their version (the byte after
// the magic), to reach the checks behind it.
std::string Sealed(std::string content) {
  const bool crc32c = content.size() > 4 && static_cast<std::uint8_t>(content[4]) >= 3;
  Writer(&content).FixedU32(crc32c ? Crc32c(content) : LegacyCrc32(content));
  return content;
}

std::string Header(std::uint8_t version, Index last_applied) {
  std::string out = "RSNP";
  Writer w(&out);
  w.U8(version);
  w.Varint(last_applied);
  return out;
}

// A kv section with one entry (key, create, modify) and no tombstones.
std::string KvSection(Index table_index, std::string key, Index create, Index modify) {
  std::string body;
  Writer w(&body);
  w.Varint(table_index);
  w.Varint(1);
  w.Bytes(key);
  w.Bytes("value");
  w.Varint(0);
  w.Varint(create);
  w.Varint(modify);
  w.Varint(0);
  w.Bytes("");
  w.Varint(0);
  std::string section;
  Writer s(&section);
  s.U8(1);
  s.Bytes(body);
  return section;
}

TEST_CASE("a well-formed snapshot that breaks an invariant is Corruption") {
  Store store;
  SECTION("the hand-built form is accepted when it is consistent") {
    REQUIRE(store.Restore(Sealed(Header(1, 9) + KvSection(5, "k", 2, 5))).ok());
    CHECK(store.kv().Get("k")->modify_index == 5);
  }
  SECTION("unknown version") {
    CHECK(store.Restore(Sealed(Header(5, 9) + KvSection(5, "k", 2, 5))).code() ==
          StatusCode::kCorruption);
    CHECK(store.Restore(Sealed(Header(0, 9) + KvSection(5, "k", 2, 5))).code() ==
          StatusCode::kCorruption);
  }
  SECTION("version 2 requires the sessions and catalog sections; version 1 allows none") {
    CHECK_FALSE(store.Restore(Sealed(Header(2, 9) + KvSection(5, "k", 2, 5))).ok());
    std::string empty_sessions = "\x02";
    Writer(&empty_sessions).Bytes(std::string("\x00\x00", 2));
    CHECK_FALSE(
        store.Restore(Sealed(Header(1, 9) + KvSection(5, "k", 2, 5) + empty_sessions)).ok());
  }
  SECTION("unknown section") {
    std::string unknown = "\x09";
    Writer(&unknown).Bytes("???");
    CHECK(store.Restore(Sealed(Header(1, 9) + KvSection(5, "k", 2, 5) + unknown)).code() ==
          StatusCode::kCorruption);
  }
  SECTION("missing or repeated kv section") {
    CHECK_FALSE(store.Restore(Sealed(Header(1, 9))).ok());
    std::string section = KvSection(5, "k", 2, 5);
    CHECK_FALSE(store.Restore(Sealed(Header(1, 9) + section + section)).ok());
  }
  SECTION("an entry newer than its table, or created after it was modified") {
    CHECK_FALSE(store.Restore(Sealed(Header(1, 9) + KvSection(4, "k", 2, 5))).ok());
    CHECK_FALSE(store.Restore(Sealed(Header(1, 9) + KvSection(5, "k", 3, 2))).ok());
    CHECK_FALSE(store.Restore(Sealed(Header(1, 9) + KvSection(5, "k", 0, 5))).ok());
  }
  SECTION("a table index beyond the last applied index") {
    CHECK_FALSE(store.Restore(Sealed(Header(1, 4) + KvSection(5, "k", 2, 5))).ok());
  }
  CHECK(store.last_applied_index() == (store.kv().entries().empty() ? 0 : 9));
}

// A section of `tag` around body.
std::string SectionOf(std::uint8_t tag, const std::string& body) {
  std::string section;
  Writer w(&section);
  w.U8(tag);
  w.Bytes(body);
  return section;
}

// A version 2 and 3 catalog section: node n1 (created at 2, modified at 3) with a
// passing serfHealth check at 3; nodes and checks indexes 3.
std::string FirstCatalogSection() {
  std::string body;
  Writer w(&body);
  w.Varint(3);  // nodes index
  w.Varint(3);  // checks index
  w.Varint(1);
  for (const char* field : {"n1", "id-1", "10.0.0.1"}) w.Bytes(field);
  w.Varint(2);
  w.Varint(3);
  w.Varint(1);  // checks
  w.Varint(3);
  w.Varint(3);
  w.Bytes("serfHealth");
  w.Bytes("Serf Health Status");
  w.U8(0);  // passing
  for (int i = 0; i < 4; ++i) w.Bytes("");  // notes, output, service id and name
  return SectionOf(3, body);
}

TEST_CASE("a version 3 snapshot, from before services, still restores") {
  const std::string sessions = SectionOf(2, std::string("\x00\x00", 2));
  Store store;
  REQUIRE(store.Restore(Sealed(Header(3, 9) + KvSection(5, "k", 2, 5) + sessions +
                               FirstCatalogSection()))
              .ok());
  const Node* node = store.catalog().FindNode("n1");
  REQUIRE(node != nullptr);
  CHECK(node->address == "10.0.0.1");
  CHECK(node->meta.empty());
  CHECK(store.catalog().FindCheck("n1", "serfHealth")->status == HealthStatus::kPassing);
  CHECK(store.catalog().NodeQueryIndex("n1") == 3);  // its modify index
  CHECK(store.catalog().ServicesIndex() == 0);
  CHECK(store.catalog().services().empty());

  // It is written back as the current version and services register on it.
  Store again;
  REQUIRE(again.Restore(store.Snapshot()).ok());
  CHECK(again == store);
  REQUIRE(RegisterService(again, 10, "n1", Service("web-1", "web")).ok);
  CHECK(again.catalog().InstancesOf("web").size() == 1);
}

TEST_CASE("a catalog whose per-name indexes disagree with its services is Corruption") {
  Store original;
  RegisterService(original, 1, "n1", Service("web-1", "web"));
  const CatalogTable& catalog = original.catalog();
  auto parts = [&catalog] {
    return CatalogTable::Parts{catalog.nodes(),         catalog.services(),
                               catalog.checks(),        catalog.indexes(),
                               catalog.node_indexes(),  catalog.service_indexes()};
  };
  REQUIRE(CatalogTable::FromParts(parts()).ok());
  CatalogTable::Parts no_name_index = parts();
  no_name_index.service_indexes.clear();
  CHECK_FALSE(CatalogTable::FromParts(no_name_index).ok());
  CatalogTable::Parts extra_name_index = parts();
  extra_name_index.service_indexes["gone"] = 1;
  CHECK_FALSE(CatalogTable::FromParts(extra_name_index).ok());
  CatalogTable::Parts no_node_index = parts();
  no_node_index.node_indexes.clear();
  CHECK_FALSE(CatalogTable::FromParts(no_node_index).ok());
  CatalogTable::Parts orphan = parts();
  orphan.services["n9"] = orphan.services["n1"];
  CHECK_FALSE(CatalogTable::FromParts(orphan).ok());
  CatalogTable::Parts with_check = parts();
  with_check.indexes.checks = 1;
  HealthCheck check = ServiceCheck("c", "web-1", HealthStatus::kPassing);
  check.node = "n1";
  check.service_name = "web";
  check.create_index = check.modify_index = 1;
  with_check.checks["n1"]["c"] = check;
  REQUIRE(CatalogTable::FromParts(with_check).ok());
  check.service_id = "api";  // no such service
  with_check.checks["n1"]["c"] = check;
  CHECK_FALSE(CatalogTable::FromParts(with_check).ok());
  check.service_id = "web-1";
  check.service_name = "www";  // not its service's name
  with_check.checks["n1"]["c"] = check;
  CHECK_FALSE(CatalogTable::FromParts(with_check).ok());
}

TEST_CASE("random bytes behind a valid header and checksum never crash the reader") {
  DeterministicRandom random(7);
  for (int round = 0; round < 2000; ++round) {
    std::string body;
    const std::uint64_t size = random.Uniform(64);
    for (std::uint64_t i = 0; i < size; ++i) body.push_back(static_cast<char>(random.Next()));
    if (random.OneIn(2)) body.insert(0, "\x01");  // often a kv section tag
    if (random.OneIn(3)) body.insert(0, "\x02");  // or a sessions tag
    Store store;
    const auto version = static_cast<std::uint8_t>(1 + random.Uniform(4));
    Status status = store.Restore(Sealed(Header(version, random.Uniform(100)) + body));
    CHECK((status.ok() || status.code() == StatusCode::kCorruption));
  }
}

}  // namespace
}  // namespace roster::store
