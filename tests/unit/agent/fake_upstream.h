// FakeUpstream: an httplib server on a loopback port standing in for the Roster servers
// in the agent's tests. A handler per method and path; every request is recorded.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/check.h"

namespace roster::agent::testing {

struct Recorded {
  std::string method;
  std::string path;
  std::string body;
  int remote_port = 0;  // the client's end of the connection it came on
};

class FakeUpstream {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  FakeUpstream() {
    // Like a Roster server (10,000), not httplib's 5 requests per connection.
    server_.set_keep_alive_max_count(10000);
    port_ = server_.bind_to_any_port("127.0.0.1");
    CHECK(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeUpstream() {
    server_.stop();
    thread_.join();
  }

  // Requests are recorded before the handler runs, so a test that has its reply sees it.
  void Get(const std::string& pattern, Handler handler) { server_.Get(pattern, Recording(handler)); }
  void Put(const std::string& pattern, Handler handler) { server_.Put(pattern, Recording(handler)); }
  // Closes idle keep-alive connections after this long (httplib's default is 5 s).
  void SetKeepAliveTimeout(std::chrono::seconds timeout) {
    server_.set_keep_alive_timeout(timeout.count());
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  std::vector<Recorded> recorded() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return recorded_;
  }
  std::vector<Recorded> recorded(const std::string& method, const std::string& path) const {
    std::vector<Recorded> matching;
    for (const Recorded& r : recorded()) {
      if (r.method == method && r.path == path) matching.push_back(r);
    }
    return matching;
  }

 private:
  Handler Recording(Handler handler) {
    return [this, handler](const httplib::Request& request, httplib::Response& response) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        recorded_.push_back({request.method, request.path, request.body, request.remote_port});
      }
      handler(request, response);
    };
  }

  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Recorded> recorded_;
};

// A port nothing listens on (bound, then closed).
inline int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace roster::agent::testing
