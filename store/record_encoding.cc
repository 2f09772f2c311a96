#include "store/record_encoding.h"

namespace roster::store::internal {
namespace {

// Reads a one-byte enum whose valid values are 0..max.
template <typename Enum>
bool ReadEnum(Reader& r, Enum max, Enum& value) {
  std::uint8_t byte = 0;
  if (!r.U8(&byte)) return false;
  if (byte > static_cast<std::uint8_t>(max)) return r.Fail();
  value = static_cast<Enum>(byte);
  return true;
}

}  // namespace

void WriteStrings(Writer& w, const std::vector<std::string>& strings) {
  w.Varint(strings.size());
  for (const std::string& s : strings) w.Bytes(s);
}

bool ReadStrings(Reader& r, std::vector<std::string>& strings) {
  std::uint64_t count = 0;
  if (!r.Count(&count)) return false;
  strings.assign(count, std::string());
  for (std::string& s : strings) r.Bytes(&s);
  return r.ok();
}

void WriteStringMap(Writer& w, const StringMap& map) {
  w.Varint(map.size());
  for (const auto& [key, value] : map) {
    w.Bytes(key);
    w.Bytes(value);
  }
}

bool ReadStringMap(Reader& r, StringMap& map) {
  std::uint64_t count = 0;
  if (!r.Count(&count)) return false;
  map.clear();
  for (std::uint64_t i = 0; i < count && r.ok(); ++i) {
    std::string key;
    std::string value;
    r.Bytes(&key);
    if (!r.Bytes(&value)) return false;
    if (!map.empty() && key <= map.rbegin()->first) return r.Fail();
    map.emplace_hint(map.end(), std::move(key), std::move(value));
  }
  return r.ok();
}

void WriteSessionFields(Writer& w, const Session& session) {
  w.Bytes(session.id);
  w.Bytes(session.name);
  w.Bytes(session.node);
  w.Varint(session.lock_delay_ms);
  w.U8(static_cast<std::uint8_t>(session.behavior));
  w.Varint(session.ttl_ms);
  WriteStrings(w, session.node_checks);
  w.Varint(session.service_checks.size());
  for (const ServiceCheckRef& check : session.service_checks) {
    w.Bytes(check.id);
    w.Bytes(check.namespace_name);
  }
}

bool ReadSessionFields(Reader& r, Session& session) {
  r.Bytes(&session.id);
  r.Bytes(&session.name);
  r.Bytes(&session.node);
  r.Varint(&session.lock_delay_ms);
  ReadEnum(r, SessionBehavior::kDelete, session.behavior);
  r.Varint(&session.ttl_ms);
  ReadStrings(r, session.node_checks);
  std::uint64_t count = 0;
  if (!r.Count(&count)) return false;
  session.service_checks.assign(count, ServiceCheckRef{});
  for (ServiceCheckRef& check : session.service_checks) {
    r.Bytes(&check.id);
    r.Bytes(&check.namespace_name);
  }
  return r.ok();
}

void WriteCheckFields(Writer& w, const HealthCheck& check) {
  w.Bytes(check.check_id);
  w.Bytes(check.name);
  w.U8(static_cast<std::uint8_t>(check.status));
  w.Bytes(check.notes);
  w.Bytes(check.output);
  w.Bytes(check.service_id);
  w.Bytes(check.service_name);
}

bool ReadCheckFields(Reader& r, HealthCheck& check) {
  r.Bytes(&check.check_id);
  r.Bytes(&check.name);
  ReadEnum(r, HealthStatus::kCritical, check.status);
  r.Bytes(&check.notes);
  r.Bytes(&check.output);
  r.Bytes(&check.service_id);
  return r.Bytes(&check.service_name);
}

namespace {

void WriteDefinition(Writer& w, const CheckDefinition& d) {
  w.Bytes(d.http);
  w.Bytes(d.tls_server_name);
  w.U8(d.tls_skip_verify ? 1 : 0);
  w.Varint(d.header.size());
  for (const auto& [name, values] : d.header) {
    w.Bytes(name);
    WriteStrings(w, values);
  }
  w.Bytes(d.method);
  w.Bytes(d.body);
  w.Bytes(d.tcp);
  WriteStrings(w, d.script_args);
  w.Varint(d.interval_ns);
  w.Varint(d.timeout_ns);
  w.Varint(d.deregister_critical_service_after_ns);
  w.Varint(d.ttl_ns);
}

bool ReadBool(Reader& r, bool& value) {
  std::uint8_t byte = 0;
  if (!r.U8(&byte)) return false;
  if (byte > 1) return r.Fail();
  value = byte == 1;
  return true;
}

bool ReadDefinition(Reader& r, CheckDefinition& d) {
  r.Bytes(&d.http);
  r.Bytes(&d.tls_server_name);
  ReadBool(r, d.tls_skip_verify);
  std::uint64_t headers = 0;
  if (!r.Count(&headers)) return false;
  for (std::uint64_t i = 0; i < headers && r.ok(); ++i) {
    std::string name;
    std::vector<std::string> values;
    r.Bytes(&name);
    if (!ReadStrings(r, values)) return false;
    if (!d.header.empty() && name <= d.header.rbegin()->first) return r.Fail();
    d.header.emplace_hint(d.header.end(), std::move(name), std::move(values));
  }
  r.Bytes(&d.method);
  r.Bytes(&d.body);
  r.Bytes(&d.tcp);
  ReadStrings(r, d.script_args);
  r.Varint(&d.interval_ns);
  r.Varint(&d.timeout_ns);
  r.Varint(&d.deregister_critical_service_after_ns);
  return r.Varint(&d.ttl_ns);
}

}  // namespace

void WriteCheckExtraFields(Writer& w, const HealthCheck& check) {
  w.Bytes(check.type);
  WriteDefinition(w, check.definition);
}

bool ReadCheckExtraFields(Reader& r, HealthCheck& check) {
  r.Bytes(&check.type);
  return ReadDefinition(r, check.definition);
}

void WriteServiceFields(Writer& w, const NodeService& service) {
  w.Bytes(service.id);
  w.Bytes(service.service);
  WriteStrings(w, service.tags);
  w.Bytes(service.address);
  w.Varint(service.tagged_addresses.size());
  for (const auto& [name, address] : service.tagged_addresses) {
    w.Bytes(name);
    w.Bytes(address.address);
    w.Varint(address.port);
  }
  WriteStringMap(w, service.meta);
  w.Varint(service.port);
  w.Varint(service.weights.passing);
  w.Varint(service.weights.warning);
  w.U8(service.enable_tag_override ? 1 : 0);
}

bool ReadServiceFields(Reader& r, NodeService& service) {
  r.Bytes(&service.id);
  r.Bytes(&service.service);
  ReadStrings(r, service.tags);
  r.Bytes(&service.address);
  std::uint64_t count = 0;
  if (!r.Count(&count)) return false;
  for (std::uint64_t i = 0; i < count && r.ok(); ++i) {
    std::string name;
    ServiceAddress address;
    r.Bytes(&name);
    r.Bytes(&address.address);
    if (!r.Varint(&address.port)) return false;
    auto& map = service.tagged_addresses;
    if (!map.empty() && name <= map.rbegin()->first) return r.Fail();
    map.emplace_hint(map.end(), std::move(name), std::move(address));
  }
  ReadStringMap(r, service.meta);
  r.Varint(&service.port);
  r.Varint(&service.weights.passing);
  r.Varint(&service.weights.warning);
  return ReadBool(r, service.enable_tag_override);
}

}  // namespace roster::store::internal
