// DnsServer: what a Roster process runs to serve DNS — a Responder over the process's
// DnsCatalog, a Forwarder when recursors are configured, and a Listener — started and
// stopped as one. `roster server` and `roster dev` run one over the local replica
// (server/dns_catalog.h); an agent runs one over its cache.
// Threads: Start and Stop from one owning thread (the Listener's rules otherwise).
#pragma once

#include <cstdint>
#include <memory>

#include "base/clock.h"
#include "base/status.h"
#include "dns/catalog.h"
#include "dns/config.h"
#include "dns/forwarder.h"
#include "dns/listener.h"
#include "dns/responder.h"

namespace roster::dns {

struct DnsServerOptions {
  DnsConfig dns;  // recursion_available is set from `recursors`
  RecursorConfig recursors;
  ListenerOptions listener;
};

// InvalidArgument naming the setting (ValidateDnsConfig, ValidateRecursorConfig, the
// listener's numbers).
Status ValidateDnsServerOptions(const DnsServerOptions& options);

class DnsServer {
 public:
  // Binds, then serves until Stop. REQUIRES: `catalog` and `clock` outlive the server.
  // InvalidArgument for bad options, IoError when the port is taken.
  static Result<std::unique_ptr<DnsServer>> Start(DnsServerOptions options,
                                                  const DnsCatalog& catalog, const Clock& clock);
  ~DnsServer();  // Stop()
  void Stop();   // idempotent

  std::uint16_t port() const { return listener_->port(); }
  const DnsConfig& config() const { return responder_->config(); }

 private:
  DnsServer() = default;

  std::unique_ptr<Responder> responder_;
  std::unique_ptr<Forwarder> forwarder_;  // null without recursors
  std::unique_ptr<Listener> listener_;
};

}  // namespace roster::dns
