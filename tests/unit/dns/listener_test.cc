// Listener (and DnsServer): real UDP and TCP sockets on a loopback port picked by the
// kernel, against a fake catalog. Round trips, TC over UDP then the whole answer over
// TCP, several queries per TCP connection, garbage, the connection cap, the idle
// timeout, Stop() with clients connected, and forwarding to a second listener.
#include "dns/listener.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "base/clock.h"
#include "base/random.h"
#include "dns/dns_server.h"
#include "dns/net.h"
#include "tests/unit/dns/fixtures.h"
#include "tests/unit/dns/listener_client.h"

// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::dns {
namespace {

using namespace testing;

// FakeCatalog records calls, so listener threads must not share it unlocked.
class LockedCatalog final : public DnsCatalog {
 public:
  FakeCatalog inner;

  Result<DnsInstances> ServiceInstances(std::string_view dc,
                                        std::string_view service) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return inner.ServiceInstances(dc, service);
  }
  Result<std::optional<DnsNode>> Node(std::string_view dc, std::string_view node) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return inner.Node(dc, node);
  }

 private:
  mutable std::mutex mutex_;
};

DnsServerOptions LoopbackOptions() {
  DnsServerOptions options;
  options.listener.bind_address = "127.0.0.1";
  options.listener.port = 0;
  options.listener.udp_workers = 2;
  return options;
}

// A DnsServer on a free loopback port with `web` (one instance) and `big` (200).
struct LoopbackDns {
  LockedCatalog catalog;
  FakeClock clock{1700000000123};
  std::unique_ptr<DnsServer> server;

  explicit LoopbackDns(DnsServerOptions options = LoopbackOptions()) {
    catalog.inner.services["web"] = {Instance("n1", "10.0.0.1", 80)};
    catalog.inner.nodes["n1"] = catalog.inner.services["web"][0].node;
    for (int i = 0; i < 200; ++i) {
      catalog.inner.services["big"].push_back(
          Instance("node" + std::to_string(i), "10.9.0." + std::to_string(i), 8000));
    }
    Result<std::unique_ptr<DnsServer>> started =
        DnsServer::Start(std::move(options), catalog, clock);
    REQUIRE(started.ok());
    server = std::move(started).value();
  }
  std::uint16_t port() const { return server->port(); }
};

Message Parsed(const std::optional<Bytes>& reply) {
  REQUIRE(reply.has_value());
  return MustParse(std::string(reply->begin(), reply->end()));
}

TEST_CASE("a UDP query gets its answer over a real socket", "[listener]") {
  LoopbackDns dns;
  REQUIRE(dns.port() != 0);
  UdpClient client(dns.port());
  client.Send(Encode(Query("web.service.roster", kTypeA, 0x0101)));
  const Message reply = Parsed(client.Receive());
  CHECK(reply.header.id == 0x0101);
  CHECK(reply.header.rcode == kRcodeNoError);
  CHECK(reply.header.authoritative);
  CHECK(Texts(reply.answers, false) ==
        std::vector<std::string>{"web.service.roster. 0 A 10.0.0.1"});
}

TEST_CASE("an answer too big for UDP comes with TC, and whole over TCP", "[listener]") {
  LoopbackDns dns;
  UdpClient udp(dns.port());
  udp.Send(Encode(Query("big.service.roster", kTypeA, 7)));
  const Message cut = Parsed(udp.Receive());
  CHECK(cut.header.truncated);
  CHECK(cut.answers.size() < 200);
  CHECK(!cut.answers.empty());

  TcpClient tcp(dns.port());
  tcp.Send(Encode(Query("big.service.roster", kTypeA, 8)));
  const Message whole = Parsed(tcp.Receive());
  CHECK(whole.header.id == 8);
  CHECK(!whole.header.truncated);
  CHECK(whole.answers.size() == 200);
}

TEST_CASE("the client's EDNS size raises the UDP limit", "[listener]") {
  LoopbackDns dns;
  UdpClient udp(dns.port());
  udp.Send(Encode(WithEdns(Query("big.service.roster", kTypeA, 9), 4096)));
  const Message reply = Parsed(udp.Receive());
  CHECK(!reply.header.truncated);  // 200 A records: about 3.2 KB compressed
  CHECK(reply.answers.size() == 200);
}

