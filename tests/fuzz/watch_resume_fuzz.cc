// The agent's watch relay bookkeeping (agent/watch_resume.h) on whatever a server might
// send: the first byte picks NDJSON or SSE, the next ones where the bytes are split
// into reads. Checks that what is passed on is exactly the input's whole lines (events),
// in order, up to an error line; that the resume index never goes back; that nothing
// passes after the end.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/watch_resume.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const bool sse = (data[0] & 1) != 0;
  const std::size_t step = 1 + data[1] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  roster::agent::WatchResumePoint point(sse, data[0] >> 1);
  std::string passed;
  std::uint64_t complete = point.complete();
  for (std::size_t at = 0; at < input.size(); at += step) {
    const bool ended_before = point.ended();
    const std::string out = point.Take(input.substr(at, step));
    if (ended_before && !out.empty()) std::abort();  // nothing after the end
    passed += out;
    if (point.complete() < complete) std::abort();  // the resume point never goes back
    complete = point.complete();
    if (input.substr(0, passed.size()) != passed) std::abort();  // a prefix, in order
  }
  // Whole lines only.
  if (!passed.empty() && passed.back() != '\n') std::abort();
  point.DropPartial();
  (void)roster::agent::WatchTargetFrom(std::string(input.substr(0, 64)), complete);
  return 0;
}
