// Trace: the simulator's event log. It keeps the most recent events in a ring buffer,
// printed when a check fails so the tail shows how the run got there, and with
// --verbose it prints every event as it happens.
//
// Events are stored as plain fields and formatted only when printed: a run records
// tens of thousands of message deliveries, and formatting each one would dominate
// the cost of a seed. Free text is kept for rare events only (crashes, client ops).
// Single-threaded: one Trace per simulation run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "consensus/message.h"
#include "consensus/types.h"

namespace roster::sim {

enum class TraceKind : std::uint8_t {
  kDeliver,    // a message reached its receiver
  kDrop,       // a message was lost (text: why)
  kDuplicate,  // the network will deliver a message twice
  kRole,       // a node's role or known leader changed
  kApply,      // a node applied a committed entry
  kSnapshot,   // a node took or installed a snapshot
  kCrash,
  kRestart,
  kFault,   // the fault injector changed the network, a clock, the membership
  kClient,  // a client invoked or completed an operation
  kCheck,   // a checker found a violation
  kPhase,   // the run moved to another phase
};

struct TraceEvent {
  std::uint64_t time_ms = 0;
  TraceKind kind = TraceKind::kPhase;
  consensus::NodeId node = consensus::kNoNode;
  // Message fields (kDeliver, kDrop, kDuplicate).
  consensus::MessageType message_type = consensus::MessageType::kAppend;
  consensus::NodeId from = consensus::kNoNode;
  consensus::Term term = 0;
  consensus::Term log_term = 0;
  consensus::Index index = 0;
  consensus::Index commit = 0;
  std::uint32_t entry_count = 0;
  bool reject = false;
  std::uint64_t snapshot_offset = 0;
  bool snapshot_done = false;
  std::uint64_t read_round = 0;
  // kApply: index/term above; op id of the command (0: none) here.
  std::uint64_t op_id = 0;
  std::string text;
};

class Trace {
 public:
  // Keeps the last `capacity` events, and separately the last `key_capacity` key events
  // (everything but message traffic, applies and client calls: roles, crashes,
  // restarts, faults, snapshots), which a heartbeat-heavy tail would push out. Prints
  // each event to `live_out` too if non-null.
  Trace(std::size_t capacity, std::size_t key_capacity, std::ostream* live_out);

  void RecordMessage(std::uint64_t time_ms, TraceKind kind, const consensus::Message& message,
                     const char* reason);
  void RecordApply(std::uint64_t time_ms, consensus::NodeId node, const consensus::Entry& entry,
                   std::uint64_t op_id);
  void Record(std::uint64_t time_ms, TraceKind kind, consensus::NodeId node, std::string text);

  // Prints the retained events, oldest first.
  void PrintTail(std::ostream& out) const;
  // Prints the retained key events, oldest first.
  void PrintKeyEvents(std::ostream& out) const;
  std::uint64_t total_events() const { return total_events_; }

  static std::string Format(const TraceEvent& event);

 private:
  // A fixed-size window of the most recent events.
  class Ring {
   public:
    explicit Ring(std::size_t capacity);
    void Add(const TraceEvent& event);
    void Print(std::ostream& out) const;

   private:
    std::size_t capacity_;
    std::vector<TraceEvent> events_;
    std::size_t next_slot_ = 0;
  };

  void Add(TraceEvent event);

  std::ostream* live_out_;
  Ring all_;
  Ring key_;
  std::uint64_t total_events_ = 0;
};

}  // namespace roster::sim
