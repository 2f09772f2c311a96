#include "server/wire.h"

#include <limits>
#include <utility>
#include <vector>

#include "base/check.h"
#include "server/disk_format.h"

namespace roster::server {
namespace {

using consensus::Entry;
using consensus::EntryType;
using consensus::Message;
using consensus::MessageType;
using consensus::NodeId;

// The smallest encodings, which bound how many elements the remaining bytes can hold.
constexpr std::size_t kEntryBytesMin = 4;  // varint term, varint index, u8 type, empty data
constexpr std::size_t kNodeIdBytesMin = 1;
// bytes key, bytes value, varint flags, create, modify, lock index, bytes session.
constexpr std::size_t kDirEntryBytesMin = 7;
constexpr std::size_t kTxnErrorBytesMin = 2;      // varint op_index, bytes what
constexpr std::size_t kStringBytesMin = 1;        // an empty byte string
constexpr std::size_t kServiceCheckBytesMin = 2;  // bytes id, bytes namespace_name
// bytes node, bytes id, bytes address, bool has_meta, list meta.
constexpr std::size_t kHeartbeatBytesMin = 5;
constexpr std::size_t kMetaPairBytesMin = 2;  // bytes key, bytes value

// ---- Encoding ---------------------------------------------------------------------

void PutU8(std::string* out, std::uint8_t value) { out->push_back(static_cast<char>(value)); }
void PutBool(std::string* out, bool value) { PutU8(out, value ? 1 : 0); }
void PutBytes(std::string* out, std::string_view bytes) {
  PutVarint64(out, bytes.size());
  out->append(bytes);
}
void PutIds(std::string* out, const std::vector<NodeId>& ids) {
  PutVarint64(out, ids.size());
  for (NodeId id : ids) PutVarint64(out, id);
}

void EncodePayload(const Hello& hello, std::string* out) {
  PutFixed32(out, hello.protocol_version);
  PutVarint64(out, hello.cluster_id);
  PutVarint64(out, hello.node_id);
  PutBytes(out, hello.node_name);
  PutBytes(out, hello.server_address);
  PutBytes(out, hello.http_address);
}

void EncodePayload(const Message& message, std::string* out) {
  out->reserve(out->size() + message.ByteSize() + 64);
  PutU8(out, static_cast<std::uint8_t>(message.type));
  PutVarint64(out, message.from);
  PutVarint64(out, message.to);
  PutVarint64(out, message.term);
  PutVarint64(out, message.log_term);
  PutVarint64(out, message.index);
  PutVarint64(out, message.entries.size());
  for (const Entry& entry : message.entries) {
    PutVarint64(out, entry.term);
    PutVarint64(out, entry.index);
    PutU8(out, static_cast<std::uint8_t>(entry.type));
    PutBytes(out, entry.data);
  }
  PutVarint64(out, message.commit);
  PutBool(out, message.reject);
  PutVarint64(out, message.reject_hint);
  PutVarint64(out, message.reject_hint_term);
  PutVarint64(out, message.snapshot.metadata.index);
  PutVarint64(out, message.snapshot.metadata.term);
  PutIds(out, message.snapshot.metadata.conf_state.voters);
  PutIds(out, message.snapshot.metadata.conf_state.learners);
  PutBytes(out, message.snapshot.data);
  PutVarint64(out, message.snapshot_offset);
  PutBool(out, message.snapshot_done);
  PutVarint64(out, message.read_round);
  PutBytes(out, message.context);
}

void EncodePayload(const ForwardApply& apply, std::string* out) {
  PutVarint64(out, apply.request_id);
  PutBytes(out, apply.command);
}

void PutDirEntry(std::string* out, const store::DirEntry& entry) {
  PutBytes(out, entry.key);
  PutBytes(out, entry.value);
  PutVarint64(out, entry.flags);
  PutVarint64(out, entry.create_index);
  PutVarint64(out, entry.modify_index);
  PutVarint64(out, entry.lock_index);
  PutBytes(out, entry.session);
}

void EncodePayload(const ForwardResult& result, std::string* out) {
  PutVarint64(out, result.request_id);
  PutU8(out, static_cast<std::uint8_t>(result.status_code));
  PutBytes(out, result.message);
  PutBool(out, result.ok);
  PutVarint64(out, result.index);
  PutBytes(out, result.refused);
  PutBool(out, result.entry.has_value());
  if (result.entry) PutDirEntry(out, *result.entry);
  PutVarint64(out, result.txn.results.size());
  for (const store::TxnResult& txn_result : result.txn.results) PutDirEntry(out, txn_result.kv);
  PutVarint64(out, result.txn.errors.size());
  for (const store::TxnError& error : result.txn.errors) {
    PutVarint64(out, error.op_index);
    PutBytes(out, error.what);
  }
}

void EncodePayload(const Join& join, std::string* out) {
  PutVarint64(out, join.node_id);
  PutBytes(out, join.node_name);
  PutBytes(out, join.server_address);
  PutBytes(out, join.http_address);
  PutBool(out, join.voter);
}

void EncodePayload(const JoinResult& result, std::string* out) {
  PutU8(out, static_cast<std::uint8_t>(result.status_code));
  PutBytes(out, result.message);
  PutVarint64(out, result.cluster_id);
}

void EncodePayload(const ForwardRenew& renew, std::string* out) {
  PutVarint64(out, renew.request_id);
  PutBytes(out, renew.session_id);
}

void EncodePayload(const ForwardHeartbeats& batch, std::string* out) {
  PutVarint64(out, batch.request_id);
  PutVarint64(out, batch.heartbeats.size());
  for (const http::NodeHeartbeat& heartbeat : batch.heartbeats) {
    PutBytes(out, heartbeat.node);
    PutBytes(out, heartbeat.id);
    PutBytes(out, heartbeat.address);
    PutBool(out, heartbeat.meta.has_value());
    const std::size_t pairs = heartbeat.meta ? heartbeat.meta->size() : 0;
    PutVarint64(out, pairs);
    if (pairs == 0) continue;
    for (const auto& [key, value] : *heartbeat.meta) {
      PutBytes(out, key);
      PutBytes(out, value);
    }
  }
  PutVarint64(out, batch.leaves.size());
  for (const std::string& node : batch.leaves) PutBytes(out, node);
}

void EncodePayload(const ForwardHeartbeatsResult& result, std::string* out) {
  PutVarint64(out, result.request_id);
  PutU8(out, static_cast<std::uint8_t>(result.status_code));
  PutBytes(out, result.message);
}

void EncodePayload(const ForwardRenewResult& result, std::string* out) {
  PutVarint64(out, result.request_id);
  PutU8(out, static_cast<std::uint8_t>(result.status_code));
  PutBytes(out, result.message);
  const store::Session& session = result.session;
  PutBytes(out, session.id);
  PutBytes(out, session.name);
  PutBytes(out, session.node);
  PutVarint64(out, session.lock_delay_ms);
  PutU8(out, static_cast<std::uint8_t>(session.behavior));
  PutVarint64(out, session.ttl_ms);
  PutVarint64(out, session.node_checks.size());
  for (const std::string& check : session.node_checks) PutBytes(out, check);
  PutVarint64(out, session.service_checks.size());
  for (const store::ServiceCheckRef& check : session.service_checks) {
    PutBytes(out, check.id);
    PutBytes(out, check.namespace_name);
  }
  PutVarint64(out, session.create_index);
  PutVarint64(out, session.modify_index);
}

// ---- Decoding ---------------------------------------------------------------------

// Reads primitives from the front of untrusted bytes. Errors name the field and the
// offset (from the start of the frame) where the field begins.
class Reader {
 public:
  Reader(std::string_view bytes, std::size_t base_offset)
      : bytes_(bytes), base_offset_(base_offset) {}

