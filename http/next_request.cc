#include "http/next_request.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>

namespace roster::http {

NextRequest ClassifyNextRequest(std::string_view received) {
  const std::size_t headers_end = received.find("\r\n\r\n");
  if (headers_end == std::string_view::npos) {
    return received.size() < kReadAheadBytes ? NextRequest::kNeedMore
                                                        : NextRequest::kHandToWorker;
  }
  const std::string_view head = received.substr(0, headers_end + 2);
  if (!head.starts_with("GET /v1/")) return NextRequest::kHandToWorker;
  const std::string_view target = head.substr(4, head.find(' ', 4) - 4);
  static constexpr std::string_view kReadPrefixes[] = {"/v1/kv/", "/v1/catalog/", "/v1/health/",
                                                       "/v1/session/"};
  bool read = false;
  for (std::string_view prefix : kReadPrefixes) read = read || target.starts_with(prefix);
  // ?index=N with N > 0, as its own parameter.
  const std::size_t query = target.find('?');
  bool blocking = false;
  for (std::size_t at = target.find("index=", query); query != std::string_view::npos &&
                                                      at != std::string_view::npos;
       at = target.find("index=", at + 1)) {
    const char before = target[at - 1];
    const std::size_t digit = at + 6;
    if ((before == '?' || before == '&') && digit < target.size() && target[digit] >= '1' &&
        target[digit] <= '9') {
      blocking = true;
    }
  }
  if (!read || !blocking) return NextRequest::kHandToWorker;
  // No body: neither of the headers that announce one, in any case.
  for (std::size_t line = head.find('\n'); line != std::string_view::npos;
       line = head.find('\n', line + 1)) {
    const std::string_view rest = head.substr(line + 1);
    for (std::string_view name : {"content-length:", "transfer-encoding:", "expect:"}) {
      if (rest.size() >= name.size() &&
          std::equal(name.begin(), name.end(), rest.begin(), [](char a, char b) {
            return a == std::tolower(static_cast<unsigned char>(b));
          })) {
        return NextRequest::kHandToWorker;
      }
    }
  }
  return NextRequest::kServeOnLoop;
}

}  // namespace roster::http
