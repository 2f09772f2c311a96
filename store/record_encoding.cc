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

}  // namespace roster::store::internal
