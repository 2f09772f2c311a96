// LockModel: the comparison with the real store after each entry, and the
// explanations of a difference in the contract's terms (see lock_model.h).
#include <string>

#include "tests/sim/lock_model.h"

namespace roster::sim {
namespace {

std::string Describe(const store::DirEntry& entry) {
  return "{session \"" + entry.session + "\" LockIndex " + std::to_string(entry.lock_index) +
         " CreateIndex " + std::to_string(entry.create_index) + " ModifyIndex " +
         std::to_string(entry.modify_index) + " value \"" + entry.value + "\" flags " +
         std::to_string(entry.flags) + "}";
}

std::string Describe(const store::Session& session) {
  std::string checks;
  for (const std::string& id : session.CheckIds()) checks += (checks.empty() ? "" : ",") + id;
  return "{node " + session.node + " checks [" + checks + "] behavior " +
         std::string(store::SessionBehaviorName(session.behavior)) + " created " +
         std::to_string(session.create_index) + "}";
}

}  // namespace

// The state first (its explanation names the property), with the outcome's.
std::string LockModel::Compare(bool ok, std::optional<bool> expected_ok,
                               const store::Store& store) const {
  std::string outcome;
  if (expected_ok.has_value() && *expected_ok != ok) {
    outcome = std::string("applied with ok=") + (ok ? "true" : "false") +
              ", but the contract says " + (*expected_ok ? "true" : "false: " + why_);
  }
  std::string problem = CompareKeys(store);
  if (problem.empty()) problem = CompareSessions(store);
  if (problem.empty()) problem = CompareCatalog(store);
  if (problem.empty()) return outcome.empty() ? "" : "lock outcome: " + At() + " " + outcome;
  return outcome.empty() ? problem : problem + " (the entry " + outcome + ")";
}

// Walks the tracked keys of the model and of the store together, in key order.
std::string LockModel::CompareKeys(const store::Store& store) const {
  const store::KvTable::Entries& actual = store.kv().entries();
  auto a = actual.lower_bound(prefix_);
  auto m = keys_.begin();
  for (;;) {
    const bool a_in = a != actual.end() && a->first.starts_with(prefix_);
    const bool m_in = m != keys_.end();
    if (!a_in && !m_in) return "";
    if (a_in && m_in && a->first == m->first) {
      if (!(a->second == m->second)) return ExplainKey(a->first, &m->second, &a->second);
      ++a;
      ++m;
    } else if (m_in && (!a_in || m->first < a->first)) {
      return ExplainKey(m->first, &m->second, nullptr);
    } else {
      return ExplainKey(a->first, nullptr, &a->second);
    }
  }
}

std::string LockModel::ExplainKey(const std::string& key, const store::DirEntry* model,
                                  const store::DirEntry* actual) const {
  if (actual == nullptr) return ExplainMissingKey(key, *model);
  if (model == nullptr) return ExplainExtraKey(key, *actual);
  if (model->session != actual->session) return ExplainHolder(key, *model, *actual);
  if (model->lock_index != actual->lock_index) {
    return "fencing: " + At() + " " + key + " has LockIndex " + std::to_string(actual->lock_index) +
           ", expected " + std::to_string(model->lock_index) +
           " (a new holder increments it; a re-acquire, a release or a session's end keeps it)";
  }
  return "kv: " + At() + " " + key + " is " + Describe(*actual) + " in the store but " +
         Describe(*model) + " by the contract";
}

// The store lost a key the contract keeps.
std::string LockModel::ExplainMissingKey(const std::string& key,
                                         const store::DirEntry& model) const {
  auto session = sessions_.find(model.session);
  if (!model.session.empty() && session != sessions_.end()) {
    const bool ephemeral = session->second.behavior == store::SessionBehavior::kDelete;
    return std::string(ephemeral ? "ephemeral keys: " : "locks: ") + key + ", held by " +
           model.session + " (behavior " +
           std::string(store::SessionBehaviorName(session->second.behavior)) +
           ", still live), was deleted " + At() + ", before its session ended";
  }
  return "kv: " + key + " " + Describe(model) + " vanished " + At() +
         ", which neither deletes it nor ends a session holding it";
}

// The store kept or made a key the contract does not have.
std::string LockModel::ExplainExtraKey(const std::string& key,
                                       const store::DirEntry& actual) const {
  // A difference shows at the first entry that makes it, so a key the model dropped
  // was dropped by this entry.
  auto deleted = ephemeral_deleted_now_.find(key);
  if (deleted != ephemeral_deleted_now_.end()) {
    return "ephemeral keys: " + key + " outlived its session " + deleted->second +
           " (behavior delete), which ended " + At() + "; the store kept it as " + Describe(actual);
  }
  const consensus::Index ended = SessionEndIndex(actual.session);
  if (!actual.session.empty() && ended != 0) {
    return "locks: " + At() + " the store holds " + key + " " + Describe(actual) + " for session " +
           actual.session + ", which ended at index " + std::to_string(ended);
  }
  return "kv: " + At() + " the store holds " + key + " " + Describe(actual) +
         ", which the contract says does not exist";
}

std::string LockModel::ExplainHolder(const std::string& key, const store::DirEntry& model,
                                     const store::DirEntry& actual) const {
  if (!model.session.empty() && !actual.session.empty()) {
    const Holding* holding = FindHolding(key, {model.create_index, model.lock_index});
    return "mutual exclusion: " + At() + " the store gives " + key + " to " + actual.session +
           " while " + model.session + " holds it (since index " +
           std::to_string(holding != nullptr ? holding->acquired_index : 0) +
           ") and has neither released it nor ended: two holders";
  }
  if (model.session.empty()) {
    const consensus::Index ended = SessionEndIndex(actual.session);
    return "locks: " + At() + " the store shows " + key + " held by " + actual.session +
           (ended != 0 ? ", whose session ended at index " + std::to_string(ended)
                       : std::string(", but no acquire by it succeeded")) +
           "; the contract says it is free";
  }
  return "locks: " + At() + " the store released " + key + " from " + model.session +
         ", which neither released it nor ended (LockIndex " + std::to_string(actual.lock_index) +
         ")";
}

std::string LockModel::CompareSessions(const store::Store& store) const {
  const store::SessionTable::Sessions& actual = store.sessions().sessions();
  auto a = actual.begin();
  auto m = sessions_.begin();
  for (;;) {
    const bool a_in = a != actual.end();
    const bool m_in = m != sessions_.end();
    if (!a_in && !m_in) return "";
    if (a_in && m_in && a->first == m->first) {
      if (!(a->second == m->second)) return ExplainSession(a->first, &m->second, &a->second);
      ++a;
      ++m;
    } else if (m_in && (!a_in || m->first < a->first)) {
      return ExplainSession(m->first, &m->second, nullptr);
    } else {
      return ExplainSession(a->first, nullptr, &a->second);
    }
  }
}

std::string LockModel::ExplainSession(const std::string& id, const store::Session* model,
                                      const store::Session* actual) const {
  if (actual == nullptr) {
    return "sessions: " + id + " " + Describe(*model) + " ended " + At() +
           ", which cannot end it (only destroy, invalidate, a bound check critical or "
           "deregistered, or its node deregistered do)";
  }
  if (model == nullptr) {
    const consensus::Index ended = SessionEndIndex(id);
    if (ended == index_) {
      return "sessions: " + id + " " + Describe(*actual) + " survived " + At() + ", which ends it";
    }
    return "sessions: " + At() + " the store has session " + id + " " + Describe(*actual) +
           (ended != 0 ? ", which ended at index " + std::to_string(ended)
                       : std::string(", whose create the contract refuses: ") + why_);
  }
  return "sessions: " + At() + " session " + id + " is " + Describe(*actual) +
         " in the store but " + Describe(*model) + " by the contract";
}

// The check statuses of every node the model knows, and no other node in the store.
std::string LockModel::CompareCatalog(const store::Store& store) const {
  const store::CatalogTable& catalog = store.catalog();
  if (catalog.nodes().size() != catalog_.size()) {
    return "catalog: " + At() + " the store has " + std::to_string(catalog.nodes().size()) +
           " nodes, the contract " + std::to_string(catalog_.size());
  }
  for (const auto& [node, checks] : catalog_) {
    if (catalog.FindNode(node) == nullptr) {
      return "catalog: " + At() + " node " + node + " is missing from the store";
    }
    const std::vector<store::HealthCheck> actual = catalog.ListChecks(node);
    bool same = actual.size() == checks.size();
    for (const store::HealthCheck& check : actual) {
      auto it = checks.find(check.check_id);
      same = same && it != checks.end() && it->second == check.status;
    }
    if (!same) return "catalog: " + At() + " the checks of " + node + " differ from the contract's";
  }
  return "";
}

}  // namespace roster::sim
