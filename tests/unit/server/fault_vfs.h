// FaultVfs: an SQLite VFS that forwards to the default one and fails writes or fsyncs
// on demand, so tests can make a transaction fail half-way through on a real file (the
// way leveldb's fault_injection_test fails its Env). Open a database through it by
// passing kFaultVfsName as the VFS name.
// Single-threaded: the switches are plain globals for the test that sets them.
#pragma once

namespace roster::server::testing {

inline constexpr const char* kFaultVfsName = "roster-fault-injection";

// Registers the VFS (once per process).
void RegisterFaultVfs();

// While alive, every write (or every fsync) through the fault VFS fails: writes with
// SQLITE_FULL (a full disk), fsyncs with SQLITE_IOERR_FSYNC.
class InjectFaults {
 public:
  struct Faults {
    bool fail_writes = false;
    bool fail_syncs = false;
  };
  explicit InjectFaults(Faults faults);
  ~InjectFaults();
  InjectFaults(const InjectFaults&) = delete;
  InjectFaults& operator=(const InjectFaults&) = delete;

  // How many operations failed since this injection started.
  static int failures();
};

}  // namespace roster::server::testing
