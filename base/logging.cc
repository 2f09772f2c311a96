#include "base/logging.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace roster {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::function<void(LogLevel, std::string_view)> g_sink;  // set before threads start
std::mutex g_stderr_mutex;

const char* LevelLetter(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "D";
    case LogLevel::kInfo: return "I";
    case LogLevel::kWarning: return "W";
    case LogLevel::kError: return "E";
  }
  return "?";
}

const char* BaseName(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(level); }
LogLevel GetLogLevel() { return g_level.load(std::memory_order_relaxed); }
void SetLogSink(std::function<void(LogLevel, std::string_view)> sink) { g_sink = std::move(sink); }

namespace internal {

LogLine::LogLine(LogLevel level, const char* file, int line) : level_(level) {
  stream_ << LevelLetter(level) << " " << BaseName(file) << ":" << line << "] ";
}

LogLine::~LogLine() {
  std::string text = stream_.str();
  if (g_sink) {
    g_sink(level_, text);
    return;
  }
  // UTC wall-clock time with milliseconds, so lines from several servers interleave.
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  const std::size_t length = std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(stamp + length, sizeof(stamp) - length, ".%03dZ", static_cast<int>(millis));
  std::lock_guard<std::mutex> lock(g_stderr_mutex);
  std::fprintf(stderr, "%s %s\n", stamp, text.c_str());
}

}  // namespace internal
}  // namespace roster
