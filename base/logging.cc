#include "base/logging.h"

#include <atomic>
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
  std::lock_guard<std::mutex> lock(g_stderr_mutex);
  std::fprintf(stderr, "%s\n", text.c_str());
}

}  // namespace internal
}  // namespace roster