TEST_CASE("one TCP connection carries several queries, sent back to back", "[listener]") {
  LoopbackDns dns;
  TcpClient tcp(dns.port());
  Bytes two = Encode(Query("web.service.roster", kTypeA, 1));
  const Bytes second = Encode(Query("n1.node.roster", kTypeA, 2));
  two.insert(two.begin(), {static_cast<std::uint8_t>(0), static_cast<std::uint8_t>(two.size())});
  two.push_back(0);
  two.push_back(static_cast<std::uint8_t>(second.size()));
  two.insert(two.end(), second.begin(), second.end());
  tcp.SendRaw(two);  // both in one segment
  CHECK(Parsed(tcp.Receive()).header.id == 1);
  const Message node = Parsed(tcp.Receive());
  CHECK(node.header.id == 2);
  CHECK(node.header.rcode == kRcodeNoError);
  // And a third after the replies.
  tcp.Send(Encode(Query("web.service.roster", kTypeSrv, 3)));
  CHECK(Parsed(tcp.Receive()).answers.size() == 1);
}

TEST_CASE("garbage over UDP is dropped or answered FORMERR, and service goes on", "[listener]") {
  LoopbackDns dns;
  UdpClient client(dns.port());
  client.Send(Hex("0102 03"));  // no header: dropped
  Bytes response = Encode(Query("web.service.roster", kTypeA, 0x4242));
  response[2] |= 0x80;  // QR: a response, dropped
  client.Send(response);
  client.Send(Hex("0007 0000 0001 0000 0000 0000 c00c 0001 0001"));  // a compression loop
  client.Send(Hex("0008 0000 0001 0000 0000 0000 03 7765"));         // a cut-off question
  DeterministicRandom random(6);
  for (int i = 0; i < 300; ++i) {  // random octets: each dropped or answered, never a crash
    Bytes noise(random.Uniform(600));
    for (std::uint8_t& octet : noise) octet = static_cast<std::uint8_t>(random.Next());
    if (noise.size() >= 3) noise[2] |= 0x80;  // keep them responses, so none is answered
    client.Send(noise);
  }
  // The burst can fill the socket's receive buffer, and then the kernel drops what
  // comes next: ask again until the answer comes (service went on) or 10 s pass.
  std::set<std::uint16_t> ids;
  for (int attempt = 0; attempt < 20 && ids.count(9) == 0; ++attempt) {
    client.Send(Encode(Query("web.service.roster", kTypeA, 9)));
    while (const std::optional<Bytes> reply = client.Receive(/*timeout_ms=*/500)) {
      const Message message = Parsed(reply);
      ids.insert(message.header.id);
      if (message.header.id != 9) CHECK(message.header.rcode == kRcodeFormErr);
    }
  }
  while (ids.size() < 3) {
    const std::optional<Bytes> reply = client.Receive();
    REQUIRE(reply.has_value());
    const Message message = Parsed(reply);
    ids.insert(message.header.id);
    if (message.header.id != 9) CHECK(message.header.rcode == kRcodeFormErr);
  }
  CHECK(ids == std::set<std::uint16_t>{7, 8, 9});
}

TEST_CASE("garbage over TCP: FORMERR keeps the connection, a zero length ends it", "[listener]") {
  LoopbackDns dns;
  TcpClient tcp(dns.port());
  tcp.Send(Hex("0007 0000 0001 0000 0000 0000 c00c 0001 0001"));
  CHECK(Parsed(tcp.Receive()).header.rcode == kRcodeFormErr);
  tcp.Send(Encode(Query("web.service.roster", kTypeA, 5)));
  CHECK(Parsed(tcp.Receive()).header.id == 5);
  tcp.SendRaw(Hex("0000"));
  CHECK(tcp.ClosedByServer());

  TcpClient next(dns.port());  // the listener still serves
  next.Send(Encode(Query("web.service.roster", kTypeA, 6)));
  CHECK(Parsed(next.Receive()).header.id == 6);
}

TEST_CASE("connections beyond the cap are closed at once; a freed slot is reused", "[listener]") {
  DnsServerOptions options = LoopbackOptions();
  options.listener.tcp_connections_max = 2;
  LoopbackDns dns(options);
  auto first = std::make_unique<TcpClient>(dns.port());
  TcpClient second(dns.port());
  for (TcpClient* client : {first.get(), &second}) {  // both served: their threads run
    client->Send(Encode(Query("web.service.roster", kTypeA, 1)));
    REQUIRE(Parsed(client->Receive()).header.id == 1);
  }
  TcpClient third(dns.port());
  CHECK(third.ClosedByServer());

  first.reset();
  // The slot frees once the server has seen the close: poll for it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  bool served = false;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    TcpClient retry(dns.port());
    retry.Send(Encode(Query("web.service.roster", kTypeA, 2)));
    served = retry.Receive(1000).has_value();
  }
  CHECK(served);
}

