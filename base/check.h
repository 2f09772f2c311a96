// CHECK: invariants that stay on in every build.
//
// A failed CHECK means Roster has a bug or its state has diverged; continuing could
// corrupt replicated data, so it prints the condition, the location and the streamed
// message, then aborts. Expected failures are Status values, not CHECKs.
//   CHECK(index > 0) << "index must be positive, got " << index;
//   CHECK_EQ(a, b); CHECK_LE(a, b); ...
#pragma once

#include <sstream>

namespace roster::internal {

// Collects the message of a failed check and aborts when destroyed.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Makes `cond ? (void)0 : Voidify() & stream` type-check.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace roster::internal

#define CHECK(condition)                                 \
  (condition) ? (void)0                                  \
              : ::roster::internal::Voidify() &          \
                    ::roster::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()

#define CHECK_OP_(a, op, b) CHECK((a)op(b)) << "(" << (a) << " vs " << (b) << ") "
#define CHECK_EQ(a, b) CHECK_OP_(a, ==, b)
#define CHECK_NE(a, b) CHECK_OP_(a, !=, b)
#define CHECK_LE(a, b) CHECK_OP_(a, <=, b)
#define CHECK_LT(a, b) CHECK_OP_(a, <, b)
#define CHECK_GE(a, b) CHECK_OP_(a, >=, b)
#define CHECK_GT(a, b) CHECK_OP_(a, >, b)
