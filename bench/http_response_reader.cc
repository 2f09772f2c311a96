#include "bench/http_response_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace roster::bench {
namespace {

// Heads above this are not Roster's: give up instead of buffering without end.
constexpr std::size_t kHeadBytesMax = 64 * 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

template <typename T>
std::optional<T> ParseNumber(std::string_view text, int base = 10) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

Result<ResponseHead> ParseResponseHead(std::string_view text) {
  const std::size_t line_end = std::min(text.find("\r\n"), text.size());
  const std::string_view status_line = text.substr(0, line_end);
  // "HTTP/1.1 200 OK": the code is the three digits after the first space.
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ') {
    return InvalidArgument("not an HTTP/1.x status line: " + std::string(status_line.substr(0, 80)));
  }
  ResponseHead head;
  const std::optional<int> status = ParseNumber<int>(status_line.substr(9, 3));
  if (!status.has_value()) {
    return InvalidArgument("bad status code: " + std::string(status_line.substr(0, 80)));
  }
  head.status = *status;
  std::size_t begin = line_end + 2;
  while (begin < text.size()) {
    std::size_t end = text.find("\r\n", begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(begin, end - begin);
    begin = end + 2;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = Trim(line.substr(0, colon));
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "Content-Length")) {
      head.content_length = ParseNumber<std::size_t>(value);
      if (!head.content_length) return InvalidArgument("bad Content-Length: " + std::string(value));
    } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      head.chunked = EqualsIgnoreCase(value, "chunked");
    } else if (EqualsIgnoreCase(name, "X-Consul-Index")) {
      head.consul_index = ParseNumber<std::uint64_t>(value);
    } else if (EqualsIgnoreCase(name, "Connection")) {
      head.close = EqualsIgnoreCase(value, "close");
    }
  }
  return head;
}

Status ResponseReader::Feed(std::string_view bytes, Handler& handler) {
  buffer_.append(bytes);
  while (true) {
    switch (phase_) {
      case Phase::kHead: {
        Result<bool> done = ReadHead(handler);
        if (!done.ok()) return done.status();
        if (!*done) return Status::Ok();
        break;
      }
      case Phase::kFixedBody:
      case Phase::kChunkData: {
        if (buffer_.empty() && body_left_ > 0) return Status::Ok();
        const std::size_t take = std::min(body_left_, buffer_.size());
        if (take > 0) handler.OnBody(std::string_view(buffer_).substr(0, take));
        buffer_.erase(0, take);
        body_left_ -= take;
        if (body_left_ > 0) return Status::Ok();
        if (phase_ == Phase::kFixedBody) {
          Complete(handler);
        } else {
          phase_ = Phase::kChunkEnd;
        }
        break;
      }
      case Phase::kChunkSize: {
        Result<bool> done = ReadChunkSize();
        if (!done.ok()) return done.status();
        if (!*done) return Status::Ok();
        break;
      }
      case Phase::kChunkEnd:
        if (buffer_.size() < 2) return Status::Ok();
        if (buffer_.compare(0, 2, "\r\n") != 0) return InvalidArgument("chunk not followed by CRLF");
        buffer_.erase(0, 2);
        phase_ = Phase::kChunkSize;
        break;
      case Phase::kTrailer:
        if (!ReadTrailerLine(handler)) return Status::Ok();
        break;
      case Phase::kUntilEof:
        if (!buffer_.empty()) handler.OnBody(buffer_);
        buffer_.clear();
        return Status::Ok();
    }
  }
}

Result<bool> ResponseReader::ReadHead(Handler& handler) {
  const std::size_t end = buffer_.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (buffer_.size() > kHeadBytesMax) return InvalidArgument("response head over 64 KiB");
    return false;
  }
  Result<ResponseHead> head = ParseResponseHead(std::string_view(buffer_).substr(0, end));
  if (!head.ok()) return head.status();
  buffer_.erase(0, end + 4);
  handler.OnHead(*head);
  if (head->chunked) {
    phase_ = Phase::kChunkSize;
  } else if (head->content_length.has_value()) {
    body_left_ = *head->content_length;
    phase_ = Phase::kFixedBody;
  } else {
    phase_ = Phase::kUntilEof;
  }
  return true;
}

Result<bool> ResponseReader::ReadChunkSize() {
  const std::size_t end = buffer_.find("\r\n");
  if (end == std::string::npos) {
    if (buffer_.size() > 1024) return InvalidArgument("chunk size line over 1 KiB");
    return false;
  }
  std::string_view line = std::string_view(buffer_).substr(0, end);
  line = Trim(line.substr(0, line.find(';')));  // chunk extensions are ignored
  const std::optional<std::size_t> size = ParseNumber<std::size_t>(line, 16);
  if (!size.has_value()) return InvalidArgument("bad chunk size: " + std::string(line.substr(0, 40)));
  buffer_.erase(0, end + 2);
  body_left_ = *size;
  phase_ = *size == 0 ? Phase::kTrailer : Phase::kChunkData;
  return true;
}

bool ResponseReader::ReadTrailerLine(Handler& handler) {
  const std::size_t end = buffer_.find("\r\n");
  if (end == std::string::npos) return false;
  const bool last = end == 0;  // the blank line after the trailers
  buffer_.erase(0, end + 2);
  if (last) Complete(handler);
  return true;
}

void ResponseReader::Complete(Handler& handler) {
  phase_ = Phase::kHead;
  body_left_ = 0;
  handler.OnComplete();
}

bool ResponseReader::FinishAtEof(Handler& handler) {
  if (phase_ == Phase::kUntilEof) {
    Complete(handler);
    return true;
  }
  return idle();
}

}  // namespace roster::bench
