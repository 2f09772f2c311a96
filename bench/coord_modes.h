// The two modes of coord_bench (bench/coord_bench.cc): each reads its flags, runs, and
// prints its figures to stdout (progress and problems to stderr). They return the
// process exit code: 0 when the run measured what it was asked to, 1 otherwise.
#pragma once

#include "bench/coord_common.h"

namespace roster::bench {

// Lock hand-off latency: N contenders, one lock key (bench/coord_lock.cc).
int RunLockHandoff(const Args& args);

// Watch fan-out latency: stream and blocking watchers on one prefix
// (bench/coord_fanout.cc).
int RunFanout(const Args& args);

}  // namespace roster::bench
