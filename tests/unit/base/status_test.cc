#include "base/status.h"

// Catch2 last: its CHECK must not replace base/check.h's inside project headers.
#include <catch2/catch.hpp>

namespace roster {
namespace {

Result<int> ParsePositive(int x) {
  if (x <= 0) return InvalidArgument("x must be positive");
  return x;
}

Status Chain(int x) {
  RETURN_IF_ERROR(ParsePositive(x).status());
  return Status::Ok();
}

TEST_CASE("a default Status is OK and prints as OK") {
  Status status;
  CHECK(status.ok());
  CHECK(status.ToString() == "OK");
}

TEST_CASE("an error Status keeps its code and message") {
  Status status = NotFound("key web/1");
  CHECK_FALSE(status.ok());
  CHECK(status.code() == StatusCode::kNotFound);
  CHECK(status.ToString() == "NotFound: key web/1");
}

TEST_CASE("Result holds a value or the error that explains why not") {
  Result<int> good = ParsePositive(3);
  REQUIRE(good.ok());
  CHECK(*good == 3);
  Result<int> bad = ParsePositive(-1);
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("RETURN_IF_ERROR stops at the first error") {
  CHECK(Chain(1).ok());
  CHECK(Chain(0).code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace roster
