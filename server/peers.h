// Peers: who the servers of the cluster are and where to reach them.
//
// Raft's membership is a set of node ids; names and addresses travel beside it, in the
// context of each member's conf change (and so in the bootstrap log), and in every
// snapshot the server takes. So the log is the one source of truth for both, a joining
// server learns them by replaying it, and a restarted server finds its peers again.
// Thread-safety: plain values; the node guards its directory with its own lock.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "consensus/types.h"

namespace roster::server {

struct PeerAddress {
  std::string name;            // the node name given with -node
  std::string server_address;  // "host:port" of the Raft/RPC port
  std::string http_address;    // "host:port" of the HTTP API

  bool operator==(const PeerAddress&) const = default;
};

// A conf change's context.
std::string EncodePeerAddress(const PeerAddress& address);
Result<PeerAddress> DecodePeerAddress(std::string_view bytes);

using PeerDirectory = std::map<consensus::NodeId, PeerAddress>;

std::string EncodePeerDirectory(const PeerDirectory& directory);
Result<PeerDirectory> DecodePeerDirectory(std::string_view bytes);

// What a server snapshot holds: the peer directory and the store's own snapshot.
std::string EncodeServerSnapshot(const PeerDirectory& directory, std::string_view store_snapshot);
struct ServerSnapshot {
  PeerDirectory directory;
  std::string store_snapshot;
};
Result<ServerSnapshot> DecodeServerSnapshot(std::string_view bytes);

}  // namespace roster::server