TEST_CASE("an idle TCP connection is closed after the idle timeout", "[listener]") {
  DnsServerOptions options = LoopbackOptions();
  options.listener.tcp_idle_timeout_ms = 200;
  LoopbackDns dns(options);
  TcpClient tcp(dns.port());
  tcp.Send(Encode(Query("web.service.roster", kTypeA, 1)));
  REQUIRE(Parsed(tcp.Receive()).header.id == 1);
  CHECK(tcp.ClosedByServer(5000));
}

TEST_CASE("Stop() returns promptly with clients connected, and closes them", "[listener]") {
  LoopbackDns dns;  // idle timeout 10 s: only Stop can end these connections
  TcpClient idle(dns.port());
  TcpClient halfway(dns.port());
  halfway.SendRaw(Hex("0064 0102 0304"));  // 100 octets announced, 4 sent
  idle.Send(Encode(Query("web.service.roster", kTypeA, 1)));
  REQUIRE(Parsed(idle.Receive()).header.id == 1);
  UdpClient udp(dns.port());

  const auto started = std::chrono::steady_clock::now();
  dns.server->Stop();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
  CHECK(idle.ClosedByServer(1000));
  CHECK(halfway.ClosedByServer(1000));
  udp.Send(Encode(Query("web.service.roster", kTypeA, 2)));
  CHECK(!udp.Receive(200).has_value());
  dns.server->Stop();  // idempotent
}

TEST_CASE("a second listener on a taken port fails with the address in the message", "[listener]") {
  LoopbackDns dns;
  DnsServerOptions options = LoopbackOptions();
  options.listener.port = dns.port();
  LockedCatalog catalog;
  FakeClock clock(0);
  Result<std::unique_ptr<DnsServer>> second = DnsServer::Start(options, catalog, clock);
  REQUIRE(!second.ok());
  CHECK(second.status().message().find("127.0.0.1:" + std::to_string(dns.port())) !=
        std::string::npos);
}