  std::size_t remaining() const { return bytes_.size() - position_; }
  std::size_t offset() const { return base_offset_ + position_; }

  Status Error(StatusCode code, std::string_view field, std::size_t at,
               std::string_view problem) const {
    std::string message(field);
    message += " at offset " + std::to_string(at) + ": ";
    message += problem;
    return Status(code, std::move(message));
  }

  Status U8(std::string_view field, std::uint8_t* value) {
    if (remaining() < 1) return Error(StatusCode::kCorruption, field, offset(), "truncated");
    *value = static_cast<std::uint8_t>(bytes_[position_++]);
    return Status::Ok();
  }

  Status Bool(std::string_view field, bool* value) {
    const std::size_t at = offset();
    std::uint8_t byte = 0;
    RETURN_IF_ERROR(U8(field, &byte));
    if (byte > 1) {
      return Error(StatusCode::kCorruption, field, at,
                   "bool is " + std::to_string(byte) + ", not 0 or 1");
    }
    *value = byte == 1;
    return Status::Ok();
  }

  Status Fixed32(std::string_view field, std::uint32_t* value) {
    if (remaining() < 4) {
      return Error(StatusCode::kCorruption, field, offset(),
                   "truncated: 4 bytes needed, " + std::to_string(remaining()) + " left");
    }
    *value = DecodeFixed32(bytes_.data() + position_);
    position_ += 4;
    return Status::Ok();
  }

