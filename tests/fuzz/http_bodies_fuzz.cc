// libFuzzer target for the JSON request bodies http/ parses: PUT /v1/txn
// (txn_params.h), PUT /v1/session/create (session_params.h) and PUT
// /v1/catalog/register|deregister (catalog_params.h), with the Go-style decoding helpers
// under them (json_decode.h). Every byte of a body comes from the network. Besides "no
// crash, no UB, no runaway nesting", it checks that what parses is what the store will
// accept: a transaction within its limits that encodes and decodes to itself, a session
// within its TTL and lock-delay bounds, a registration that encodes and decodes to itself
// and applies to a store (or is refused there for a missing service) without tripping
// any of its checks; and that base64 and Go durations survive a round trip.
//   CXX=clang++ cmake -S . -B /tmp/fuzzbuild -DROSTER_FUZZ=ON
//   cmake --build /tmp/fuzzbuild --target http_bodies_fuzz
//   /tmp/fuzzbuild/bin/http_bodies_fuzz -max_total_time=30 NEW_DIR tests/fuzz/corpus/http_bodies
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/check.h"
#include "http/catalog_json.h"
#include "http/catalog_params.h"
#include "http/json_decode.h"
#include "http/json_mapping.h"
#include "http/params.h"
#include "http/session_params.h"
#include "http/txn_params.h"
#include "store/command.h"
#include "store/store.h"

namespace roster::http {
namespace {

TxnLimits SmallTxnLimits() {
  TxnLimits limits;
  limits.ops_max = 8;
  limits.body_bytes_max = 4096;
  limits.value_bytes_max = 64;
  limits.key_bytes_max = 32;
  return limits;
}

void CheckTxn(std::string_view input) {
  const TxnLimits limits = SmallTxnLimits();
  Result<store::Txn> txn = ParseTxnBody(input, limits);
  if (!txn.ok()) {
    const StatusCode code = txn.status().code();
    CHECK(code == StatusCode::kInvalidArgument || code == StatusCode::kResourceExhausted);
    return;
  }
  CHECK_LE(txn->ops.size(), limits.ops_max);
  for (const store::TxnKvOp& op : txn->ops) {
    CHECK_LE(op.value.size(), limits.value_bytes_max);
    CHECK_LE(op.key.size(), limits.key_bytes_max);
  }
  Result<store::Command> decoded = store::Decode(store::Encode(*txn));
  CHECK(decoded.ok() && *decoded == store::Command(*txn)) << "a valid txn must decode";
}

void CheckSession(std::string_view input) {
  SessionCreateRules rules;
  rules.default_node = "node-1";
  Result<store::Session> session = ParseSessionCreate(input, rules);
  if (!session.ok()) {
    const StatusCode code = session.status().code();
    CHECK(code == StatusCode::kInvalidArgument || code == StatusCode::kFailedPrecondition);
    return;
  }
  CHECK(!session->node.empty());
  CHECK_LE(session->lock_delay_ms, 60'000u);
  CHECK(session->ttl_ms == 0 || (session->ttl_ms >= 10'000 && session->ttl_ms <= 86'400'000));
  session->id = NewSessionId();
  const store::SessionCreate command{*session};
  Result<store::Command> decoded = store::Decode(store::Encode(command));
  CHECK(decoded.ok() && *decoded == store::Command(command)) << "a valid session must decode";
  RenderJson(SessionJson(*session), false);
}

void CheckCatalogRegister(std::string_view input) {
  Result<store::CatalogRegister> command = ParseCatalogRegister(input, CatalogRules{});
  if (!command.ok()) {
    const StatusCode code = command.status().code();
    CHECK(code == StatusCode::kInvalidArgument || code == StatusCode::kFailedPrecondition);
    return;
  }
  CHECK(!command->node.empty());
  if (command->service.has_value()) {
    CHECK(!command->service->id.empty() && !command->service->service.empty());
    CHECK_LE(command->service->port, 65535u);
  }
  for (const store::HealthCheck& check : command->checks) {
    CHECK(!check.check_id.empty());
    CHECK(check.node.empty());  // set at apply
  }
  const std::string bytes = store::Encode(*command);
  Result<store::Command> decoded = store::Decode(bytes);
  CHECK(decoded.ok() && *decoded == store::Command(*command)) << "a valid register must decode";
  store::Store store;
  const store::ApplyResult applied = store.Apply(1, bytes);
  CHECK(applied.ok || applied.error.message().ends_with("Missing service registration"))
      << applied.error.ToString();
  if (!applied.ok) return;
  const store::CatalogTable& catalog = store.catalog();
  for (const store::NodeService& service : catalog.ListServices(command->node)) {
    RenderJson(ServiceNodeJson(*catalog.FindNode(command->node), service), false);
  }
  for (const store::HealthCheck& check : catalog.ListChecks(command->node)) {
    RenderJson(HealthCheckJson(check, {}), true);
  }
}

void CheckCatalogDeregister(std::string_view input) {
  Result<CatalogDeregisterRequest> request = ParseCatalogDeregister(input, CatalogRules{});
  if (!request.ok()) {
    const StatusCode code = request.status().code();
    CHECK(code == StatusCode::kInvalidArgument || code == StatusCode::kFailedPrecondition);
    return;
  }
  CHECK(!request->command.node.empty());
  const store::Command command(request->command);
  Result<store::Command> decoded = store::Decode(store::Encode(command));
  CHECK(decoded.ok() && *decoded == command) << "a valid deregister must decode";
}

void CheckRoundTrips(std::string_view input) {
  Result<std::string> bytes = Base64Decode(input);
  if (bytes.ok()) {
    Result<std::string> again = Base64Decode(Base64Encode(*bytes));
    CHECK(again.ok() && *again == *bytes) << "base64 round trip";
  }
  Result<std::chrono::nanoseconds> duration = ParseGoDuration(input);
  if (duration.ok()) {
    Result<std::chrono::nanoseconds> again = ParseGoDuration(FormatGoDuration(*duration));
    CHECK(again.ok() && *again == *duration) << "duration round trip: " << input;
  }
}

}  // namespace
}  // namespace roster::http

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  roster::http::CheckTxn(input);
  roster::http::CheckSession(input);
  roster::http::CheckCatalogRegister(input);
  roster::http::CheckCatalogDeregister(input);
  roster::http::CheckRoundTrips(input);
  return 0;
}
