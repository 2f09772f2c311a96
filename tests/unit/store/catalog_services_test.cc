// Services in the catalog and the indexes Consul's state store keeps for them
// (consul-api.md §1.2, §2.2; Consul's state/catalog.go): per-service-name indexes, the
// last extinction index, watch keys that keep a blocking query on one service asleep
// through changes to others, the cascade of a deregistration, the ServiceID rule of a
// check, and sessions bound to service checks.
#include <string>
#include <vector>

#include "store/command.h"
#include "store/store.h"
#include "store/watch_set.h"
#include "tests/unit/store/fixtures.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::store {
namespace {

using namespace testing;
using Ids = std::vector<std::string>;

Ids EndedIds(const ApplyResult& result) {
  Ids ids;
  for (const InvalidatedSession& ended : result.invalidated_sessions) ids.push_back(ended.id);
  return ids;
}

Index NameIndex(const Store& store, const std::string& name) {
  auto it = store.catalog().service_indexes().find(name);
  return it == store.catalog().service_indexes().end() ? 0 : it->second;
}

// n1 carries web-1 (web) with check web-check; n2 carries web-2 (web) and db (db).
Store TwoNodes() {
  Store store;
  RegisterService(store, 1, "n1", Service("web-1", "web", {"v1"}),
                  {Check("serfHealth", HealthStatus::kPassing),
                   ServiceCheck("web-check", "web-1", HealthStatus::kPassing)});
  RegisterService(store, 2, "n2", Service("web-2", "web", {"v2"}));
  RegisterService(store, 3, "n2", Service("db", "db"));
  return store;
}

TEST_CASE("a registered service is stored under its node, stamped with the index") {
  Store store;
  NodeService web = Service("web-1", "web", {"primary"}, 8080);
  web.meta = {{"version", "1"}};
  ApplyResult result = RegisterService(store, 5, "n1", web,
                                       {ServiceCheck("web-check", "web-1", HealthStatus::kPassing)});
  REQUIRE(result.ok);
  const NodeService* stored = store.catalog().FindService("n1", "web-1");
  REQUIRE(stored != nullptr);
  CHECK(stored->tags == std::vector<std::string>{"primary"});
  CHECK(stored->port == 8080);
  CHECK(stored->weights == ServiceWeights{1, 1});
  CHECK(stored->create_index == 5);
  CHECK(stored->modify_index == 5);
  CHECK(store.catalog().FindCheck("n1", "web-check")->service_name == "web");
  CHECK(store.catalog().ServicesIndex() == 5);
  CHECK(store.catalog().NodesIndex() == 5);
  CHECK(store.catalog().ChecksIndex() == 5);
  CHECK(NameIndex(store, "web") == 5);
  CHECK(store.catalog().NodeQueryIndex("n1") == 5);
  CHECK(store.catalog().InstancesOf("web") ==
        CatalogTable::InstanceSet{{"n1", "web-1"}});
}

TEST_CASE("a re-registration of the same service changes nothing and wakes nobody") {
  Store store = TwoNodes();
  const Store before = store;
  ApplyResult same = RegisterService(store, 4, "n2", Service("db", "db"));
  CHECK(same.ok);
  CHECK(same.changes.empty());
  CHECK(store.catalog() == before.catalog());

  SECTION("a new tag is a change of the service, its node and its name") {
    ApplyResult changed = RegisterService(store, 5, "n2", Service("db", "db", {"replica"}));
    CHECK(store.catalog().FindService("n2", "db")->modify_index == 5);
    CHECK(store.catalog().FindService("n2", "db")->create_index == 3);
    CHECK(NameIndex(store, "db") == 5);
    CHECK(NameIndex(store, "web") == 2);
    CHECK(store.catalog().ServicesIndex() == 5);
    CHECK(changed.changes.tables == std::vector<Table>{Table::kServices, Table::kNodes});
  }
}

TEST_CASE("a blocking query on one service sleeps through changes to another") {
  Store store = TwoNodes();
  WatchSet watches;
  const WatchId web = watches.Add(WatchKey::Key(Table::kServices, "web"));
  const WatchId db = watches.Add(WatchKey::Key(Table::kServices, "db"));
  const WatchId all = watches.Add(WatchKey::WholeTable(Table::kServices));

  SECTION("a change to db wakes db's watchers and the services list, not web's") {
    ApplyResult result = RegisterService(store, 4, "n2", Service("db", "db", {"x"}));
    CHECK(watches.Fired(result.changes) == std::vector<WatchId>{db, all});
    CHECK(NameIndex(store, "web") == 2);
  }
  SECTION("a check of web moves web's index only, not the services table's") {
    ApplyResult result =
        Register(store, 4, "n1", {ServiceCheck("web-check", "web-1", HealthStatus::kWarning)});
    CHECK(watches.Fired(result.changes) == std::vector<WatchId>{web});
    CHECK(NameIndex(store, "web") == 4);
    CHECK(NameIndex(store, "db") == 3);
    CHECK(store.catalog().ServicesIndex() == 3);
    CHECK(store.catalog().ChecksIndex() == 4);
  }
  SECTION("a node check moves the index of every service on that node") {
    ApplyResult result = Register(store, 4, "n2", {Check("serfHealth", HealthStatus::kCritical)});
    CHECK(watches.Fired(result.changes) == std::vector<WatchId>{web, db});
    CHECK(NameIndex(store, "web") == 4);
    CHECK(NameIndex(store, "db") == 4);
  }
  SECTION("a change of a node's own fields moves its services' indexes") {
    CatalogRegister moved{"n1", "id-n1", "10.0.0.99", {}};
    ApplyResult result = store.Apply(4, Encode(moved));
    CHECK(watches.Fired(result.changes) == std::vector<WatchId>{web});
    CHECK(NameIndex(store, "web") == 4);
    CHECK(NameIndex(store, "db") == 3);
    CHECK(store.catalog().NodeQueryIndex("n1") == 4);
    CHECK(store.catalog().NodeQueryIndex("n2") == 3);
  }
}

TEST_CASE("the last instance going leaves the extinction index behind") {
  Store store = TwoNodes();
  CHECK(store.catalog().ServiceQueryIndex("db", true) == 3);

  ApplyResult result = DeregisterService(store, 7, "n2", "db");
  REQUIRE(result.ok);
  CHECK(store.catalog().FindService("n2", "db") == nullptr);
  CHECK(store.catalog().service_indexes().count("db") == 0);
  CHECK(store.catalog().indexes().service_extinction == 7);
  // A query on the absent name sees the extinction index: it did not go backwards.
  CHECK(store.catalog().ServiceQueryIndex("db", false) == 7);
  CHECK(store.catalog().ServiceQueryIndex("never-registered", true) == 7);
  CHECK(store.catalog().ServiceQueryIndex("web", true) == 2);

  WatchSet watches;
  const WatchId db = watches.Add(WatchKey::Key(Table::kServices, "db"));
  SECTION("and a new instance brings the name's own index back, waking its watchers") {
    ApplyResult back = RegisterService(store, 9, "n1", Service("db-9", "db"));
    CHECK(watches.Fired(back.changes) == std::vector<WatchId>{db});
    CHECK(store.catalog().ServiceQueryIndex("db", false) == 9);
  }
  SECTION("an instance that remains keeps the name and moves its index") {
    DeregisterService(store, 8, "n2", "web-2");
    CHECK(NameIndex(store, "web") == 8);
    CHECK(store.catalog().indexes().service_extinction == 7);
  }
}

TEST_CASE("with no extinction yet, an absent service reads the catalog's highest index") {
  Store store = TwoNodes();
  Register(store, 4, "n1", {Check("serfHealth", HealthStatus::kWarning)});
  CHECK(store.catalog().ServiceQueryIndex("absent", false) == 3);  // nodes and services
  CHECK(store.catalog().ServiceQueryIndex("absent", true) == 4);   // and checks
}

TEST_CASE("deregistering a service removes its checks and ends sessions bound to them") {
  Store store = TwoNodes();
  Session bound = NewSession("s1", "n1", SessionBehavior::kDelete, {"serfHealth"});
  bound.service_checks = {ServiceCheckRef{"web-check", ""}};
  REQUIRE(CreateSession(store, 4, bound).ok);
  CreateSession(store, 5, NewSession("s2", "n1", SessionBehavior::kRelease, {"serfHealth"}));
  Lock(store, 6, "leader", "s1");

  ApplyResult result = DeregisterService(store, 7, "n1", "web-1");
  CHECK(EndedIds(result) == Ids{"s1"});
  CHECK_FALSE(store.kv().Get("leader").has_value());  // s1's behavior is delete
  CHECK(store.catalog().FindService("n1", "web-1") == nullptr);
  CHECK(store.catalog().FindCheck("n1", "web-check") == nullptr);
  CHECK(store.catalog().FindCheck("n1", "serfHealth") != nullptr);
  CHECK(store.catalog().ChecksIndex() == 7);
  CHECK(store.catalog().NodeQueryIndex("n1") == 7);
  CHECK(store.sessions().Find("s2") != nullptr);

  SECTION("a service id wins over a check id, as in Consul's FSM") {
    ApplyResult both =
        store.Apply(8, Encode(CatalogDeregister{"n2", "serfHealth-none", "db"}));
    CHECK(store.catalog().FindService("n2", "db") == nullptr);
    CHECK_FALSE(both.changes.empty());
  }
  SECTION("a service removal without checks still moves the checks table index") {
    DeregisterService(store, 8, "n2", "db");
    CHECK(store.catalog().ChecksIndex() == 8);
  }
  SECTION("an absent service is a successful no-op") {
    ApplyResult absent = DeregisterService(store, 8, "n2", "nope");
    CHECK(absent.ok);
    CHECK(absent.changes.empty());
  }
}

TEST_CASE("a service check turning critical ends the sessions bound to it") {
  Store store = TwoNodes();
  Session bound = NewSession("s1", "n1");
  bound.service_checks = {ServiceCheckRef{"web-check", ""}};
  REQUIRE(CreateSession(store, 4, bound).ok);
  ApplyResult warning =
      Register(store, 5, "n1", {ServiceCheck("web-check", "web-1", HealthStatus::kWarning)});
  CHECK(warning.invalidated_sessions.empty());
  ApplyResult critical =
      Register(store, 6, "n1", {ServiceCheck("web-check", "web-1", HealthStatus::kCritical)});
  CHECK(EndedIds(critical) == Ids{"s1"});
}

TEST_CASE("a check must name a service registered on its node") {
  Store store = TwoNodes();
  const Store before = store;

  SECTION("an unknown service id is refused with Consul's text, changing nothing") {
    ApplyResult result =
        Register(store, 4, "n1", {Check("serfHealth", HealthStatus::kWarning),
                                  ServiceCheck("c", "web-2", HealthStatus::kPassing)});
    CHECK_FALSE(result.ok);
    CHECK(result.error.message() ==
          "failed inserting check on node \"n1\": Missing service registration");
    CHECK(result.changes.empty());
    CHECK(store.catalog() == before.catalog());
  }
  SECTION("on a new node too: the node is not created") {
    ApplyResult result =
        Register(store, 4, "n9", {ServiceCheck("c", "web-1", HealthStatus::kPassing)});
    CHECK_FALSE(result.ok);
    CHECK(store.catalog().FindNode("n9") == nullptr);
  }
  SECTION("the service of the same request counts") {
    ApplyResult result = RegisterService(store, 4, "n9", Service("api", "api"),
                                         {ServiceCheck("c", "api", HealthStatus::kPassing)});
    CHECK(result.ok);
    CHECK(store.catalog().FindCheck("n9", "c")->service_name == "api");
  }
  SECTION("a service without an id or a name is refused") {
    CHECK(RegisterService(store, 4, "n1", Service("", "x")).error.message() ==
          "Must provide service name with ID");
    CHECK(RegisterService(store, 5, "n1", Service("x", "")).error.message() ==
          "Must provide service name with ID");
    CHECK(store.catalog() == before.catalog());
  }
}

TEST_CASE("deregistering a node removes its services and ends the names it carried last") {
  Store store = TwoNodes();
  ApplyResult result = Deregister(store, 8, "n2");
  REQUIRE(result.ok);
  CHECK(store.catalog().FindNode("n2") == nullptr);
  CHECK(store.catalog().ListServices("n2").empty());
  CHECK(store.catalog().InstancesOf("web") == CatalogTable::InstanceSet{{"n1", "web-1"}});
  CHECK(store.catalog().InstancesOf("db").empty());
  CHECK(NameIndex(store, "web") == 8);
  CHECK(store.catalog().indexes().service_extinction == 8);
  CHECK(store.catalog().indexes().node_extinction == 8);
  CHECK(store.catalog().node_indexes().count("n2") == 0);
  CHECK(store.catalog().NodeQueryIndex("n2") == 8);
  CHECK(store.catalog().ServicesIndex() == 8);
}

TEST_CASE("a service that changes its name leaves the old name and takes its checks along") {
  Store store = TwoNodes();
  ApplyResult result = RegisterService(store, 4, "n1", Service("web-1", "www"));
  REQUIRE(result.ok);
  CHECK(store.catalog().InstancesOf("web") == CatalogTable::InstanceSet{{"n2", "web-2"}});
  CHECK(store.catalog().InstancesOf("www") == CatalogTable::InstanceSet{{"n1", "web-1"}});
  CHECK(NameIndex(store, "web") == 4);
  CHECK(store.catalog().FindCheck("n1", "web-check")->service_name == "www");
  CHECK(store.catalog().FindCheck("n1", "web-check")->modify_index == 4);

  WatchSet watches;
  const WatchId web = watches.Add(WatchKey::Key(Table::kServices, "web"));
  const WatchId www = watches.Add(WatchKey::Key(Table::kServices, "www"));
  ApplyResult back = RegisterService(store, 5, "n1", Service("web-1", "web"));
  CHECK(watches.Fired(back.changes) == std::vector<WatchId>{web, www});
  CHECK(store.catalog().instances().count("www") == 0);
  CHECK(store.catalog().indexes().service_extinction == 5);
}

TEST_CASE("skip_node_update leaves an existing node alone but still creates a new one") {
  Store store = TwoNodes();
  CatalogRegister command{"n1", "", "", {}};
  command.service = Service("api", "api");
  command.skip_node_update = true;
  REQUIRE(store.Apply(4, Encode(command)).ok);
  CHECK(store.catalog().FindNode("n1")->address == "10.0.0.1");
  CHECK(store.catalog().FindService("n1", "api") != nullptr);

  command.node = "n7";
  REQUIRE(store.Apply(5, Encode(command)).ok);
  CHECK(store.catalog().FindNode("n7") != nullptr);
}

TEST_CASE("a node's tagged addresses, meta and datacenter are fields like its address") {
  Store store;
  CatalogRegister command{"n1", "", "10.0.0.1", {}};
  command.datacenter = "dc1";
  command.tagged_addresses = {{"lan", "10.0.0.1"}};
  command.node_meta = {{"rack", "r1"}};
  store.Apply(1, Encode(command));
  CHECK(store.Apply(2, Encode(command)).changes.empty());
  command.node_meta["rack"] = "r2";
  ApplyResult changed = store.Apply(3, Encode(command));
  CHECK(changed.changes.keys == std::vector<ChangedKey>{{Table::kNodes, "n1"}});
  CHECK(store.catalog().FindNode("n1")->meta.at("rack") == "r2");
  CHECK(store.catalog().FindNode("n1")->create_index == 1);
}

}  // namespace
}  // namespace roster::store
