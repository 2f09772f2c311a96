#include "server/disk_format.h"

#include <algorithm>
#include <vector>

namespace roster::server {
namespace {

Status CheckIds(const std::vector<consensus::NodeId>& ids, std::string_view what) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == consensus::kNoNode || (i > 0 && ids[i] <= ids[i - 1])) {
      return Corruption("conf state: " + std::string(what) + " not positive, sorted and unique");
    }
  }
  return Status::Ok();
}

Status GetIds(std::string_view* in, std::vector<consensus::NodeId>* ids) {
  std::uint64_t count = 0;
  // Every id takes at least one byte, which bounds the allocation by the blob's size.
  if (!GetVarint64(in, &count) || count > in->size()) {
    return Corruption("conf state: bad id count");
  }
  ids->resize(count);
  for (consensus::NodeId& id : *ids) {
    if (!GetVarint64(in, &id)) return Corruption("conf state: truncated id");
  }
  return Status::Ok();
}

}  // namespace


void PutFixed32(std::string* out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xffu));
}

void PutFixed64(std::string* out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xffu));
}

std::uint32_t DecodeFixed32(const char* bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes);
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

std::uint64_t DecodeFixed64(const char* bytes) {
  return static_cast<std::uint64_t>(DecodeFixed32(bytes)) |
         static_cast<std::uint64_t>(DecodeFixed32(bytes + 4)) << 32;
}

void PutVarint64(std::string* out, std::uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

bool GetVarint64(std::string_view* in, std::uint64_t* value) {
  std::uint64_t result = 0;
  for (std::size_t i = 0; i < in->size() && i < 10; ++i) {
    const auto byte = static_cast<std::uint64_t>(static_cast<unsigned char>((*in)[i]));
    result |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in->remove_prefix(i + 1);
      *value = result;
      return true;
    }
  }
  return false;
}

std::string EncodeConfState(const consensus::ConfState& conf_state) {
  std::string blob;
  PutVarint64(&blob, conf_state.voters.size());
  for (consensus::NodeId id : conf_state.voters) PutVarint64(&blob, id);
  PutVarint64(&blob, conf_state.learners.size());
  for (consensus::NodeId id : conf_state.learners) PutVarint64(&blob, id);
  // Checked at both ends: a membership that would not decode must never reach the disk.
  const Result<consensus::ConfState> decoded = DecodeConfState(blob);
  CHECK(decoded.ok()) << "encoding an invalid conf state: " << decoded.status().ToString();
  return blob;
}

Result<consensus::ConfState> DecodeConfState(std::string_view blob) {
  consensus::ConfState conf_state;
  RETURN_IF_ERROR(GetIds(&blob, &conf_state.voters));
  RETURN_IF_ERROR(GetIds(&blob, &conf_state.learners));
  if (!blob.empty()) return Corruption("conf state: trailing bytes");
  RETURN_IF_ERROR(CheckIds(conf_state.voters, "voters"));
  RETURN_IF_ERROR(CheckIds(conf_state.learners, "learners"));
  for (consensus::NodeId id : conf_state.learners) {
    if (std::binary_search(conf_state.voters.begin(), conf_state.voters.end(), id)) {
      return Corruption("conf state: node " + std::to_string(id) + " is voter and learner");
    }
  }
  return conf_state;
}

}  // namespace roster::server
