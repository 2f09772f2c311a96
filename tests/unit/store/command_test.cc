// The command encoding: what the leader proposes is exactly what replicas decode, and
// anything malformed is refused by Decode before it could reach the log.
#include "store/command.h"

#include <string>
#include <vector>

#include "tests/unit/store/fixtures.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::store {
namespace {

using testing::Check;

Session FullSession() {
  Session session;
  session.id = "adf4238a-882b-9ddc-4a9d-5b6758e4159e";
  session.name = "lock";
  session.node = "n1";
  session.lock_delay_ms = 15000;
  session.behavior = SessionBehavior::kDelete;
  session.ttl_ms = 30000;
  session.node_checks = {"serfHealth", "disk"};
  session.service_checks = {ServiceCheckRef{"web", "default"}};
  return session;
}

HealthCheck FullCheck() {
  HealthCheck check;
  check.check_id = "web";
  check.name = "web check";
  check.status = HealthStatus::kWarning;
  check.notes = "notes";
  check.output = "HTTP GET: 500";
  check.service_id = "web-1";
  check.service_name = "web";
  check.type = "http";
  check.definition.http = "https://10.0.0.1:8080/health";
  check.definition.tls_server_name = "web.internal";
  check.definition.tls_skip_verify = true;
  check.definition.header = {{"Accept", {"text/plain"}}, {"X-Empty", {}}};
  check.definition.method = "HEAD";
  check.definition.body = "{}";
  check.definition.tcp = "10.0.0.1:22";
  check.definition.script_args = {"/bin/check", "-v"};
  check.definition.interval_ns = 10'000'000'000;
  check.definition.timeout_ns = 1'000'000'000;
  check.definition.deregister_critical_service_after_ns = 90'000'000'000;
  check.definition.ttl_ns = 30'000'000'000;
  return check;
}

NodeService FullService() {
  NodeService service;
  service.id = "web-1";
  service.service = "web";
  service.tags = {"primary", "v1"};
  service.address = "10.0.0.9";
  service.tagged_addresses = {{"lan", ServiceAddress{"10.0.0.9", 8080}},
                              {"wan", ServiceAddress{"198.51.100.1", 80}}};
  service.meta = {{"version", "1.2"}, {"zone", ""}};
  service.port = 8080;
  service.weights = ServiceWeights{10, 0};
  service.enable_tag_override = true;
  return service;
}

CatalogRegister FullRegister() {
  CatalogRegister command{"n1", "uuid", "10.0.0.1", {FullCheck(), HealthCheck{}}};
  command.service = FullService();
  command.datacenter = "dc1";
  command.tagged_addresses = {{"lan", "10.0.0.1"}, {"wan", "198.51.100.1"}};
  command.node_meta = {{"rack", "r1"}};
  command.skip_node_update = true;
  return command;
}

std::vector<Command> EveryCommand() {
  return {
      Noop{},
      KvSet{"web/a", "value", 7},
      KvSet{"", "", 0},
      KvSet{"k", std::string("\0\xff binary", 9), ~std::uint64_t{0}},
      KvCas{"k", "v", 3, 0},
      KvCas{"k", "v", 0, 1234567890123ull},
      KvDelete{"k"},
      KvDeleteCas{"k", 99},
      KvDeleteTree{"web/"},
      KvDeleteTree{""},
      KvReapTombstones{500},
      KvLock{"k", "v", 1, "session-id"},
      KvUnlock{"k", "", 0, "session-id"},
      KvCreateSequential{"queue/", "job", 2, ""},
      KvCreateSequential{"members/", "", 0, "s"},
      SessionCreate{FullSession()},
      SessionCreate{Session{}},
      SessionDestroy{"adf4238a-882b-9ddc-4a9d-5b6758e4159e"},
      SessionInvalidate{"adf4238a-882b-9ddc-4a9d-5b6758e4159e"},
      Txn{},
      Txn{{TxnKvOp{TxnVerb::kSet, "k", "v", 3, 0, ""}, TxnKvOp{TxnVerb::kCas, "k", "w", 0, 77, ""},
           TxnKvOp{TxnVerb::kLock, "l", "", 0, 0, "s"},
           TxnKvOp{TxnVerb::kDeleteCas, "k", "", 0, 1234567890123ull, ""}}},
      CatalogRegister{"n1", "uuid", "10.0.0.1", {FullCheck(), HealthCheck{}}},
      CatalogRegister{"n1", "", "", {}},
      FullRegister(),
      CatalogRegister{"n1", "", "", {}, NodeService{}},
      CatalogDeregister{"n1", "serfHealth"},
      CatalogDeregister{"n1", ""},
      CatalogDeregister{"n1", "", "web-1"},
  };
}

TEST_CASE("every command decodes to what was encoded") {
  for (const Command& command : EveryCommand()) {
    std::string bytes = Encode(command);
    Result<Command> decoded = Decode(bytes);
    REQUIRE(decoded.ok());
    CHECK(*decoded == command);
  }
}

TEST_CASE("the first byte is the command type and never changes meaning") {
  CHECK(Encode(Noop{}) == std::string(1, '\0'));
  CHECK(Encode(KvSet{"k", "v", 0})[0] == 1);
  CHECK(Encode(KvCas{"k", "v", 0, 0})[0] == 2);
  CHECK(Encode(KvDelete{"k"})[0] == 3);
  CHECK(Encode(KvDeleteCas{"k", 1})[0] == 4);
  CHECK(Encode(KvDeleteTree{"k"})[0] == 5);
  CHECK(Encode(KvReapTombstones{1})[0] == 6);
  CHECK(Encode(KvLock{})[0] == 7);
  CHECK(Encode(KvUnlock{})[0] == 8);
  CHECK(Encode(KvCreateSequential{})[0] == 9);
  CHECK(Encode(SessionCreate{})[0] == 16);
  CHECK(Encode(SessionDestroy{})[0] == 17);
  CHECK(Encode(SessionInvalidate{})[0] == 18);
  CHECK(Encode(Txn{})[0] == 32);
  CHECK(Encode(CatalogRegister{})[0] == 48);
  CHECK(Encode(CatalogDeregister{})[0] == 49);
  CHECK(CommandTypeName(CommandType::kKvSet) == "kv-set");
  CHECK(CommandTypeName(CommandType::kCatalogRegister) == "catalog-register");
  CHECK(CommandTypeName(static_cast<CommandType>(200)) == "unknown");
}

TEST_CASE("an empty command is a no-op (a new leader's empty entry)") {
  Result<Command> decoded = Decode("");
  REQUIRE(decoded.ok());
  CHECK(std::holds_alternative<Noop>(*decoded));
}

TEST_CASE("an unknown command type is refused") {
  Result<Command> decoded = Decode(std::string(1, static_cast<char>(200)));
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.status().code() == StatusCode::kInvalidArgument);
  CHECK(decoded.status().message() == "unknown command type 200");
}

