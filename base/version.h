// Roster's release version: what /v1/agent/self reports as Config.Version and members
// as the "build" tag, on servers and agents alike.
#pragma once

#include <string_view>

namespace roster {

inline constexpr std::string_view kRosterVersion = "0.1.0";

}  // namespace roster
