#include "store/snapshot.h"

#include <utility>

#include "base/crc32c.h"
#include "store/encoding.h"
#include "store/record_encoding.h"
#include "store/snapshot_sections.h"

namespace roster::store {
namespace {

// Layout (docs/design/store.md):
//   magic "RSNP" | version u8 | last_applied_index varint
//   | section* (tag u8, body as length-prefixed bytes) | crc32 of all before, 4 bytes LE
constexpr std::string_view kMagic = "RSNP";
constexpr std::size_t kCrcBytes = 4;

enum class Section : std::uint8_t {
  kKvs = 1,
  kSessions = 2,  // version 2
  kCatalog = 3,   // version 2; services from version 4
};

void WriteEntry(Writer& w, const DirEntry& entry) {
  w.Bytes(entry.key);
  w.Bytes(entry.value);
  w.Varint(entry.flags);
  w.Varint(entry.create_index);
  w.Varint(entry.modify_index);
  w.Varint(entry.lock_index);
  w.Bytes(entry.session);
}

bool ReadEntry(Reader& r, DirEntry& entry) {
  r.Bytes(&entry.key);
  r.Bytes(&entry.value);
  r.Varint(&entry.flags);
  r.Varint(&entry.create_index);
  r.Varint(&entry.modify_index);
  r.Varint(&entry.lock_index);
  return r.Bytes(&entry.session);
}

std::string WriteKvSection(const KvTable& kv) {
  std::string body;
  Writer w(&body);
  w.Varint(kv.TableIndex());
  w.Varint(kv.entries().size());
  for (const auto& [key, entry] : kv.entries()) WriteEntry(w, entry);
  w.Varint(kv.tombstones().size());
  for (const auto& [key, index] : kv.tombstones()) {
    w.Bytes(key);
    w.Varint(index);
  }
  return body;
}

// Keys must come in strictly increasing order: that makes the format canonical and
// each insertion O(1) at the end of the map.
Status ReadKvEntries(Reader& r, KvTable::Entries& entries) {
  std::uint64_t count = 0;
  if (!r.Varint(&count)) return Corruption("snapshot: kv entry count truncated");
  for (std::uint64_t i = 0; i < count; ++i) {
    DirEntry entry;
    if (!ReadEntry(r, entry)) return Corruption("snapshot: kv entry truncated");
    if (!entries.empty() && entry.key <= entries.rbegin()->first) {
      return Corruption("snapshot: kv entries out of order at " + entry.key);
    }
    std::string key = entry.key;
    entries.emplace_hint(entries.end(), std::move(key), std::move(entry));
  }
  return Status::Ok();
}

Status ReadKvTombstones(Reader& r, KvTable::Tombstones& tombstones) {
  std::uint64_t count = 0;
  if (!r.Varint(&count)) return Corruption("snapshot: kv tombstone count truncated");
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string key;
    Index index = 0;
    r.Bytes(&key);
    if (!r.Varint(&index)) return Corruption("snapshot: kv tombstone truncated");
    if (!tombstones.empty() && key <= tombstones.rbegin()->first) {
      return Corruption("snapshot: kv tombstones out of order at " + key);
    }
    tombstones.emplace_hint(tombstones.end(), std::move(key), index);
  }
  return Status::Ok();
}

Result<KvTable> ReadKvSection(std::string_view body) {
  Reader r(body);
  Index table_index = 0;
  if (!r.Varint(&table_index)) return Corruption("snapshot: kv table index truncated");
  KvTable::Entries entries;
  RETURN_IF_ERROR(ReadKvEntries(r, entries));
  KvTable::Tombstones tombstones;
  RETURN_IF_ERROR(ReadKvTombstones(r, tombstones));
  if (!r.Finish()) return Corruption("snapshot: trailing bytes in the kv section");
  return KvTable::FromParts(std::move(entries), std::move(tombstones), table_index);
}

std::string WriteSessionsSection(const SessionTable& sessions) {
  std::string body;
  Writer w(&body);
  w.Varint(sessions.TableIndex());
  w.Varint(sessions.sessions().size());
  for (const auto& [id, session] : sessions.sessions()) {
    w.Varint(session.create_index);
    w.Varint(session.modify_index);
    internal::WriteSessionFields(w, session);
  }
  return body;
}

Result<SessionTable> ReadSessionsSection(std::string_view body) {
  Reader r(body);
  Index table_index = 0;
  std::uint64_t count = 0;
  r.Varint(&table_index);
  if (!r.Count(&count)) return Corruption("snapshot: sessions section header truncated");
  SessionTable::Sessions sessions;
  for (std::uint64_t i = 0; i < count; ++i) {
    Session session;
    r.Varint(&session.create_index);
    r.Varint(&session.modify_index);
    if (!internal::ReadSessionFields(r, session)) return Corruption("snapshot: session truncated");
    if (!sessions.empty() && session.id <= sessions.rbegin()->first) {
      return Corruption("snapshot: sessions out of order at " + session.id);
    }
    std::string id = session.id;
    sessions.emplace_hint(sessions.end(), std::move(id), std::move(session));
  }
  if (!r.Finish()) return Corruption("snapshot: trailing bytes in the sessions section");
  return SessionTable::FromParts(std::move(sessions), table_index);
}

// Reads one section's body into state.
Status ReadSection(Section section, std::string_view body, std::uint8_t version,
                   StoreState& state) {
  switch (section) {
    case Section::kKvs: {
      Result<KvTable> kv = ReadKvSection(body);
      if (!kv.ok()) return kv.status();
      state.kv = std::move(kv).value();
      return Status::Ok();
    }
    case Section::kSessions: {
      Result<SessionTable> sessions = ReadSessionsSection(body);
      if (!sessions.ok()) return sessions.status();
      state.sessions = std::move(sessions).value();
      return Status::Ok();
    }
    case Section::kCatalog: {
      Result<CatalogTable> catalog = internal::ReadCatalogSection(body, version);
      if (!catalog.ok()) return catalog.status();
      state.catalog = std::move(catalog).value();
      return Status::Ok();
    }
  }
  return Corruption("snapshot: unknown section");
}

// Reads the sections after the header into state. Each section of the version must
// appear exactly once (version 1 has only kvs); any other tag is unknown.
Status ReadSections(Reader& r, std::uint8_t version, StoreState& state) {
  const std::uint8_t last_tag = version == 1 ? 1 : 3;
  std::uint8_t seen = 0;  // bit per tag
  while (r.remaining() > 0) {
    std::uint8_t tag = 0;
    std::string_view body;
    r.U8(&tag);
    if (!r.BytesView(&body)) return Corruption("snapshot: section truncated");
    if (tag == 0 || tag > last_tag) {
      return Corruption("snapshot: unknown section " + std::to_string(tag));
    }
    if (seen & (1u << tag)) return Corruption("snapshot: section repeated " + std::to_string(tag));
    seen |= static_cast<std::uint8_t>(1u << tag);
    RETURN_IF_ERROR(ReadSection(static_cast<Section>(tag), body, version, state));
  }
  for (std::uint8_t tag = 1; tag <= last_tag; ++tag) {
    if (!(seen & (1u << tag)))
      return Corruption("snapshot: section missing " + std::to_string(tag));
  }
  return Status::Ok();
}

// The invariants between tables that apply maintains.
Status CheckReferences(const StoreState& state) {
  for (const auto& [key, entry] : state.kv.entries()) {
    if (!entry.session.empty() && state.sessions.Find(entry.session) == nullptr) {
      return Corruption("snapshot: kv entry held by a missing session: " + key);
    }
  }
  for (const auto& [id, session] : state.sessions.sessions()) {
    if (state.catalog.FindNode(session.node) == nullptr) {
      return Corruption("snapshot: session on a missing node: " + id);
    }
    for (const std::string& check_id : session.CheckIds()) {
      const HealthCheck* check = state.catalog.FindCheck(session.node, check_id);
      if (check == nullptr || check->status == HealthStatus::kCritical) {
        return Corruption("snapshot: session bound to a missing or critical check: " + id);
      }
    }
  }
  const Index last = state.last_applied_index;
  if (state.kv.TableIndex() > last || state.sessions.TableIndex() > last ||
      state.catalog.NodesIndex() > last || state.catalog.ServicesIndex() > last ||
      state.catalog.ChecksIndex() > last) {
    return Corruption("snapshot: a table index beyond the last applied index");
  }
  return Status::Ok();
}

}  // namespace

