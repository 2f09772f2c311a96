// Membership changes as values (thesis §4.1: one server at a time) and message basics.
#include "consensus/types.h"

#include "consensus/message.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <string>

namespace roster::consensus {
namespace {

const ConfState kThreeVoters{.voters = {1, 2, 3}, .learners = {}};

ConfState MustApply(const ConfState& conf, ConfChangeType type, NodeId node) {
  Result<ConfState> applied =
      ApplyConfChange(conf, ConfChange{.type = type, .node_id = node, .context = ""});
  INFO(applied.status().ToString());
  REQUIRE(applied.ok());
  return *applied;
}

StatusCode ApplyError(const ConfState& conf, ConfChangeType type, NodeId node) {
  Result<ConfState> applied =
      ApplyConfChange(conf, ConfChange{.type = type, .node_id = node, .context = ""});
  return applied.ok() ? StatusCode::kOk : applied.status().code();
}

TEST_CASE("Adding a voter adds it to the voters, kept sorted") {
  const ConfState conf{.voters = {1, 5}, .learners = {}};
  CHECK(MustApply(conf, ConfChangeType::kAddVoter, 3) ==
        ConfState{.voters = {1, 3, 5}, .learners = {}});
}

TEST_CASE("Adding a learner adds it to the learners only") {
  CHECK(MustApply(kThreeVoters, ConfChangeType::kAddLearner, 4) ==
        ConfState{.voters = {1, 2, 3}, .learners = {4}});
}

TEST_CASE("Adding a voter that is a learner promotes it") {
  const ConfState with_learner{.voters = {1, 2, 3}, .learners = {4}};
  CHECK(MustApply(with_learner, ConfChangeType::kAddVoter, 4) ==
        ConfState{.voters = {1, 2, 3, 4}, .learners = {}});
}

TEST_CASE("Removing a voter or a learner takes it out of the membership") {
  CHECK(MustApply(kThreeVoters, ConfChangeType::kRemoveNode, 2) ==
        ConfState{.voters = {1, 3}, .learners = {}});
  const ConfState with_learner{.voters = {1, 2, 3}, .learners = {4}};
  CHECK(MustApply(with_learner, ConfChangeType::kRemoveNode, 4) == kThreeVoters);
}

TEST_CASE("Removing a node that is not a member is InvalidArgument") {
  CHECK(ApplyError(kThreeVoters, ConfChangeType::kRemoveNode, 9) == StatusCode::kInvalidArgument);
}

TEST_CASE("Demoting a voter to a learner is InvalidArgument") {
  CHECK(ApplyError(kThreeVoters, ConfChangeType::kAddLearner, 2) == StatusCode::kInvalidArgument);
}

TEST_CASE("Removing the last voter is InvalidArgument") {
  const ConfState one{.voters = {1}, .learners = {}};
  CHECK(ApplyError(one, ConfChangeType::kRemoveNode, 1) == StatusCode::kInvalidArgument);
  const ConfState one_and_learner{.voters = {1}, .learners = {2}};
  CHECK(ApplyError(one_and_learner, ConfChangeType::kRemoveNode, 1) ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("The bootstrap log adds the voters, then the learners, committed at term 1") {
  const ConfState membership{.voters = {1, 2, 3}, .learners = {7}};
  const BootstrapLog bootstrap = MakeBootstrap(membership);
  REQUIRE(bootstrap.entries.size() == 4);
  const ConfChangeType expected_types[] = {ConfChangeType::kAddVoter, ConfChangeType::kAddVoter,
                                           ConfChangeType::kAddVoter, ConfChangeType::kAddLearner};
  const NodeId expected_nodes[] = {1, 2, 3, 7};
  for (std::size_t i = 0; i < bootstrap.entries.size(); ++i) {
    const Entry& entry = bootstrap.entries[i];
    INFO("entry " << i);
    CHECK(entry.index == i + 1);
    CHECK(entry.term == 1);
    CHECK(entry.type == EntryType::kConfChange);
    Result<ConfChange> change = DecodeConfChange(entry.data);
    REQUIRE(change.ok());
    CHECK(change->type == expected_types[i]);
    CHECK(change->node_id == expected_nodes[i]);
  }
  CHECK(bootstrap.hard_state == HardState{.term = 1, .vote = kNoNode, .commit = 4});
}

TEST_CASE("A conf change survives encoding, context included") {
  const ConfChange change{
      .type = ConfChangeType::kAddLearner, .node_id = 4242, .context = "10.0.0.4:8300"};
  Result<ConfChange> decoded = DecodeConfChange(EncodeConfChange(change));
  REQUIRE(decoded.ok());
  CHECK(*decoded == change);

  const ConfChange removal{.type = ConfChangeType::kRemoveNode, .node_id = 7, .context = ""};
  Result<ConfChange> decoded_removal = DecodeConfChange(EncodeConfChange(removal));
  REQUIRE(decoded_removal.ok());
  CHECK(*decoded_removal == removal);
}

TEST_CASE("Decoding an empty conf change is an error, not a crash") {
  CHECK_FALSE(DecodeConfChange("").ok());
}

TEST_CASE("An entry counts its data plus a fixed overhead") {
  Entry entry;
  entry.data = std::string(100, 'x');
  CHECK(entry.ByteSize() == 124);
}

TEST_CASE("A message's size grows with the entries it carries") {
  Message empty;
  empty.type = MessageType::kAppend;
  Message full = empty;
  full.entries.push_back(
      Entry{.term = 1, .index = 1, .type = EntryType::kNormal, .data = std::string(1000, 'x')});
  CHECK(full.ByteSize() >= empty.ByteSize() + 1000);
}

TEST_CASE("Acknowledgements that promise persisted state are marked as responses") {
  CHECK(IsResponse(MessageType::kVoteResponse));
  CHECK(IsResponse(MessageType::kAppendResponse));
  CHECK_FALSE(IsResponse(MessageType::kAppend));
  CHECK_FALSE(IsResponse(MessageType::kVote));
  CHECK_FALSE(IsResponse(MessageType::kHeartbeat));
}

TEST_CASE("Every message type has a distinct name") {
  CHECK(MessageTypeName(MessageType::kAppend) != MessageTypeName(MessageType::kVote));
  CHECK_FALSE(MessageTypeName(MessageType::kTransferLeader).empty());
}

}  // namespace
}  // namespace roster::consensus
