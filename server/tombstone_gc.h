// TombstoneGc: when the leader may reap KV tombstones.
//
// A delete leaves a tombstone so that a prefix's blocking-query index never goes
// backwards while watchers may still be parked on it (store/kv.h). Tombstones must go
// eventually, but the store has no clock, so the leader decides, as Consul's leader
// does with its tombstone_ttl: while leading it records the applied index every
// `granularity`; once a record is `ttl` old, every tombstone at or below its index was
// written at least `ttl` ago and may be reaped with store::KvReapTombstones. A new
// leader starts with no records, so a tombstone lives between ttl and about
// 2 * ttl + granularity, never less than ttl.
// Pure: the caller passes the time in. Single-threaded: owned by the Raft loop.
#pragma once

#include <cstdint>
#include <deque>

#include "consensus/types.h"

namespace roster::server {

class TombstoneGc {
 public:
  // REQUIRES: ttl_ms >= 0, granularity_ms > 0.
  TombstoneGc(std::int64_t ttl_ms, std::int64_t granularity_ms);

  // Call often while leading: records applied_index when a granularity has passed
  // since the last record.
  void Observe(std::int64_t now_ms, consensus::Index applied_index);

  // The highest recorded index that is now ttl old, once per record; 0 when no new
  // record has expired.
  consensus::Index TakeExpired(std::int64_t now_ms);

  // Leadership lost: forget every record (the next term starts over).
  void Reset();

  // The default granularity for a ttl: Consul's 30 s at its 15 min default, finer for
  // shorter ttls (ttl / 30), never below 10 ms.
  static std::int64_t GranularityFor(std::int64_t ttl_ms);

 private:
  struct Record {
    std::int64_t at_ms;
    consensus::Index index;
  };
  const std::int64_t ttl_ms_;
  const std::int64_t granularity_ms_;
  std::deque<Record> records_;
};

}  // namespace roster::server
