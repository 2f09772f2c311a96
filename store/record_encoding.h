// Binary encodings of the store's records (sessions, services, checks, maps, lists), shared by
// the commands (store/command.cc) and the snapshot (store/snapshot.cc) so both spell a
// record the same way. The Read functions have the Reader's sticky-failure contract:
// call them all, check the Reader once; an unknown enum value fails the Reader.
// Internal to store/. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/catalog.h"
#include "store/encoding.h"
#include "store/session.h"

namespace roster::store::internal {

void WriteStrings(Writer& w, const std::vector<std::string>& strings);
bool ReadStrings(Reader& r, std::vector<std::string>& strings);
// A map as a count and its pairs; keys must come in strictly increasing order (the
// encoding of a map is canonical), else the Reader fails.
void WriteStringMap(Writer& w, const StringMap& map);
bool ReadStringMap(Reader& r, StringMap& map);

// A session's fields except its create/modify indexes.
void WriteSessionFields(Writer& w, const Session& session);
bool ReadSessionFields(Reader& r, Session& session);

// A check's fields except its node and its create/modify indexes (both commands and
// snapshots store checks under their node): the base fields of the first command and
// snapshot forms, then the extra ones (type, definition) that later forms add.
void WriteCheckFields(Writer& w, const HealthCheck& check);
bool ReadCheckFields(Reader& r, HealthCheck& check);
void WriteCheckExtraFields(Writer& w, const HealthCheck& check);
bool ReadCheckExtraFields(Reader& r, HealthCheck& check);

// A service's fields except its create/modify indexes.
void WriteServiceFields(Writer& w, const NodeService& service);
bool ReadServiceFields(Reader& r, NodeService& service);

}  // namespace roster::store::internal
