// The streaming watch through an agent: GET /v1/watch relayed from a server, resumed
// on another server when that one goes away (docs/agent.md, "The streaming watch").
//
// RelayWatch sends the request to the servers in the Upstream's order, as any
// forwarded request goes. The first server's answer decides the reply: a 200 starts the
// relay; any other status (400 Invalid index, 410 Gone, ...) is the reply as the server
// gave it; no server reachable (or only 503s) is Unavailable. Then:
//  - The agent passes on whole lines (NDJSON) or whole events (SSE) only, so a
//    connection that breaks mid-line never hands the client half a line.
//  - It follows how far the stream is complete (WatchResumePoint: a progress line's
//    Index, the Index of an event minus one, an SSE event's id). When the server's
//    connection breaks, or stays silent for kWatchSilenceTimeout (a server sends a progress
//    line every 10 s), it asks the next server for the changes after that index and
//    goes on. The client sees no gap; a line may come twice, which the stream's
//    contract allows (docs/api.md, "Resuming").
//  - A server's error line (Op "error": a slow reader cut off, history moved on) is
//    passed on and ends the stream: the server meant it. A resume that a server
//    answers 410 ends the stream with an error line carrying the server's OldestIndex,
//    as a server ends a stream whose history moved on. No server for kWatchGiveUpAfter: an
//    error line, then the end.
//  - A client that stops reading: the relay holds kWatchQueuedBytesMax, then stops reading
//    the server, which cuts the slow reader off with its error line after its stall
//    timeout; that line reaches the client if it ever reads again.
// Cost: a thread per relayed stream reads the server; the HTTP worker that served the
// request writes to the client. An agent has few local watchers; a server holds
// thousands of streams on its event loop instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "agent/upstream.h"
#include "agent/watch_resume.h"
#include "base/status.h"
#include "http/local_agent.h"

namespace roster::agent {

inline constexpr std::chrono::milliseconds kWatchSilenceTimeout{35'000};
inline constexpr std::chrono::milliseconds kWatchGiveUpAfter{30'000};
inline constexpr std::size_t kWatchQueuedBytesMax = 1 << 20;

// GET /v1/watch (the target's path is /v1/watch).
bool IsWatchTarget(const std::string& target);

// Relays the stream; see the top. The reply's body_stream carries it when it is a 200.
Result<http::ForwardReply> RelayWatch(Upstream& upstream, const http::ForwardRequest& request);

}  // namespace roster::agent