  Status Varint(std::string_view field, std::uint64_t* value) {
    const std::size_t at = offset();
    std::uint64_t result = 0;
    for (int i = 0; i < 10; ++i) {
      if (remaining() < 1) return Error(StatusCode::kCorruption, field, at, "truncated varint");
      const auto byte = static_cast<std::uint8_t>(bytes_[position_++]);
      // The tenth byte holds bit 63 only; more would overflow 64 bits.
      if (i == 9 && byte > 1) {
        return Error(StatusCode::kCorruption, field, at, "varint overflows 64 bits");
      }
      result |= static_cast<std::uint64_t>(byte & 0x7fu) << (7 * i);
      if ((byte & 0x80u) == 0) {
        if (byte == 0 && i > 0) {
          return Error(StatusCode::kCorruption, field, at, "varint is not minimal");
        }
        *value = result;
        return Status::Ok();
      }
    }
    return Error(StatusCode::kCorruption, field, at, "varint longer than 10 bytes");
  }

  Status Bytes(std::string_view field, std::string* value) {
    const std::size_t at = offset();
    std::uint64_t length = 0;
    RETURN_IF_ERROR(Varint(field, &length));
    if (length > remaining()) {
      return Error(StatusCode::kCorruption, field, at,
                   "length " + std::to_string(length) + " exceeds the " +
                       std::to_string(remaining()) + " bytes left in the frame");
    }
    value->assign(bytes_.data() + position_, static_cast<std::size_t>(length));
    position_ += static_cast<std::size_t>(length);
    return Status::Ok();
  }

  // A list's element count, refused if count elements of at least element_bytes_min
  // each cannot fit in what is left: the caller may then reserve `count` safely.
  Status Count(std::string_view field, std::size_t element_bytes_min, std::uint64_t* count) {
    const std::size_t at = offset();
    RETURN_IF_ERROR(Varint(field, count));
    if (*count > remaining() / element_bytes_min) {
      return Error(StatusCode::kCorruption, field, at,
                   "count " + std::to_string(*count) + " cannot fit in the " +
                       std::to_string(remaining()) + " bytes left in the frame");
    }
    return Status::Ok();
  }

  Status Finish() const {
    if (remaining() == 0) return Status::Ok();
    return Error(StatusCode::kCorruption, "end of frame", offset(),
                 std::to_string(remaining()) + " trailing bytes");
  }

