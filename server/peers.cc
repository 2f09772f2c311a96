#include "server/peers.h"

#include <cstdint>

namespace roster::server {
namespace {

constexpr std::uint8_t kPeerVersion = 1;
constexpr std::uint8_t kSnapshotVersion = 1;

void PutU32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutU64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutString(std::string& out, std::string_view s) {
  PutU32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

// Bounds-checked reads over a byte string.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool U8(std::uint8_t* v) {
    if (bytes_.size() < 1) return false;
    *v = static_cast<std::uint8_t>(bytes_[0]);
    bytes_.remove_prefix(1);
    return true;
  }
  bool U32(std::uint32_t* v) { return Fixed(v, 4); }
  bool U64(std::uint64_t* v) { return Fixed(v, 8); }
  bool String(std::string* s) {
    std::uint32_t size = 0;
    if (!U32(&size) || bytes_.size() < size) return false;
    s->assign(bytes_.substr(0, size));
    bytes_.remove_prefix(size);
    return true;
  }
  std::string_view rest() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }

 private:
  template <typename T>
  bool Fixed(T* v, int width) {
    if (bytes_.size() < static_cast<std::size_t>(width)) return false;
    T value = 0;
    for (int i = 0; i < width; ++i) {
      value |= static_cast<T>(static_cast<unsigned char>(bytes_[i])) << (8 * i);
    }
    *v = value;
    bytes_.remove_prefix(width);
    return true;
  }
  std::string_view bytes_;
};

void AppendPeerAddress(std::string& out, const PeerAddress& address) {
  PutString(out, address.name);
  PutString(out, address.server_address);
  PutString(out, address.http_address);
}

bool ReadPeerAddress(Reader& reader, PeerAddress* address) {
  return reader.String(&address->name) && reader.String(&address->server_address) &&
         reader.String(&address->http_address);
}

}  // namespace

std::string EncodePeerAddress(const PeerAddress& address) {
  std::string out(1, static_cast<char>(kPeerVersion));
  AppendPeerAddress(out, address);
  return out;
}

Result<PeerAddress> DecodePeerAddress(std::string_view bytes) {
  Reader reader(bytes);
  std::uint8_t version = 0;
  PeerAddress address;
  if (!reader.U8(&version) || version != kPeerVersion || !ReadPeerAddress(reader, &address) ||
      !reader.empty()) {
    return InvalidArgument("malformed peer address in a conf change context");
  }
  return address;
}

std::string EncodePeerDirectory(const PeerDirectory& directory) {
  std::string out;
  PutU32(out, static_cast<std::uint32_t>(directory.size()));
  for (const auto& [id, address] : directory) {
    PutU64(out, id);
    AppendPeerAddress(out, address);
  }
  return out;
}

Result<PeerDirectory> DecodePeerDirectory(std::string_view bytes) {
  Reader reader(bytes);
  std::uint32_t count = 0;
  if (!reader.U32(&count)) return Corruption("peer directory: truncated count");
  PeerDirectory directory;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint64_t id = 0;
    PeerAddress address;
    if (!reader.U64(&id) || !ReadPeerAddress(reader, &address)) {
      return Corruption("peer directory: truncated entry");
    }
    directory[id] = std::move(address);
  }
  if (!reader.empty()) return Corruption("peer directory: trailing bytes");
  return directory;
}

std::string EncodeServerSnapshot(const PeerDirectory& directory, std::string_view store_snapshot) {
  std::string out(1, static_cast<char>(kSnapshotVersion));
  PutString(out, EncodePeerDirectory(directory));
  out.append(store_snapshot);
  return out;
}

Result<ServerSnapshot> DecodeServerSnapshot(std::string_view bytes) {
  Reader reader(bytes);
  std::uint8_t version = 0;
  std::string directory_bytes;
  if (!reader.U8(&version) || version != kSnapshotVersion || !reader.String(&directory_bytes)) {
    return Corruption("server snapshot: bad header");
  }
  Result<PeerDirectory> directory = DecodePeerDirectory(directory_bytes);
  if (!directory.ok()) return directory.status();
  return ServerSnapshot{std::move(directory).value(), std::string(reader.rest())};
}

}  // namespace roster::server
