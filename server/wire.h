// The peer wire format: the frames servers exchange over TCP (transport.h), and
// the one-shot requests of the join flow and the CLI.
//
// Thread-safety: pure functions over values.
//
// Frame = [u32 length][u8 kind][payload]. `length` is little-endian and counts the
// kind byte and the payload, so 1 <= length <= frame_bytes_max. Offsets in error
// messages count from the first byte of the length prefix (the kind is at 4).
//
// Payload primitives:
//   u8       one byte
//   bool     one byte, 0 or 1 (anything else is rejected)
//   fixed32  four bytes, little-endian
//   varint   unsigned LEB128: at most 10 bytes, fits in 64 bits, minimal (no padding
//            with 0x80 ... 0x00), so every value has exactly one encoding
//   bytes    varint length, then that many bytes (strings are bytes; no UTF-8 check)
//   list<T>  varint count, then count elements
//
// Kinds and their payloads, fields in this order:
//   1 Hello         fixed32 protocol_version (first and fixed-width, so a future
//                   version can be recognised before its layout is parsed),
//                   varint cluster_id, varint node_id, bytes node_name,
//                   bytes server_address, bytes http_address
//   2 Raft          u8 type, varint from, to, term, log_term, index, list<entry>,
//                   varint commit, bool reject, varint reject_hint, reject_hint_term,
//                   varint snapshot.metadata.index, snapshot.metadata.term,
//                   list<varint> voters, list<varint> learners, bytes snapshot.data,
//                   varint snapshot_offset, bool snapshot_done, varint read_round,
//                   bytes context
//                   entry = varint term, varint index, u8 type, bytes data
//   3 ForwardApply  varint request_id, bytes command
//   4 ForwardResult varint request_id, u8 status_code, bytes message, bool ok,
//                   varint index, bytes refused, bool has_entry, [dir_entry if
//                   has_entry], list<dir_entry> txn.results, list<txn_error> txn.errors
//                   dir_entry = bytes key, bytes value, varint flags, create_index,
//                   modify_index, lock_index, bytes session
//                   txn_error = varint op_index, bytes what
//   5 Join          varint node_id, bytes node_name, bytes server_address,
//                   bytes http_address, bool voter
//   6 JoinResult    u8 status_code, bytes message, varint cluster_id
//   7 ForwardRenew  varint request_id, bytes session_id
//   8 ForwardRenewResult
//                   varint request_id, u8 status_code, bytes message, session
//                   session = bytes id, bytes name, bytes node, varint lock_delay_ms,
//                   u8 behavior, varint ttl_ms, list<bytes> node_checks,
//                   list<service_check> service_checks, varint create_index,
//                   varint modify_index
//                   service_check = bytes id, bytes namespace_name
//   9 ForwardHeartbeats
//                   varint request_id, list<heartbeat> heartbeats, list<bytes> leaves
//                   heartbeat = bytes node, bytes id, bytes address, bool has_meta,
//                   list<meta_pair> meta (empty unless has_meta)
//                   meta_pair = bytes key, bytes value (keys strictly increasing)
//   10 ForwardHeartbeatsResult
//                   varint request_id, u8 status_code, bytes message
//
// Decoding treats bytes as hostile: every read is bounds-checked, no allocation is
// sized from a length or count before it is checked against the bytes that remain,
// enums (kind, MessageType, EntryType, StatusCode, SessionBehavior) must be known, the
// membership lists must keep ConfState's promises (positive, sorted, unique, disjoint),
// and a frame must be consumed exactly. Structural damage (truncation, lengths or
// counts beyond the frame, trailing bytes, a bad varint) is Corruption; a well-formed
// value this node does not accept (unknown kind or enum value, protocol version) is
// InvalidArgument. Each message names the field and its offset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/status.h"
#include "consensus/message.h"
#include "consensus/types.h"
#include "http/backend.h"
#include "store/apply_result.h"
#include "store/kv.h"
#include "store/session.h"

namespace roster::server {

inline constexpr std::uint32_t kProtocolVersion = 1;
inline constexpr std::size_t kFrameHeaderBytes = 4;  // the u32 length
// Holds a 1 MiB snapshot chunk, or an append of 1 MiB entries, many times over.
inline constexpr std::uint32_t kFrameBytesMaxDefault = 64u << 20;

enum class FrameKind : std::uint8_t {
  kHello = 1,
  kRaft = 2,
  kForwardApply = 3,
  kForwardResult = 4,
  kJoin = 5,
  kJoinResult = 6,
  kForwardRenew = 7,
  kForwardRenewResult = 8,
  kForwardHeartbeats = 9,
  kForwardHeartbeatsResult = 10,
};

std::string_view FrameKindName(FrameKind kind);

// Sent first on every connection by the dialer, answered by the acceptor with its own.
struct Hello {
  std::uint32_t protocol_version = kProtocolVersion;
  std::uint64_t cluster_id = 0;  // 0: not known yet (a server that has not joined)
  consensus::NodeId node_id = consensus::kNoNode;  // 0: anonymous (the CLI)
  std::string node_name;
  std::string server_address;  // "host:port" of this transport, as peers should dial it
  std::string http_address;    // "host:port" of the HTTP API

