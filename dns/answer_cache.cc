#include "dns/answer_cache.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "base/status.h"
#include "dns/message.h"

namespace roster::dns {
namespace {

constexpr std::size_t kQuestionOffset = kHeaderBytes;
constexpr std::uint8_t kPointerBits = 0xC0;
constexpr std::size_t kPointerOffsetMax = 0x3FFF;
constexpr std::uint8_t kFlagTruncated = 0x02;  // in the third header octet

std::uint16_t U16At(std::span<const std::uint8_t> bytes, std::size_t offset) {
  return static_cast<std::uint16_t>((bytes[offset] << 8) | bytes[offset + 1]);
}

// The end of the plain-label name at `offset` (after its zero octet), nullopt if it has
// a pointer or a bad length octet or runs past the end.
std::optional<std::size_t> PlainNameEnd(std::span<const std::uint8_t> bytes, std::size_t offset) {
  while (offset < bytes.size()) {
    const std::uint8_t length = bytes[offset];
    if (length == 0) return offset + 1;
    if ((length & kPointerBits) != 0) return std::nullopt;
    offset += 1 + length;
  }
  return std::nullopt;
}

// The end of the question (name, type, class) starting at offset 12, nullopt as above.
std::optional<std::size_t> QuestionEnd(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kHeaderBytes) return std::nullopt;
  const std::optional<std::size_t> name_end = PlainNameEnd(bytes, kQuestionOffset);
  if (!name_end.has_value() || *name_end + 4 > bytes.size()) return std::nullopt;
  return *name_end + 4;
}

std::span<const std::uint8_t> AsBytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Reads a record's fixed part after its owner name: type, and the RDATA's [begin, end).
struct RecordTail {
  std::uint16_t type = 0;
  std::size_t rdata_begin = 0;
  std::size_t rdata_end = 0;
};
std::optional<RecordTail> ReadRecordTail(std::span<const std::uint8_t> bytes, std::size_t offset) {
  if (offset + 10 > bytes.size()) return std::nullopt;
  RecordTail tail;
  tail.type = U16At(bytes, offset);
  tail.rdata_begin = offset + 10;
  tail.rdata_end = tail.rdata_begin + U16At(bytes, offset + 8);
  if (tail.rdata_end > bytes.size()) return std::nullopt;
  return tail;
}

// The answer records: each owned by a pointer to the question, of `type`, an SRV's
// target plain labels (so nothing inside an answer points anywhere but the question).
bool ReadAnswers(std::span<const std::uint8_t> bytes, std::size_t count, std::uint16_t type,
                 std::size_t* offset, CachedAnswer* entry) {
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t begin = *offset;
    if (begin + 2 > bytes.size() || U16At(bytes, begin) != (0xC000 | kQuestionOffset)) return false;
    const std::optional<RecordTail> tail = ReadRecordTail(bytes, begin + 2);
    if (!tail.has_value() || tail->type != type) return false;
    if (type == kTypeSrv) {
      const std::optional<std::size_t> target_end =
          PlainNameEnd(bytes.first(tail->rdata_end), tail->rdata_begin + 6);
      if (!target_end.has_value() || *target_end != tail->rdata_end) return false;
    }
    entry->answers.push_back({begin, tail->rdata_end});
    *offset = tail->rdata_end;
  }
  return true;
}

// The additional records' owner names: plain labels ending in at most one pointer,
// which may point at the whole question or at an answer's SRV target (recorded to move
// with it) or further on, not inside the question's name. RDATA without names only.
bool ReadAdditional(std::span<const std::uint8_t> bytes, std::size_t count,
                    std::size_t question_end, std::size_t* offset, CachedAnswer* entry) {
  const std::size_t answers_begin = entry->answers.front().begin;
  const std::size_t answers_end = entry->answers.back().end;
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t at = *offset;
    while (at < bytes.size() && bytes[at] != 0 && (bytes[at] & kPointerBits) == 0) {
      at += 1 + bytes[at];
    }
    if (at >= bytes.size()) return false;
    if (bytes[at] == 0) {
      at += 1;
    } else {
      if ((bytes[at] & kPointerBits) != kPointerBits || at + 2 > bytes.size()) return false;
      const std::size_t target = U16At(bytes, at) & kPointerOffsetMax;
      if (target >= answers_begin && target < answers_end) {
        const auto record = std::find_if(entry->answers.begin(), entry->answers.end(),
                                         [&](const auto& r) { return target < r.end; });
        entry->pointers.push_back({at, static_cast<std::size_t>(record - entry->answers.begin()),
                                   target - record->begin});
      } else if (target != kQuestionOffset && target < question_end) {
        return false;  // into the question's labels: their case is the client's
      }
      at += 2;
    }
    const std::optional<RecordTail> tail = ReadRecordTail(bytes, at);
    if (!tail.has_value()) return false;
    if (tail->type != kTypeA && tail->type != kTypeAaaa && tail->type != kTypeTxt &&
        tail->type != kTypeOpt) {
      return false;
    }
    *offset = tail->rdata_end;
  }
  return true;
}

}  // namespace

AnswerCache::AnswerCache(std::size_t entries_max)
    : entries_max_(entries_max),
      shard_count_(std::min(kShards, entries_max)),
      shard_entries_max_(entries_max / std::max<std::size_t>(shard_count_, 1)) {
  CHECK_GT(entries_max, 0u) << "an answer cache needs room for one entry";
}

