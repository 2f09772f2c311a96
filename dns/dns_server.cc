#include "dns/dns_server.h"

#include <utility>

namespace roster::dns {

Status ValidateDnsServerOptions(const DnsServerOptions& options) {
  RETURN_IF_ERROR(ValidateDnsConfig(options.dns));
  RETURN_IF_ERROR(ValidateRecursorConfig(options.recursors));
  const ListenerOptions& listener = options.listener;
  if (listener.port < 0 || listener.port > 65535) {
    return InvalidArgument("the DNS port must be between 0 and 65535");
  }
  if (listener.udp_workers < 1) return InvalidArgument("udp_workers must be at least 1");
  if (listener.tcp_connections_max < 1) {
    return InvalidArgument("tcp_connections_max must be at least 1");
  }
  if (listener.tcp_idle_timeout_ms <= 0) return InvalidArgument("tcp idle timeout must be positive");
  return Status::Ok();
}

Result<std::unique_ptr<DnsServer>> DnsServer::Start(DnsServerOptions options,
                                                    const DnsCatalog& catalog,
                                                    const Clock& clock) {
  RETURN_IF_ERROR(ValidateDnsServerOptions(options));
  options.dns.recursion_available = !options.recursors.recursors.empty();
  std::unique_ptr<DnsServer> server(new DnsServer());
  server->responder_ = std::make_unique<Responder>(std::move(options.dns), catalog, clock);
  if (!options.recursors.recursors.empty()) {
    Result<std::unique_ptr<Forwarder>> forwarder = Forwarder::Start(std::move(options.recursors));
    if (!forwarder.ok()) return forwarder.status();
    server->forwarder_ = std::move(forwarder).value();
  }
  server->listener_ = std::make_unique<Listener>(*server->responder_, server->forwarder_.get(),
                                                 std::move(options.listener));
  RETURN_IF_ERROR(server->listener_->Start());
  return server;
}

DnsServer::~DnsServer() { Stop(); }

void DnsServer::Stop() {
  // The listener first: its TCP threads may wait on forwards, which it abandons.
  if (listener_ != nullptr) listener_->Stop();
  if (forwarder_ != nullptr) forwarder_->Stop();
}

}  // namespace roster::dns
