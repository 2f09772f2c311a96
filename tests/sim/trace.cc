#include "tests/sim/trace.h"

#include <cstdio>
#include <sstream>
#include <utility>

#include "base/check.h"

namespace roster::sim {
namespace {

const char* KindName(TraceKind kind) {
  switch (kind) {
    case TraceKind::kDeliver:
      return "deliver";
    case TraceKind::kDrop:
      return "drop";
    case TraceKind::kDuplicate:
      return "dup";
    case TraceKind::kRole:
      return "role";
    case TraceKind::kApply:
      return "apply";
    case TraceKind::kSnapshot:
      return "snapshot";
    case TraceKind::kCrash:
      return "CRASH";
    case TraceKind::kRestart:
      return "restart";
    case TraceKind::kFault:
      return "fault";
    case TraceKind::kClient:
      return "client";
    case TraceKind::kCheck:
      return "VIOLATION";
    case TraceKind::kPhase:
      return "phase";
  }
  return "?";
}

// The fields that matter for each message type, so a line stays short.
void FormatMessage(const TraceEvent& event, std::ostream& out) {
  using consensus::MessageType;
  out << 'n' << event.from << "->n" << event.node << ' '
      << consensus::MessageTypeName(event.message_type) << " t" << event.term;
  switch (event.message_type) {
    case MessageType::kAppend:
      out << " prev=" << event.index << '@' << event.log_term << " n=" << event.entry_count
          << " commit=" << event.commit;
      break;
    case MessageType::kAppendResponse:
      out << " idx=" << event.index << (event.reject ? " REJECT" : "");
      break;
    case MessageType::kVote:
    case MessageType::kPreVote:
      out << " last=" << event.index << '@' << event.log_term;
      break;
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse:
      out << (event.reject ? " REJECT" : " granted");
      break;
    case MessageType::kHeartbeat:
      out << " commit=" << event.commit << " round=" << event.read_round;
      break;
    case MessageType::kHeartbeatResponse:
      out << " round=" << event.read_round;
      break;
    case MessageType::kSnapshot:
      out << " snap=" << event.index << '@' << event.log_term << " off=" << event.snapshot_offset
          << (event.snapshot_done ? " done" : "");
      break;
    case MessageType::kSnapshotResponse:
      out << " snap=" << event.index << " off=" << event.snapshot_offset
          << (event.reject ? " REJECT" : "");
      break;
    case MessageType::kReadIndexResponse:
      out << " idx=" << event.index << (event.reject ? " REJECT" : "");
      break;
    default:
      break;
  }
}

}  // namespace

Trace::Ring::Ring(std::size_t capacity) : capacity_(capacity) {
  CHECK_GT(capacity, 0u);
  events_.reserve(capacity);
}

void Trace::Ring::Add(const TraceEvent& event) {
  if (events_.size() < capacity_) {
    events_.push_back(event);
  } else {
    events_[next_slot_] = event;
  }
  next_slot_ = (next_slot_ + 1) % capacity_;
}

void Trace::Ring::Print(std::ostream& out) const {
  const std::size_t start = events_.size() < capacity_ ? 0 : next_slot_;
  for (std::size_t i = 0; i < events_.size(); ++i) {
    out << Format(events_[(start + i) % events_.size()]) << '\n';
  }
}

Trace::Trace(std::size_t capacity, std::size_t key_capacity, std::ostream* live_out)
    : live_out_(live_out), all_(capacity), key_(key_capacity) {}

void Trace::RecordMessage(std::uint64_t time_ms, TraceKind kind, const consensus::Message& message,
                          const char* reason) {
  TraceEvent event;
  event.time_ms = time_ms;
  event.kind = kind;
  event.node = message.to;
  event.message_type = message.type;
  event.from = message.from;
  event.term = message.term;
  event.log_term = message.log_term;
  event.index = message.index;
  event.commit = message.commit;
  event.entry_count = static_cast<std::uint32_t>(message.entries.size());
  event.reject = message.reject;
  if (message.type == consensus::MessageType::kSnapshot) {
    event.index = message.snapshot.metadata.index;
    event.log_term = message.snapshot.metadata.term;
  }
  event.snapshot_offset = message.snapshot_offset;
  event.snapshot_done = message.snapshot_done;
  event.read_round = message.read_round;
  if (reason != nullptr) event.text = reason;
  Add(std::move(event));
}

void Trace::RecordApply(std::uint64_t time_ms, consensus::NodeId node,
                        const consensus::Entry& entry, std::uint64_t op_id) {
  TraceEvent event;
  event.time_ms = time_ms;
  event.kind = TraceKind::kApply;
  event.node = node;
  event.index = entry.index;
  event.term = entry.term;
  event.op_id = op_id;
  if (entry.type == consensus::EntryType::kConfChange) event.text = "conf-change";
  Add(std::move(event));
}

void Trace::Record(std::uint64_t time_ms, TraceKind kind, consensus::NodeId node,
                   std::string text) {
  TraceEvent event;
  event.time_ms = time_ms;
  event.kind = kind;
  event.node = node;
  event.text = std::move(text);
  Add(std::move(event));
}

void Trace::Add(TraceEvent event) {
  ++total_events_;
  if (live_out_ != nullptr) *live_out_ << Format(event) << '\n';
  const bool key = event.kind != TraceKind::kDeliver && event.kind != TraceKind::kDrop &&
                   event.kind != TraceKind::kDuplicate && event.kind != TraceKind::kApply &&
                   event.kind != TraceKind::kClient;
  if (key) key_.Add(event);
  all_.Add(event);
}

void Trace::PrintTail(std::ostream& out) const { all_.Print(out); }

void Trace::PrintKeyEvents(std::ostream& out) const { key_.Print(out); }

std::string Trace::Format(const TraceEvent& event) {
  std::ostringstream out;
  char time[32];
  std::snprintf(time, sizeof(time), "[%8llu ms] ", static_cast<unsigned long long>(event.time_ms));
  out << time << KindName(event.kind) << ' ';
  switch (event.kind) {
    case TraceKind::kDeliver:
    case TraceKind::kDrop:
    case TraceKind::kDuplicate:
      FormatMessage(event, out);
      if (!event.text.empty()) out << " (" << event.text << ')';
      break;
    case TraceKind::kApply:
      out << 'n' << event.node << ' ' << event.index << '@' << event.term;
      if (event.op_id != 0) out << " op=" << event.op_id;
      if (!event.text.empty()) out << ' ' << event.text;
      break;
    default:
      if (event.node != consensus::kNoNode) out << 'n' << event.node << ' ';
      out << event.text;
      break;
  }
  return out.str();
}

}  // namespace roster::sim
