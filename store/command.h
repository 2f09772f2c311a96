// Commands: the replicated writes of the store, and their binary encoding.
//
// A command is one Raft log entry's data: a type byte followed by the type's fields
// (store/encoding.h). The leader encodes a command after validating the request,
// Raft replicates the bytes, and every replica's Store::Apply decodes and applies them
// in log order. The type byte is the key of the command table in command.cc, like
// Consul's fsm.go. Design notes: docs/design/store.md.
//
// Decode checks structure only (a known type, every field present, no bytes left
// over). It does not check limits: they are configurable, and an entry that was
// valid when proposed must stay appliable after a config change.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "store/catalog.h"
#include "store/session.h"
#include "store/types.h"

namespace roster::store {

// The type byte. Values are part of the log format: never renumber or reuse one.
enum class CommandType : std::uint8_t {
  kNoop = 0,  // applies as nothing; an empty entry (a new leader's no-op) also decodes to it

  // KV, 1-15.
  kKvSet = 1,
  kKvCas = 2,
  kKvDelete = 3,
  kKvDeleteCas = 4,
  kKvDeleteTree = 5,
  kKvReapTombstones = 6,
  kKvLock = 7,
  kKvUnlock = 8,
  kKvCreateSequential = 9,

  // Sessions, 16-31.
  kSessionCreate = 16,
  kSessionDestroy = 17,
  kSessionInvalidate = 18,

  // Transactions, 32-47.
  kTxn = 32,

