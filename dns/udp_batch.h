// UdpBatch: a UDP worker's buffers for reading up to kDatagramsMax queries with one
// recvmmsg and sending their replies with one sendmmsg (dns/listener.cc), so a burst
// costs two system calls instead of two per query. The buffers, replies included, are
// reused from batch to batch: a steady stream of answers from the answer cache
// allocates nothing.
// Thread-safety: one per worker thread; none of it is shared.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "dns/net.h"
#include "dns/responder.h"

namespace roster::dns::internal {

class UdpBatch {
 public:
  // 32 datagrams of 10-instance answers are ~20 KB of replies, well inside the socket's
  // send buffer, while a batch is still few enough to answer within a fraction of a ms.
  static constexpr std::size_t kDatagramsMax = 32;

  UdpBatch();
  UdpBatch(const UdpBatch&) = delete;
  UdpBatch& operator=(const UdpBatch&) = delete;

  // Reads the datagrams waiting on `fd`, at most kDatagramsMax, without waiting for more,
  // and forgets the previous batch's. The count read: 0 when none was waiting or the
  // socket reported an error (the caller polls again; errors surface there).
  std::size_t Receive(int fd);

  // Datagram i of the batch and its sender. REQUIRES: i < the count Receive returned.
  std::span<const std::uint8_t> query(std::size_t i) const;
  const SocketAddress& from(std::size_t i) const { return from_[i]; }
  // Where the reply to datagram i is written; what it holds is stale until then.
  DnsReply& reply(std::size_t i) { return replies_[i]; }
  // Scratch for the answer cache's key (Responder::Respond), reused like the replies.
  std::string& key() { return key_; }

  // Sends reply(i).bytes to from(i) with the next Send.
  void Queue(std::size_t i);
  // Sends the queued replies, one sendmmsg for all when the kernel takes them all, and
  // clears the queue. MSG_DONTWAIT: a reply the kernel refuses (a full send buffer) is
  // dropped, as a lost datagram would be, and logged at debug level.
  void Send(int fd);

 private:
  // A datagram is at most 65,507 octets; a longer buffer never cuts one.
  static constexpr std::size_t kDatagramBytesMax = 65536;

  // kDatagramsMax * 64 KiB, left uninitialized: only the octets datagrams fill are
  // touched, so the resident size is what the queries need.
  std::unique_ptr<std::uint8_t[]> buffers_;
  std::array<SocketAddress, kDatagramsMax> from_;
  std::array<iovec, kDatagramsMax> receive_iov_{};
  std::array<mmsghdr, kDatagramsMax> receive_{};
  std::size_t received_ = 0;

  std::array<DnsReply, kDatagramsMax> replies_;
  std::string key_;
  std::array<iovec, kDatagramsMax> send_iov_{};
  std::array<mmsghdr, kDatagramsMax> send_{};
  std::size_t queued_ = 0;
};

}  // namespace roster::dns::internal
