#include "dns/forwarder.h"

#include <ares.h>
#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <thread>

#include "base/check.h"
#include "base/logging.h"
#include "base/random.h"
#include "dns/net.h"

namespace roster::dns {
namespace {

// How long the c-ares thread sleeps when no query has a timer: a new query wakes it.
constexpr int kIdlePollMs = 1000;

bool IsIpLiteral(const std::string& text, int family) {
  unsigned char octets[16];
  return ::inet_pton(family, text.c_str(), octets) == 1;
}

// "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 -> c-ares's "IP:PORT" / "[IPv6]:PORT".
Result<std::string> CaresServer(const std::string& recursor) {
  const auto bad = [&recursor](const std::string& why) {
    return InvalidArgument("recursor \"" + recursor + "\" " + why);
  };
  if (IsIpLiteral(recursor, AF_INET)) return recursor + ":53";
  if (IsIpLiteral(recursor, AF_INET6)) return "[" + recursor + "]:53";
  std::string host;
  std::string port_text;
  if (!recursor.empty() && recursor.front() == '[') {
    const std::size_t close = recursor.find("]:");
    if (close == std::string::npos) return bad("must be [IPv6]:PORT");
    host = recursor.substr(1, close - 1);
    port_text = recursor.substr(close + 2);
    if (!IsIpLiteral(host, AF_INET6)) return bad("does not hold an IPv6 address");
  } else {
    const std::size_t colon = recursor.rfind(':');
    if (colon == std::string::npos) return bad("is not an IP address (names are not resolved)");
    host = recursor.substr(0, colon);
    port_text = recursor.substr(colon + 1);
    if (!IsIpLiteral(host, AF_INET)) return bad("is not IP:PORT (names are not resolved)");
  }
  int port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
      port > 65535) {
    return bad("has no port between 1 and 65535");
  }
  const bool v6 = IsIpLiteral(host, AF_INET6);
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

void InitCaresOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    const int status = ares_library_init(ARES_LIB_INIT_ALL);
    CHECK(status == ARES_SUCCESS) << "ares_library_init: " << ares_strerror(status);
  });
}

}  // namespace

Status ValidateRecursorConfig(const RecursorConfig& config) {
  for (const std::string& recursor : config.recursors) {
    RETURN_IF_ERROR(CaresServer(recursor).status());
  }
  if (config.timeout_ms <= 0) return InvalidArgument("recursor_timeout must be positive");
  if (config.in_flight_max == 0) return InvalidArgument("in_flight_max must be positive");
  return Status::Ok();
}

Result<RecursorStrategy> ParseRecursorStrategy(std::string_view text) {
  if (text == "sequential") return RecursorStrategy::kSequential;
  if (text == "random") return RecursorStrategy::kRandom;
  return InvalidArgument("recursor_strategy must be \"sequential\" or \"random\", not \"" +
                         std::string(text) + "\"");
}

// Everything c-ares touches is under mutex: channels are not thread-safe, and the
// callbacks (which run inside ares_process_fd, ares_send and ares_destroy) send the
// next try on another channel.
struct Forwarder::Impl {
  struct Pending {
    Impl* impl = nullptr;
    std::string query;  // the client's octets, its ID included
    Transport transport = Transport::kUdp;
    Done done;
    std::vector<std::size_t> order;  // recursor indexes, in the order to try them
    std::size_t next = 0;            // index into order of the next to try
  };

  RecursorConfig config;
  std::vector<std::string> servers;  // c-ares form, one per recursor
  internal::WakeFd wake;         // a new query: poll the new sockets
  std::mutex mutex;
  // Per recursor: [0] UDP, [1] TCP.
  std::vector<std::array<ares_channel, 2>> channels;
  SystemRandom random;
  std::size_t in_flight = 0;
  bool stopping = false;
  std::thread thread;

  Status CreateChannels();
  void SendNext(Pending* pending);
  void Finish(Pending* pending, std::string reply);
  static void OnAnswer(void* arg, int status, int timeouts, unsigned char* answer, int length);
  void Loop();
  bool PollOnce();
};

Status Forwarder::Impl::CreateChannels() {
  InitCaresOnce();
  for (const std::string& server : servers) {
    std::array<ares_channel, 2> pair{};
    for (int tcp = 0; tcp < 2; ++tcp) {
      ares_options options{};
      // IGNTC: a truncated UDP answer goes back to the client as it is (it retries over
      // TCP itself). NOSEARCH/NOALIASES: ares_send sends the octets it is given.
      options.flags = ARES_FLAG_IGNTC | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES |
                      (tcp == 1 ? ARES_FLAG_USEVC : 0);
      options.timeout = static_cast<int>(config.timeout_ms);
      options.tries = 1;
      const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
      int status = ares_init_options(&pair[tcp], &options, mask);
      if (status == ARES_SUCCESS) status = ares_set_servers_ports_csv(pair[tcp], server.c_str());
      if (status != ARES_SUCCESS) {
        if (pair[tcp] != nullptr) ares_destroy(pair[tcp]);
        if (tcp == 1) ares_destroy(pair[0]);
        return Internal("c-ares for recursor " + server + ": " + ares_strerror(status));
      }
    }
    channels.push_back(pair);
  }
  return Status::Ok();
}

void Forwarder::Impl::Finish(Pending* pending, std::string reply) {
  --in_flight;
  pending->done(std::move(reply));
  delete pending;
}