  // Catalog, 48-63.
  kCatalogRegister = 48,
  kCatalogDeregister = 49,
};

// A readable name ("kv-set"), or "unknown".
std::string_view CommandTypeName(CommandType type);

struct Noop {
  static constexpr CommandType kType = CommandType::kNoop;
  bool operator==(const Noop&) const = default;
};

// PUT /v1/kv/<key>
struct KvSet {
  static constexpr CommandType kType = CommandType::kKvSet;
  std::string key;
  std::string value;
  std::uint64_t flags = 0;
  bool operator==(const KvSet&) const = default;
};

// PUT /v1/kv/<key>?cas=<cas_index>; 0 means "create only if absent".
struct KvCas {
  static constexpr CommandType kType = CommandType::kKvCas;
  std::string key;
  std::string value;
  std::uint64_t flags = 0;
  Index cas_index = 0;
  bool operator==(const KvCas&) const = default;
};

// DELETE /v1/kv/<key>
struct KvDelete {
  static constexpr CommandType kType = CommandType::kKvDelete;
  std::string key;
  bool operator==(const KvDelete&) const = default;
};

// DELETE /v1/kv/<key>?cas=<cas_index>. As in Consul, cas=0 fails on a present key and
// succeeds on an absent one.
struct KvDeleteCas {
  static constexpr CommandType kType = CommandType::kKvDeleteCas;
  std::string key;
  Index cas_index = 0;
  bool operator==(const KvDeleteCas&) const = default;
};

// DELETE /v1/kv/<prefix>?recurse; an empty prefix deletes everything.
struct KvDeleteTree {
  static constexpr CommandType kType = CommandType::kKvDeleteTree;
  std::string prefix;
  bool operator==(const KvDeleteTree&) const = default;
};

// Proposed periodically by the leader (which owns the clock): drop the tombstones
// written at or before up_to_index.
struct KvReapTombstones {
  static constexpr CommandType kType = CommandType::kKvReapTombstones;
  Index up_to_index = 0;
  bool operator==(const KvReapTombstones&) const = default;
};

// PUT /v1/kv/<key>?acquire=<session> (consul-api.md §3.4). An unknown or empty
// session is refused at apply ("invalid session", "missing session"); a key another
// session holds gives ok = false. Lock-delay is the leader's check, before proposing.
struct KvLock {
  static constexpr CommandType kType = CommandType::kKvLock;
  std::string key;
  std::string value;
  std::uint64_t flags = 0;
  std::string session;
  bool operator==(const KvLock&) const = default;
};

// PUT /v1/kv/<key>?release=<session>: ok = false unless session holds the key.
struct KvUnlock {
  static constexpr CommandType kType = CommandType::kKvUnlock;
  std::string key;
  std::string value;
  std::uint64_t flags = 0;
  std::string session;
  bool operator==(const KvUnlock&) const = default;
};

// PUT /v1/kv/<prefix>?sequential (Roster extension): creates the key prefix + the
// entry's log index, zero-padded to 20 digits. With a session, the new key is also
// acquired by it, so it ends with the session: an ephemeral-sequential key when the
// session's behavior is delete (ZooKeeper's EPHEMERAL_SEQUENTIAL).
struct KvCreateSequential {
  static constexpr CommandType kType = CommandType::kKvCreateSequential;
  std::string prefix;
  std::string value;
  std::uint64_t flags = 0;
  std::string session;  // empty: none
  bool operator==(const KvCreateSequential&) const = default;
};

// PUT /v1/session/create. The proposer fills in every field (the id included); the
// session's create/modify indexes are ignored and stamped at apply.
struct SessionCreate {
  static constexpr CommandType kType = CommandType::kSessionCreate;
  Session session;
  bool operator==(const SessionCreate&) const = default;
};

// PUT /v1/session/destroy/<id>. A session that is already gone is not an error.
struct SessionDestroy {
  static constexpr CommandType kType = CommandType::kSessionDestroy;
  std::string id;
  bool operator==(const SessionDestroy&) const = default;
};

// Proposed by the leader when a session's TTL lapses. Same effect as SessionDestroy;
// a separate type so the log says why a session ended.
struct SessionInvalidate {
  static constexpr CommandType kType = CommandType::kSessionInvalidate;
  std::string id;
  bool operator==(const SessionInvalidate&) const = default;
};

// The KV verbs of PUT /v1/txn (consul-api.md §1.5). The values are part of the log
// format; catalog verbs will take values from 32 up.
enum class TxnVerb : std::uint8_t {
  kSet = 1,
  kCas = 2,
  kLock = 3,
  kUnlock = 4,
  kGet = 5,
  kGetOrEmpty = 6,
  kGetTree = 7,
  kCheckIndex = 8,
  kCheckSession = 9,
  kCheckNotExists = 10,
  kDelete = 11,
  kDeleteTree = 12,
  kDeleteCas = 13,
};

// Consul's spelling ("get-tree"), and back; nullopt for an unknown verb.
std::string_view TxnVerbName(TxnVerb verb);
std::optional<TxnVerb> ParseTxnVerb(std::string_view name);
// True for the verbs that only read: get, get-or-empty, get-tree and the checks.
bool IsReadVerb(TxnVerb verb);

// One KV op of a transaction: Consul's TxnKVOp {Verb, DirEnt}. Each verb reads the
// fields it needs: key (the prefix for get-tree and delete-tree), value and flags
// (set, cas, lock, unlock), index (cas, check-index, delete-cas: a ModifyIndex),
// session (lock, unlock, check-session).
struct TxnKvOp {
  TxnVerb verb = TxnVerb::kGet;
  std::string key;
  std::string value;
  std::uint64_t flags = 0;
  Index index = 0;
  std::string session;
  bool operator==(const TxnKvOp&) const = default;
};

// PUT /v1/txn: every op applies at the entry's index, or none does (store/txn.h).
struct Txn {
  static constexpr CommandType kType = CommandType::kTxn;
  std::vector<TxnKvOp> ops;
  bool operator==(const Txn&) const = default;
};

// PUT /v1/catalog/register (Consul's RegisterRequest): creates or updates the node
// (unless skip_node_update and the node exists), then the service if any, then each
// check on the node; nodes, services and checks take their indexes at apply. A check
// with a service_id must name the service of this request or one already on the node,
// else the whole command is refused. A check registered critical invalidates the
// sessions bound to it, in this entry.
struct CatalogRegister {
  static constexpr CommandType kType = CommandType::kCatalogRegister;
  std::string node;
  std::string id;
  std::string address;
  std::vector<HealthCheck> checks;
  // Added with services; default-initialized so that {node, id, address, checks} stays a
  // complete initializer.
  std::optional<NodeService> service = std::nullopt;
  std::string datacenter = {};
  StringMap tagged_addresses = {};
  StringMap node_meta = {};
  bool skip_node_update = false;
  bool operator==(const CatalogRegister&) const = default;
};

// PUT /v1/catalog/deregister: a service and its checks (service_id set; it wins over
// check_id, as in Consul's FSM), one check (check_id set), or the whole node with its
// services and checks. Invalidates the sessions bound to what it removes (all of the
// node's sessions for a node), in this entry.
struct CatalogDeregister {
  static constexpr CommandType kType = CommandType::kCatalogDeregister;
  std::string node;
  std::string check_id;
  std::string service_id = {};  // added with services, after check_id for that reason
  bool operator==(const CatalogDeregister&) const = default;
};

using Command =
    std::variant<Noop, KvSet, KvCas, KvDelete, KvDeleteCas, KvDeleteTree, KvReapTombstones, KvLock,
                 KvUnlock, KvCreateSequential, SessionCreate, SessionDestroy, SessionInvalidate,
                 Txn, CatalogRegister, CatalogDeregister>;

// Encodes any command: [type byte][fields] (docs/design/store.md).
std::string Encode(const Command& command);

// Decodes a command. Empty bytes are a Noop. Fails with InvalidArgument on an unknown
// or reserved type, a truncated field, an unknown enum value (behavior, status, verb),
// a reserved field in use, or trailing bytes.
Result<Command> Decode(std::string_view bytes);

}  // namespace roster::store
