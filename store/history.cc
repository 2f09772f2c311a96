#include "store/history.h"

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace roster::store {

void EventHistory::Reset(Index index) {
  events_.clear();
  bytes_ = 0;
  compacted_index_ = index;
  last_index_ = index;
}

void EventHistory::Record(Index index, std::vector<KvEvent> events) {
  CHECK_GT(index, last_index_) << "history recorded out of log order";
  for (KvEvent& event : events) {
    CHECK_EQ(event.index, index) << "history event with another index";
    bytes_ += BytesOf(event);
    events_.push_back(std::move(event));
  }
  last_index_ = index;
  Trim();
}

std::size_t EventHistory::BytesOf(const KvEvent& event) {
  return sizeof(KvEvent) + event.entry.key.size() + event.entry.value.size() +
         event.entry.session.size();
}

void EventHistory::Trim() {
  while (!events_.empty() && (events_.size() > limits_.events_max || bytes_ > limits_.bytes_max)) {
    const Index oldest = events_.front().index;
    while (!events_.empty() && events_.front().index == oldest) {
      bytes_ -= BytesOf(events_.front());
      events_.pop_front();
    }
    compacted_index_ = oldest;
  }
}

HistoryRead EventHistory::Read(Index after_index, std::string_view prefix,
                               std::size_t events_max) const {
  HistoryRead read;
  read.oldest_index = compacted_index_ + 1;
  if (after_index < compacted_index_) {
    read.gone = true;
    return read;
  }
  read.through_index = std::max(after_index, last_index_);
  auto it = std::partition_point(events_.begin(), events_.end(), [after_index](const KvEvent& e) {
    return e.index <= after_index;
  });
  for (; it != events_.end(); ++it) {
    const bool full = events_max > 0 && read.events.size() >= events_max;
    if (full && it->index != read.events.back().index) {
      read.through_index = read.events.back().index;
      break;
    }
    if (it->entry.key.starts_with(prefix)) read.events.push_back(*it);
  }
  return read;
}

}  // namespace roster::store