 private:
  std::string_view bytes_;
  std::size_t base_offset_;
  std::size_t position_ = 0;
};

Status DecodeStatusCode(Reader& reader, std::string_view field, StatusCode* code) {
  const std::size_t at = reader.offset();
  std::uint8_t byte = 0;
  RETURN_IF_ERROR(reader.U8(field, &byte));
  *code = static_cast<StatusCode>(byte);
  if (StatusCodeName(*code) == "Unknown") {
    return reader.Error(StatusCode::kInvalidArgument, field, at,
                        "unknown status code " + std::to_string(byte));
  }
  return Status::Ok();
}

// Node ids of a membership list: positive, strictly increasing (sorted and unique).
Status DecodeIds(Reader& reader, std::string_view field, std::vector<NodeId>* ids) {
  std::uint64_t count = 0;
  RETURN_IF_ERROR(reader.Count(field, kNodeIdBytesMin, &count));
  ids->reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t at = reader.offset();
    NodeId id = 0;
    RETURN_IF_ERROR(reader.Varint(field, &id));
    if (id == consensus::kNoNode || (!ids->empty() && id <= ids->back())) {
      return reader.Error(StatusCode::kCorruption, field, at,
                          "node id " + std::to_string(id) + " is not positive, sorted and unique");
    }
    ids->push_back(id);
  }
  return Status::Ok();
}

Status DecodeConfStateLists(Reader& reader, consensus::ConfState* conf_state) {
  RETURN_IF_ERROR(
      DecodeIds(reader, "raft.snapshot.metadata.conf_state.voters", &conf_state->voters));
  const std::size_t learners_at = reader.offset();
  RETURN_IF_ERROR(
      DecodeIds(reader, "raft.snapshot.metadata.conf_state.learners", &conf_state->learners));
  // Both lists are sorted: one merge walk finds a node that is in both.
  auto voter = conf_state->voters.begin();
  for (NodeId learner : conf_state->learners) {
    while (voter != conf_state->voters.end() && *voter < learner) ++voter;
    if (voter != conf_state->voters.end() && *voter == learner) {
      return reader.Error(StatusCode::kCorruption, "raft.snapshot.metadata.conf_state.learners",
                          learners_at, "node " + std::to_string(learner) + " is also a voter");
    }
  }
  return Status::Ok();
}

Status DecodeEntry(Reader& reader, Entry* entry) {
  RETURN_IF_ERROR(reader.Varint("term", &entry->term));
  RETURN_IF_ERROR(reader.Varint("index", &entry->index));
  const std::size_t type_at = reader.offset();
  std::uint8_t type = 0;
  RETURN_IF_ERROR(reader.U8("type", &type));
  if (type > static_cast<std::uint8_t>(EntryType::kConfChange)) {
    return reader.Error(StatusCode::kInvalidArgument, "type", type_at,
                        "unknown entry type " + std::to_string(type));
  }
  entry->type = static_cast<EntryType>(type);
  return reader.Bytes("data", &entry->data);
}

Status DecodeEntries(Reader& reader, std::vector<Entry>* entries) {
  std::uint64_t count = 0;
  RETURN_IF_ERROR(reader.Count("raft.entries", kEntryBytesMin, &count));
  entries->resize(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < entries->size(); ++i) {
    Status status = DecodeEntry(reader, &(*entries)[i]);
    if (!status.ok()) {
      return Status(status.code(), "raft.entries[" + std::to_string(i) + "]." + status.message());
    }
  }
  return Status::Ok();
}

Status DecodePayload(Reader& reader, Hello* hello) {
  const std::size_t version_at = reader.offset();
  RETURN_IF_ERROR(reader.Fixed32("hello.protocol_version", &hello->protocol_version));
  if (hello->protocol_version != kProtocolVersion) {
    return reader.Error(StatusCode::kInvalidArgument, "hello.protocol_version", version_at,
                        "protocol version " + std::to_string(hello->protocol_version) +
                            " is not supported (this node speaks " +
                            std::to_string(kProtocolVersion) + ")");
  }
  RETURN_IF_ERROR(reader.Varint("hello.cluster_id", &hello->cluster_id));
  RETURN_IF_ERROR(reader.Varint("hello.node_id", &hello->node_id));
  RETURN_IF_ERROR(reader.Bytes("hello.node_name", &hello->node_name));
  RETURN_IF_ERROR(reader.Bytes("hello.server_address", &hello->server_address));
  return reader.Bytes("hello.http_address", &hello->http_address);
}

Status DecodeMessageHead(Reader& reader, Message* message) {
  const std::size_t type_at = reader.offset();
  std::uint8_t type = 0;
  RETURN_IF_ERROR(reader.U8("raft.type", &type));
  message->type = static_cast<MessageType>(type);
  if (consensus::MessageTypeName(message->type) == "Unknown") {
    return reader.Error(StatusCode::kInvalidArgument, "raft.type", type_at,
                        "unknown message type " + std::to_string(type));
  }
  RETURN_IF_ERROR(reader.Varint("raft.from", &message->from));
  RETURN_IF_ERROR(reader.Varint("raft.to", &message->to));
  RETURN_IF_ERROR(reader.Varint("raft.term", &message->term));
  RETURN_IF_ERROR(reader.Varint("raft.log_term", &message->log_term));
  return reader.Varint("raft.index", &message->index);
}

Status DecodePayload(Reader& reader, Message* message) {
  RETURN_IF_ERROR(DecodeMessageHead(reader, message));
  RETURN_IF_ERROR(DecodeEntries(reader, &message->entries));
  RETURN_IF_ERROR(reader.Varint("raft.commit", &message->commit));
  RETURN_IF_ERROR(reader.Bool("raft.reject", &message->reject));
  RETURN_IF_ERROR(reader.Varint("raft.reject_hint", &message->reject_hint));
  RETURN_IF_ERROR(reader.Varint("raft.reject_hint_term", &message->reject_hint_term));
  consensus::Snapshot& snapshot = message->snapshot;
  RETURN_IF_ERROR(reader.Varint("raft.snapshot.metadata.index", &snapshot.metadata.index));
  RETURN_IF_ERROR(reader.Varint("raft.snapshot.metadata.term", &snapshot.metadata.term));
  RETURN_IF_ERROR(DecodeConfStateLists(reader, &snapshot.metadata.conf_state));
  RETURN_IF_ERROR(reader.Bytes("raft.snapshot.data", &snapshot.data));
  RETURN_IF_ERROR(reader.Varint("raft.snapshot_offset", &message->snapshot_offset));
  RETURN_IF_ERROR(reader.Bool("raft.snapshot_done", &message->snapshot_done));
  RETURN_IF_ERROR(reader.Varint("raft.read_round", &message->read_round));
  return reader.Bytes("raft.context", &message->context);
}

Status DecodePayload(Reader& reader, ForwardApply* apply) {
  RETURN_IF_ERROR(reader.Varint("forward_apply.request_id", &apply->request_id));
  return reader.Bytes("forward_apply.command", &apply->command);
}

Status DecodeDirEntryFields(Reader& reader, store::DirEntry* entry) {
  RETURN_IF_ERROR(reader.Bytes("key", &entry->key));
  RETURN_IF_ERROR(reader.Bytes("value", &entry->value));
  RETURN_IF_ERROR(reader.Varint("flags", &entry->flags));
  RETURN_IF_ERROR(reader.Varint("create_index", &entry->create_index));
  RETURN_IF_ERROR(reader.Varint("modify_index", &entry->modify_index));
  RETURN_IF_ERROR(reader.Varint("lock_index", &entry->lock_index));
  return reader.Bytes("session", &entry->session);
}

// `field` names the entry in an error ("forward_result.txn.results[2]"); it is built
// only when there is one, so the usual path allocates no field names.
template <typename FieldName>
Status DecodeDirEntry(Reader& reader, const FieldName& field, store::DirEntry* entry) {
  Status status = DecodeDirEntryFields(reader, entry);
  if (status.ok()) return status;
  return Status(status.code(), field() + "." + status.message());
}

Status DecodeTxnError(Reader& reader, store::TxnError* error) {
  std::uint64_t op_index = 0;
  RETURN_IF_ERROR(reader.Varint("op_index", &op_index));
  error->op_index = static_cast<std::size_t>(op_index);
  return reader.Bytes("what", &error->what);
}

Status DecodeTxnOutcome(Reader& reader, store::TxnOutcome* txn) {
  std::uint64_t count = 0;
  RETURN_IF_ERROR(reader.Count("forward_result.txn.results", kDirEntryBytesMin, &count));
  txn->results.resize(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < txn->results.size(); ++i) {
    RETURN_IF_ERROR(DecodeDirEntry(
        reader, [i] { return "forward_result.txn.results[" + std::to_string(i) + "]"; },
        &txn->results[i].kv));
  }
  RETURN_IF_ERROR(reader.Count("forward_result.txn.errors", kTxnErrorBytesMin, &count));
  txn->errors.resize(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < txn->errors.size(); ++i) {
    Status status = DecodeTxnError(reader, &txn->errors[i]);
    if (!status.ok()) {
      return Status(status.code(),
                    "forward_result.txn.errors[" + std::to_string(i) + "]." + status.message());
    }
  }
  return Status::Ok();
}

Status DecodePayload(Reader& reader, ForwardResult* result) {
  RETURN_IF_ERROR(reader.Varint("forward_result.request_id", &result->request_id));
  RETURN_IF_ERROR(DecodeStatusCode(reader, "forward_result.status_code", &result->status_code));
  RETURN_IF_ERROR(reader.Bytes("forward_result.message", &result->message));
  RETURN_IF_ERROR(reader.Bool("forward_result.ok", &result->ok));
  RETURN_IF_ERROR(reader.Varint("forward_result.index", &result->index));
  RETURN_IF_ERROR(reader.Bytes("forward_result.refused", &result->refused));
  bool has_entry = false;
  RETURN_IF_ERROR(reader.Bool("forward_result.has_entry", &has_entry));
  if (has_entry) {
    result->entry.emplace();
    RETURN_IF_ERROR(DecodeDirEntry(
        reader, [] { return std::string("forward_result.entry"); }, &*result->entry));
  }
  return DecodeTxnOutcome(reader, &result->txn);
}

Status DecodePayload(Reader& reader, Join* join) {
  RETURN_IF_ERROR(reader.Varint("join.node_id", &join->node_id));
  RETURN_IF_ERROR(reader.Bytes("join.node_name", &join->node_name));
  RETURN_IF_ERROR(reader.Bytes("join.server_address", &join->server_address));
  RETURN_IF_ERROR(reader.Bytes("join.http_address", &join->http_address));
  return reader.Bool("join.voter", &join->voter);
}

Status DecodePayload(Reader& reader, JoinResult* result) {
  RETURN_IF_ERROR(DecodeStatusCode(reader, "join_result.status_code", &result->status_code));
  RETURN_IF_ERROR(reader.Bytes("join_result.message", &result->message));
  return reader.Varint("join_result.cluster_id", &result->cluster_id);
}

Status DecodePayload(Reader& reader, ForwardRenew* renew) {
  RETURN_IF_ERROR(reader.Varint("forward_renew.request_id", &renew->request_id));
  return reader.Bytes("forward_renew.session_id", &renew->session_id);
}

Status DecodeSessionChecks(Reader& reader, store::Session* session) {
  std::uint64_t count = 0;
  RETURN_IF_ERROR(
      reader.Count("forward_renew_result.session.node_checks", kStringBytesMin, &count));
  session->node_checks.resize(static_cast<std::size_t>(count));
  for (std::string& check : session->node_checks) {
    RETURN_IF_ERROR(reader.Bytes("forward_renew_result.session.node_checks", &check));
  }
  RETURN_IF_ERROR(
      reader.Count("forward_renew_result.session.service_checks", kServiceCheckBytesMin, &count));
  session->service_checks.resize(static_cast<std::size_t>(count));
  for (store::ServiceCheckRef& check : session->service_checks) {
    RETURN_IF_ERROR(reader.Bytes("forward_renew_result.session.service_checks.id", &check.id));
    RETURN_IF_ERROR(reader.Bytes("forward_renew_result.session.service_checks.namespace_name",
                                 &check.namespace_name));
  }
  return Status::Ok();
}

Status DecodePayload(Reader& reader, ForwardRenewResult* result) {
  RETURN_IF_ERROR(reader.Varint("forward_renew_result.request_id", &result->request_id));
  RETURN_IF_ERROR(
      DecodeStatusCode(reader, "forward_renew_result.status_code", &result->status_code));
  RETURN_IF_ERROR(reader.Bytes("forward_renew_result.message", &result->message));
  store::Session& session = result->session;
  RETURN_IF_ERROR(reader.Bytes("forward_renew_result.session.id", &session.id));
  RETURN_IF_ERROR(reader.Bytes("forward_renew_result.session.name", &session.name));
  RETURN_IF_ERROR(reader.Bytes("forward_renew_result.session.node", &session.node));
  RETURN_IF_ERROR(
      reader.Varint("forward_renew_result.session.lock_delay_ms", &session.lock_delay_ms));
  const std::size_t behavior_at = reader.offset();
  std::uint8_t behavior = 0;
  RETURN_IF_ERROR(reader.U8("forward_renew_result.session.behavior", &behavior));
  if (behavior > static_cast<std::uint8_t>(store::SessionBehavior::kDelete)) {
    return reader.Error(StatusCode::kInvalidArgument, "forward_renew_result.session.behavior",
                        behavior_at, "unknown session behavior " + std::to_string(behavior));
  }
  session.behavior = static_cast<store::SessionBehavior>(behavior);
  RETURN_IF_ERROR(reader.Varint("forward_renew_result.session.ttl_ms", &session.ttl_ms));
  RETURN_IF_ERROR(DecodeSessionChecks(reader, &session));
  RETURN_IF_ERROR(
      reader.Varint("forward_renew_result.session.create_index", &session.create_index));
  return reader.Varint("forward_renew_result.session.modify_index", &session.modify_index);
}

Status DecodeHeartbeat(Reader& reader, http::NodeHeartbeat* heartbeat) {
  RETURN_IF_ERROR(reader.Bytes("forward_heartbeats.heartbeat.node", &heartbeat->node));
  RETURN_IF_ERROR(reader.Bytes("forward_heartbeats.heartbeat.id", &heartbeat->id));
  RETURN_IF_ERROR(reader.Bytes("forward_heartbeats.heartbeat.address", &heartbeat->address));
  bool has_meta = false;
  RETURN_IF_ERROR(reader.Bool("forward_heartbeats.heartbeat.has_meta", &has_meta));
  const std::size_t count_at = reader.offset();
  std::uint64_t count = 0;
  RETURN_IF_ERROR(reader.Count("forward_heartbeats.heartbeat.meta", kMetaPairBytesMin, &count));
  if (!has_meta) {
    if (count != 0) {
      return reader.Error(StatusCode::kCorruption, "forward_heartbeats.heartbeat.meta", count_at,
                          "meta pairs without has_meta");
    }
    return Status::Ok();
  }
  heartbeat->meta.emplace();
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t at = reader.offset();
    std::string key;
    std::string value;
    RETURN_IF_ERROR(reader.Bytes("forward_heartbeats.heartbeat.meta.key", &key));
    RETURN_IF_ERROR(reader.Bytes("forward_heartbeats.heartbeat.meta.value", &value));
    if (!heartbeat->meta->empty() && key <= heartbeat->meta->rbegin()->first) {
      return reader.Error(StatusCode::kCorruption, "forward_heartbeats.heartbeat.meta.key", at,
                          "meta keys are not sorted and unique");
    }
    heartbeat->meta->emplace_hint(heartbeat->meta->end(), std::move(key), std::move(value));
  }
  return Status::Ok();
}

