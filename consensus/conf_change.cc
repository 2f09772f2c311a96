#include <algorithm>

#include "consensus/types.h"

namespace roster::consensus {
namespace {

void PutU64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t GetU64(std::string_view bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return v;
}

bool Contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::binary_search(ids.begin(), ids.end(), id);
}

void Insert(std::vector<NodeId>& ids, NodeId id) {
  ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
}

void Erase(std::vector<NodeId>& ids, NodeId id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

}  // namespace

// Layout: [version=1][type:1][node_id:8 little-endian][context...]
std::string EncodeConfChange(const ConfChange& change) {
  std::string out;
  out.reserve(10 + change.context.size());
  out.push_back(1);
  out.push_back(static_cast<char>(change.type));
  PutU64(out, change.node_id);
  out += change.context;
  return out;
}

Result<ConfChange> DecodeConfChange(std::string_view bytes) {
  if (bytes.size() < 10) return InvalidArgument("conf change shorter than its header");
  if (bytes[0] != 1) return InvalidArgument("unknown conf change version");
  auto type = static_cast<std::uint8_t>(bytes[1]);
  if (type > static_cast<std::uint8_t>(ConfChangeType::kRemoveNode)) {
    return InvalidArgument("unknown conf change type");
  }
  ConfChange change;
  change.type = static_cast<ConfChangeType>(type);
  change.node_id = GetU64(bytes.substr(2));
  change.context = std::string(bytes.substr(10));
  if (change.node_id == kNoNode) return InvalidArgument("conf change names node 0");
  return change;
}

BootstrapLog MakeBootstrap(const ConfState& conf_state,
                           const std::map<NodeId, std::string>& contexts) {
  BootstrapLog bootstrap;
  auto add = [&](ConfChangeType type, NodeId id) {
    const Index index = bootstrap.entries.size() + 1;
    auto context = contexts.find(id);
    const std::string text = context == contexts.end() ? "" : context->second;
    bootstrap.entries.push_back(
        Entry{1, index, EntryType::kConfChange, EncodeConfChange({type, id, text})});
  };
  for (NodeId id : conf_state.voters) add(ConfChangeType::kAddVoter, id);
  for (NodeId id : conf_state.learners) add(ConfChangeType::kAddLearner, id);
  bootstrap.hard_state = {1, kNoNode, bootstrap.entries.size()};
  return bootstrap;
}

Result<ConfState> ApplyConfChange(const ConfState& conf, const ConfChange& change) {
  if (change.node_id == kNoNode) return InvalidArgument("conf change names node 0");
  ConfState next = conf;
  const NodeId id = change.node_id;
  switch (change.type) {
    case ConfChangeType::kAddVoter:
      if (Contains(next.voters, id)) return InvalidArgument("node is already a voter");
      Erase(next.learners, id);  // promotion
      Insert(next.voters, id);
      break;
    case ConfChangeType::kAddLearner:
      if (Contains(next.voters, id)) return InvalidArgument("cannot demote a voter to learner");
      if (Contains(next.learners, id)) return InvalidArgument("node is already a learner");
      Insert(next.learners, id);
      break;
    case ConfChangeType::kRemoveNode:
      if (!Contains(next.voters, id) && !Contains(next.learners, id)) {
        return InvalidArgument("node is not a member");
      }
      Erase(next.voters, id);
      Erase(next.learners, id);
      if (next.voters.empty()) return InvalidArgument("cannot remove the last voter");
      break;
  }
  return next;
}

}  // namespace roster::consensus
