#include "consensus/message.h"

namespace roster::consensus {

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kAppend: return "Append";
    case MessageType::kAppendResponse: return "AppendResponse";
    case MessageType::kVote: return "Vote";
    case MessageType::kVoteResponse: return "VoteResponse";
    case MessageType::kPreVote: return "PreVote";
    case MessageType::kPreVoteResponse: return "PreVoteResponse";
    case MessageType::kHeartbeat: return "Heartbeat";
    case MessageType::kHeartbeatResponse: return "HeartbeatResponse";
    case MessageType::kSnapshot: return "Snapshot";
    case MessageType::kSnapshotResponse: return "SnapshotResponse";
    case MessageType::kTimeoutNow: return "TimeoutNow";
    case MessageType::kReadIndex: return "ReadIndex";
    case MessageType::kReadIndexResponse: return "ReadIndexResponse";
    case MessageType::kTransferLeader: return "TransferLeader";
    case MessageType::kReadIndexLease: return "ReadIndexLease";
  }
  return "Unknown";
}

std::uint64_t Message::ByteSize() const {
  std::uint64_t bytes = 64 + snapshot.data.size() + context.size();
  for (const Entry& entry : entries) bytes += entry.ByteSize();
  return bytes;
}

bool IsResponse(MessageType type) {
  switch (type) {
    case MessageType::kAppendResponse:
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse:
    case MessageType::kHeartbeatResponse:
    case MessageType::kSnapshotResponse:
    case MessageType::kReadIndexResponse:
      return true;
    default:
      return false;
  }
}

}  // namespace roster::consensus