Status DecodePayload(Reader& reader, ForwardHeartbeats* batch) {
  RETURN_IF_ERROR(reader.Varint("forward_heartbeats.request_id", &batch->request_id));
  std::uint64_t count = 0;
  RETURN_IF_ERROR(reader.Count("forward_heartbeats.heartbeats", kHeartbeatBytesMin, &count));
  batch->heartbeats.resize(static_cast<std::size_t>(count));
  for (http::NodeHeartbeat& heartbeat : batch->heartbeats) {
    RETURN_IF_ERROR(DecodeHeartbeat(reader, &heartbeat));
  }
  RETURN_IF_ERROR(reader.Count("forward_heartbeats.leaves", kStringBytesMin, &count));
  batch->leaves.resize(static_cast<std::size_t>(count));
  for (std::string& node : batch->leaves) {
    RETURN_IF_ERROR(reader.Bytes("forward_heartbeats.leaves", &node));
  }
  return Status::Ok();
}

Status DecodePayload(Reader& reader, ForwardHeartbeatsResult* result) {
  RETURN_IF_ERROR(reader.Varint("forward_heartbeats_result.request_id", &result->request_id));
  RETURN_IF_ERROR(
      DecodeStatusCode(reader, "forward_heartbeats_result.status_code", &result->status_code));
  return reader.Bytes("forward_heartbeats_result.message", &result->message);
}

