// libFuzzer target for the query-parameter parsers of http/ (params.h, kv_params.h)
// and the event loop's look at a next request (next_request.h):
// every byte of a request target comes from the network. Besides "no crash, no UB",
// it checks that what parses is consistent: durations and integers survive a round
// trip, a re-encoded query parses back to the same pairs, and a KV write that passes
// validation is a command the store can decode.
//   CXX=clang++ cmake -S . -B /tmp/fuzzbuild -DROSTER_FUZZ=ON
//   cmake --build /tmp/fuzzbuild --target http_params_fuzz
//   /tmp/fuzzbuild/bin/http_params_fuzz -max_total_time=30 NEW_DIR tests/fuzz/corpus/http_params
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/check.h"
#include "http/kv_params.h"
#include "http/next_request.h"
#include "http/params.h"
#include "store/command.h"

namespace roster::http {
namespace {

constexpr std::size_t kKeyBytesMax = 64;

void CheckDuration(std::string_view input) {
  Result<std::chrono::nanoseconds> parsed = ParseGoDuration(input);
  if (!parsed.ok()) return;
  Result<std::chrono::nanoseconds> again = ParseGoDuration(std::to_string(parsed->count()) + "ns");
  CHECK(again.ok() && *again == *parsed) << "duration round trip: " << input;
}

void CheckUint64(std::string_view input) {
  std::optional<std::uint64_t> parsed = ParseUint64(input);
  if (!parsed.has_value()) return;
  CHECK(ParseUint64(std::to_string(*parsed)) == parsed) << "uint64 round trip: " << input;
}

void CheckQueryEncoding(const Query& query) {
  const Query again = Query::Parse(query.Encode());
  CHECK_EQ(again.pairs().size(), query.pairs().size());
  for (const auto& [key, value] : query.pairs()) CHECK(again.Has(key)) << key;
}

void CheckWrite(const Result<KvWrite>& write) {
  if (!write.ok()) {
    // FailedPrecondition only for an empty ?acquire= or ?release= ("missing session").
    const StatusCode code = write.status().code();
    CHECK(code == StatusCode::kInvalidArgument || code == StatusCode::kFailedPrecondition);
    return;
  }
  const std::string encoded = store::Encode(write->command);
  Result<store::Command> decoded = store::Decode(encoded);
  CHECK(decoded.ok() && *decoded == write->command) << "a valid write must decode";
}

void CheckKv(const Target& target) {
  Result<KvRead> read = ParseKvRead(target.path, target.query);
  if (read.ok() && read->mode == KvReadMode::kEntry) CHECK(!read->key.empty());
  Result<KvWrite> put = ParseKvPut(target.path, target.query, "value", kKeyBytesMax);
  if (put.ok()) {
    // Only ?sequential may name an empty prefix (the key is then the 20 digits).
    CHECK(!target.path.empty() || target.query.Has("sequential"));
    CHECK_LE(target.path.size(), kKeyBytesMax);
  }
  CheckWrite(put);
  CheckWrite(ParseKvDelete(target.path, target.query, kKeyBytesMax));
}

// What the event loop serves itself must be a whole bodiless GET of a read.
void CheckNextRequest(std::string_view input) {
  const NextRequest next = ClassifyNextRequest(input);
  const bool complete = input.find("\r\n\r\n") != std::string_view::npos;
  if (next == NextRequest::kServeOnLoop) {
    CHECK(complete && input.starts_with("GET /v1/")) << "served on the loop: " << input;
    CHECK(input.find("index=") != std::string_view::npos);
  }
  if (next == NextRequest::kNeedMore) CHECK(!complete && input.size() < kReadAheadBytes);
  if (std::optional<PeekedRequest> request = PeekServableRequest(input)) {
    CHECK(next == NextRequest::kServeOnLoop);
    CHECK_LE(request->length, input.size());
    CHECK(input.substr(0, request->length).ends_with("\r\n\r\n"));
    CHECK(request->target.starts_with("/v1/"));
    CHECK(request->target.find(' ') == std::string_view::npos);
    request->Header("Connection");  // walks every header line
  }
}

void FuzzOne(std::string_view input) {
  CheckNextRequest(input);
  CheckDuration(input);
  CheckUint64(input);
  Result<Target> target = ParseTarget(input);
  if (!target.ok()) return;
  CheckQueryEncoding(target->query);
  Result<ReadOptions> options = ParseReadOptions(target->query);
  if (options.ok()) CHECK(options->blocking.wait.count() >= 0);
  CheckKv(*target);
}

}  // namespace
}  // namespace roster::http

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  roster::http::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
