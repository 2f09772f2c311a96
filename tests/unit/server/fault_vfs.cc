#include "tests/unit/server/fault_vfs.h"

#include <sqlite3.h>

#include "base/check.h"

namespace roster::server::testing {
namespace {

sqlite3_vfs* g_real_vfs = nullptr;
sqlite3_vfs g_fault_vfs;
InjectFaults::Faults g_faults;
int g_failures = 0;

// Our file handle; the real VFS's handle lives right behind it (szOsFile covers both).
struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real;
};

sqlite3_file* Real(sqlite3_file* file) { return reinterpret_cast<FaultFile*>(file)->real; }
const sqlite3_io_methods& RealMethods(sqlite3_file* file) { return *Real(file)->pMethods; }

int Close(sqlite3_file* f) { return RealMethods(f).xClose(Real(f)); }
int Read(sqlite3_file* f, void* buffer, int bytes, sqlite3_int64 offset) {
  return RealMethods(f).xRead(Real(f), buffer, bytes, offset);
}
int Write(sqlite3_file* f, const void* buffer, int bytes, sqlite3_int64 offset) {
  if (g_faults.fail_writes) {
    ++g_failures;
    return SQLITE_FULL;
  }
  return RealMethods(f).xWrite(Real(f), buffer, bytes, offset);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return RealMethods(f).xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (g_faults.fail_syncs) {
    ++g_failures;
    return SQLITE_IOERR_FSYNC;
  }
  return RealMethods(f).xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return RealMethods(f).xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) { return RealMethods(f).xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return RealMethods(f).xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return RealMethods(f).xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return RealMethods(f).xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return RealMethods(f).xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return RealMethods(f).xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int page, int page_bytes, int extend, void volatile** out) {
  return RealMethods(f).xShmMap(Real(f), page, page_bytes, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return RealMethods(f).xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { RealMethods(f).xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  return RealMethods(f).xShmUnmap(Real(f), delete_flag);
}
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int bytes, void** out) {
  return RealMethods(f).xFetch(Real(f), offset, bytes, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* pointer) {
  return RealMethods(f).xUnfetch(Real(f), offset, pointer);
}

const sqlite3_io_methods kFaultMethods = {
    .iVersion = 3,
    .xClose = Close,
    .xRead = Read,
    .xWrite = Write,
    .xTruncate = Truncate,
    .xSync = Sync,
    .xFileSize = FileSize,
    .xLock = Lock,
    .xUnlock = Unlock,
    .xCheckReservedLock = CheckReservedLock,
    .xFileControl = FileControl,
    .xSectorSize = SectorSize,
    .xDeviceCharacteristics = DeviceCharacteristics,
    .xShmMap = ShmMap,
    .xShmLock = ShmLock,
    .xShmBarrier = ShmBarrier,
    .xShmUnmap = ShmUnmap,
    .xFetch = Fetch,
    .xUnfetch = Unfetch,
};

int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* fault = reinterpret_cast<FaultFile*>(file);
  fault->real = reinterpret_cast<sqlite3_file*>(fault + 1);
  fault->real->pMethods = nullptr;
  const int rc = g_real_vfs->xOpen(g_real_vfs, name, fault->real, flags, out_flags);
  if (rc != SQLITE_OK && fault->real->pMethods != nullptr) {
    fault->real->pMethods->xClose(fault->real);
  }
  fault->base.pMethods = rc == SQLITE_OK ? &kFaultMethods : nullptr;
  return rc;
}

}  // namespace

void RegisterFaultVfs() {
  if (g_real_vfs != nullptr) return;
  g_real_vfs = sqlite3_vfs_find(nullptr);
  CHECK(g_real_vfs != nullptr);
  CHECK_GE(g_real_vfs->iVersion, 3);
  g_fault_vfs = *g_real_vfs;
  g_fault_vfs.zName = kFaultVfsName;
  g_fault_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + g_real_vfs->szOsFile;
  g_fault_vfs.xOpen = Open;
  g_fault_vfs.pNext = nullptr;
  CHECK_EQ(sqlite3_vfs_register(&g_fault_vfs, /*makeDflt=*/0), SQLITE_OK);
}

InjectFaults::InjectFaults(Faults faults) {
  CHECK(g_real_vfs != nullptr) << "RegisterFaultVfs first";
  g_faults = faults;
  g_failures = 0;
}

InjectFaults::~InjectFaults() { g_faults = Faults{}; }

int InjectFaults::failures() { return g_failures; }

}  // namespace roster::server::testing