// REQUIRES: mutex held.
void Forwarder::Impl::SendNext(Pending* pending) {
  if (stopping || pending->next >= pending->order.size()) {
    Finish(pending, ServerFailureReply(
                        {reinterpret_cast<const std::uint8_t*>(pending->query.data()),
                         pending->query.size()},
                        pending->transport));
    return;
  }
  const std::size_t recursor = pending->order[pending->next++];
  ares_channel channel = channels[recursor][pending->transport == Transport::kTcp ? 1 : 0];
  // c-ares puts an ID of its own in the query; OnAnswer puts the client's back.
  ares_send(channel, reinterpret_cast<const unsigned char*>(pending->query.data()),
            static_cast<int>(pending->query.size()), &Impl::OnAnswer, pending);
}

void Forwarder::Impl::OnAnswer(void* arg, int status, int /*timeouts*/, unsigned char* answer,
                               int length) {
  auto* pending = static_cast<Pending*>(arg);
  Impl* impl = pending->impl;
  if (status == ARES_SUCCESS && answer != nullptr && length >= 12) {
    std::string reply(reinterpret_cast<const char*>(answer), static_cast<std::size_t>(length));
    reply[0] = pending->query[0];
    reply[1] = pending->query[1];
    // RA: recursion is available to this client through us, whatever the recursor
    // (perhaps an authoritative server) said.
    reply[3] = static_cast<char>(reply[3] | 0x80);
    impl->Finish(pending, std::move(reply));
    return;
  }
  LOG(DEBUG) << "recursor " << impl->servers[pending->order[pending->next - 1]]
             << " failed: " << ares_strerror(status);
  impl->SendNext(pending);
}

// One round: the sockets c-ares waits on, a poll, then c-ares's reads and timers.
// Returns false once stopping.
bool Forwarder::Impl::PollOnce() {
  std::vector<pollfd> fds;
  std::vector<ares_channel> owners;
  int timeout_ms = kIdlePollMs;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (stopping) return false;
    for (const auto& pair : channels) {
      for (ares_channel channel : pair) {
        ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
        const int bits = ares_getsock(channel, sockets, ARES_GETSOCK_MAXNUM);
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
          short events = 0;
          if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
          if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
          if (events == 0) continue;
          fds.push_back({sockets[i], events, 0});
          owners.push_back(channel);
        }
        timeval max{kIdlePollMs / 1000, 0};
        timeval left{};
        const timeval* wait = ares_timeout(channel, &max, &left);
        timeout_ms = std::min<int>(timeout_ms, wait->tv_sec * 1000 + (wait->tv_usec + 999) / 1000);
      }
    }
  }
  fds.push_back({wake.fd(), POLLIN, 0});
  const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
  CHECK(ready >= 0 || errno == EINTR) << "poll: " << std::strerror(errno);
  wake.Drain();
  std::lock_guard<std::mutex> lock(mutex);
  if (stopping) return false;
  for (std::size_t i = 0; i + 1 < fds.size(); ++i) {
    if (fds[i].revents == 0) continue;
    const bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
    const bool writable = (fds[i].revents & POLLOUT) != 0;
    ares_process_fd(owners[i], readable ? fds[i].fd : ARES_SOCKET_BAD,
                    writable ? fds[i].fd : ARES_SOCKET_BAD);
  }
  for (const auto& pair : channels) {
    for (ares_channel channel : pair) ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  }
  return true;
}

void Forwarder::Impl::Loop() {
  while (PollOnce()) {
  }
}

Result<std::unique_ptr<Forwarder>> Forwarder::Start(RecursorConfig config) {
  CHECK(ValidateRecursorConfig(config).ok()) << ValidateRecursorConfig(config).ToString();
  CHECK(!config.recursors.empty());
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  for (const std::string& recursor : impl->config.recursors) {
    impl->servers.push_back(*CaresServer(recursor));
  }
  RETURN_IF_ERROR(impl->CreateChannels());
  impl->thread = std::thread([raw = impl.get()] { raw->Loop(); });
  return std::unique_ptr<Forwarder>(new Forwarder(std::move(impl)));
}

Forwarder::Forwarder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Forwarder::~Forwarder() { Stop(); }

void Forwarder::Forward(std::span<const std::uint8_t> query, Transport transport, Done done) {
  auto pending = std::make_unique<Impl::Pending>();
  pending->impl = impl_.get();
  pending->query.assign(reinterpret_cast<const char*>(query.data()), query.size());
  pending->transport = transport;
  pending->done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (std::size_t i = 0; i < impl_->servers.size(); ++i) pending->order.push_back(i);
    if (impl_->config.strategy == RecursorStrategy::kRandom) {
      for (std::size_t i = pending->order.size(); i > 1; --i) {
        std::swap(pending->order[i - 1], pending->order[impl_->random.Uniform(i)]);
      }
    }
    ++impl_->in_flight;
    if (impl_->in_flight > impl_->config.in_flight_max) {
      pending->order.clear();  // SendNext answers SERVFAIL
      if (impl_->in_flight == impl_->config.in_flight_max + 1) {  // once per overload
        LOG(WARNING) << "dns: " << impl_->config.in_flight_max
                     << " queries wait for recursors already; answering SERVFAIL";
      }
    }
    impl_->SendNext(pending.release());
  }
  impl_->wake.Signal();
}

void Forwarder::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->wake.Signal();
  if (impl_->thread.joinable()) impl_->thread.join();
  std::lock_guard<std::mutex> lock(impl_->mutex);
  // Each waiting query's callback runs with ARES_EDESTRUCTION; SendNext sees stopping.
  for (auto& pair : impl_->channels) {
    for (ares_channel channel : pair) ares_destroy(channel);
  }
  impl_->channels.clear();
}

}  // namespace roster::dns