// Decodes the payload of alternative T, then insists that nothing is left over.
template <typename T>
Result<Frame> DecodeAs(Reader& reader) {
  T value;
  RETURN_IF_ERROR(DecodePayload(reader, &value));
  RETURN_IF_ERROR(reader.Finish());
  return Frame(std::in_place_type<T>, std::move(value));
}

}  // namespace

std::string_view FrameKindName(FrameKind kind) {
  switch (kind) {
    case FrameKind::kHello:
      return "Hello";
    case FrameKind::kRaft:
      return "Raft";
    case FrameKind::kForwardApply:
      return "ForwardApply";
    case FrameKind::kForwardResult:
      return "ForwardResult";
    case FrameKind::kJoin:
      return "Join";
    case FrameKind::kJoinResult:
      return "JoinResult";
    case FrameKind::kForwardRenew:
      return "ForwardRenew";
    case FrameKind::kForwardRenewResult:
      return "ForwardRenewResult";
    case FrameKind::kForwardHeartbeats:
      return "ForwardHeartbeats";
    case FrameKind::kForwardHeartbeatsResult:
      return "ForwardHeartbeatsResult";
  }
  return "Unknown";
}

FrameKind KindOf(const Frame& frame) { return static_cast<FrameKind>(frame.index() + 1); }

