#include "tests/sim/fencing.h"

#include <algorithm>

#include "base/check.h"

namespace roster::sim {

std::string FencingChecker::BeginBelief(int client, const LockObservation& seen,
                                        const store::Store& store) {
  CHECK(!Believes(client)) << "client " << client << " already believes it holds a lock";
  ++stats_.beliefs;
  if (std::string problem = CheckToken(seen); !problem.empty()) return problem;
  const Belief belief{client, seen};
  for (const auto& [other_client, other] : beliefs_) {
    if (other.seen.key != seen.key) continue;
    ++stats_.overlaps;
    if (std::string problem = CheckOverlap(other, seen, store); !problem.empty()) return problem;
    const bool other_older = other.seen.token < seen.token;
    std::string problem =
        other_older ? CheckOverlapInLog(other, belief) : CheckOverlapInLog(belief, other);
    if (!problem.empty()) return problem;
  }
  beliefs_.emplace(client, belief);
  return "";
}

// Two sessions never hold one key with the same token; the log must know the holding.
std::string FencingChecker::CheckToken(const LockObservation& seen) {
  auto [it, inserted] = token_sessions_.emplace(std::make_pair(seen.key, seen.token), seen.session);
  if (!inserted && it->second != seen.session) {
    return "fencing: sessions " + it->second + " and " + seen.session +
           " both saw themselves holding " + seen.key + " with token " + DescribeToken(seen.token) +
           " (the second at index " + std::to_string(seen.observed_index) +
           "): two holders share a fencing token";
  }
  if (model_ == nullptr) return "";
  const Holding* holding = model_->FindHolding(seen.key, seen.token);
  if (holding == nullptr || holding->session != seen.session) {
    return "fencing: " + seen.session + " saw itself holding " + seen.key + " with token " +
           DescribeToken(seen.token) + " at index " + std::to_string(seen.observed_index) +
           ", but the log gave that token to " +
           (holding == nullptr ? std::string("no one") : holding->session);
  }
  return "";
}

// `seen` begins while `other` still believes. If other's token is older, the store
// `seen` came from is at or after the newer acquire, so the older holding had ended:
// other never released (it still believes), so its session must be gone there.
std::string FencingChecker::CheckOverlap(const Belief& other, const LockObservation& seen,
                                         const store::Store& store) const {
  if (!(other.seen.token < seen.token)) return "";
  if (store.sessions().Find(other.seen.session) == nullptr) return "";
  return "mutual exclusion: at index " + std::to_string(seen.observed_index) + " " + seen.session +
         " holds " + seen.key + " (token " + DescribeToken(seen.token) + ") while client L" +
         std::to_string(other.client) + " still believes its session " + other.seen.session +
         " holds it (token " + DescribeToken(other.seen.token) +
         "), and that session is still live: it never released the key, so two holders";
}

// In the log: the older holding ended before the newer began, by its session's end
// (or its key's deletion), not by an unlock of the client that still believes in it.
std::string FencingChecker::CheckOverlapInLog(const Belief& older, const Belief& newer) const {
  if (model_ == nullptr) return "";
  const Holding* old_holding = model_->FindHolding(older.seen.key, older.seen.token);
  const Holding* new_holding = model_->FindHolding(newer.seen.key, newer.seen.token);
  if (old_holding == nullptr || new_holding == nullptr) return "";  // CheckToken reported it
  const bool ended_first =
      old_holding->ended_index != 0 && old_holding->ended_index <= new_holding->acquired_index;
  const bool lost =
      old_holding->end == HoldingEnd::kSessionEnded || old_holding->end == HoldingEnd::kKeyDeleted;
  if (ended_first && lost) return "";
  return "mutual exclusion: clients L" + std::to_string(older.client) + " and L" +
         std::to_string(newer.client) + " both believe they hold " + older.seen.key +
         "; in the log the older holding (" + older.seen.session + ", token " +
         DescribeToken(older.seen.token) + ", acquired at " +
         std::to_string(old_holding->acquired_index) + ") ended at " +
         std::to_string(old_holding->ended_index) + " (" + HoldingEndName(old_holding->end) +
         ") and the newer (" + newer.seen.session + ") began at " +
         std::to_string(new_holding->acquired_index);
}

void FencingChecker::Send(int client, std::uint64_t arrival_ms) {
  auto it = beliefs_.find(client);
  CHECK(it != beliefs_.end()) << "client " << client << " sends protected work without a lock";
  in_flight_.emplace(std::make_pair(arrival_ms, sent_++), it->second);
}

std::string FencingChecker::Deliver(std::uint64_t now_ms) {
  while (!in_flight_.empty() && in_flight_.begin()->first.first <= now_ms) {
    const Belief request = std::move(in_flight_.begin()->second);
    in_flight_.erase(in_flight_.begin());
    if (std::string problem = Accept(request); !problem.empty()) return problem;
  }
  return "";
}

// The sequencer check, then what accepting the request says about the tokens.
std::string FencingChecker::Accept(const Belief& request) {
  const LockObservation& seen = request.seen;
  Resource& resource = resources_[seen.key];
  if (resource.accepted_any && seen.token < resource.max_token) {
    ++stats_.fenced;  // a stale holder's late request: what fencing is for
    return "";
  }
  ++stats_.accepted;
  // (Equal tokens of two sessions never get here: CheckToken reports them first.)
  if (resource.accepted_any && resource.last_session != seen.session) {
    if (seen.modify_index <= resource.last_modify_index) {
      return "fencing: the downstream accepted " + seen.session + "'s request on " + seen.key +
             " (token " + DescribeToken(seen.token) + ", ModifyIndex " +
             std::to_string(seen.modify_index) + ") after " + resource.last_session + "'s (token " +
             DescribeToken(resource.max_token) + ", ModifyIndex " +
             std::to_string(resource.last_modify_index) +
             "): an older holder got in after a newer one";
    }
    resource.last_modify_index = seen.modify_index;
  }
  resource.accepted_any = true;
  resource.max_token = seen.token;
  resource.last_session = seen.session;
  resource.last_modify_index = std::max(resource.last_modify_index, seen.modify_index);
  return "";
}

}  // namespace roster::sim
