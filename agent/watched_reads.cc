#include "agent/watched_reads.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/check.h"
#include "base/logging.h"

namespace roster::agent {

struct WatchedReads::Entry {
  std::string path;
  Parser parser;
  std::jthread thread;
  // Guarded by WatchedReads::mutex_:
  std::int64_t asked_ms = 0;                  // the last Get, on clock_
  bool settled = false;                       // the first fetch has answered (well or not)
  Status status;                              // the last fetch's failure, Ok after a good one
  std::shared_ptr<const WatchedValue> value;  // the last good value
  std::uint64_t index = 0;                    // X-Consul-Index of `value`; 0: no blocking query yet
};

WatchedReads::WatchedReads(Upstream& upstream, const Clock& clock, WatchedReadsOptions options)
    : upstream_(upstream), clock_(clock), options_(options) {
  CHECK(options_.first_wait_ms > 0 && options_.blocking_wait_ms > 0 && options_.retry_ms > 0);
}

WatchedReads::~WatchedReads() { Stop(); }

Result<std::shared_ptr<const WatchedValue>> WatchedReads::Get(const std::string& path,
                                                              const Parser& parser) {
  JoinRetired();
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) return Unavailable("the agent is shutting down");
  std::shared_ptr<Entry>& slot = entries_[path];
  if (slot == nullptr) {
    slot = std::make_shared<Entry>();
    slot->path = path;
    slot->parser = parser;
    slot->asked_ms = clock_.NowMs();
    std::shared_ptr<Entry> entry = slot;
    entry->thread = std::jthread([this, entry](std::stop_token stop) { Refresh(entry, stop); });
  }
  std::shared_ptr<Entry> entry = slot;
  entry->asked_ms = clock_.NowMs();
  const bool settled = changed_.wait_for(lock, std::chrono::milliseconds(options_.first_wait_ms),
                                         [this, &entry] { return entry->settled || stopping_; });
  if (!settled || !entry->settled) {
    return Unavailable("no server answered " + path + " within " +
                       std::to_string(options_.first_wait_ms) + " ms");
  }
  if (entry->value != nullptr) return entry->value;
  return entry->status;
}

void WatchedReads::Refresh(const std::shared_ptr<Entry>& entry, std::stop_token stop) {
  while (!stop.stop_requested()) {
    const std::int64_t start_ms = clock_.NowMs();
    const bool changed = FetchOnce(*entry, stop);
    std::unique_lock<std::mutex> lock(mutex_);
    if (!KeepOrRetire(entry)) return;
    // Back off after a failure, and after a blocking query that came back at once with
    // nothing new (a server that does not block must not make this a busy loop). A
    // change in between is not missed: the next query with the same index returns at
    // once. A stop request (Stop) wakes the wait.
    const bool quick = clock_.NowMs() - start_ms < options_.retry_ms;
    if (!entry->status.ok() || (!changed && quick)) {
      changed_.wait_for(lock, stop, std::chrono::milliseconds(options_.retry_ms),
                        [this] { return stopping_; });
    }
  }
}

bool WatchedReads::FetchOnce(Entry& entry, std::stop_token stop) {
  std::uint64_t index = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    index = entry.index;
    ++upstream_requests_;
  }
  client::Request request;
  request.method = "GET";
  request.path_and_query = entry.path + "?stale";
  std::int64_t timeout_ms = options_.first_wait_ms;
  if (index > 0) {
    request.path_and_query += "&index=" + std::to_string(index) +
                              "&wait=" + std::to_string(options_.blocking_wait_ms) + "ms";
    // The server adds up to wait/16 of jitter; a little more for the network.
    timeout_ms = options_.blocking_wait_ms + options_.blocking_wait_ms / 16 + 5'000;
  }
  Result<client::Response> reply =
      upstream_.Send(request, std::chrono::milliseconds(timeout_ms), stop);
  Status status = reply.ok() ? Status::Ok() : reply.status();
  std::shared_ptr<const WatchedValue> value;
  if (reply.ok() && reply->status != 200) {
    status = Unavailable("server answered " + std::to_string(reply->status) + " to " + entry.path +
                         ": " + reply->body);
  } else if (reply.ok() && (reply->index != index || index == 0)) {
    Result<std::shared_ptr<const WatchedValue>> parsed = entry.parser(reply->body);
    if (parsed.ok()) {
      value = std::move(parsed).value();
    } else {
      status = parsed.status();
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  entry.status = status;
  const bool changed = value != nullptr;
  if (status.ok() && reply.ok()) {
    if (changed) entry.value = std::move(value);
    // An index that went backwards (another server, a restore) starts over; 0 would
    // make the next query non-blocking, so it counts as 1.
    entry.index = std::max<std::uint64_t>(reply->index, 1);
  } else if (!stop.stop_requested()) {
    LOG(DEBUG) << "agent DNS: " << entry.path << ": " << status.message();
  }
  entry.settled = true;
  changed_.notify_all();
  return changed;
}

bool WatchedReads::KeepOrRetire(const std::shared_ptr<Entry>& entry) {
  if (stopping_) return false;
  if (clock_.NowMs() - entry->asked_ms <= options_.idle_drop_ms) return true;
  const auto it = entries_.find(entry->path);
  if (it != entries_.end() && it->second == entry) entries_.erase(it);
  retired_.push_back(entry);  // joined by the next Get or Stop
  return false;
}

void WatchedReads::JoinRetired() {
  std::vector<std::shared_ptr<Entry>> retired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    retired.swap(retired_);
  }
  for (const std::shared_ptr<Entry>& entry : retired) {
    if (entry->thread.joinable()) entry->thread.join();
  }
}

void WatchedReads::Stop() {
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (auto& [path, entry] : entries_) all.push_back(entry);
    entries_.clear();
    all.insert(all.end(), retired_.begin(), retired_.end());
    retired_.clear();
  }
  changed_.notify_all();
  for (const std::shared_ptr<Entry>& entry : all) entry->thread.request_stop();
  for (const std::shared_ptr<Entry>& entry : all) {
    if (entry->thread.joinable()) entry->thread.join();
  }
}

std::uint64_t WatchedReads::upstream_requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return upstream_requests_;
}

std::size_t WatchedReads::entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace roster::agent
