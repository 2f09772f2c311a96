// Logging: leveled lines to stderr (or a sink a test installs).
//   2026-11-21T10:36:32.123Z I transport.cc:443] peer transport listening on ...
// stderr lines start with the UTC time; a sink gets the line without it (the simulator
// has its own clock).
//   LOG(INFO) << "elected leader at term " << term;
// The level threshold and the sink are process-wide settings made once at start-up
// (SetLogLevel/SetLogSink); writing a line is thread-safe.
#pragma once

#include <functional>
#include <sstream>
#include <string>
#include <string_view>

namespace roster {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Replaces where lines go; nullptr restores stderr. Call before threads start.
void SetLogSink(std::function<void(LogLevel, std::string_view)> sink);

namespace internal {

class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace internal
}  // namespace roster

#define ROSTER_LOG_LEVEL_DEBUG ::roster::LogLevel::kDebug
#define ROSTER_LOG_LEVEL_INFO ::roster::LogLevel::kInfo
#define ROSTER_LOG_LEVEL_WARNING ::roster::LogLevel::kWarning
#define ROSTER_LOG_LEVEL_ERROR ::roster::LogLevel::kError

#define LOG(severity)                                                 \
  (ROSTER_LOG_LEVEL_##severity < ::roster::GetLogLevel())             \
      ? (void)0                                                       \
      : ::roster::internal::LogVoidify() &                            \
            ::roster::internal::LogLine(ROSTER_LOG_LEVEL_##severity, __FILE__, __LINE__).stream()
