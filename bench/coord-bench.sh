#!/usr/bin/env bash
# Roster's coordination benchmark (bench/README.md, issue 4): lock hand-off latency and
# watch fan-out latency on a 3-server cluster on loopback.
#
# Starts three `roster server`s in a temp dir (as bench/kv-vs-etcd.sh does), then runs
# build/bin/coord_bench (bench/coord_bench.cc):
#   - lock-handoff with 2 and with 8 contenders, each with its own session, spread over
#     the servers: release acknowledged -> next holder's acquire acknowledged;
#   - fanout: 1000 stream watchers (GET /v1/watch) and 1000 blocking-query watchers
#     (GET /v1/kv/P?recurse&index=N) on one prefix, spread over the servers, 50 rounds
#     of one PUT to the leader: acknowledged -> last watcher notified, both as the bench
#     read them ("ack -> seen") and by the kernel's receive timestamps ("ack -> arrived",
#     without the bench's own backlog of 2,000 sockets to read);
# and prints the figures, the load average, the servers' warnings and any problem.
# The load generator shares the machine's cores with the servers.
#
# Usage: bench/coord-bench.sh            (about a minute)
#        QUICK=1 bench/coord-bench.sh    (smoke run: 200 hand-offs, 200+200 watchers, 10 rounds; ~20 s)
#        make bench-coord                (builds first; QUICK=1 make bench-coord works too)
# Settings (environment):
#   CONTENDERS="2 8"  HANDOFFS=1000  HOLD_MS=0
#   STREAM=1000  BLOCKING=1000  ROUNDS=50
#   LOCK_ARGS, FANOUT_ARGS   extra coord_bench flags, e.g. FANOUT_ARGS="--server 0" (all
#                       watchers on the first server) or "--stale"
#   BASE_PORT=28000     HTTP BASE+1..3, Raft BASE+11..13
#   ROSTER_BIN=build/bin/roster  COORD_BENCH=build/bin/coord_bench
#                       (built with cmake+ninja into build/ when missing)
#   ROSTER_ARGS         extra server flags (default none)
#   KEEP=1              keep the temp dir (server logs) instead of deleting it
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
HELPER="$HERE/kv_bench.py"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  HANDOFFS=${HANDOFFS:-200}
  STREAM=${STREAM:-200}
  BLOCKING=${BLOCKING:-200}
  ROUNDS=${ROUNDS:-10}
fi
CONTENDERS=${CONTENDERS:-"2 8"}
HANDOFFS=${HANDOFFS:-1000}
HOLD_MS=${HOLD_MS:-0}
STREAM=${STREAM:-1000}
BLOCKING=${BLOCKING:-1000}
ROUNDS=${ROUNDS:-50}
LOCK_ARGS=${LOCK_ARGS:-}
FANOUT_ARGS=${FANOUT_ARGS:-}
BASE_PORT=${BASE_PORT:-28000}
ROSTER_BIN=${ROSTER_BIN:-$REPO/build/bin/roster}
COORD_BENCH=${COORD_BENCH:-$REPO/build/bin/coord_bench}
ROSTER_ARGS=${ROSTER_ARGS:-}
KEEP=${KEEP:-0}

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

command -v python3 >/dev/null || die "python3 is needed"
if [[ ! -x $ROSTER_BIN || ! -x $COORD_BENCH ]]; then
  say "building roster and coord_bench into build/ ($ROSTER_BIN or $COORD_BENCH is missing)"
  (cd "$REPO" && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    ninja -C build -j2 roster coord_bench) >&2 || die "building failed"
  ROSTER_BIN=$REPO/build/bin/roster
  COORD_BENCH=$REPO/build/bin/coord_bench
fi

# Every watcher is a socket in coord_bench and a socket (and a thread) in a server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < (STREAM + BLOCKING) + 1000)); then
  die "open-files limit $(ulimit -n) is too low for $((STREAM + BLOCKING)) watchers (raise ulimit -Hn)"
fi

# ---------------------------------------------------------------------------------------
# The cluster; the exit trap kills what was started.

TMP=$(mktemp -d /tmp/coord-bench.XXXXXX)
declare -a PIDS=()
declare -a PROBLEMS=()

# shellcheck source=bench/three_servers.sh
source "$HERE/three_servers.sh"

