#include "http/next_request.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "base/ascii.h"

namespace roster::http {
namespace {

constexpr std::string_view kCrlf = "\r\n";

bool IsVisible(char c) { return c > 0x20 && c < 0x7f; }

// A header line split at its colon: the name as sent, the value with its optional
// whitespace trimmed. nullopt for a line that is not `token ":" value`.
std::optional<std::pair<std::string_view, std::string_view>> SplitHeader(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
  const std::string_view name = line.substr(0, colon);
  if (!std::all_of(name.begin(), name.end(), IsVisible)) return std::nullopt;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return std::make_pair(name, value);
}

// Calls visit(name, value) for each header line of `head` (after the request line);
// false if a line is malformed.
template <typename Visit>
bool ForEachHeader(std::string_view head, Visit visit) {
  std::size_t at = head.find(kCrlf) + kCrlf.size();
  while (at < head.size()) {
    const std::size_t end = head.find(kCrlf, at);
    if (end == std::string_view::npos) return false;
    const auto header = SplitHeader(head.substr(at, end - at));
    if (!header.has_value()) return false;
    visit(header->first, header->second);
    at = end + kCrlf.size();
  }
  return true;
}

// A read the loop may serve: one of the read prefixes, with ?index=N, N > 0, as its own
// parameter.
bool IsBlockingRead(std::string_view target) {
  static constexpr std::array<std::string_view, 4> kReadPrefixes = {
      "/v1/kv/", "/v1/catalog/", "/v1/health/", "/v1/session/"};
  if (std::none_of(kReadPrefixes.begin(), kReadPrefixes.end(),
                   [target](std::string_view prefix) { return target.starts_with(prefix); })) {
    return false;
  }
  const std::size_t query = target.find('?');
  if (query == std::string_view::npos) return false;
  for (std::size_t at = target.find("index=", query); at != std::string_view::npos;
       at = target.find("index=", at + 1)) {
    const char before = target[at - 1];  // at > query: target[query] is '?'
    const std::size_t digit = at + 6;
    if ((before == '?' || before == '&') && digit < target.size() && target[digit] >= '1' &&
        target[digit] <= '9') {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string PeekedRequest::Header(std::string_view name) const {
  std::string found;
  bool seen = false;
  ForEachHeader(head, [&](std::string_view header, std::string_view value) {
    if (!seen && EqualsIgnoringCase(header, name)) {
      found = value;
      seen = true;
    }
  });
  return found;
}

std::optional<PeekedRequest> PeekServableRequest(std::string_view received) {
  const std::size_t headers_end = received.find("\r\n\r\n");
  if (headers_end == std::string_view::npos || headers_end + 4 > kReadAheadBytes) {
    return std::nullopt;
  }
  PeekedRequest request;
  request.head = received.substr(0, headers_end + kCrlf.size());
  request.length = headers_end + 2 * kCrlf.size();
  const std::string_view line = request.head.substr(0, request.head.find(kCrlf));
  if (!line.starts_with("GET /v1/")) return std::nullopt;
  const std::size_t space = line.rfind(' ');
  const std::string_view version = line.substr(space + 1);
  if (space <= 4 || (version != "HTTP/1.1" && version != "HTTP/1.0")) return std::nullopt;
  request.target = line.substr(4, space - 4);
  if (!std::all_of(request.target.begin(), request.target.end(), IsVisible)) return std::nullopt;
  if (!IsBlockingRead(request.target)) return std::nullopt;
  bool body = false;
  std::string_view connection;
  const bool well_formed = ForEachHeader(request.head, [&](std::string_view name,
                                                           std::string_view value) {
    // No body: none of the headers that announce one.
    body = body || EqualsIgnoringCase(name, "Content-Length") ||
           EqualsIgnoringCase(name, "Transfer-Encoding") || EqualsIgnoringCase(name, "Expect");
    if (EqualsIgnoringCase(name, "Connection")) connection = value;
  });
  if (!well_formed || body) return std::nullopt;
  const bool keep_alive = EqualsIgnoringCase(connection, "keep-alive");
  request.close = EqualsIgnoringCase(connection, "close") || (version == "HTTP/1.0" && !keep_alive);
  return request;
}

NextRequest ClassifyNextRequest(std::string_view received) {
  if (received.find("\r\n\r\n") == std::string_view::npos) {
    return received.size() < kReadAheadBytes ? NextRequest::kNeedMore
                                              : NextRequest::kHandToWorker;
  }
  return PeekServableRequest(received).has_value() ? NextRequest::kServeOnLoop
                                                   : NextRequest::kHandToWorker;
}

}  // namespace roster::http
