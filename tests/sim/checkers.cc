#include "tests/sim/checkers.h"

#include <algorithm>
#include <limits>
#include <sstream>

#include "base/check.h"
#include "store/command.h"
#include "tests/sim/store_machine.h"

namespace roster::sim {
namespace {

using consensus::Entry;
using consensus::Index;
using consensus::NodeId;
using consensus::Term;

std::string N(NodeId node) { return "n" + std::to_string(node); }

// The entries a storage holds, read once per check.
struct HeldLog {
  NodeId node = consensus::kNoNode;
  Index first = 1;  // index of entries[0]
  std::vector<Entry> entries;
  Index last() const { return first + entries.size() - 1; }
  const Entry& at(Index i) const { return entries[i - first]; }
};

HeldLog ReadLog(const LogView& view) {
  HeldLog log;
  log.node = view.node;
  log.first = view.storage->FirstIndex();
  const Index last = view.storage->LastIndex();
  if (log.first > last) return log;
  Result<std::vector<Entry>> entries =
      view.storage->Entries(log.first, last + 1, std::numeric_limits<std::uint64_t>::max());
  CHECK(entries.ok()) << N(view.node) << ": " << entries.status().ToString();
  log.entries = std::move(entries).value();
  CHECK_EQ(log.entries.size(), last - log.first + 1);
  return log;
}

std::string CheckPair(const HeldLog& a, const HeldLog& b) {
  if (a.entries.empty() || b.entries.empty()) return "";
  const Index lo = std::max(a.first, b.first);
  const Index hi = std::min(a.last(), b.last());
  // The highest index both hold with the same term; everything from lo up to it must
  // then be identical.
  Index agree = 0;
  for (Index i = hi; i >= lo && i > 0; --i) {
    if (a.at(i).term == b.at(i).term) {
      agree = i;
      break;
    }
  }
  for (Index i = lo; agree != 0 && i <= agree; ++i) {
    if (!(a.at(i) == b.at(i))) {
      return "log matching: " + N(a.node) + " and " + N(b.node) + " both hold an entry " +
             std::to_string(agree) + "@" + std::to_string(a.at(agree).term) + " but differ at " +
             std::to_string(i) + ": " + DescribeEntry(a.at(i)) + " vs " + DescribeEntry(b.at(i));
    }
  }
  return "";
}

}  // namespace

std::string DescribeEntry(const Entry& entry) {
  std::ostringstream out;
  out << entry.index << '@' << entry.term;
  if (entry.type == consensus::EntryType::kConfChange) {
    out << " conf-change";
  } else if (entry.data.empty()) {
    out << " no-op";
  } else if (Result<store::Command> command = store::Decode(entry.data); command.ok()) {
    out << ' ' << DescribeCommand(*command);
  } else {
    out << " <" << entry.data.size() << " undecodable bytes>";
  }
  return out.str();
}

std::string SafetyChecker::OnLeader(NodeId node, Term term) {
  auto [it, inserted] = leaders_.emplace(term, node);
  if (inserted || it->second == node) return "";
  return "election safety: " + N(it->second) + " and " + N(node) + " both became leader of term " +
         std::to_string(term);
}

std::string SafetyChecker::OnApplied(NodeId node, Term node_term, const Entry& entry,
                                     std::uint64_t digest, std::uint64_t state_hash,
                                     std::uint64_t op_id) {
  if (entry.index > applied_.size()) applied_.resize(entry.index);
  AppliedEntry& record = applied_[entry.index - 1];
  if (!record.known) {
    record = {true, entry, digest, state_hash, node_term};
    if (op_id != 0) {
      if (failed_ops_.count(op_id) > 0) {
        return "op " + std::to_string(op_id) + " was reported failed to its client but " + N(node) +
               " applied it at " + DescribeEntry(entry);
      }
      auto [it, inserted] = op_index_.emplace(op_id, entry.index);
      if (!inserted) {
        return "op " + std::to_string(op_id) + " applied twice: at " + std::to_string(it->second) +
               " and at " + std::to_string(entry.index);
      }
    }
    return "";
  }
  if (!(record.entry == entry)) {
    return "state machine safety: " + N(node) + " applied " + DescribeEntry(entry) + " but " +
           DescribeEntry(record.entry) + " was applied at that index before";
  }
  if (record.digest != digest || record.state_hash != state_hash) {
    return "state machine safety: " + N(node) + " applied " + DescribeEntry(entry) +
           " and reached a state that differs from the other nodes' (its earlier history differs)";
  }
  record.commit_term_bound = std::min(record.commit_term_bound, node_term);
  return "";
}

std::string SafetyChecker::OnSnapshotInstalled(NodeId node,
                                               const consensus::SnapshotMetadata& metadata,
                                               std::uint64_t digest,
                                               std::uint64_t state_hash) const {
  if (!IsApplied(metadata.index)) {
    return N(node) + " installed a snapshot at " + std::to_string(metadata.index) +
           ", an index no node has applied";
  }
  const AppliedEntry& record = applied_[metadata.index - 1];
  if (record.entry.term != metadata.term || record.digest != digest ||
      record.state_hash != state_hash) {
    return N(node) + " installed a snapshot at " + std::to_string(metadata.index) + "@" +
           std::to_string(metadata.term) + " whose state differs from what applying " +
           DescribeEntry(record.entry) + " produced";
  }
  return "";
}

std::string SafetyChecker::OnOperationFailed(std::uint64_t op_id) {
  auto it = op_index_.find(op_id);
  if (it != op_index_.end()) {
    return "op " + std::to_string(op_id) + " is reported failed but was applied at " +
           std::to_string(it->second);
  }
  failed_ops_.insert(op_id);
  return "";
}

std::string SafetyChecker::CheckLeaderLog(NodeId node, Term term,
                                          const consensus::LogStorage& storage) const {
  const Index snapshot_index = storage.GetSnapshotMetadata().index;
  for (Index i = 1; i <= applied_.size(); ++i) {
    const AppliedEntry& record = applied_[i - 1];
    if (!record.known || record.commit_term_bound >= term || i < snapshot_index) continue;
    Result<Term> held = storage.TermAt(i);
    if (!held.ok() || *held != record.entry.term) {
      return "leader completeness: " + N(node) + " became leader of term " + std::to_string(term) +
             " without " + DescribeEntry(record.entry) + ", committed no later than term " +
             std::to_string(record.commit_term_bound) +
             (held.ok() ? " (it holds term " + std::to_string(*held) + " there)"
                        : " (its log ends at " + std::to_string(storage.LastIndex()) + ")");
    }
  }
  return "";
}

std::string SafetyChecker::CheckLogs(const std::vector<LogView>& views) const {
  std::vector<HeldLog> logs;
  logs.reserve(views.size());
  for (const LogView& view : views) {
    logs.push_back(ReadLog(view));
    if (std::string problem = CheckCommittedPrefix(view, logs.back().entries); !problem.empty()) {
      return problem;
    }
  }
  for (std::size_t a = 0; a < logs.size(); ++a) {
    for (std::size_t b = a + 1; b < logs.size(); ++b) {
      if (std::string problem = CheckPair(logs[a], logs[b]); !problem.empty()) return problem;
    }
  }
  return "";
}

// What a node's storage holds at or below its stored commit index was committed: it
// must be what was applied there, and it must not be missing.
std::string SafetyChecker::CheckCommittedPrefix(const LogView& view,
                                                const std::vector<Entry>& entries) const {
  const Index last = view.storage->LastIndex();
  if (view.commit > last) {
    return N(view.node) + " stores commit index " + std::to_string(view.commit) +
           " but its log ends at " + std::to_string(last);
  }
  for (const Entry& entry : entries) {
    if (entry.index > view.commit) break;
    if (IsApplied(entry.index) && !(applied_[entry.index - 1].entry == entry)) {
      return N(view.node) + " stores " + DescribeEntry(entry) + " at or below its commit index " +
             std::to_string(view.commit) + ", but " +
             DescribeEntry(applied_[entry.index - 1].entry) + " was applied there";
    }
  }
  return "";
}

}  // namespace roster::sim
