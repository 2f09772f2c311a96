#!/usr/bin/env bash
# Heartbeat and churn scale (bench/README.md, issue 5): N simulated agents against a
# 3-server cluster on loopback.
#
# For each N in AGENTS, starts a fresh cluster of three `roster server`s (as
# bench/kv-vs-etcd.sh does; default -failure-timeout 10s) and runs bench/agents_bench.py
# around build/bin/agents_sim (bench/agents_sim.cc): one process with one epoll loop, one
# keep-alive connection per simulated agent from its own loopback address, heartbeats
# every 2 s (+-10 %, the real agent's period), one service with one check registered per
# agent, each re-registered every CHURN_PERIOD s. It prints per N: server CPU (utime+stime over the steady window; per server, leader,
# and per 1,000 agents), RSS, heartbeat and register latency, and the failure-detection
# time of KILL agents whose heartbeats stop (until serfHealth is critical on every
# server; goal: within the failure timeout + 2 s). The load generator shares the
# machine's cores with the servers.
#
# Usage: bench/agents-bench.sh            (about 4 minutes)
#        QUICK=1 bench/agents-bench.sh    (smoke run: 300 agents, 5 s window, 5 s failure
#                                          timeout; under a minute)
#        make bench-agents                (builds first; QUICK=1 make bench-agents works too)
# Settings (environment):
#   AGENTS="1000 2500 5000"  WINDOW=30 (s)  WARMUP=5 (s)  KILL=20
#   CHURN_PERIOD=60     each agent re-registers its service this often (s; 0: never)
#   FAILURE_TIMEOUT=10s passed to the servers as -failure-timeout (QUICK: 2s)
#   BASE_PORT=29000     HTTP BASE+1..3, Raft BASE+11..13
#   ROSTER_BIN=build/bin/roster  AGENTS_SIM=build/bin/agents_sim
#                       (built with cmake+ninja into build/ when missing)
#   ROSTER_ARGS         extra server flags (default none)
#   KEEP=1              keep the temp dir (server logs) instead of deleting it
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
HELPER="$HERE/kv_bench.py"
SIM="$HERE/agents_bench.py"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  AGENTS=${AGENTS:-300}
  WINDOW=${WINDOW:-5}
  WARMUP=${WARMUP:-2}
  KILL=${KILL:-5}
  FAILURE_TIMEOUT=${FAILURE_TIMEOUT:-5s}
fi
AGENTS=${AGENTS:-"1000 2500 5000"}
WINDOW=${WINDOW:-30}
WARMUP=${WARMUP:-5}
KILL=${KILL:-20}
CHURN_PERIOD=${CHURN_PERIOD:-60}
FAILURE_TIMEOUT=${FAILURE_TIMEOUT:-10s}
BASE_PORT=${BASE_PORT:-29000}
ROSTER_BIN=${ROSTER_BIN:-$REPO/build/bin/roster}
AGENTS_SIM=${AGENTS_SIM:-$REPO/build/bin/agents_sim}
ROSTER_ARGS=${ROSTER_ARGS:-}
KEEP=${KEEP:-0}

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

command -v python3 >/dev/null || die "python3 is needed"
if [[ ! -x $ROSTER_BIN || ! -x $AGENTS_SIM ]]; then
  say "building roster and agents_sim into build/ ($ROSTER_BIN or $AGENTS_SIM is missing)"
  (cd "$REPO" && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    ninja -C build -j2 roster agents_sim) >&2 || die "building failed"
  ROSTER_BIN=$REPO/build/bin/roster
  AGENTS_SIM=$REPO/build/bin/agents_sim
fi
[[ $FAILURE_TIMEOUT =~ ^([0-9]+)s$ ]] || die "FAILURE_TIMEOUT must be whole seconds, e.g. 10s"
FAILURE_S=${BASH_REMATCH[1]}

# One socket per agent here, one socket and one thread per connection in a server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
max_agents=$(tr ' ' '\n' <<<"$AGENTS" | sort -n | tail -n 1)
(($(ulimit -n) >= max_agents + 1000)) ||
  die "open-files limit $(ulimit -n) is too low for $max_agents agents (raise ulimit -Hn)"

TMP=$(mktemp -d /tmp/agents-bench.XXXXXX)
declare -a PIDS=()
declare -a PROBLEMS=()
declare -a RESULTS=()

# shellcheck source=bench/three_servers.sh
source "$HERE/three_servers.sh"

start_cluster() {  # run label; fills PIDS, sets LEADER
  local i
  PIDS=()
  for i in 1 2 3; do
    mkdir -p "$TMP/$1/data$i"
    # shellcheck disable=SC2086  # ROSTER_ARGS is a list of flags
    "$ROSTER_BIN" server -node "s$i" -data-dir "$TMP/$1/data$i" -bind 127.0.0.1 \
      -server-port "$(raft_port "$i")" -http-port "$(http_port "$i")" -dns-port -1 \
      -bootstrap-expect 3 -failure-timeout "$FAILURE_TIMEOUT" \
      -join "127.0.0.1:$(raft_port 1)" -join "127.0.0.1:$(raft_port 2)" \
      -join "127.0.0.1:$(raft_port 3)" $ROSTER_ARGS </dev/null >"$TMP/$1/roster$i.log" 2>&1 &
    PIDS+=($!)
  done
  LEADER=$(python3 "$HELPER" wait-healthy roster "$(http_port 1)" "$(http_port 2)" "$(http_port 3)" \
    --timeout 60) || return 1
}

