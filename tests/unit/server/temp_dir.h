// TempDir: a fresh directory under the system temp dir, removed with everything in it
// when the TempDir goes. One per test case, so tests never see each other's files.
// kMemoryIfAvailable puts it on tmpfs (/dev/shm), where fsync costs nothing: for tests
// about what is read back rather than about what survives a crash.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "base/check.h"

namespace roster::server::testing {

class TempDir {
 public:
  enum class Where { kDisk, kMemoryIfAvailable };

  explicit TempDir(Where where = Where::kDisk) {
    std::error_code error;
    const bool in_memory =
        where == Where::kMemoryIfAvailable && std::filesystem::is_directory("/dev/shm", error);
    const std::filesystem::path parent =
        in_memory ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path();
    std::string pattern = (parent / "roster-server-test-XXXXXX").string();
    CHECK(::mkdtemp(pattern.data()) != nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace roster::server::testing
