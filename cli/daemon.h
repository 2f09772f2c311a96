// What the long-running commands (`roster server`, `roster dev`, `roster agent`) share:
// the stop signals and the -log-level flag.
#pragma once

#include <functional>
#include <string_view>

#include "base/logging.h"

namespace roster::cli {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread. Call it before any thread
// starts, so that every thread inherits the mask and only WaitForStopSignal sees them.
void BlockStopSignals();
// Waits for SIGINT or SIGTERM (blocked by BlockStopSignals) and returns which came. Each
// SIGHUP before it calls `on_reload` and the wait goes on: SIGHUP means "reload your
// configuration" to Consul's agent and to `systemctl reload`, never "stop".
int WaitForStopSignal(const std::function<void()>& on_reload);

// -log-level: debug, info, warn|warning, error; anything else is info.
LogLevel ParseLogLevel(std::string_view text);

}  // namespace roster::cli