TEST_CASE("a port whose UDP side another socket holds fails too, naming the address",
          "[listener]") {
  // A UDP socket on a port: the listener cannot bind its own UDP socket there, and
  // Start says so.
  const int holder = ::socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(holder >= 0);
  sockaddr_in address = Loopback(0);
  REQUIRE(::bind(holder, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(::getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const std::uint16_t port = ntohs(address.sin_port);
  DnsServerOptions options = LoopbackOptions();
  options.listener.port = port;
  LockedCatalog catalog;
  FakeClock clock(0);
  Result<std::unique_ptr<DnsServer>> server = DnsServer::Start(options, catalog, clock);
  ::close(holder);
  REQUIRE(!server.ok());
  CHECK(server.status().code() == StatusCode::kIoError);
  CHECK(server.status().message().find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

// A catalog whose lookups of "slow" wait until released: a UDP worker that asks for it
// is stuck, as one the host takes off the CPU would be.
class StallingCatalog final : public DnsCatalog {
 public:
  FakeCatalog inner;

  Result<DnsInstances> ServiceInstances(std::string_view dc,
                                        std::string_view service) const override {
    if (service == "slow") {
      std::unique_lock<std::mutex> lock(mutex_);
      stalled_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return released_; });
    }
    return inner.ServiceInstances(dc, service);
  }
  Result<std::optional<DnsNode>> Node(std::string_view dc, std::string_view node) const override {
    return inner.Node(dc, node);
  }

  bool WaitUntilStalled() {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [this] { return stalled_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable bool stalled_ = false;
  bool released_ = false;
};

TEST_CASE("a stalled UDP worker holds up no other client: the workers share the socket",
          "[listener]") {
  StallingCatalog catalog;
  catalog.inner.services["web"] = {Instance("n1", "10.0.0.1", 80)};
  catalog.inner.services["slow"] = {Instance("n2", "10.0.0.2", 80)};
  FakeClock clock(0);
  Result<std::unique_ptr<DnsServer>> server = DnsServer::Start(LoopbackOptions(), catalog, clock);
  REQUIRE(server.ok());
  UdpClient stuck((*server)->port());
  stuck.Send(Encode(Query("slow.service.roster", kTypeA, 1)));
  REQUIRE(catalog.WaitUntilStalled());  // one of the two workers is stuck in the lookup
  // With a socket per worker, about half of these clients would be hashed to the stuck
  // worker's socket and wait for it; with one shared socket the other worker answers all.
  for (std::uint16_t id = 2; id <= 33; ++id) {
    UdpClient client((*server)->port());
    client.Send(Encode(Query("web.service.roster", kTypeA, id)));
    const Message reply = Parsed(client.Receive());
    CHECK(reply.header.id == id);
    CHECK(reply.answers.size() == 1);
  }
  catalog.Release();
  const Message reply = Parsed(stuck.Receive());
  CHECK(reply.header.id == 1);
  CHECK(reply.answers.size() == 1);
}

TEST_CASE("a burst of UDP queries, several batches long, gets every reply", "[listener]") {
  // One client sends 100 datagrams before reading any, so a worker reads them in batches
  // (dns/udp_batch.h) that mix answers, FORMERR, REFUSED and drops; each reply must
  // carry its own query's ID and answer.
  LoopbackDns dns;
  UdpClient client(dns.port());
  std::map<std::uint16_t, std::string> expected;  // by ID: what the reply says
  Bytes response = Encode(Query("web.service.roster", kTypeA, 0));
  response[2] |= 0x80;  // QR: dropped, so no reply has ID 0
  for (std::uint16_t id = 1; id <= 100; ++id) {
    switch (id % 5) {
      case 0:
        client.Send(response);
        break;
      case 1:
        client.Send(Encode(Query("web.service.roster", kTypeA, id)));
        expected[id] = "web.service.roster. 0 A 10.0.0.1";
        break;
      case 2:
        client.Send(Encode(WithEdns(Query("web.service.roster", kTypeSrv, id), 1232)));
        expected[id] = "web.service.roster. 0 SRV 1 1 80 n1.node.dc1.roster.";
        break;
      case 3: {
        Bytes loop = Hex("0000 0000 0001 0000 0000 0000 c00c 0001 0001");
        loop[0] = static_cast<std::uint8_t>(id >> 8);
        loop[1] = static_cast<std::uint8_t>(id & 0xFF);
        client.Send(loop);
        expected[id] = "FORMERR";
        break;
      }
      default:
        client.Send(Encode(Query("www.example.com", kTypeA, id)));
        expected[id] = "REFUSED";
    }
  }
  std::map<std::uint16_t, std::string> got;
  while (got.size() < expected.size()) {
    const std::optional<Bytes> reply = client.Receive();
    REQUIRE(reply.has_value());
    const Message message = Parsed(reply);
    std::string& said = got[message.header.id];
    if (message.header.rcode == kRcodeFormErr) {
      said = "FORMERR";
    } else if (message.header.rcode == kRcodeRefused) {
      said = "REFUSED";
    } else {
      REQUIRE(message.answers.size() == 1);
      said = Texts(message.answers, false)[0];
    }
  }
  CHECK(got == expected);
  CHECK(!client.Receive(/*timeout_ms=*/100).has_value());  // nothing for the dropped ones
}

TEST_CASE("the UDP socket asks for a 4 MiB receive buffer, capped by rmem_max", "[listener]") {
  Result<internal::BoundPair> bound = internal::BindUdpAndTcp("127.0.0.1", 0, 8);
  REQUIRE(bound.ok());
  std::ifstream rmem_max_file("/proc/sys/net/core/rmem_max");
  int rmem_max = 0;
  rmem_max_file >> rmem_max;
  REQUIRE(rmem_max > 0);
  int bytes = 0;
  socklen_t length = sizeof(bytes);
  REQUIRE(::getsockopt(bound->udp_fd, SOL_SOCKET, SO_RCVBUF, &bytes, &length) == 0);
  // Linux doubles what was set, for its bookkeeping (socket(7)).
  CHECK(bytes == 2 * std::min(4 << 20, rmem_max));
  internal::CloseFd(bound->udp_fd);
  internal::CloseFd(bound->tcp_fd);
}

TEST_CASE("names outside the domains are REFUSED without recursors", "[listener]") {
  LoopbackDns dns;
  UdpClient client(dns.port());
  client.Send(Encode(Query("www.example.com", kTypeA, 3)));
  const Message reply = Parsed(client.Receive());
  CHECK(reply.header.rcode == kRcodeRefused);
  CHECK(!reply.header.recursion_available);
}

}  // namespace
}  // namespace roster::dns
