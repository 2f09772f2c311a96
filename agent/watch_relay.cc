#include "agent/watch_relay.h"

#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/forwarder.h"
#include "base/ascii.h"
#include "base/logging.h"
#include "http/params.h"

namespace roster::agent {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr std::chrono::seconds kConnectTimeout{5};
constexpr std::size_t kErrorBodyBytesMax = 64 * 1024;
constexpr std::chrono::milliseconds kBackoffMin{100};
constexpr std::chrono::milliseconds kBackoffMax{2000};

std::string HeaderValue(const std::vector<std::pair<std::string, std::string>>& headers,
                        std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoringCase(key, name)) return value;
  }
  return "";
}

// The relay of one stream: a thread reads the servers, the HTTP worker takes pieces.
class Relay final : public http::BodyStream, public std::enable_shared_from_this<Relay> {
 public:
  Relay(std::vector<std::string> servers, http::ForwardRequest request)
      : servers_(std::move(servers)), request_(std::move(request)) {}

  Result<http::ForwardReply> Start() {
    std::shared_ptr<Relay> self = shared_from_this();
    on_stop_.emplace(request_.stop, [this] { Cancel(); });
    std::thread([self] { self->Run(); }).detach();
    std::unique_lock<std::mutex> lock(mutex_);
    head_cv_.wait(lock, [this] { return head_.has_value(); });
    return *head_;
  }

  bool Next(std::string* piece) override {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return cancelled_ || ended_ || !pieces_.empty(); });
    if (cancelled_ || pieces_.empty()) return false;
    *piece = std::move(pieces_.front());
    pieces_.pop_front();
    queued_bytes_ -= piece->size();
    cv_.notify_all();
    return true;
  }

  void Cancel() override {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    if (client_ != nullptr) client_->stop();
    cv_.notify_all();
    head_cv_.notify_all();
  }

 private:
  // What one request to one server came to.
  struct Attempt {
    int status = 0;  // 0: no answer
    std::string error;
    std::string body;  // of a non-200
    std::vector<std::pair<std::string, std::string>> headers;
  };

  void Run();
  Attempt Send(const std::string& server, const std::string& target, bool first);
  void PublishHead(Result<http::ForwardReply> head) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (head_.has_value()) return;  // Start has taken the first
    head_ = std::move(head);
    head_cv_.notify_all();
  }
  // Queues a piece for the client; waits while kWatchQueuedBytesMax are queued. False
  // once cancelled.
  bool Push(std::string piece) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return cancelled_ || queued_bytes_ < kWatchQueuedBytesMax; });
    if (cancelled_) return false;
    queued_bytes_ += piece.size();
    pieces_.push_back(std::move(piece));
    cv_.notify_all();
    return true;
  }
  void End() {
    std::lock_guard<std::mutex> lock(mutex_);
    ended_ = true;
    cv_.notify_all();
  }
  bool cancelled() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cancelled_;
  }
  // Sleeps up to `how_long` unless cancelled; false when cancelled.
  bool Pause(std::chrono::milliseconds how_long) {
    std::unique_lock<std::mutex> lock(mutex_);
    return !cv_.wait_for(lock, how_long, [this] { return cancelled_; });
  }
  // The last line of a stream the relay ends, in the client's format.
  std::string ErrorLine(const std::string& error, std::optional<std::uint64_t> oldest) const {
    Json json = Json::object();
    json["Index"] = point_->complete();
    json["Op"] = "error";
    json["Error"] = error;
    if (oldest.has_value()) json["OldestIndex"] = *oldest;
    const std::string text = json.dump();
    return sse_ ? "data: " + text + "\n\n" : text + "\n";
  }

  const std::vector<std::string> servers_;
  const http::ForwardRequest request_;
  std::optional<std::stop_callback<std::function<void()>>> on_stop_;

  // The relay thread's own.
  bool sse_ = false;
  std::optional<WatchResumePoint> point_;

  std::mutex mutex_;
  std::condition_variable cv_;       // pieces, room for pieces, the end, a cancel
  std::condition_variable head_cv_;  // the head
  std::optional<Result<http::ForwardReply>> head_;  // guarded by mutex_
  std::deque<std::string> pieces_;                  // guarded by mutex_
  std::size_t queued_bytes_ = 0;                    // guarded by mutex_
  bool ended_ = false;                              // guarded by mutex_
  bool cancelled_ = false;                          // guarded by mutex_
  httplib::Client* client_ = nullptr;               // guarded by mutex_: the one reading
};