stop_cluster() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  PIDS=()
}

check_alive() {  # label
  local i
  for i in 1 2 3; do
    if ! kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null; then
      PROBLEMS+=("server s$i exited during $1; last lines of its log:")
      PROBLEMS+=("$(tail -n 20 "$TMP/$1/roster$i.log")")
    fi
  done
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED_AT=$SECONDS
declare -a COMMANDS=()
for n in $AGENTS; do
  say "==== $n agents: starting a fresh 3-server cluster (-failure-timeout $FAILURE_TIMEOUT)"
  start_cluster "n$n" || { PROBLEMS+=("$n agents: the cluster did not become healthy"); stop_cluster; continue; }
  cmd=(python3 "$SIM" --sim "$AGENTS_SIM" --servers "$SERVERS" --pids "$(IFS=,; echo "${PIDS[*]}")" --leader-port "$LEADER"
    --agents "$n" --window "$WINDOW" --warmup "$WARMUP" --kill "$KILL" --churn-period "$CHURN_PERIOD"
    --failure-timeout "$FAILURE_S")
  COMMANDS+=("${cmd[*]}")
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  out=$("${cmd[@]}") || PROBLEMS+=("$n agents: agents_bench.py exited with status $?")
  line=$(grep '^BENCH ' <<<"$out" | tail -n 1)
  if [[ -z $line ]]; then
    PROBLEMS+=("$n agents: no result")
  else
    RESULTS+=("$line load=${load// /_}~$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' _)")
    grep -q ' errors=0 ' <<<"$line" || PROBLEMS+=("$n agents: request errors: $(grep '^BENCH_ERROR' <<<"$out" | head -n 3 | tr '\n' ' ')")
  fi
  check_alive "n$n"
  stop_cluster
done

# ---------------------------------------------------------------------------------------
# Report

get() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
per_k() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.1f", c * 1000 / n }'; }

echo
echo "$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)), 3 servers on 127.0.0.1," \
  "-failure-timeout $FAILURE_TIMEOUT, heartbeat every 2 s, re-register every ${CHURN_PERIOD} s, window ${WINDOW} s;" \
  "load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after; commit" \
  "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)$( [[ $QUICK == 1 ]] && echo ' (QUICK smoke run)')"
echo "CPU in % of one core over the window; max/1k = the busiest server's CPU per 1,000 agents;" \
  "MiB/1k = the largest RSS growth over the fresh cluster per 1,000 agents; gen = agents_sim's CPU"
echo
printf '| %6s | %-20s | %7s | %8s | %-17s | %7s | %7s | %14s | %14s | %-16s | %5s | %-19s |\n' \
  agents "CPU s1,s2,s3 (%)" leader "max/1k" "RSS s1,s2,s3 MiB" "MiB/1k" "gen %" "hb p50/p99 ms" \
  "reg p50/p99 ms" "detect p50/max s" "false" "load avg (start~end)"
echo "|---:|---|---:|---:|---|---:|---:|---:|---:|---|---:|---|"
for line in "${RESULTS[@]}"; do
  n=$(get "$line" agents)
  printf '| %6s | %-20s | %7s | %8s | %-17s | %7s | %7s | %14s | %14s | %-16s | %5s | %-19s |\n' \
    "$n" "$(get "$line" cpu)" "$(get "$line" cpu_leader)" "$(per_k "$(get "$line" cpu_max)" "$n")" \
    "$(get "$line" rss_mib)" "$(get "$line" rss_per_1k_mib)" "$(get "$line" gen_cpu)" \
    "$(get "$line" hb_p50_ms)/$(get "$line" hb_p99_ms)" "$(get "$line" reg_p50_ms)/$(get "$line" reg_p99_ms)" \
    "$(get "$line" detect_p50_s)/$(get "$line" detect_max_s) ($(get "$line" detected)/$(get "$line" killed))" \
    "$(get "$line" false_critical)" "$(get "$line" load | tr _ ' ')"
done
echo
echo "Raw results:"
printf '  %s\n' "${RESULTS[@]}"
echo
echo "Problems:"
if ((${#PROBLEMS[@]})); then printf '  - %s\n' "${PROBLEMS[@]}"; else echo "  none"; fi
echo
echo "Commands:"
printf '  %s\n' "${COMMANDS[@]}" | sed "s|$REPO/||g"
echo "  servers: roster server -node sN -data-dir DIR -bind 127.0.0.1 -server-port $((BASE_PORT + 11))..13" \
  "-http-port $((BASE_PORT + 1))..3 -dns-port -1 -bootstrap-expect 3 -failure-timeout $FAILURE_TIMEOUT" \
  "-join 127.0.0.1:$((BASE_PORT + 11)) -join ...12 -join ...13 $ROSTER_ARGS"
echo "  total time $((SECONDS - STARTED_AT)) s"
((${#PROBLEMS[@]} == 0))
