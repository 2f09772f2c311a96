#include "base/crc32c.h"

#include <string>

#include "base/random.h"

#include <catch2/catch.hpp>

namespace roster {
namespace {

TEST_CASE("Crc32c matches the published check values", "[crc32c]") {
  CHECK(Crc32c("") == 0u);
  CHECK(Crc32c("123456789") == 0xE3069283u);  // RFC 3720's CRC-32C check value
  CHECK(Crc32c(std::string(32, '\0')) == 0x8A9136AAu);  // RFC 3720 B.4: 32 zero bytes
  CHECK(Crc32c(std::string(32, '\xff')) == 0x62A8AB43u);  // RFC 3720 B.4: 32 0xff bytes
  CHECK(internal::Crc32cExtendPortable(0, "123456789") == 0xE3069283u);
}

TEST_CASE("Crc32c: the fast path and the portable one agree, and extending composes",
          "[crc32c]") {
  DeterministicRandom random(7);
  for (int round = 0; round < 200; ++round) {
    std::string bytes(random.Uniform(301), '\0');
    for (char& c : bytes) c = static_cast<char>(random.Uniform(256));
    const std::uint32_t whole = Crc32c(bytes);
    CHECK(whole == internal::Crc32cExtendPortable(0, bytes));
    const std::size_t cut = random.Uniform(bytes.size() + 1);
    const std::string_view view(bytes);
    CHECK(Crc32cExtend(Crc32c(view.substr(0, cut)), view.substr(cut)) == whole);
  }
}

}  // namespace
}  // namespace roster