void AppendFrame(const Frame& frame, std::string* out) {
  const std::size_t length_at = out->size();
  PutFixed32(out, 0);  // patched below, once the body's size is known
  PutU8(out, static_cast<std::uint8_t>(KindOf(frame)));
  std::visit([out](const auto& payload) { EncodePayload(payload, out); }, frame);
  const std::size_t body_bytes = out->size() - length_at - kFrameHeaderBytes;
  CHECK_LE(body_bytes, std::numeric_limits<std::uint32_t>::max()) << "frame body too large";
  std::string length;
  PutFixed32(&length, static_cast<std::uint32_t>(body_bytes));
  out->replace(length_at, kFrameHeaderBytes, length);
}

std::string EncodeFrame(const Frame& frame) {
  std::string out;
  AppendFrame(frame, &out);
  return out;
}

Result<std::uint32_t> DecodeFrameLength(std::string_view header, std::uint32_t frame_bytes_max) {
  CHECK_GE(header.size(), kFrameHeaderBytes);
  const std::uint32_t length = DecodeFixed32(header.data());
  if (length == 0) return Corruption("frame length at offset 0: 0 leaves no room for the kind");
  if (length > frame_bytes_max) {
    return Corruption("frame length at offset 0: " + std::to_string(length) +
                      " bytes exceeds the limit of " + std::to_string(frame_bytes_max));
  }
  return length;
}