for i in 1 2 3; do
  # shellcheck disable=SC2086  # ROSTER_ARGS is a list of flags
  "$ROSTER_BIN" server -node "s$i" -data-dir "$TMP/data$i" -bind 127.0.0.1 \
    -server-port "$(raft_port "$i")" -http-port "$(http_port "$i")" -dns-port -1 -bootstrap-expect 3 \
    -join "127.0.0.1:$(raft_port 1)" -join "127.0.0.1:$(raft_port 2)" \
    -join "127.0.0.1:$(raft_port 3)" $ROSTER_ARGS </dev/null >"$TMP/roster$i.log" 2>&1 &
  PIDS+=($!)
done
say "3 servers on HTTP $SERVERS (open-files limit $(ulimit -n)); temp dir $TMP"
python3 "$HELPER" wait-healthy roster "$(http_port 1)" "$(http_port 2)" "$(http_port 3)" \
  --timeout 60 >/dev/null || die "the cluster did not become healthy within 60 s"

check_alive() {
  local i
  for i in 1 2 3; do
    if ! kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null; then
      PROBLEMS+=("server s$i exited during $1; last lines of its log:")
      PROBLEMS+=("$(tail -n 20 "$TMP/roster$i.log")")
      say "PROBLEM: server s$i exited during $1"
      return 1
    fi
  done
}

# ---------------------------------------------------------------------------------------
# The runs; coord_bench prints its own figures (stdout) and progress (stderr).

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED_AT=$SECONDS
declare -a COMMANDS=()
# "total steal" CPU ticks of the machine so far (/proc/stat).
cpu_total_steal() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $9; exit }' /proc/stat; }

run() {  # label, command...
  local label=$1 steal0
  shift
  COMMANDS+=("$*")
  say "$label: $*"
  echo
  steal0=$(cpu_total_steal)
  "$@" || PROBLEMS+=("$label: coord_bench exited with status $? (see its output above)")
  # A vCPU the host takes away stalls whatever runs on it: servers and watchers alike.
  echo "$steal0 $(cpu_total_steal)" |
    awk -v label="$label" '{ t = $3 - $1; printf "  CPU steal during %s: %.1f %%\n", label, (t > 0 ? 100 * ($4 - $2) / t : 0) }'
  check_alive "$label"
}

for contenders in $CONTENDERS; do
  # shellcheck disable=SC2086  # LOCK_ARGS is a list of flags
  run "lock-handoff, $contenders contenders" "$COORD_BENCH" lock-handoff --servers "$SERVERS" \
    --contenders "$contenders" --handoffs "$HANDOFFS" --hold-ms "$HOLD_MS" $LOCK_ARGS
done
# shellcheck disable=SC2086  # FANOUT_ARGS is a list of flags
run "fanout" "$COORD_BENCH" fanout --servers "$SERVERS" --stream "$STREAM" --blocking "$BLOCKING" \
  --rounds "$ROUNDS" $FANOUT_ARGS

# ---------------------------------------------------------------------------------------
# Report

echo
echo "3 servers on 127.0.0.1, $(nproc) cores, load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after;" \
  "commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)$( [[ $QUICK == 1 ]] && echo ' (QUICK smoke run)')"
for i in 1 2 3; do
  pid=${PIDS[$((i - 1))]}
  if kill -0 "$pid" 2>/dev/null; then
    echo "  s$i: $(awk '/^Threads:/ {t=$2} /^VmRSS:/ {r=$2} END {printf "%d threads, RSS %.0f MiB", t, r / 1024}' "/proc/$pid/status")"
  fi
done
echo
echo "Servers' warning (W) and error (E) log lines, counted, digits shown as N:"
warnings=$(cat "$TMP"/roster?.log | grep -oE '(^| )[WE] [A-Za-z0-9_]+\.(cc|h):[0-9]+\] .*' |
  sed -E 's/^ //; s/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -n 15)
echo "${warnings:-  none}"
echo
echo "Problems:"
if ((${#PROBLEMS[@]})); then printf '  - %s\n' "${PROBLEMS[@]}"; else echo "  none"; fi
echo
echo "Commands:"
printf '  %s\n' "${COMMANDS[@]}" | sed "s|$REPO/||g"
echo "  servers: roster server -node sN -data-dir DIR -bind 127.0.0.1 -server-port $((BASE_PORT + 11))..13" \
  "-http-port $((BASE_PORT + 1))..3 -bootstrap-expect 3 -join 127.0.0.1:$((BASE_PORT + 11)) -join ...12 -join ...13 $ROSTER_ARGS"
echo "  total time $((SECONDS - STARTED_AT)) s"
((${#PROBLEMS[@]} == 0))
