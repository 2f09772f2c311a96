#include "store/snapshot.h"

#include <utility>

#include "store/encoding.h"

namespace roster::store {
namespace {

// Layout (docs/design/store.md):
//   magic "RSNP" | version u8 | last_applied_index varint
//   | section* (tag u8, body as length-prefixed bytes) | crc32 of all before, 4 bytes LE
constexpr std::string_view kMagic = "RSNP";
constexpr std::size_t kCrcBytes = 4;

enum class Section : std::uint8_t {
  kKvs = 1,
  // Sessions and the catalog will add their tables here.
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

// Reads the sections after the header into state; each must appear exactly once.
Status ReadSections(Reader& r, StoreState& state) {
  bool seen_kvs = false;
  while (r.remaining() > 0) {
    std::uint8_t tag = 0;
    std::string_view body;
    r.U8(&tag);
    if (!r.BytesView(&body)) return Corruption("snapshot: section truncated");
    if (tag != static_cast<std::uint8_t>(Section::kKvs)) {
      return Corruption("snapshot: unknown section " + std::to_string(tag));
    }
    if (seen_kvs) return Corruption("snapshot: kv section repeated");
    Result<KvTable> kv = ReadKvSection(body);
    if (!kv.ok()) return kv.status();
    state.kv = std::move(kv).value();
    seen_kvs = true;
  }
  if (!seen_kvs) return Corruption("snapshot: kv section missing");
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
  w.FixedU32(Crc32(out));
  return out;
}

Result<StoreState> ReadSnapshot(std::string_view bytes) {
  if (bytes.size() < kMagic.size() + 1 + kCrcBytes) return Corruption("snapshot: too short");
  std::string_view content = bytes.substr(0, bytes.size() - kCrcBytes);
  std::uint32_t stored_crc = 0;
  for (std::size_t i = 0; i < kCrcBytes; ++i) {
    stored_crc |= std::uint32_t{static_cast<std::uint8_t>(bytes[content.size() + i])} << (8 * i);
  }
  if (Crc32(content) != stored_crc) return Corruption("snapshot: checksum mismatch");
  if (!content.starts_with(kMagic)) return Corruption("snapshot: bad magic");
  Reader r(content.substr(kMagic.size()));
  std::uint8_t version = 0;
  r.U8(&version);
  if (version != kSnapshotVersion) {
    return Corruption("snapshot: unsupported version " + std::to_string(version));
  }
  StoreState state;
  if (!r.Varint(&state.last_applied_index)) return Corruption("snapshot: header truncated");
  RETURN_IF_ERROR(ReadSections(r, state));
  if (state.kv.TableIndex() > state.last_applied_index) {
    return Corruption("snapshot: kv table index beyond the last applied index");
  }
  return state;
}

}  // namespace roster::store
