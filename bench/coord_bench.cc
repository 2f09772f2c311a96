// coord_bench: Roster's coordination figures of issue 4 (bench/README.md), against a
// running cluster (bench/coord-bench.sh starts one):
//
//   coord_bench lock-handoff --servers H:P,H:P,H:P [--contenders 2] [--handoffs 1000]
//                            [--warmup 10] [--hold-ms 0] [--leader-only] [--key K] [--trace]
//     release by one holder -> acquire by the next, p50/p90/p99/max (coord_lock.cc)
//
//   coord_bench fanout --servers H:P,H:P,H:P [--stream 1000] [--blocking 1000]
//                      [--rounds 50] [--interval-ms 200] [--server I|leader] [--stale]
//                      [--threads 2] [--conns-per-source 100] [--wait 10m]
//                      [--prefix P] [--round-timeout-ms 10000]
//     acknowledged write -> last watcher notified, per kind and combined (coord_fanout.cc)
//
// Watchers are spread over the servers unless --server I (an index into --servers) or
// --server leader puts them all on one. Each mode prints readable lines and one
// machine-readable line (LOCK ... / FANOUT ...). Figures, never assertions:
// bench/README.md records them.
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "bench/coord_modes.h"

namespace {

constexpr char kUsage[] =
    "usage: coord_bench lock-handoff|fanout --servers host:port,... [flags]\n"
    "       (the flags of each mode are listed at the top of bench/coord_bench.cc)\n";

// Thousands of watcher sockets need more descriptors than the usual soft limit of 1024.
void RaiseOpenFilesLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      std::fprintf(stderr, "coord_bench: cannot raise the open-files limit: %s\n",
                   std::strerror(errno));
    }
  }
  getrlimit(RLIMIT_NOFILE, &limit);
  std::fprintf(stderr, "coord_bench: open-files limit %llu\n",
               static_cast<unsigned long long>(limit.rlim_cur));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace roster::bench;
  if (argc < 2 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string mode = argv[1];
  roster::Result<Args> args = Args::Parse(argc, argv, 2);
  if (!args.ok()) {
    std::fprintf(stderr, "coord_bench: %s\n%s", args.status().message().c_str(), kUsage);
    return 2;
  }
  RaiseOpenFilesLimit();
  int code = 2;
  if (mode == "lock-handoff") {
    code = RunLockHandoff(*args);
  } else if (mode == "fanout") {
    code = RunFanout(*args);
  } else {
    std::fprintf(stderr, "coord_bench: unknown mode \"%s\"\n%s", mode.c_str(), kUsage);
    return 2;
  }
  for (const std::string& unused : args->Unused()) {
    std::fprintf(stderr, "coord_bench: warning: %s was not used by %s\n", unused.c_str(),
                 mode.c_str());
  }
  return code;
}