Result<Frame> DecodeFrameBody(std::string_view body) {
  Reader reader(body, kFrameHeaderBytes);
  std::uint8_t kind = 0;
  RETURN_IF_ERROR(reader.U8("frame kind", &kind));
  switch (static_cast<FrameKind>(kind)) {
    case FrameKind::kHello:
      return DecodeAs<Hello>(reader);
    case FrameKind::kRaft:
      return DecodeAs<Message>(reader);
    case FrameKind::kForwardApply:
      return DecodeAs<ForwardApply>(reader);
    case FrameKind::kForwardResult:
      return DecodeAs<ForwardResult>(reader);
    case FrameKind::kJoin:
      return DecodeAs<Join>(reader);
    case FrameKind::kJoinResult:
      return DecodeAs<JoinResult>(reader);
    case FrameKind::kForwardRenew:
      return DecodeAs<ForwardRenew>(reader);
    case FrameKind::kForwardRenewResult:
      return DecodeAs<ForwardRenewResult>(reader);
    case FrameKind::kForwardHeartbeats:
      return DecodeAs<ForwardHeartbeats>(reader);
    case FrameKind::kForwardHeartbeatsResult:
      return DecodeAs<ForwardHeartbeatsResult>(reader);
  }
  return InvalidArgument("frame kind at offset " + std::to_string(kFrameHeaderBytes) +
                         ": unknown kind " + std::to_string(kind));
}

Result<Frame> DecodeFrame(std::string_view bytes, std::uint32_t frame_bytes_max) {
  if (bytes.size() < kFrameHeaderBytes) {
    return Corruption("frame length at offset 0: truncated: " + std::to_string(bytes.size()) +
                      " of 4 bytes");
  }
  Result<std::uint32_t> length = DecodeFrameLength(bytes, frame_bytes_max);
  if (!length.ok()) return length.status();
  const std::size_t available = bytes.size() - kFrameHeaderBytes;
  if (available < *length) {
    return Corruption("frame body at offset 4: truncated: length says " + std::to_string(*length) +
                      " bytes, " + std::to_string(available) + " present");
  }
  if (available > *length) {
    return Corruption("end of frame at offset " + std::to_string(kFrameHeaderBytes + *length) +
                      ": " + std::to_string(available - *length) + " trailing bytes");
  }
  return DecodeFrameBody(bytes.substr(kFrameHeaderBytes));
}

}  // namespace roster::server
