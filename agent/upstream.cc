#include "agent/upstream.h"

#include <utility>

#include "base/check.h"
#include "base/logging.h"

namespace roster::agent {

Upstream::Upstream(std::vector<std::string> servers) : servers_(std::move(servers)) {
  CHECK(!servers_.empty()) << "an agent needs at least one server to talk to";
}

Upstream::~Upstream() { Shutdown(); }

void Upstream::SetServers(std::vector<std::string> servers) {
  CHECK(!servers.empty());
  std::map<std::string, std::vector<Idle>> closing;  // closed after the lock is let go
  std::lock_guard<std::mutex> lock(mutex_);
  servers_ = std::move(servers);
  current_ = 0;
  closing.swap(idle_);
}

std::string Upstream::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return servers_[current_];
}

std::vector<std::string> Upstream::ServersFromCurrent() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> servers;
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    servers.push_back(servers_[(current_ + i) % servers_.size()]);
  }
  return servers;
}

std::uint64_t Upstream::failovers() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failovers_;
}

void Upstream::Shutdown() {
  std::map<std::string, std::vector<Idle>> closing;  // closed after the lock is let go
  std::lock_guard<std::mutex> lock(mutex_);
  shut_down_ = true;
  for (client::HttpClient* client : in_flight_) client->Abort();
  closing.swap(idle_);
}

std::unique_ptr<client::HttpClient> Upstream::TakeConnection(const std::string& server) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Idle>& idle = idle_[server];
    // The most recently used first; older ones may have been closed by the server.
    while (!idle.empty()) {
      Idle last = std::move(idle.back());
      idle.pop_back();
      if (now - last.since < kIdleFor) return std::move(last.client);
    }
  }
  auto client = std::make_unique<client::HttpClient>(server);
  client->EnableKeepAlive();
  return client;
}

Result<client::Response> Upstream::SendTo(const std::string& server,
                                          const client::Request& request,
                                          std::chrono::milliseconds read_timeout,
                                          std::stop_token stop) {
  std::unique_ptr<client::HttpClient> client = TakeConnection(server);
  client->SetReadTimeout(read_timeout);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shut_down_) return Unavailable("the agent is shutting down");
    in_flight_.insert(client.get());
  }
  Result<client::Response> response = Unavailable("stopped");
  {
    std::stop_callback abort_on_stop(stop, [&client] { client->Abort(); });
    if (!stop.stop_requested()) response = client->Send(request);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  in_flight_.erase(client.get());
  // Only a connection that answered properly is reused; an aborted or broken one goes.
  std::vector<Idle>& idle = idle_[server];
  if (response.ok() && !stop.stop_requested() && !shut_down_ && idle.size() < kIdlePerServerMax) {
    idle.push_back(Idle{std::move(client), std::chrono::steady_clock::now()});
  }
  return response;
}

Result<client::Response> Upstream::Send(const client::Request& request,
                                        std::chrono::milliseconds read_timeout,
                                        std::stop_token stop) {
  std::size_t first = 0;
  std::vector<std::string> servers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    first = current_;
    servers = servers_;
  }
  std::string last_error;
  for (std::size_t attempt = 0; attempt < servers.size(); ++attempt) {
    const std::size_t at = (first + attempt) % servers.size();
    Result<client::Response> response = SendTo(servers[at], request, read_timeout, stop);
    if (stop.stop_requested()) return Unavailable("the request was stopped");
    if (response.ok() && response->status != 503) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (current_ != at && at < servers_.size()) {
        LOG(INFO) << "agent: now talking to server " << servers[at];
        current_ = at;
      }
      return response;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (shut_down_) return Unavailable("the agent is shutting down");
      if (servers.size() > 1) ++failovers_;
    }
    last_error = servers[at] + ": " +
                 (response.ok() ? "503 " + response->body : response.status().message());
    // Only failures of the remembered server move it on; a concurrent request may
    // already have found a better one.
    std::lock_guard<std::mutex> lock(mutex_);
    if (current_ == at && !servers_.empty()) current_ = (at + 1) % servers_.size();
  }
  return Unavailable("no server answered: " + last_error);
}

}  // namespace roster::agent