Relay::Attempt Relay::Send(const std::string& server, const std::string& target, bool first) {
  Attempt attempt;
  httplib::Client client("http://" + server);
  client.set_connection_timeout(kConnectTimeout);
  client.set_read_timeout(kWatchSilenceTimeout);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return attempt;
    client_ = &client;
  }
  httplib::Headers headers;
  for (const auto& [name, value] : request_.headers) {
    // A resume names its index in the target; Last-Event-ID would only compete with it.
    if (!first && EqualsIgnoringCase(name, "Last-Event-ID")) continue;
    headers.emplace(name, value);
  }
  httplib::Result result = client.Get(
      target, headers,
      [&](const httplib::Response& response) {
        attempt.status = response.status;
        for (const auto& [name, value] : response.headers) {
          attempt.headers.emplace_back(name, value);
        }
        if (response.status != 200) return true;  // its body is the error
        if (!first) {
          LOG(INFO) << "agent: watch stream resumed on " << server << " after index "
                    << point_->complete();
        } else {
          sse_ = response.get_header_value("Content-Type").starts_with("text/event-stream");
          std::uint64_t start = 0;
          Result<http::Target> parsed = http::ParseTarget(target);
          std::optional<std::string_view> index =
              parsed.ok() ? parsed->query.Get("index") : std::nullopt;
          if (index.has_value()) {
            start = ParseUint64(*index).value_or(0);
          } else if (std::string id = HeaderValue(request_.headers, "Last-Event-ID"); !id.empty()) {
            start = ParseUint64(id).value_or(0);
          }
          if (start == 0) {
            start = ParseUint64(response.get_header_value("X-Consul-Index")).value_or(0);
          }
          point_.emplace(sse_, start);
          http::ForwardReply head;
          head.status = 200;
          for (const auto& [name, value] : attempt.headers) {
            if (IsPassedBackHeader(name)) head.headers.emplace_back(name, value);
          }
          head.body_stream = shared_from_this();
          PublishHead(std::move(head));
        }
        return !cancelled();
      },
      [&](const char* data, std::size_t size) {
        if (attempt.status != 200) {
          attempt.body.append(data, size);
          return attempt.body.size() <= kErrorBodyBytesMax;
        }
        std::string whole = point_->Take(std::string_view(data, size));
        if (!whole.empty() && !Push(std::move(whole))) return false;
        return !point_->ended();  // the server ended it: read no further
      });
  {
    std::lock_guard<std::mutex> lock(mutex_);
    client_ = nullptr;
  }
  if (!result && attempt.status == 0) attempt.error = httplib::to_string(result.error());
  return attempt;
}

void Relay::Run() {
  std::string target = request_.target;
  std::size_t at = 0;  // the server to try next
  std::string last_error;
  bool streaming = false;                       // a server has answered 200
  Clock::time_point last_answer = Clock::now();  // when a server last answered 200
  std::chrono::milliseconds backoff = kBackoffMin;
  while (!cancelled()) {
    for (std::size_t tried = 0; tried < servers_.size() && !cancelled(); ++tried) {
      const std::string& server = servers_[at];
      at = (at + 1) % servers_.size();
      Attempt attempt = Send(server, target, !streaming);
      if (cancelled()) break;
      if (attempt.status == 200) {
        streaming = true;
        last_answer = Clock::now();
        backoff = kBackoffMin;
        if (point_->ended()) {
          End();
          return;
        }
        // The connection broke or went silent: the changes after what was passed on,
        // from the next server.
        point_->DropPartial();
        target = WatchTargetFrom(request_.target, point_->complete());
        last_error = server + ": the stream broke";
        continue;
      }
      if (attempt.status != 0 && attempt.status != 503) {
        if (!streaming) {  // the server's answer is the reply
          http::ForwardReply reply;
          reply.status = attempt.status;
          reply.body = std::move(attempt.body);
          for (auto& [name, value] : attempt.headers) {
            if (IsPassedBackHeader(name)) reply.headers.emplace_back(name, std::move(value));
          }
          PublishHead(std::move(reply));
          return;
        }
        if (attempt.status == 410) {
          Json gone = Json::parse(attempt.body, nullptr, /*allow_exceptions=*/false);
          std::optional<std::uint64_t> oldest;
          if (gone.is_object() && gone.contains("OldestIndex") &&
              gone["OldestIndex"].is_number_unsigned()) {
            oldest = gone["OldestIndex"].get<std::uint64_t>();
          }
          Push(ErrorLine("the server the agent resumed the stream on (" + server +
                             ") no longer holds the changes after index " +
                             std::to_string(point_->complete()) +
                             "; re-read the keys and watch again from their index",
                         oldest));
          End();
          return;
        }
      }
      last_error = server + ": " +
                   (attempt.status == 0 ? attempt.error
                                        : "HTTP " + std::to_string(attempt.status) + " " +
                                              attempt.body.substr(0, 200));
    }
    if (cancelled()) break;
    if (!streaming) {
      PublishHead(Unavailable("no server answered: " + last_error));
      return;
    }
    if (Clock::now() - last_answer > kWatchGiveUpAfter) {
      Push(ErrorLine("the agent reached no server for " +
                         std::to_string(kWatchGiveUpAfter.count() / 1000) + " s (" +
                         last_error + "); watch again from index " +
                         std::to_string(point_->complete()),
                     std::nullopt));
      End();
      return;
    }
    if (!Pause(backoff)) break;
    backoff = std::min(backoff * 2, kBackoffMax);
  }
  // Cancelled: the client or the agent is gone.
  PublishHead(Unavailable("the request was stopped"));
  End();
}

}  // namespace

bool IsWatchTarget(const std::string& target) {
  // Every forwarded request asks: decode only what could be the watch path.
  if (!target.starts_with("/v1/w") && !target.starts_with("/v1/%")) return false;
  Result<http::Target> parsed = http::ParseTarget(target);
  return parsed.ok() && parsed->path == "/v1/watch";
}

Result<http::ForwardReply> RelayWatch(Upstream& upstream, const http::ForwardRequest& request) {
  auto relay = std::make_shared<Relay>(upstream.ServersFromCurrent(), request);
  return relay->Start();
}

}  // namespace roster::agent
