#include "server/transport_connection.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace roster::server::internal {
namespace {

// A Hello is small; until one has been accepted, a bigger frame is refused early.
constexpr std::uint32_t kHelloBytesMax = 64u << 10;
constexpr std::size_t kLargeBodyStepBytes = 1u << 20;

}  // namespace

Result<std::optional<Frame>> FrameReader::Next(std::int64_t deadline_ms,
                                               std::uint32_t frame_bytes_max) {
  bool eof = false;
  RETURN_IF_ERROR(Fill(kFrameHeaderBytes, deadline_ms, &eof));
  if (eof && end_ == begin_) return std::optional<Frame>();
  if (eof) return IoError("connection closed inside a frame header");
  Result<std::uint32_t> length =
      DecodeFrameLength(std::string_view(&buffer_[begin_], kFrameHeaderBytes), frame_bytes_max);
  if (!length.ok()) return length.status();
  last_frame_bytes_ = kFrameHeaderBytes + *length;
  if (last_frame_bytes_ <= buffer_.size()) {
    RETURN_IF_ERROR(Fill(last_frame_bytes_, deadline_ms, &eof));
    if (eof) return IoError("connection closed inside a frame");
    Result<Frame> frame =
        DecodeFrameBody(std::string_view(&buffer_[begin_ + kFrameHeaderBytes], *length));
    begin_ += last_frame_bytes_;
    if (!frame.ok()) return frame.status();
    return std::optional<Frame>(std::move(*frame));
  }
  std::string body;
  RETURN_IF_ERROR(ReadLargeBody(*length, deadline_ms, &body));
  Result<Frame> frame = DecodeFrameBody(body);
  if (!frame.ok()) return frame.status();
  return std::optional<Frame>(std::move(*frame));
}

Status FrameReader::Fill(std::size_t bytes, std::int64_t deadline_ms, bool* eof) {
  if (buffer_.size() - begin_ < bytes) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  while (end_ - begin_ < bytes) {
    std::size_t received = 0;
    RETURN_IF_ERROR(Receive(buffer_.data() + end_, buffer_.size() - end_, deadline_ms, &received));
    if (received == 0) {
      *eof = true;
      return Status::Ok();
    }
    end_ += received;
  }
  return Status::Ok();
}

Status FrameReader::ReadLargeBody(std::uint32_t length, std::int64_t deadline_ms,
                                  std::string* body) {
  body->assign(buffer_.data() + begin_ + kFrameHeaderBytes, end_ - begin_ - kFrameHeaderBytes);
  std::size_t got = body->size();
  begin_ = end_ = 0;
  while (got < length) {
    if (got == body->size()) {
      body->resize(std::min<std::size_t>(length, std::max(2 * got, kLargeBodyStepBytes)));
    }
    std::size_t received = 0;
    RETURN_IF_ERROR(Receive(body->data() + got, body->size() - got, deadline_ms, &received));
    if (received == 0) return IoError("connection closed inside a frame");
    got += received;
  }
  return Status::Ok();
}

Status FrameReader::Receive(char* into, std::size_t capacity, std::int64_t deadline_ms,
                            std::size_t* received) {
  while (true) {
    const ssize_t n = ::recv(fd_, into, capacity, MSG_DONTWAIT);
    if (n >= 0) {
      *received = static_cast<std::size_t>(n);
      return Status::Ok();
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return ErrnoStatus("recv", errno);
    RETURN_IF_ERROR(WaitStatus(WaitFd(fd_, POLLIN, deadline_ms, cancel_fd_), "receive"));
  }
}

Result<Hello> ReadHello(FrameReader& reader, std::int64_t deadline_ms) {
  Result<std::optional<Frame>> frame = reader.Next(deadline_ms, kHelloBytesMax);
  if (!frame.ok()) return frame.status();
  if (!frame->has_value()) return Unavailable("connection closed during the handshake");
  if (!std::holds_alternative<Hello>(**frame)) {
    return InvalidArgument("expected Hello first, got " +
                           std::string(FrameKindName(KindOf(**frame))));
  }
  return std::get<Hello>(std::move(**frame));
}

bool IsMalformed(const Status& status) {
  return status.code() == StatusCode::kCorruption || status.code() == StatusCode::kInvalidArgument;
}

}  // namespace roster::server::internal