  bool operator==(const Hello&) const = default;
};

// A follower asks the leader to commit a command (an encoded store command).
struct ForwardApply {
  std::uint64_t request_id = 0;  // chosen by the follower, echoed in the result
  std::string command;

  bool operator==(const ForwardApply&) const = default;
};

// The leader's answer to a ForwardApply: everything http::WriteOutcome carries.
// status_code/message say whether the command was committed and applied (NotLeader,
// Unavailable, ...). When it was (kOk): `index` is the entry's index; `refused`, when
// not empty, is the store's text for a command it refused at apply (the follower
// answers FailedPrecondition with it, as the leader's own callers get); otherwise
// `ok` is the apply result's own verdict (false for a failed CAS, a held lock, a
// lock-delay, a rolled-back txn), `entry` the entry a kv-create-sequential created and
// `txn` a transaction's results or errors.
struct ForwardResult {
  std::uint64_t request_id = 0;
  StatusCode status_code = StatusCode::kOk;
  std::string message;
  bool ok = false;
  consensus::Index index = 0;
  std::string refused;
  std::optional<store::DirEntry> entry;
  store::TxnOutcome txn;

  bool operator==(const ForwardResult&) const = default;
};

// A new server asks any member to add it to the cluster.
struct Join {
  consensus::NodeId node_id = consensus::kNoNode;
  std::string node_name;
  std::string server_address;
  std::string http_address;
  bool voter = true;  // false: join as a learner (non-voter)

  bool operator==(const Join&) const = default;
};

struct JoinResult {
  StatusCode status_code = StatusCode::kOk;
  std::string message;
  std::uint64_t cluster_id = 0;  // the cluster the server joined

  bool operator==(const JoinResult&) const = default;
};

// A follower asks the leader to restart a session's TTL timer (PUT /v1/session/renew
// reached a follower). Not a Raft write: only the leader keeps timers.
struct ForwardRenew {
  std::uint64_t request_id = 0;  // chosen by the follower, echoed in the result
  std::string session_id;

  bool operator==(const ForwardRenew&) const = default;
};

// The leader's answer: kOk and the session as its store holds it; NotFound ("Session
// id '<id>' not found"); NotLeader (the follower retries once it knows the leader);
// Unavailable. `session` is default-constructed unless status_code is kOk.
struct ForwardRenewResult {
  std::uint64_t request_id = 0;
  StatusCode status_code = StatusCode::kOk;
  std::string message;
  store::Session session;

  bool operator==(const ForwardRenewResult&) const = default;
};

// A follower hands the leader the node heartbeats and graceful leaves its HTTP
// clients sent since its last loop turn, many in one frame (docs/design/server.md,
// "Node liveness"). Not a Raft write: only the leader keeps liveness timers.
struct ForwardHeartbeats {
  std::uint64_t request_id = 0;  // chosen by the follower, echoed in the result
  std::vector<http::NodeHeartbeat> heartbeats;
  std::vector<std::string> leaves;  // node names

  bool operator==(const ForwardHeartbeats&) const = default;
};

// The leader's answer for the whole batch: kOk (taken), NotLeader (the follower sends
// them again once it knows the leader), or another error for every one of them.
struct ForwardHeartbeatsResult {
  std::uint64_t request_id = 0;
  StatusCode status_code = StatusCode::kOk;
  std::string message;

  bool operator==(const ForwardHeartbeatsResult&) const = default;
};

// One frame; the alternative's position is FrameKind minus one.
using Frame = std::variant<Hello, consensus::Message, ForwardApply, ForwardResult, Join, JoinResult,
                           ForwardRenew, ForwardRenewResult, ForwardHeartbeats,
                           ForwardHeartbeatsResult>;

FrameKind KindOf(const Frame& frame);

// Appends the whole frame, length prefix included, to *out. The caller checks the
// size against the receiver's limit. REQUIRES: the frame's body fits in 32 bits.
void AppendFrame(const Frame& frame, std::string* out);
std::string EncodeFrame(const Frame& frame);

// The body length a frame header announces. REQUIRES: header.size() >= 4. Corruption
// if the length is 0 (no kind byte) or above frame_bytes_max.
Result<std::uint32_t> DecodeFrameLength(std::string_view header, std::uint32_t frame_bytes_max);

// Decodes a frame body: the `length` bytes after the prefix (kind, then payload).
Result<Frame> DecodeFrameBody(std::string_view body);

// Decodes exactly one complete frame, prefix included: no byte missing or left over.
Result<Frame> DecodeFrame(std::string_view bytes,
                          std::uint32_t frame_bytes_max = kFrameBytesMaxDefault);

}  // namespace roster::server
