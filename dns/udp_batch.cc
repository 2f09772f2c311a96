#include "dns/udp_batch.h"

#include <cerrno>
#include <cstring>

#include "base/check.h"
#include "base/logging.h"

namespace roster::dns::internal {

UdpBatch::UdpBatch() : buffers_(new std::uint8_t[kDatagramsMax * kDatagramBytesMax]) {
  for (std::size_t i = 0; i < kDatagramsMax; ++i) {
    receive_iov_[i] = {buffers_.get() + i * kDatagramBytesMax, kDatagramBytesMax};
    receive_[i].msg_hdr.msg_iov = &receive_iov_[i];
    receive_[i].msg_hdr.msg_iovlen = 1;
    send_[i].msg_hdr.msg_iov = &send_iov_[i];
    send_[i].msg_hdr.msg_iovlen = 1;
  }
}

std::size_t UdpBatch::Receive(int fd) {
  received_ = 0;
  queued_ = 0;
  for (std::size_t i = 0; i < kDatagramsMax; ++i) {
    // recvmmsg writes each sender's length over msg_namelen; the room is reset per call.
    receive_[i].msg_hdr.msg_name = from_[i].get();
    receive_[i].msg_hdr.msg_namelen = sizeof(from_[i].storage);
  }
  int count = -1;
  do {
    count = ::recvmmsg(fd, receive_.data(), kDatagramsMax, MSG_DONTWAIT, nullptr);
  } while (count < 0 && errno == EINTR);
  if (count <= 0) return 0;  // EAGAIN: empty
  received_ = static_cast<std::size_t>(count);
  for (std::size_t i = 0; i < received_; ++i) from_[i].length = receive_[i].msg_hdr.msg_namelen;
  return received_;
}

std::span<const std::uint8_t> UdpBatch::query(std::size_t i) const {
  CHECK_LT(i, received_);
  return {buffers_.get() + i * kDatagramBytesMax, receive_[i].msg_len};
}

void UdpBatch::Queue(std::size_t i) {
  CHECK_LT(i, received_);
  CHECK_LT(queued_, kDatagramsMax);
  std::string& bytes = replies_[i].bytes;
  send_iov_[queued_] = {bytes.data(), bytes.size()};
  msghdr& header = send_[queued_].msg_hdr;
  header.msg_name = const_cast<sockaddr*>(from_[i].get());
  header.msg_namelen = from_[i].length;
  ++queued_;
}

void UdpBatch::Send(int fd) {
  std::size_t sent = 0;
  while (sent < queued_) {
    const int count = ::sendmmsg(fd, send_.data() + sent, queued_ - sent, MSG_DONTWAIT);
    if (count > 0) {
      sent += static_cast<std::size_t>(count);
      continue;
    }
    const int error = count < 0 ? errno : EAGAIN;
    if (error == EINTR) continue;
    // The first unsent reply failed (a count of 0 means the same): drop it, go on with
    // the rest.
    const msghdr& header = send_[sent].msg_hdr;
    SocketAddress to;
    std::memcpy(&to.storage, header.msg_name, header.msg_namelen);
    to.length = header.msg_namelen;
    LOG(DEBUG) << "dns: udp reply to " << AddressText(to) << " not sent: " << std::strerror(error);
    ++sent;
  }
  queued_ = 0;
}

}  // namespace roster::dns::internal
