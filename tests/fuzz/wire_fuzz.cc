// libFuzzer target for the peer wire format (server/wire.h), the first thing every
// byte from a peer's socket meets. Properties, beyond "no crash, no sanitizer report":
// whatever decodes re-encodes to exactly the input (one encoding per value), through
// both the whole-frame decoder and the body decoder the transport's reader uses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/check.h"
#include "server/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace roster::server;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  roster::Result<Frame> frame = DecodeFrame(bytes, kFrameBytesMaxDefault);
  if (frame.ok()) {
    CHECK(EncodeFrame(*frame) == bytes) << "a decoded frame re-encodes differently";
  } else {
    CHECK(!frame.status().message().empty());
  }

  roster::Result<Frame> body = DecodeFrameBody(bytes);
  if (body.ok()) {
    CHECK(EncodeFrame(*body).substr(kFrameHeaderBytes) == bytes)
        << "a decoded body re-encodes differently";
  }
  return 0;
}
