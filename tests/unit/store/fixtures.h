// A small vocabulary for store tests: each command as a one-line call on a Store, so
// tests read like the protocol ("register node n1 with check c1 passing, create
// session s1 bound to it, lock k with s1").
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/random.h"
#include "store/command.h"
#include "store/store.h"

namespace roster::store::testing {

inline HealthCheck Check(std::string check_id, HealthStatus status) {
  HealthCheck check;
  check.check_id = std::move(check_id);
  check.name = check.check_id + " check";
  check.status = status;
  return check;
}

inline ApplyResult Register(Store& store, Index index, std::string node,
                            std::vector<HealthCheck> checks = {}) {
  return store.Apply(index,
                     Encode(CatalogRegister{node, "id-" + node, "10.0.0.1", std::move(checks)}));
}

inline ApplyResult Deregister(Store& store, Index index, std::string node,
                              std::string check_id = "") {
  return store.Apply(index, Encode(CatalogDeregister{std::move(node), std::move(check_id)}));
}

inline NodeService Service(std::string id, std::string name, std::vector<std::string> tags = {},
                           std::uint64_t port = 80) {
  NodeService service;
  service.id = std::move(id);
  service.service = std::move(name);
  service.tags = std::move(tags);
  service.port = port;
  return service;
}

// A check of service_id.
inline HealthCheck ServiceCheck(std::string check_id, std::string service_id,
                                HealthStatus status) {
  HealthCheck check = Check(std::move(check_id), status);
  check.service_id = std::move(service_id);
  return check;
}

// Registers node (address 10.0.0.1) with service and checks, in one command.
inline ApplyResult RegisterService(Store& store, Index index, std::string node,
                                   NodeService service, std::vector<HealthCheck> checks = {}) {
  CatalogRegister command{node, "id-" + node, "10.0.0.1", std::move(checks)};
  command.service = std::move(service);
  return store.Apply(index, Encode(command));
}

inline ApplyResult DeregisterService(Store& store, Index index, std::string node,
                                     std::string service_id) {
  return store.Apply(index, Encode(CatalogDeregister{std::move(node), "", std::move(service_id)}));
}

inline Session NewSession(std::string id, std::string node,
                          SessionBehavior behavior = SessionBehavior::kRelease,
                          std::vector<std::string> node_checks = {}) {
  Session session;
  session.id = std::move(id);
  session.name = "test";
  session.node = std::move(node);
  session.lock_delay_ms = 15000;
  session.behavior = behavior;
  session.node_checks = std::move(node_checks);
  return session;
}

inline ApplyResult CreateSession(Store& store, Index index, Session session) {
  return store.Apply(index, Encode(SessionCreate{std::move(session)}));
}

inline ApplyResult Destroy(Store& store, Index index, std::string id) {
  return store.Apply(index, Encode(SessionDestroy{std::move(id)}));
}

inline ApplyResult Lock(Store& store, Index index, std::string key, std::string session,
                        std::string value = "v", std::uint64_t flags = 0) {
  return store.Apply(index,
                     Encode(KvLock{std::move(key), std::move(value), flags, std::move(session)}));
}

inline ApplyResult Unlock(Store& store, Index index, std::string key, std::string session,
                          std::string value = "v", std::uint64_t flags = 0) {
  return store.Apply(index,
                     Encode(KvUnlock{std::move(key), std::move(value), flags, std::move(session)}));
}

inline ApplyResult Put(Store& store, Index index, std::string key, std::string value = "v") {
  return store.Apply(index, Encode(KvSet{std::move(key), std::move(value), 0}));
}

inline TxnKvOp Op(TxnVerb verb, std::string key, std::string value = "", Index index = 0,
                  std::string session = "") {
  return TxnKvOp{verb, std::move(key), std::move(value), 0, index, std::move(session)};
}

// Node n1 with a passing serfHealth check at index 1; session s1 (release) bound to it
// at index 2; session s2 (delete) bound to it at index 3.
inline Store StoreWithSessions() {
  Store store;
  Register(store, 1, "n1", {Check("serfHealth", HealthStatus::kPassing)});
  CreateSession(store, 2, NewSession("s1", "n1", SessionBehavior::kRelease, {"serfHealth"}));
  CreateSession(store, 3, NewSession("s2", "n1", SessionBehavior::kDelete, {"serfHealth"}));
  return store;
}

// A random command over a small universe of keys, sessions and nodes, so that locks,
// invalidations, catalog changes and transactions collide often. Some are refused or
// fail; all are valid log entries.
inline std::string RandomCommand(Random& random, const Store& store) {
  static const std::vector<std::string> kKeys = {"a", "b", "web/1", "web/2", "web/x/3", "db/1"};
  static const std::vector<std::string> kPrefixes = {"web/", "db/", "a", "web/x/", "q/"};
  static const std::vector<std::string> kSessions = {"s1", "s2", "s3", "s4"};
  static const std::vector<std::string> kNodes = {"n1", "n2"};
  static const std::vector<std::string> kServiceIds = {"web-1", "web-2", "db"};
  auto pick = [&random](const std::vector<std::string>& from) {
    return from[random.Uniform(from.size())];
  };
  const std::string key = pick(kKeys);
  const std::string value = "v" + std::to_string(random.Uniform(4));
  const std::string session = pick(kSessions);
  auto modify_index = [&store](const std::string& k) {
    const DirEntry* entry = store.kv().Find(k);
    return entry == nullptr ? Index{0} : entry->modify_index;
  };
  switch (random.Uniform(17)) {
    case 0:
      return Encode(KvSet{key, value, random.Uniform(2)});
    case 1:
      return Encode(KvCas{key, value, 0, random.OneIn(3) ? 0 : modify_index(key)});
    case 2:
      return Encode(KvDelete{key});
    case 3:
      return Encode(KvDeleteTree{pick(kPrefixes)});
    case 4:
    case 5:
      return Encode(KvLock{key, value, 0, session});
    case 6:
      return Encode(KvUnlock{key, value, 0, session});
    case 7: {
      const auto behavior = random.OneIn(2) ? SessionBehavior::kDelete : SessionBehavior::kRelease;
      std::vector<std::string> checks;
      if (!random.OneIn(4)) checks.push_back("serfHealth");
      Session created = NewSession(session, pick(kNodes), behavior, checks);
      if (random.OneIn(3)) created.service_checks = {ServiceCheckRef{"svc", ""}};
      return Encode(SessionCreate{std::move(created)});
    }
    case 8:
      return random.OneIn(2) ? Encode(SessionDestroy{session}) : Encode(SessionInvalidate{session});
    case 9: {
      const auto status = static_cast<HealthStatus>(random.Uniform(3));
      return Encode(CatalogRegister{pick(kNodes), "", "10.0.0.2", {Check("serfHealth", status)}});
    }
    case 10:
      return Encode(CatalogDeregister{pick(kNodes), random.OneIn(2) ? "serfHealth" : ""});
    case 14: {
      // A service (sometimes renamed), with a check of it bound sessions can name.
      const std::string id = pick(kServiceIds);
      const auto status = static_cast<HealthStatus>(random.Uniform(3));
      CatalogRegister command{pick(kNodes), "", "10.0.0.2", {ServiceCheck("svc", id, status)}};
      command.service = Service(id, random.OneIn(3) ? "db" : "web", {value}, 80);
      return Encode(command);
    }
    case 15:
      return Encode(CatalogDeregister{pick(kNodes), "", pick(kServiceIds)});
    case 16: {
      // A check of a service that may not be there: often refused.
      const auto status = static_cast<HealthStatus>(random.Uniform(3));
      return Encode(
          CatalogRegister{pick(kNodes), "", "10.0.0.2", {ServiceCheck("svc", pick(kServiceIds), status)}});
    }
    case 11:
      return Encode(KvCreateSequential{"q/", value, 0, random.OneIn(2) ? session : ""});
    case 12: {
      Txn txn;
      const std::uint64_t ops = 1 + random.Uniform(4);
      for (std::uint64_t i = 0; i < ops; ++i) {
        const std::string k = pick(kKeys);
        txn.ops.push_back(TxnKvOp{static_cast<TxnVerb>(1 + random.Uniform(13)), k, value, 0,
                                  random.OneIn(2) ? modify_index(k) : 1, session});
      }
      return Encode(txn);
    }
    default:
      return Encode(KvReapTombstones{store.last_applied_index() / 2});
  }
}

}  // namespace roster::store::testing
