// AnswerCache: encoded replies to service questions (A, AAAA, SRV), reused while the
// service's instances stand still, so a repeated question costs a lookup, a copy, an ID
// and question patch and a shuffle instead of building and encoding a Message.
// The Responder (dns/responder.h) owns one; design notes: docs/design/dns.md,
// "The answer cache".
//
// Key: the query's octets after the ID, the question name folded to lowercase, plus the
// transport. So two queries share an entry only if they differ in nothing but ID and
// the case of the name: same flags, type, class, EDNS size, DO bit and options, hence
// the same size limit and the same reply but for those. Value: the reply the slow path
// encoded for the first of them, with the record layout found by Prepare, and the
// DnsInstances it was built from. A lookup asks the catalog again and uses the entry
// only if it hands out the very same instances (DnsInstances is the version), so any
// change to the service is seen by the next query.
//
// Per reply (Render): the cached octets with the query's ID and question copied in
// (the client's case, DNS 0x20) and the answer records put in a fresh random order
// (Fisher-Yates), compression pointers into them moved along. Only replies whose every
// shuffle gives the same records in another order are cached (the Responder checks
// AnswerSections::shuffle_changes_order_only), and only whole ones: nothing cut, no TC,
// no SOA (its serial is the clock), no answer other than the question's type.
//
// Bounded: at most `entries_max` entries; a shard that is full starts over.
// Thread-safety: Find, Insert and size from any thread; sharded by key so the UDP
// workers rarely meet on a lock, which is held only to find or store a pointer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/random.h"
#include "dns/catalog.h"

namespace roster::dns {

enum class Transport : std::uint8_t;

// One cached reply and where its records are.
struct CachedAnswer {
  // What the catalog is asked on a lookup, and the instances the reply was built from.
  std::string datacenter;
  std::string service;
  DnsInstances instances;

  std::string reply;
  std::size_t question_end = 0;  // reply[12, question_end) is the question
  // The answer records, [begin, end) in `reply`, one after another.
  struct Record {
    std::size_t begin = 0;
    std::size_t end = 0;
  };
  std::vector<Record> answers;
  // A compression pointer at `offset` in the additional section that points `delta`
  // octets into answer record `record`.
  struct Pointer {
    std::size_t offset = 0;
    std::size_t record = 0;
    std::size_t delta = 0;
  };
  std::vector<Pointer> pointers;
};

class AnswerCache {
 public:
  static constexpr std::size_t kEntriesMaxDefault = 8192;

  // REQUIRES: entries_max > 0.
  explicit AnswerCache(std::size_t entries_max = kEntriesMaxDefault);

  // Writes the key of `query` over `transport` over `*key`, reusing its capacity (a UDP
  // worker keeps one buffer, so building a key allocates nothing). False, and `*key`
  // unspecified, when the query is too short or its question name is not plain labels
  // (a pointer, a bad length), which the slow path then answers.
  static bool KeyOf(std::span<const std::uint8_t> query, Transport transport, std::string* key);

  // The entry stored under `key`, or null.
  std::shared_ptr<const CachedAnswer> Find(const std::string& key) const;
  void Insert(std::string key, std::shared_ptr<const CachedAnswer> answer);
  std::size_t size() const;
  std::size_t entries_max() const { return entries_max_; }

  // `entry` filled with `reply`'s layout, nullopt when its layout is not one Render can
  // reuse for other queries of the same key: one question equal to `query`'s, answers
  // of `type` owned by the question (a pointer to it), no authority, additional records
  // of A, AAAA, TXT or OPT whose names point into no question label but the first.
  // REQUIRES: `query` is the query `reply` answers (the one `key` was made from).
  static std::optional<CachedAnswer> Prepare(CachedAnswer entry, std::string reply,
                                             std::span<const std::uint8_t> query,
                                             std::uint16_t type);

  // Writes the reply to `query` from `entry` over `*out`, reusing its capacity: its ID
  // and question, the answers shuffled.
  // REQUIRES: KeyOf(query) is the key `entry` is stored under.
  static void Render(const CachedAnswer& entry, std::span<const std::uint8_t> query,
                     Random& random, std::string* out);

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<const CachedAnswer>> entries;  // guarded
  };
  Shard& ShardOf(const std::string& key) const;

  const std::size_t entries_max_;
  const std::size_t shard_count_;  // kShards, fewer for a tiny bound
  const std::size_t shard_entries_max_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace roster::dns