TEST_CASE("a type byte alone is refused for every command with fields") {
  for (const Command& command : EveryCommand()) {
    if (std::holds_alternative<Noop>(command)) continue;
    const std::string type = Encode(command).substr(0, 1);
    Result<Command> decoded = Decode(type);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("an unknown enum value is refused") {
  // A session's behavior byte, a check's status byte and a txn op's verb byte.
  std::string session = Encode(SessionCreate{FullSession()});
  const std::size_t behavior_at = session.find(std::string("\x01\xb0\xea\x01", 4));
  REQUIRE(behavior_at != std::string::npos);  // behavior 1, then ttl 30000
  session[behavior_at] = 2;
  CHECK_FALSE(Decode(session).ok());

  std::string check = Encode(CatalogRegister{"n", "", "", {Check("c", HealthStatus::kPassing)}});
  const std::size_t status_at = check.find("c check") + 7;
  REQUIRE(check[status_at] == 0);
  check[status_at] = 3;
  CHECK_FALSE(Decode(check).ok());

  for (std::uint8_t verb : {0, 14, 255}) {
    std::string txn = Encode(Txn{{TxnKvOp{TxnVerb::kGet, "k", "", 0, 0, ""}}});
    txn[2] = static_cast<char>(verb);  // type, op count, verb
    CHECK_FALSE(Decode(txn).ok());
  }
}

TEST_CASE("a register of the first form, written before services, still decodes") {
  // Type, node "n", id "", address "a", one check (id "c", name "", passing, notes,
  // output, service id and service name ""), and the service count 0 that ended it.
  const std::string first_form("\x30\x01n\x00\x01"
                               "a\x01\x01"
                               "c\x00\x00\x00\x00\x00\x00\x00",
                               16);
  Result<Command> decoded = Decode(first_form);
  REQUIRE(decoded.ok());
  CatalogRegister expected{"n", "", "a", {HealthCheck{}}};
  expected.checks[0].check_id = "c";
  expected.checks[0].status = HealthStatus::kPassing;
  CHECK(std::get<CatalogRegister>(*decoded) == expected);

  // The byte that names the form: 1 was never written; 4 and up are unknown.
  for (char form : {'\x01', '\x04', '\x7f'}) {
    std::string other = first_form;
    other.back() = form;
    CHECK_FALSE(Decode(other).ok());
  }
}

TEST_CASE("a deregister names node, service id and check id in that order") {
  std::string deregistered = Encode(CatalogDeregister{"n", "c", "s"});
  CHECK(deregistered == std::string("\x31\x01n\x01s\x01"
                                    "c",
                                    7));
}

TEST_CASE("a map must come in strictly increasing key order") {
  CatalogRegister command{"n", "", "", {}};
  command.node_meta = {{"a", "1"}, {"b", "2"}};
  std::string bytes = Encode(command);
  const std::size_t at = bytes.find(std::string("\x01" "a\x01" "1\x01" "b", 6));
  REQUIRE(at != std::string::npos);
  bytes[at + 1] = 'c';  // keys "c" then "b"
  CHECK_FALSE(Decode(bytes).ok());
  bytes[at + 1] = 'b';  // a repeated key
  CHECK_FALSE(Decode(bytes).ok());
}

TEST_CASE("a command cut short anywhere is refused") {
  for (const Command& command : EveryCommand()) {
    const std::string bytes = Encode(command);
    // Cutting to zero bytes leaves an empty entry, which is a valid no-op.
    for (std::size_t size = 1; size < bytes.size(); ++size) {
      INFO("command " << bytes.size() << " bytes cut to " << size);
      CHECK_FALSE(Decode(std::string_view(bytes).substr(0, size)).ok());
    }
  }
}

TEST_CASE("a command with trailing bytes is refused") {
  for (const Command& command : EveryCommand()) {
    CHECK_FALSE(Decode(Encode(command) + "x").ok());
  }
}

TEST_CASE("a length or integer that overruns the input is refused") {
  // kv-delete with a key length of 5 but only 2 bytes of key.
  CHECK_FALSE(Decode(std::string("\x03\x05"
                                 "ab",
                                 4))
                  .ok());
  // kv-delete with a key length of 2^64 - 1.
  CHECK_FALSE(Decode(std::string("\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)).ok());
  // kv-reap-tombstones with an 11-byte varint, and a 10th byte that overflows 64 bits.
  CHECK_FALSE(Decode(std::string("\x06\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 12)).ok());
  CHECK_FALSE(Decode(std::string("\x06\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11)).ok());
  // The largest value still fits.
  Result<Command> max = Decode(std::string("\x06\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11));
  REQUIRE(max.ok());
  CHECK(std::get<KvReapTombstones>(*max).up_to_index == ~std::uint64_t{0});
}

}  // namespace
}  // namespace roster::store
