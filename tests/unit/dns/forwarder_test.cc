// Forwarder: names outside the domains go to the recursors through c-ares. The
// recursor here is a second DnsServer serving the domain `other.`; a dead recursor is
// a socket that never answers.
#include "dns/forwarder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "base/clock.h"
#include "dns/dns_server.h"
#include "tests/unit/dns/fixtures.h"
#include "tests/unit/dns/listener_client.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::dns {
namespace {

using namespace testing;

// A UDP socket and a listening TCP socket on one loopback port that never answer.
class BlackHole {
 public:
  BlackHole() {
    // The port the UDP socket gets may be taken for TCP (a listener binding its TCP
    // side first, a client's port): then another.
    for (int attempt = 0; attempt < 32 && tcp_ < 0; ++attempt) TryBind();
    REQUIRE(tcp_ >= 0);
    REQUIRE(::listen(tcp_, 8) == 0);  // connections queue, nothing is ever read
  }
  ~BlackHole() {
    ::close(udp_);
    ::close(tcp_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void TryBind() {
    if (udp_ >= 0) ::close(udp_);
    udp_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address = Loopback(0);
    REQUIRE(::bind(udp_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    socklen_t length = sizeof(address);
    REQUIRE(::getsockname(udp_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    const int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::bind(tcp, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
      tcp_ = tcp;
    } else {
      ::close(tcp);
    }
  }

  int udp_ = -1;
  int tcp_ = -1;
  std::uint16_t port_ = 0;
};

struct Recursor {
  FakeCatalog catalog;  // one UDP worker below: no concurrent calls
  FakeClock clock{1700000000000};
  std::unique_ptr<DnsServer> server;

  Recursor() {
    catalog.services["web"] = {Instance("n1", "10.0.0.7", 80)};
    DnsServerOptions options;
    options.dns.domain = "other.";
    options.dns.alt_domain = "";
    options.listener.port = 0;
    options.listener.udp_workers = 1;
    Result<std::unique_ptr<DnsServer>> started = DnsServer::Start(options, catalog, clock);
    REQUIRE(started.ok());
    server = std::move(started).value();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server->port()); }
};

struct Forwarding {
  FakeCatalog catalog;
  FakeClock clock{1700000000000};
  std::unique_ptr<DnsServer> server;

  explicit Forwarding(RecursorConfig recursors) {
    DnsServerOptions options;
    options.listener.port = 0;
    options.listener.udp_workers = 1;
    options.recursors = std::move(recursors);
    Result<std::unique_ptr<DnsServer>> started = DnsServer::Start(options, catalog, clock);
    REQUIRE(started.ok());
    server = std::move(started).value();
  }
};

Message Parsed(const std::optional<Bytes>& reply) {
  REQUIRE(reply.has_value());
  return MustParse(std::string(reply->begin(), reply->end()));
}

RecursorConfig Recursors(std::vector<std::string> addresses, std::int64_t timeout_ms = 2000) {
  RecursorConfig config;
  config.recursors = std::move(addresses);
  config.timeout_ms = timeout_ms;
  return config;
}

TEST_CASE("recursor addresses: IP, IP:PORT, [IPv6]:PORT; names and bad ports refused",
          "[forwarder]") {
  CHECK(ValidateRecursorConfig(Recursors({"8.8.8.8", "127.0.0.1:5353", "::1", "[::1]:53"})).ok());
  for (const char* bad : {"dns.example.com", "1.2.3.4:0", "1.2.3.4:99999", "[::1]", "1.2.3.4:x"}) {
    const Status status = ValidateRecursorConfig(Recursors({bad}));
    CHECK(status.code() == StatusCode::kInvalidArgument);
    CHECK(status.message().find(bad) != std::string::npos);
  }
  CHECK(ParseRecursorStrategy("random").value() == RecursorStrategy::kRandom);
  CHECK(!ParseRecursorStrategy("fastest").ok());
}

TEST_CASE("a name of another domain is forwarded, over UDP and over TCP", "[forwarder]") {
  Recursor recursor;
  Forwarding forwarding(Recursors({recursor.address()}));
  UdpClient udp(forwarding.server->port());
  udp.Send(Encode(Query("web.service.other", kTypeA, 0x5151)));
  const Message over_udp = Parsed(udp.Receive());
  CHECK(over_udp.header.id == 0x5151);         // the client's ID, not c-ares's
  CHECK(over_udp.header.recursion_available);  // ours to give, though the recursor has none
  CHECK(over_udp.header.rcode == kRcodeNoError);
  CHECK(Texts(over_udp.answers, false) ==
        std::vector<std::string>{"web.service.other. 0 A 10.0.0.7"});

  TcpClient tcp(forwarding.server->port());
  tcp.Send(Encode(Query("web.service.other", kTypeSrv, 0x5252)));
  const Message over_tcp = Parsed(tcp.Receive());
  CHECK(over_tcp.header.id == 0x5252);
  CHECK(over_tcp.answers.size() == 1);

  // Our own names are still ours, and say recursion is available.
  udp.Send(Encode(Query("nothing.service.roster", kTypeA, 0x5353)));
  const Message own = Parsed(udp.Receive());
  CHECK(own.header.rcode == kRcodeNxDomain);
  CHECK(own.header.recursion_available);
}

TEST_CASE("an NXDOMAIN from the recursor is the answer, not a failure", "[forwarder]") {
  Recursor recursor;
  Forwarding forwarding(Recursors({recursor.address()}));
  UdpClient udp(forwarding.server->port());
  udp.Send(Encode(Query("missing.service.other", kTypeA, 3)));
  CHECK(Parsed(udp.Receive()).header.rcode == kRcodeNxDomain);
}

TEST_CASE("sequential: a recursor that times out is skipped for the next", "[forwarder]") {
  BlackHole dead;
  Recursor recursor;
  Forwarding forwarding(Recursors({dead.address(), recursor.address()}, 300));
  UdpClient udp(forwarding.server->port());
  udp.Send(Encode(Query("web.service.other", kTypeA, 4)));
  const Message reply = Parsed(udp.Receive(5000));
  CHECK(reply.header.rcode == kRcodeNoError);
  CHECK(reply.answers.size() == 1);
  TcpClient tcp(forwarding.server->port());
  tcp.Send(Encode(Query("web.service.other", kTypeA, 5)));
  CHECK(Parsed(tcp.Receive(5000)).answers.size() == 1);
}

TEST_CASE("random: every query is answered whichever recursor comes first", "[forwarder]") {
  BlackHole dead;
  Recursor recursor;
  RecursorConfig config = Recursors({dead.address(), recursor.address()}, 300);
  config.strategy = RecursorStrategy::kRandom;
  Forwarding forwarding(config);
  UdpClient udp(forwarding.server->port());
  for (std::uint16_t id = 1; id <= 4; ++id) {
    udp.Send(Encode(Query("web.service.other", kTypeA, id)));
    const Message reply = Parsed(udp.Receive(5000));
    CHECK(reply.header.id == id);
    CHECK(reply.answers.size() == 1);
  }
}

TEST_CASE("when every recursor fails the client gets SERVFAIL in time", "[forwarder]") {
  BlackHole dead;
  Recursor refusing;  // REFUSED for names outside `other.`: a failure, skip it
  Forwarding forwarding(Recursors({dead.address(), refusing.address()}, 300));
  UdpClient udp(forwarding.server->port());
  const auto started = std::chrono::steady_clock::now();
  udp.Send(Encode(Query("www.example.com", kTypeA, 0x6161)));
  const Message reply = Parsed(udp.Receive(5000));
  CHECK(reply.header.id == 0x6161);
  CHECK(reply.header.rcode == kRcodeServFail);
  CHECK(reply.header.recursion_available);
  REQUIRE(reply.questions.size() == 1);
  CHECK(reply.questions[0].name.ToString() == "www.example.com.");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
}

TEST_CASE("Stop() answers queries still waiting for a recursor and returns promptly",
          "[forwarder]") {
  BlackHole dead;
  Forwarding forwarding(Recursors({dead.address()}, 2000));
  TcpClient tcp(forwarding.server->port());
  tcp.Send(Encode(Query("www.example.com", kTypeA, 1)));
  UdpClient udp(forwarding.server->port());
  udp.Send(Encode(Query("www.example.com", kTypeA, 2)));
  // The UDP query reaches the forwarder before Stop when a later one is answered.
  udp.Send(Encode(Query("nothing.service.roster", kTypeA, 3)));
  REQUIRE(Parsed(udp.Receive()).header.id == 3);
  const auto started = std::chrono::steady_clock::now();
  forwarding.server->Stop();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1500));
  const Message servfail = Parsed(udp.Receive(1000));  // sent as the forwarder stopped
  CHECK(servfail.header.id == 2);
  CHECK(servfail.header.rcode == kRcodeServFail);
  CHECK(tcp.ClosedByServer(1000));
}

}  // namespace
}  // namespace roster::dns
