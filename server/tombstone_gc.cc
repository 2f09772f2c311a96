#include "server/tombstone_gc.h"

#include <algorithm>

#include "base/check.h"

namespace roster::server {

TombstoneGc::TombstoneGc(std::int64_t ttl_ms, std::int64_t granularity_ms)
    : ttl_ms_(ttl_ms), granularity_ms_(granularity_ms) {
  CHECK(ttl_ms >= 0);
  CHECK(granularity_ms > 0);
}

void TombstoneGc::Observe(std::int64_t now_ms, consensus::Index applied_index) {
  if (!records_.empty()) {
    if (now_ms - records_.back().at_ms < granularity_ms_) return;
    if (records_.back().index == applied_index) {
      // Nothing applied since: the older record covers the same tombstones and
      // expires first, so a twin would add nothing.
      return;
    }
  }
  records_.push_back(Record{now_ms, applied_index});
}

consensus::Index TombstoneGc::TakeExpired(std::int64_t now_ms) {
  consensus::Index expired = 0;
  while (!records_.empty() && now_ms - records_.front().at_ms >= ttl_ms_) {
    expired = records_.front().index;
    records_.pop_front();
  }
  return expired;
}

void TombstoneGc::Reset() { records_.clear(); }

std::int64_t TombstoneGc::GranularityFor(std::int64_t ttl_ms) {
  return std::clamp<std::int64_t>(ttl_ms / 30, 10, 30'000);
}

}  // namespace roster::server
