// The command encoding: what the leader proposes is exactly what replicas decode, and
// anything malformed is refused by Decode before it could reach the log.
#include "store/command.h"

#include <string>
#include <vector>

// Catch2 defines its own CHECK; it must come after base/check.h (pulled in above).
// clang-format off
#include <catch2/catch.hpp>
// clang-format on

namespace roster::store {
namespace {

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

TEST_CASE("a reserved command type is refused until it is implemented") {
  for (CommandType type :
       {CommandType::kKvLock, CommandType::kKvUnlock, CommandType::kSessionCreate,
        CommandType::kSessionDestroy, CommandType::kSessionInvalidate, CommandType::kTxn,
        CommandType::kCatalogRegister, CommandType::kCatalogDeregister}) {
    Result<Command> decoded = Decode(std::string(1, static_cast<char>(type)));
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().message().find("not implemented") != std::string::npos);
  }
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
