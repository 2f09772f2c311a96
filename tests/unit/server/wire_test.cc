// The peer wire format: every frame kind round-trips with every field intact; every
// malformed input (truncated, mutated, oversized, unknown enums, impossible counts)
// is an error that names the field, never a crash; and whatever decodes re-encodes
// to the same bytes (one encoding per value).
#include "server/wire.h"

#include "base/random.h"
#include "server/disk_format.h"

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace roster::server {
namespace {

using consensus::Entry;
using consensus::EntryType;
using consensus::Message;
using consensus::MessageType;

// Every field set, each to a value no other field has, so a swap would show.
Message DistinctiveMessage() {
  Message message;
  message.type = MessageType::kSnapshot;
  message.from = 3;
  message.to = 5;
  message.term = 7;
  message.log_term = 6;
  message.index = 1'000'001;
  message.entries = {
      Entry{.term = 6, .index = 1'000'002, .type = EntryType::kNormal, .data = "put a=1"},
      Entry{.term = 7, .index = 1'000'003, .type = EntryType::kConfChange, .data = "conf"},
      Entry{.term = 7, .index = 1'000'004, .type = EntryType::kNormal, .data = ""},
  };
  message.commit = 999'999;
  message.reject = true;
  message.reject_hint = 12'345;
  message.reject_hint_term = 4;
  message.snapshot.metadata.index = 900'000;
  message.snapshot.metadata.term = 5;
  message.snapshot.metadata.conf_state.voters = {1, 3, 5};
  message.snapshot.metadata.conf_state.learners = {8, 13};
  message.snapshot.data = std::string("snap\0shot", 9);
  message.snapshot_offset = 1u << 20;
  message.snapshot_done = true;
  message.read_round = 0xFFFF'FFFF'FFFF'FFFFull;  // the largest varint
  message.context = "read-ctx-42";
  return message;
}

void RequireSameMessage(const Message& got, const Message& want) {
  REQUIRE(got.type == want.type);
  REQUIRE(got.from == want.from);
  REQUIRE(got.to == want.to);
  REQUIRE(got.term == want.term);
  REQUIRE(got.log_term == want.log_term);
  REQUIRE(got.index == want.index);
  REQUIRE(got.entries == want.entries);
  REQUIRE(got.commit == want.commit);
  REQUIRE(got.reject == want.reject);
  REQUIRE(got.reject_hint == want.reject_hint);
  REQUIRE(got.reject_hint_term == want.reject_hint_term);
  REQUIRE(got.snapshot == want.snapshot);
  REQUIRE(got.snapshot_offset == want.snapshot_offset);
  REQUIRE(got.snapshot_done == want.snapshot_done);
  REQUIRE(got.read_round == want.read_round);
  REQUIRE(got.context == want.context);
}

Hello DistinctiveHello() {
  return Hello{.cluster_id = 0xC1u,
               .node_id = 2,
               .node_name = "server-two",
               .server_address = "10.0.0.2:8300",
               .http_address = "10.0.0.2:8500"};
}

store::DirEntry DistinctiveEntry(std::string key, consensus::Index base) {
  return store::DirEntry{.key = std::move(key),
                         .value = std::string("v\0al", 4),
                         .flags = base + 1,
                         .create_index = base + 2,
                         .modify_index = base + 3,
                         .lock_index = base + 4,
                         .session = "sess-" + std::to_string(base)};
}

// A forwarded write's whole outcome: a sequential entry and a txn's results and errors.
ForwardResult DistinctiveForwardResult() {
  ForwardResult result{.request_id = 1'000'000,
                       .status_code = StatusCode::kOk,
                       .message = "",
                       .ok = true,
                       .index = 9'001,
                       .refused = "",
                       .entry = DistinctiveEntry("queue/00000000000000009001", 9'001),
                       .txn = {}};
  result.txn.results = {store::TxnResult{DistinctiveEntry("a", 10)},
                        store::TxnResult{DistinctiveEntry("", 20)}};
  result.txn.errors = {store::TxnError{.op_index = 0, .what = "index mismatch"},
                       store::TxnError{.op_index = 127, .what = ""}};
  return result;
}

store::Session DistinctiveSession() {
  return store::Session{.id = "adf4238a-882b-9ddc-4a9d-5b6758e4159e",
                        .name = "lock holder",
                        .node = "server-two",
                        .lock_delay_ms = 15'000,
                        .behavior = store::SessionBehavior::kDelete,
                        .ttl_ms = 10'000,
                        .node_checks = {"serfHealth", "disk"},
                        .service_checks = {{.id = "web-alive", .namespace_name = "ns"},
                                           {.id = "db", .namespace_name = ""}},
                        .create_index = 31,
                        .modify_index = 32};
}

// One small, valid frame of every kind.
std::vector<Frame> OneOfEachKind() {
  return {
      DistinctiveHello(),
      DistinctiveMessage(),
      ForwardApply{.request_id = 77, .command = std::string("\x01kv\0put", 7)},
      ForwardResult{.request_id = 77,
                    .status_code = StatusCode::kNotLeader,
                    .message = "leader is node 3",
                    .ok = true,
                    .index = 4242,
                    .refused = "",
                    .entry = std::nullopt,
                    .txn = {}},
      DistinctiveForwardResult(),
      ForwardResult{.request_id = 78,
                    .status_code = StatusCode::kOk,
                    .message = "",
                    .ok = false,
                    .index = 4243,
                    .refused = "invalid session \"s-1\"",
                    .entry = std::nullopt,
                    .txn = {}},
      Join{.node_id = 9,
           .node_name = "server-nine",
           .server_address = "10.0.0.9:8300",
           .http_address = "10.0.0.9:8500",
           .voter = false},
      JoinResult{.status_code = StatusCode::kFailedPrecondition,
                 .message = "node 9 is already a member",
                 .cluster_id = 0xC1u},
      ForwardRenew{.request_id = 79, .session_id = "adf4238a-882b-9ddc-4a9d-5b6758e4159e"},
      ForwardRenewResult{.request_id = 79,
                         .status_code = StatusCode::kOk,
                         .message = "",
                         .session = DistinctiveSession()},
      ForwardRenewResult{.request_id = 80,
                         .status_code = StatusCode::kNotFound,
                         .message = "Session id 'x' not found",
                         .session = {}},
      ForwardHeartbeats{
          .request_id = 81,
          .heartbeats = {http::NodeHeartbeat{.node = "web-1",
                                             .id = "adf4238a-882b-9ddc-4a9d-5b6758e4159e",
                                             .address = "10.0.0.5",
                                             .meta = store::StringMap{{"a", "1"}, {"rack", "r1"}}},
                         http::NodeHeartbeat{
                             .node = "web-2", .id = "", .address = "10.0.0.6", .meta = {}},
                         http::NodeHeartbeat{.node = "web-3",
                                             .id = "",
                                             .address = "10.0.0.7",
                                             .meta = store::StringMap{}}},
          .leaves = {"db-1", "db-2"}},
      ForwardHeartbeatsResult{
          .request_id = 81, .status_code = StatusCode::kNotLeader, .message = "not the leader"},
  };
}

Frame RoundTrip(const Frame& frame) {
  const std::string bytes = EncodeFrame(frame);
  Result<Frame> decoded = DecodeFrame(bytes);
  INFO(decoded.status().ToString());
  REQUIRE(decoded.ok());
  REQUIRE(KindOf(*decoded) == KindOf(frame));
  REQUIRE(EncodeFrame(*decoded) == bytes);
  return std::move(*decoded);
}

// The body of a frame (kind + payload), with the length prefix stripped.
std::string Body(const Frame& frame) { return EncodeFrame(frame).substr(kFrameHeaderBytes); }

// A frame made from a hand-built body: the way to write malformed payloads.
std::string FrameOf(const std::string& body) {
  std::string out;
  PutFixed32(&out, static_cast<std::uint32_t>(body.size()));
  return out + body;
}

Status DecodeError(const std::string& bytes) {
  Result<Frame> decoded = DecodeFrame(bytes);
  REQUIRE_FALSE(decoded.ok());
  return decoded.status();
}

// ---- Round trips ------------------------------------------------------------------

TEST_CASE("a Raft message keeps every field through a frame", "[wire]") {
  const Message want = DistinctiveMessage();
  Frame got = RoundTrip(want);
  RequireSameMessage(std::get<Message>(got), want);
}

TEST_CASE("every message type and a default message round-trip", "[wire]") {
  for (int type = 0; type <= static_cast<int>(MessageType::kReadIndexLease); ++type) {
    Message want;
    want.type = static_cast<MessageType>(type);
    want.term = static_cast<consensus::Term>(type + 1);
    RequireSameMessage(std::get<Message>(RoundTrip(want)), want);
  }
}

TEST_CASE("the other frame kinds keep every field", "[wire]") {
  for (const Frame& frame : OneOfEachKind()) {
    if (std::holds_alternative<Message>(frame)) continue;  // compared field by field above
    Frame got = RoundTrip(frame);
    REQUIRE(got.index() == frame.index());
    std::visit(
        [&got](const auto& want) {
          using T = std::decay_t<decltype(want)>;
          if constexpr (!std::is_same_v<T, Message>) REQUIRE(std::get<T>(got) == want);
        },
        frame);
  }
}

TEST_CASE("empty and large entries, and a 1 MiB snapshot chunk, round-trip", "[wire]") {
  SECTION("an append with an empty no-op entry and two 1 MiB entries") {
    Message want;
    want.type = MessageType::kAppend;
    want.entries.push_back(Entry{.term = 2, .index = 10, .data = ""});
    for (consensus::Index index = 11; index <= 12; ++index) {
      want.entries.push_back(Entry{.term = 2, .index = index, .data = std::string(1u << 20, 'e')});
    }
    RequireSameMessage(std::get<Message>(RoundTrip(want)), want);
  }
  SECTION("a snapshot chunk of 1 MiB of every byte value") {
    Message want;
    want.type = MessageType::kSnapshot;
    want.snapshot.metadata = {
        .index = 500, .term = 3, .conf_state = {.voters = {1, 2, 3}, .learners = {}}};
    want.snapshot.data.resize(1u << 20);
    for (std::size_t i = 0; i < want.snapshot.data.size(); ++i) {
      want.snapshot.data[i] = static_cast<char>(i * 131);
    }
    want.snapshot_offset = 3u << 20;
    RequireSameMessage(std::get<Message>(RoundTrip(want)), want);
  }
}

TEST_CASE("the frame header is a little-endian length, then the kind", "[wire]") {
  const std::string bytes = EncodeFrame(ForwardApply{.request_id = 1, .command = "abc"});
  // kind, varint 1, varint 3, "abc"
  REQUIRE(bytes == std::string("\x06\x00\x00\x00\x03\x01\x03", 7) + "abc");
  Result<std::uint32_t> length = DecodeFrameLength(bytes, kFrameBytesMaxDefault);
  REQUIRE(length.ok());
  REQUIRE(*length == 6);
}

// ---- Rejection --------------------------------------------------------------------

TEST_CASE("every truncation of a valid frame is an error", "[wire]") {
  for (const Frame& frame : OneOfEachKind()) {
    const std::string bytes = EncodeFrame(frame);
    const std::string body = bytes.substr(kFrameHeaderBytes);
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      INFO(FrameKindName(KindOf(frame)) << " cut to " << size << " bytes");
      REQUIRE_FALSE(DecodeFrame(bytes.substr(0, size)).ok());
    }
    // Harder: the payload cut short with a length prefix that agrees with the cut.
    for (std::size_t size = 0; size < body.size(); ++size) {
      INFO(FrameKindName(KindOf(frame)) << " body cut to " << size << " bytes");
      Result<Frame> decoded = DecodeFrame(FrameOf(body.substr(0, size)));
      REQUIRE_FALSE(decoded.ok());
      REQUIRE(decoded.status().code() == StatusCode::kCorruption);
    }
  }
}

TEST_CASE("trailing bytes after a frame or inside its length are errors", "[wire]") {
  const std::string body = Body(DistinctiveHello());
  Status inside = DecodeError(FrameOf(body + "x"));
  REQUIRE(inside.code() == StatusCode::kCorruption);
  REQUIRE_THAT(inside.message(), Catch::Contains("1 trailing bytes"));
  REQUIRE_FALSE(DecodeFrame(FrameOf(body) + "x").ok());
}

TEST_CASE("a frame over the size limit is refused from its header", "[wire]") {
  const std::string bytes = EncodeFrame(ForwardApply{.command = std::string(1000, 'c')});
  REQUIRE(DecodeFrame(bytes, 2000).ok());
  Result<Frame> decoded = DecodeFrame(bytes, 999);
  REQUIRE_FALSE(decoded.ok());
  REQUIRE_THAT(decoded.status().message(), Catch::Contains("exceeds the limit of 999"));
  // Only the four header bytes are needed to refuse it.
  std::string header;
  PutFixed32(&header, kFrameBytesMaxDefault + 1);
  REQUIRE_FALSE(DecodeFrameLength(header, kFrameBytesMaxDefault).ok());
  PutFixed32(&header, 0);
  REQUIRE_FALSE(DecodeFrameLength(header.substr(4), kFrameBytesMaxDefault).ok());
}

TEST_CASE("unknown kinds and enum values are InvalidArgument naming the field", "[wire]") {
  SECTION("frame kind") {
    Status status = DecodeError(FrameOf("\x0b"));
    REQUIRE(status.code() == StatusCode::kInvalidArgument);
    REQUIRE_THAT(status.message(), Catch::Contains("frame kind at offset 4"));
    REQUIRE_FALSE(DecodeFrame(FrameOf(std::string("\x00", 1))).ok());
  }
  SECTION("message type") {
    std::string body = Body(Message{});
    body[1] = 15;  // one past kReadIndexLease
    Status status = DecodeError(FrameOf(body));
    REQUIRE(status.code() == StatusCode::kInvalidArgument);
    REQUIRE_THAT(status.message(), Catch::Contains("raft.type at offset 5"));
  }
  SECTION("entry type, in the second entry") {
    Message message;
    message.entries = {Entry{.term = 1, .index = 1, .type = EntryType::kNormal, .data = ""},
                       Entry{.term = 1, .index = 2, .type = EntryType::kNormal, .data = ""}};
    std::string body = Body(message);
    // kind, type, from, to, term, log_term, index, count, entry 1 (4 bytes), term, index
    const std::size_t type_at = 1 + 1 + 5 + 1 + 4 + 2;
    REQUIRE(body[type_at] == 0);
    body[type_at] = 2;
    Status status = DecodeError(FrameOf(body));
    REQUIRE(status.code() == StatusCode::kInvalidArgument);
    REQUIRE(status.message() == "raft.entries[1].type at offset " + std::to_string(type_at + 4) +
                                    ": unknown entry type 2");
  }
  SECTION("status code") {
    std::string body = Body(JoinResult{});
    body[1] = 11;
    REQUIRE_THAT(DecodeError(FrameOf(body)).message(),
                 Catch::Contains("join_result.status_code at offset 5"));
  }
  SECTION("protocol version") {
    Hello hello = DistinctiveHello();
    hello.protocol_version = 2;
    Status status = DecodeError(EncodeFrame(hello));
    REQUIRE(status.code() == StatusCode::kInvalidArgument);
    REQUIRE_THAT(status.message(), Catch::Contains("protocol version 2 is not supported"));
  }
}

TEST_CASE("malformed primitives are Corruption", "[wire]") {
  SECTION("a bool that is neither 0 nor 1") {
    std::string body = Body(Join{});
    body.back() = 2;
    REQUIRE_THAT(DecodeError(FrameOf(body)).message(), Catch::Contains("join.voter"));
  }
  SECTION("a varint padded with a zero byte") {
    Status status = DecodeError(FrameOf(std::string("\x03\x81\x00\x00", 4)));
    REQUIRE(status.code() == StatusCode::kCorruption);
    REQUIRE_THAT(status.message(), Catch::Contains("not minimal"));
  }
  SECTION("a varint beyond 64 bits") {
    std::string body = "\x03" + std::string(9, '\xff') + "\x02" + std::string(1, '\0');
    REQUIRE_THAT(DecodeError(FrameOf(body)).message(), Catch::Contains("overflows 64 bits"));
  }
  SECTION("a byte string longer than the frame") {
    const std::string body = std::string("\x03\x01\x05", 3) + "abcd";
    REQUIRE(DecodeError(FrameOf(body)).message() ==
            "forward_apply.command at offset 6: length 5 exceeds the 4 bytes left in the frame");
  }
}

TEST_CASE("a count the frame cannot hold is refused before anything is allocated", "[wire]") {
  std::string body;
  body += static_cast<char>(FrameKind::kRaft);
  body += static_cast<char>(MessageType::kAppend);
  body += std::string(5, '\0');    // from, to, term, log_term, index
  PutVarint64(&body, 1ull << 60);  // entries: would be exabytes if believed
  body += std::string(40, '\0');
  Status status = DecodeError(FrameOf(body));
  REQUIRE(status.code() == StatusCode::kCorruption);
  REQUIRE_THAT(status.message(), Catch::Contains("raft.entries at offset 11: count"));
  // Eleven empty entries take 44 bytes: one more than 40 bytes can hold.
  body.resize(7);
  PutVarint64(&body, 11);
  body += std::string(43, '\0');
  REQUIRE_THAT(DecodeError(FrameOf(body)).message(), Catch::Contains("cannot fit"));
}

TEST_CASE("a membership that breaks ConfState's promises is refused", "[wire]") {
  auto with = [](std::vector<consensus::NodeId> voters, std::vector<consensus::NodeId> learners) {
    Message message;
    message.snapshot.metadata.conf_state = {.voters = voters, .learners = learners};
    return DecodeFrame(EncodeFrame(message));
  };
  REQUIRE(with({1, 2, 3}, {4}).ok());
  REQUIRE_FALSE(with({2, 1}, {}).ok());
  REQUIRE_FALSE(with({1, 1}, {}).ok());
  REQUIRE_FALSE(with({0, 1}, {}).ok());
  Result<Frame> overlap = with({1, 2}, {2});
  REQUIRE_FALSE(overlap.ok());
  REQUIRE_THAT(overlap.status().message(), Catch::Contains("node 2 is also a voter"));
}

// ---- Forwarded results and renewals ----------------------------------------------

TEST_CASE("a forwarded write's result carries the whole outcome", "[wire]") {
  const ForwardResult want = DistinctiveForwardResult();
  const ForwardResult got = std::get<ForwardResult>(RoundTrip(want));
  REQUIRE(got.entry == want.entry);
  REQUIRE(got.txn.results == want.txn.results);
  REQUIRE(got.txn.errors == want.txn.errors);
  REQUIRE(got == want);
  SECTION("and the store's text for a command refused at apply") {
    ForwardResult refused{.request_id = 3,
                          .status_code = StatusCode::kOk,
                          .message = "",
                          .ok = false,
                          .index = 17,
                          .refused = "Missing node registration",
                          .entry = std::nullopt,
                          .txn = {}};
    REQUIRE(std::get<ForwardResult>(RoundTrip(refused)) == refused);
  }
}

TEST_CASE("a renewal result keeps every field of the session", "[wire]") {
  const ForwardRenewResult want{.request_id = 12,
                                .status_code = StatusCode::kOk,
                                .message = "",
                                .session = DistinctiveSession()};
  REQUIRE(std::get<ForwardRenewResult>(RoundTrip(want)).session == DistinctiveSession());
}

// A ForwardResult body up to its txn: request 1, OK, no message, ok, index 1, not
// refused, no entry.
std::string ForwardResultHead() { return std::string("\x04\x01\x00\x00\x01\x01\x00\x00", 8); }

TEST_CASE("a txn result count the frame cannot hold is refused", "[wire]") {
  std::string body = ForwardResultHead();
  PutVarint64(&body, 1ull << 40);
  body += std::string(20, '\0');
  Status status = DecodeError(FrameOf(body));
  REQUIRE(status.code() == StatusCode::kCorruption);
  REQUIRE_THAT(status.message(), Catch::Contains("forward_result.txn.results at offset 12: count"));
  // Three empty results take 21 bytes: one more than 20 can hold.
  body.resize(8);
  PutVarint64(&body, 3);
  body += std::string(20, '\0');
  REQUIRE_THAT(DecodeError(FrameOf(body)).message(), Catch::Contains("cannot fit"));
}

TEST_CASE("damage inside a txn result or error names its position", "[wire]") {
  SECTION("a result's key longer than the frame") {
    std::string body = ForwardResultHead();
    body += std::string("\x02", 1) + std::string(7, '\0');  // results[0]: empty
    body += std::string("\x7f", 1) + std::string(6, '\0');  // results[1].key: 127 bytes
    body += std::string("\x00", 1);                         // no errors
    REQUIRE_THAT(DecodeError(FrameOf(body)).message(),
                 Catch::StartsWith("forward_result.txn.results[1].key at offset 20: length 127"));
  }
  SECTION("an error cut short") {
    // no results; one error: op_index 5, what of 3 bytes with 2 present
    std::string body = ForwardResultHead() + std::string("\x00\x01\x05\x03", 4) + "ab";
    REQUIRE_THAT(DecodeError(FrameOf(body)).message(),
                 Catch::StartsWith("forward_result.txn.errors[0].what at offset"));
  }
  SECTION("an entry flag that is neither 0 nor 1") {
    std::string body = ForwardResultHead() + std::string("\x00\x00", 2);
    body[7] = 2;
    REQUIRE_THAT(DecodeError(FrameOf(body)).message(),
                 Catch::Contains("forward_result.has_entry at offset 11"));
  }
}

TEST_CASE("heartbeat meta must be sorted, unique, and present only with has_meta", "[wire]") {
  const ForwardHeartbeats batch{
      .request_id = 1,
      .heartbeats = {http::NodeHeartbeat{
          .node = "n", .id = "", .address = "a", .meta = store::StringMap{{"k", "v"}}}},
      .leaves = {}};
  std::string body = Body(batch);
  // kind, request_id, count 1, "n", "", "a", has_meta, 1 pair, "k", "v", no leaves.
  const std::string good = {9, 1, 1, 1, 'n', 0, 1, 'a', 1, 1, 1, 'k', 1, 'v', 0};
  REQUIRE(body == good);
  std::string without_flag = good;
  without_flag[8] = 0;
  CHECK(DecodeError(FrameOf(without_flag)).message().find("meta pairs without has_meta") !=
        std::string::npos);
  // Two pairs with the same key.
  const std::string repeated = {9, 1, 1, 1, 'n', 0, 1, 'a', 1, 2, 1, 'k', 1, 'v', 1, 'k', 1, 'w', 0};
  CHECK(DecodeError(FrameOf(repeated)).message().find("not sorted and unique") !=
        std::string::npos);
}

TEST_CASE("a session behavior this node does not know is InvalidArgument", "[wire]") {
  ForwardRenewResult result;
  result.request_id = 1;
  result.session.id = "i";
  result.session.node = "n";
  std::string body = Body(result);
  // kind, request id, status, message, id "i", name, node "n", lock_delay_ms, behavior
  const std::size_t behavior_at = 10;
  REQUIRE(body[behavior_at] == 0);
  body[behavior_at] = 2;
  Status status = DecodeError(FrameOf(body));
  REQUIRE(status.code() == StatusCode::kInvalidArgument);
  REQUIRE(status.message() ==
          "forward_renew_result.session.behavior at offset 14: unknown session behavior 2");
}

// ---- Mutation ---------------------------------------------------------------------

// Damages a valid frame in one of the ways a bad link or a bad peer would.
std::string Mutate(std::string bytes, Random& random) {
  const std::size_t at = random.Uniform(bytes.size());
  switch (random.Uniform(5)) {
    case 0:
      bytes[at] = static_cast<char>(bytes[at] ^ (1u << random.Uniform(8)));
      break;
    case 1:
      bytes[at] = static_cast<char>(random.Next());
      break;
    case 2:
      bytes.erase(at, 1 + random.Uniform(4));
      break;
    case 3:
      bytes.insert(at, 1, static_cast<char>(random.Next()));
      break;
    case 4:
      bytes.resize(at);
      break;
  }
  return bytes;
}

TEST_CASE("random damage never crashes, and what decodes re-encodes identically", "[wire]") {
  DeterministicRandom random(20240611);
  std::vector<std::string> seeds;
  for (const Frame& frame : OneOfEachKind()) seeds.push_back(EncodeFrame(frame));
  int decoded_count = 0;
  for (int round = 0; round < 100'000; ++round) {
    std::string bytes = seeds[random.Uniform(seeds.size())];
    const int mutations = 1 + static_cast<int>(random.Uniform(3));
    for (int i = 0; i < mutations && !bytes.empty(); ++i) bytes = Mutate(bytes, random);
    // Keep the length prefix honest half the time, so the payload decoder is reached.
    if (bytes.size() >= kFrameHeaderBytes && random.OneIn(2)) {
      std::string header;
      PutFixed32(&header, static_cast<std::uint32_t>(bytes.size() - kFrameHeaderBytes));
      bytes.replace(0, kFrameHeaderBytes, header);
    }
    Result<Frame> frame = DecodeFrame(bytes);
    if (frame.ok()) {
      ++decoded_count;
      REQUIRE(EncodeFrame(*frame) == bytes);
    } else {
      REQUIRE_FALSE(frame.status().message().empty());
    }
  }
  // Some mutations land in data bytes and still decode; most must not.
  REQUIRE(decoded_count > 0);
  REQUIRE(decoded_count < 100'000);
}

}  // namespace
}  // namespace roster::server