bool AnswerCache::KeyOf(std::span<const std::uint8_t> query, Transport transport,
                        std::string* key) {
  // A response (QR) is dropped by the slow path; no need to build its key.
  if (query.size() < kHeaderBytes || (query[2] & 0x80) != 0) return false;
  const std::optional<std::size_t> question_end = QuestionEnd(query);
  if (!question_end.has_value()) return false;
  key->assign(1, static_cast<char>(transport));
  key->append(reinterpret_cast<const char*>(query.data() + 2), query.size() - 2);
  // Label octets only (length octets are below 64, so never 'A'..'Z').
  const std::size_t name_end = *question_end - 4;
  char* octets = key->data();
  for (std::size_t i = 1 + kQuestionOffset - 2; i < 1 + name_end - 2; ++i) {
    if (octets[i] >= 'A' && octets[i] <= 'Z') octets[i] = static_cast<char>(octets[i] - 'A' + 'a');
  }
  return true;
}

AnswerCache::Shard& AnswerCache::ShardOf(const std::string& key) const {
  return shards_[std::hash<std::string>{}(key) % shard_count_];
}

std::shared_ptr<const CachedAnswer> AnswerCache::Find(const std::string& key) const {
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  const auto found = shard.entries.find(key);
  return found == shard.entries.end() ? nullptr : found->second;
}

void AnswerCache::Insert(std::string key, std::shared_ptr<const CachedAnswer> answer) {
  Shard& shard = ShardOf(key);
  std::shared_ptr<const CachedAnswer> dropped;  // freed outside the lock
  std::unordered_map<std::string, std::shared_ptr<const CachedAnswer>> cleared;
  std::lock_guard<std::mutex> lock(shard.mutex);
  const auto found = shard.entries.find(key);
  if (found != shard.entries.end()) {
    dropped = std::exchange(found->second, std::move(answer));
    return;
  }
  // Full: start the shard over. Entries are cheap to rebuild, and a bound matters more
  // than which entries survive (a scan of many names must not grow the cache).
  if (shard.entries.size() >= shard_entries_max_) cleared.swap(shard.entries);
  shard.entries.emplace(std::move(key), std::move(answer));
}

std::size_t AnswerCache::size() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mutex);
    total += shards_[i].entries.size();
  }
  return total;
}

std::optional<CachedAnswer> AnswerCache::Prepare(CachedAnswer entry, std::string reply,
                                                 std::span<const std::uint8_t> query,
                                                 std::uint16_t type) {
  const std::span<const std::uint8_t> bytes = AsBytes(reply);
  const std::optional<std::size_t> question_end = QuestionEnd(query);
  if (!question_end.has_value() || bytes.size() < *question_end) return std::nullopt;
  if ((bytes[2] & kFlagTruncated) != 0 || (bytes[3] & 0x0F) != kRcodeNoError) return std::nullopt;
  const std::size_t answer_count = U16At(bytes, 6);
  if (U16At(bytes, 4) != 1 || answer_count == 0 || U16At(bytes, 8) != 0) return std::nullopt;
  if (!std::equal(bytes.begin() + kQuestionOffset, bytes.begin() + *question_end,
                  query.begin() + kQuestionOffset)) {
    return std::nullopt;
  }
  entry.question_end = *question_end;
  entry.answers.clear();
  entry.pointers.clear();
  std::size_t offset = *question_end;
  if (!ReadAnswers(bytes, answer_count, type, &offset, &entry)) return std::nullopt;
  // Moved pointers must still fit in 14 bits; the answers' span does not change size.
  if (entry.answers.back().end > kPointerOffsetMax) return std::nullopt;
  if (!ReadAdditional(bytes, U16At(bytes, 10), *question_end, &offset, &entry)) {
    return std::nullopt;
  }
  if (offset != bytes.size()) return std::nullopt;
  entry.reply = std::move(reply);
  return entry;
}

void AnswerCache::Render(const CachedAnswer& entry, std::span<const std::uint8_t> query,
                         Random& random, std::string* out_string) {
  CHECK_GE(query.size(), entry.question_end);
  out_string->assign(entry.reply);
  char* out = out_string->data();
  out[0] = static_cast<char>(query[0]);
  out[1] = static_cast<char>(query[1]);
  std::copy(query.begin() + kQuestionOffset, query.begin() + entry.question_end,
            out + kQuestionOffset);
  const std::size_t count = entry.answers.size();
  if (count < 2) return;
  // slots[i].order: the record that goes i-th; slots[r].moved_to: where record r now
  // begins. Up to 64 answers without allocating; beyond, a vector.
  struct Slot {
    std::size_t order = 0;
    std::size_t moved_to = 0;
  };
  std::array<Slot, 64> slots_small;
  std::vector<Slot> slots_large;
  Slot* slots = slots_small.data();
  if (count > slots_small.size()) {
    slots_large.resize(count);
    slots = slots_large.data();
  }
  for (std::size_t i = 0; i < count; ++i) slots[i].order = i;
  for (std::size_t i = count; i > 1; --i) {
    std::swap(slots[i - 1].order, slots[random.Uniform(i)].order);
  }
  std::size_t at = entry.answers.front().begin;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t r = slots[i].order;
    const CachedAnswer::Record& record = entry.answers[r];
    std::copy(entry.reply.begin() + record.begin, entry.reply.begin() + record.end, out + at);
    slots[r].moved_to = at;
    at += record.end - record.begin;
  }
  for (const CachedAnswer::Pointer& pointer : entry.pointers) {
    const std::size_t target = slots[pointer.record].moved_to + pointer.delta;
    out[pointer.offset] = static_cast<char>(kPointerBits | (target >> 8));
    out[pointer.offset + 1] = static_cast<char>(target & 0xFF);
  }
}

}  // namespace roster::dns