std::string WriteSnapshot(const StoreState& state) {
  std::string out(kMagic);
  Writer w(&out);
  w.U8(kSnapshotVersion);
  w.Varint(state.last_applied_index);
  w.U8(static_cast<std::uint8_t>(Section::kKvs));
  w.Bytes(WriteKvSection(state.kv));
  w.U8(static_cast<std::uint8_t>(Section::kSessions));
  w.Bytes(WriteSessionsSection(state.sessions));
  w.U8(static_cast<std::uint8_t>(Section::kCatalog));
  w.Bytes(internal::WriteCatalogSection(state.catalog));
  w.FixedU32(Crc32c(out));
  return out;
}

Result<StoreState> ReadSnapshot(std::string_view bytes) {
  if (bytes.size() < kMagic.size() + 1 + kCrcBytes) return Corruption("snapshot: too short");
  std::string_view content = bytes.substr(0, bytes.size() - kCrcBytes);
  std::uint32_t stored_crc = 0;
  for (std::size_t i = 0; i < kCrcBytes; ++i) {
    stored_crc |= std::uint32_t{static_cast<std::uint8_t>(bytes[content.size() + i])} << (8 * i);
  }
  if (!content.starts_with(kMagic)) return Corruption("snapshot: bad magic");
  const auto version = static_cast<std::uint8_t>(content[kMagic.size()]);
  if (version < 1 || version > kSnapshotVersion) {
    return Corruption("snapshot: unsupported version " + std::to_string(version));
  }
  // Versions 1 and 2 were sealed with CRC-32 (IEEE); 3 with CRC-32C, which the CPU
  // computes several times faster.
  const std::uint32_t crc = version >= 3 ? Crc32c(content) : LegacyCrc32(content);
  if (crc != stored_crc) return Corruption("snapshot: checksum mismatch");
  Reader r(content.substr(kMagic.size() + 1));
  StoreState state;
  if (!r.Varint(&state.last_applied_index)) return Corruption("snapshot: header truncated");
  RETURN_IF_ERROR(ReadSections(r, version, state));
  RETURN_IF_ERROR(CheckReferences(state));
  return state;
}

}  // namespace roster::store
