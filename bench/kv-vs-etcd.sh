#!/usr/bin/env bash
# Roster vs etcd on one machine (bench/README.md, issue 3).
#
# Starts a 3-server Roster cluster and a 3-member etcd cluster (Debian's etcd-server,
# default settings, so it fsyncs) on loopback, drives both with the same load generator
# (wrk + bench/wrk/kv.lua; etcd through its v3 JSON gateway, POST /v3/kv/put and
# /v3/kv/range) and prints, side by side with the ratio:
#   - PUT throughput and p50/p99 latency at 1, 16 and 64 connections, 100-byte values,
#     every request a new key, sent to the leader;
#   - GET throughput at 64 connections against 1000 preloaded keys, sent to the leader
#     (Roster default, ?stale, ?consistent; etcd serializable, linearizable);
#   - failover time: kill -9 of the leader to the first acknowledged write sent after
#     the kill to a surviving member, median of 3;
#   - RSS (VmRSS) after loading 100k keys with 100-byte values, leader and max of 3;
#   - restart time with 100k keys: SIGTERM all 3, start all 3, time to the first
#     acknowledged write (and to the first default/linearizable read of a loaded key).
# The systems run one after the other (Roster first), never at the same time. Each gets
# a fresh cluster: load the keys, read RSS, restart, then the wrk runs (on top of those
# keys), then the failovers. Every wrk run also reports errors (socket errors, HTTP
# status > 399, 2xx replies with a wrong body) and whether the leader changed during it;
# they are listed under "Problems" with the first bad reply, and the Roster servers'
# warning lines are summarised. Load generator and servers share the machine's cores.
#
# Usage: bench/kv-vs-etcd.sh            (about 6 minutes)
#        QUICK=1 bench/kv-vs-etcd.sh    (smoke run: 2 s per wrk run, 10k keys; ~1 min)
#        make bench-etcd                (builds first; QUICK=1 make bench-etcd works too)
# Settings (environment):
#   DURATION=10         seconds per wrk run (QUICK: 2)
#   KEYS=100000         keys loaded before RSS / restart (QUICK: 10000)
#   GET_KEYS=1000       keys preloaded for the GET runs
#   PUT_CONNECTIONS="1 16 64"  GET_CONNECTIONS=64  THREADS=2 (wrk threads)
#   VALUE_BYTES=100     FAILOVER_TRIALS=3
#   BASE_PORT=27000     Roster HTTP BASE+1..3, Raft BASE+11..13;
#                       etcd client BASE+21..23, peer BASE+31..33
#   ROSTER_BIN=build/bin/roster (built with cmake+ninja when missing)
#   ROSTER_ARGS, ETCD_ARGS  extra server flags (default none), e.g.
#                       ROSTER_ARGS="-raft-snapshot-threshold 100000"
#   SYSTEMS="roster etcd"  which to run (one alone while iterating on Roster)
#   KEEP=1              keep the temp dir (server logs, wrk output) instead of deleting it
# Needs root to install etcd-server / wrk with apt-get when they are not on PATH.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LUA="$HERE/wrk/kv.lua"
HELPER="$HERE/kv_bench.py"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  DURATION=${DURATION:-2}
  KEYS=${KEYS:-10000}
else
  DURATION=${DURATION:-10}
  KEYS=${KEYS:-100000}
fi
GET_KEYS=${GET_KEYS:-1000}
SYSTEMS=${SYSTEMS:-"roster etcd"}
PUT_CONNECTIONS=${PUT_CONNECTIONS:-"1 16 64"}
GET_CONNECTIONS=${GET_CONNECTIONS:-64}
THREADS=${THREADS:-2}
VALUE_BYTES=${VALUE_BYTES:-100}
FAILOVER_TRIALS=${FAILOVER_TRIALS:-3}
BASE_PORT=${BASE_PORT:-27000}
KEEP=${KEEP:-0}
ROSTER_BIN=${ROSTER_BIN:-$REPO/build/bin/roster}
ROSTER_ARGS=${ROSTER_ARGS:-}
ETCD_ARGS=${ETCD_ARGS:-}

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------
# Tools

need_packages=()
command -v etcd >/dev/null || need_packages+=(etcd-server)
command -v wrk >/dev/null || need_packages+=(wrk)
if ((${#need_packages[@]})); then
  [[ $(id -u) == 0 ]] || die "need ${need_packages[*]}: run as root or install them"
  say "installing ${need_packages[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}") >&2 \
    || die "apt-get install ${need_packages[*]} failed"
fi
command -v python3 >/dev/null || die "python3 is needed"
if [[ ! -x $ROSTER_BIN ]]; then
  say "building roster ($ROSTER_BIN is missing)"
  (cd "$REPO" && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    ninja -C build -j2 roster) >&2 || die "building roster failed"
  ROSTER_BIN=$REPO/build/bin/roster
fi
ETCD_VERSION=$(etcd --version 2>/dev/null | awk '/etcd Version/ {print $3}')
WRK_VERSION=$(wrk -v 2>&1 | awk 'NR==1 {print $2}')

# ---------------------------------------------------------------------------------------
# Processes: everything started is in STARTED and killed by the exit trap.

TMP=$(mktemp -d /tmp/kv-vs-etcd.XXXXXX)
declare -a STARTED=()
declare -A PID=()        # member name (roster1, etcd2, ...) -> pid
declare -A EXIT_OK=()    # pid -> 1 when the script stopped or killed it on purpose
declare -a PROBLEMS=()   # unexpected events, printed at the end
declare -a COMMANDS=()   # the measuring commands, printed at the end

cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  if [[ $KEEP == 1 ]]; then
    say "kept $TMP (server logs, wrk output)"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for offset in 1 2 3 11 12 13 21 22 23 31 32 33; do
  port_in_use $((BASE_PORT + offset)) &&
    die "port $((BASE_PORT + offset)) is in use; pick another BASE_PORT"
done

roster_http() { echo $((BASE_PORT + $1)); }
roster_raft() { echo $((BASE_PORT + 10 + $1)); }
etcd_client() { echo $((BASE_PORT + 20 + $1)); }
etcd_peer() { echo $((BASE_PORT + 30 + $1)); }
ROSTER_PORT_MAP="$(roster_raft 1):$(roster_http 1),$(roster_raft 2):$(roster_http 2),$(roster_raft 3):$(roster_http 3)"
export ROSTER_PORT_MAP  # kv_bench.py maps /v1/status/leader's Raft address to an HTTP port

api_ports() {  # the three HTTP API ports of system $1
  local i
  for i in 1 2 3; do
    if [[ $1 == roster ]]; then roster_http "$i"; else etcd_client "$i"; fi
  done | xargs
}

log_of() { echo "$TMP/$1$2.log"; }
mark() { printf '%s ==== bench: %s ====\n' "$(date -u +%H:%M:%S.%3N)" "$2" >>"$(log_of "$1" "$3")"; }

start_member() {  # system, member number (1-3); data dir survives restarts
  local system=$1 i=$2 log
  log=$(log_of "$system" "$i")
  mark "$system" "starting $system$i" "$i"
  if [[ $system == roster ]]; then
    mkdir -p "$TMP/data/roster$i"
    # shellcheck disable=SC2086  # ROSTER_ARGS is a list of flags
    "$ROSTER_BIN" server -node "s$i" -data-dir "$TMP/data/roster$i" -bind 127.0.0.1 \
      -server-port "$(roster_raft "$i")" -http-port "$(roster_http "$i")" -dns-port -1 -bootstrap-expect 3 \
      -join "127.0.0.1:$(roster_raft 1)" -join "127.0.0.1:$(roster_raft 2)" \
      -join "127.0.0.1:$(roster_raft 3)" $ROSTER_ARGS \
      </dev/null > >(python3 "$HELPER" stamp "$log") 2>&1 &
  else
    local cluster
    cluster="e1=http://127.0.0.1:$(etcd_peer 1),e2=http://127.0.0.1:$(etcd_peer 2),e3=http://127.0.0.1:$(etcd_peer 3)"
    # shellcheck disable=SC2086  # ETCD_ARGS is a list of flags
    etcd --name "e$i" --data-dir "$TMP/data/etcd$i" \
      --listen-client-urls "http://127.0.0.1:$(etcd_client "$i")" \
      --advertise-client-urls "http://127.0.0.1:$(etcd_client "$i")" \
      --listen-peer-urls "http://127.0.0.1:$(etcd_peer "$i")" \
      --initial-advertise-peer-urls "http://127.0.0.1:$(etcd_peer "$i")" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token "kv-vs-etcd-$$" $ETCD_ARGS \
      </dev/null > >(python3 "$HELPER" stamp "$log") 2>&1 &
  fi
  PID[$system$i]=$!
  STARTED+=($!)
}

# Records members that exited without being told to (a crash), with their log tail.
check_alive() {
  local system=$1 i pid status
  for i in 1 2 3; do
    pid=${PID[$system$i]:-}
    [[ -n $pid ]] || continue
    if ! kill -0 "$pid" 2>/dev/null && [[ -z ${EXIT_OK[$pid]:-} ]]; then
      wait "$pid" 2>/dev/null
      status=$?
      EXIT_OK[$pid]=1  # report it once
      PROBLEMS+=("$system$i (pid $pid) exited by itself with status $status during: $2")
      say "PROBLEM: $system$i exited by itself (status $status); last lines of its log:"
      tail -n 30 "$(log_of "$system" "$i")" >&2
    fi
  done
}

stop_member() {  # system, member, signal; waits up to 20 s, then kill -9
  local system=$1 i=$2 signal=$3 pid status waited=0
  pid=${PID[$system$i]}
  EXIT_OK[$pid]=1
  mark "$system" "sending SIG$signal to $system$i" "$i"
  kill "-$signal" "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null && ((waited < 200)); do sleep 0.1; ((waited++)); done
  if kill -0 "$pid" 2>/dev/null; then
    PROBLEMS+=("$system$i did not exit within 20 s of SIG$signal; killed it")
    kill -9 "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  status=$?
  # etcd re-raises SIGTERM after shutting down cleanly, so 143 is its normal exit.
  if [[ $signal == TERM && $status != 0 && ! ($system == etcd && $status == 143) ]]; then
    PROBLEMS+=("$system$i exited with status $status after SIGTERM")
  fi
}

wait_healthy() {  # system, when; sets LEADER to the leader's API port
  local system=$1
  # shellcheck disable=SC2046
  if LEADER=$(python3 "$HELPER" wait-healthy "$system" $(api_ports "$system") --timeout 60 2>>"$TMP/bench.log"); then
    return 0
  fi
  PROBLEMS+=("$system cluster not healthy within 60 s ($2)")
  check_alive "$system" "$2"
  return 1
}

member_of_port() {  # system, API port -> member number
  local i
  for i in 1 2 3; do
    if [[ $1 == roster && $(roster_http "$i") == "$2" ]] || [[ $1 == etcd && $(etcd_client "$i") == "$2" ]]; then
      echo "$i"; return 0
    fi
  done
  return 1
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------------------------------
# Results: R[system.metric] = value; RUNS lists the wrk runs for the details table.

declare -A R=()
declare -a RUNS=()

run_wrk() {  # system, label, op, mode, connections, port, prefix
  local system=$1 label=$2 op=$3 mode=$4 connections=$5 port=$6 prefix=$7
  local threads=$THREADS out kv
  ((threads > connections)) && threads=$connections
  out="$TMP/wrk-$system-$label.out"
  local cmd=(wrk -t"$threads" -c"$connections" -d"${DURATION}s" --timeout 10s --latency
    -s "$LUA" "http://127.0.0.1:$port" -- "$system" "$op" "$mode" "$prefix" "$VALUE_BYTES" "$GET_KEYS")
  COMMANDS+=("${cmd[*]}")
  say "$system $label: ${cmd[*]}"
  mark "$system" "wrk $label starts" "$(member_of_port "$system" "$port")"
  "${cmd[@]}" >"$out" 2>&1
  local line
  line=$(grep '^BENCH ' "$out" | tail -n 1)
  if [[ -z $line ]]; then
    PROBLEMS+=("$system $label: wrk printed no result: $(head -c 300 "$out" | tr '\n' ' ')")
    return 1
  fi
  for kv in $line; do
    [[ $kv == *=* ]] && R[$system.$label.${kv%%=*}]=${kv#*=}
  done
  RUNS+=("$system.$label")
  local errors=0 name
  for name in err_connect err_read err_write err_status err_timeout bad_body; do
    ((errors += ${R[$system.$label.$name]:-0}))
  done
  if ((errors > 0)); then
    local summary="" sample
    for name in err_connect err_read err_write err_status err_timeout bad_body; do
      ((${R[$system.$label.$name]} > 0)) && summary+=" ${name#err_}=${R[$system.$label.$name]}"
    done
    sample=$(grep '^BENCH_SAMPLE ' "$out" | cut -c14-)
    PROBLEMS+=("$system $label: errors out of ${R[$system.$label.requests]} requests:$summary${sample:+ (first non-2xx/bad reply: $sample)}$(grep -E 'Non-2xx|Socket errors' "$out" | tr -s ' \n' ' ' | sed 's/^/ -- wrk: /')")
  fi
  say "  -> ${line#BENCH }"
  check_alive "$system" "wrk $label"
  # A leader change under load (e.g. a stalled leader missing heartbeats) is worth knowing.
  local after
  # shellcheck disable=SC2046
  after=$(python3 "$HELPER" leader "$system" $(api_ports "$system") --timeout 20 2>/dev/null)
  if [[ $after != "$port" ]]; then
    PROBLEMS+=("$system $label: the leader changed during the run (port $port before, ${after:-none agreed} after)")
    say "  leader changed during the run: port $port before, ${after:-none agreed} after"
  fi
}

bench_system() {
  local system=$1 i leader port pid trial out ports
  ports=$(api_ports "$system")
  say "==== $system: starting a fresh 3-member cluster"
  rm -rf "$TMP/data/${system}"[123]
  for i in 1 2 3; do start_member "$system" "$i"; done
  wait_healthy "$system" "startup" || return 1; leader=$LEADER

  # RSS with nothing loaded, then after KEYS keys (a fresh cluster: only these keys).
  local max=0 r
  for i in 1 2 3; do r=$(rss_kib "${PID[$system$i]}"); ((r > max)) && max=$r; done
  R[$system.rss_empty_max]=$max
  say "$system: loading $KEYS keys of $VALUE_BYTES bytes into the leader (port $leader)"
  local load_cmd=(python3 "$HELPER" load "$system" "$leader" bench/load "$KEYS"
    --value-bytes "$VALUE_BYTES" --concurrency 32)
  COMMANDS+=("${load_cmd[*]}")
  out=$("${load_cmd[@]}" 2>&1) || PROBLEMS+=("$system load: $out")
  say "  -> $out"
  R[$system.load_rate]=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$out")
  grep -q 'errors=0' <<<"$out" || PROBLEMS+=("$system load of $KEYS keys: $out")
  sleep 2  # let followers apply the tail
  check_alive "$system" "load"
  max=0
  for i in 1 2 3; do
    r=$(rss_kib "${PID[$system$i]}")
    ((r > max)) && max=$r
    [[ $(member_of_port "$system" "$leader") == "$i" ]] && R[$system.rss_leader]=$r
  done
  R[$system.rss_max]=$max

  # Restart with KEYS keys: SIGTERM all three, start all three, first ack.
  say "$system: restart with $KEYS keys (SIGTERM all, start all)"
  for i in 1 2 3; do stop_member "$system" "$i" TERM; done
  local since=$EPOCHREALTIME
  for i in 1 2 3; do start_member "$system" "$i"; done
  # shellcheck disable=SC2206
  local first_cmd=(python3 "$HELPER" first-ack "$system" "$since" bench/load/0 $ports)
  COMMANDS+=("${first_cmd[*]}")
  out=$("${first_cmd[@]}" 2>&1) || PROBLEMS+=("$system restart: $out")
  say "  -> $out"
  R[$system.restart_write_ms]=$(sed -n 's/.*write_ms=\([0-9a-z]*\).*/\1/p' <<<"$out")
  R[$system.restart_read_ms]=$(sed -n 's/.*read_ms=\([0-9a-z]*\).*/\1/p' <<<"$out")
  wait_healthy "$system" "after restart" || return 1; leader=$LEADER

  # GET keys, then the wrk runs, all against the leader.
  out=$(python3 "$HELPER" load "$system" "$leader" bench/get "$GET_KEYS" --concurrency 16 2>&1) ||
    PROBLEMS+=("$system get-key preload: $out")
  local c mode
  for c in $PUT_CONNECTIONS; do
    wait_healthy "$system" "before put c$c" || return 1; leader=$LEADER
    run_wrk "$system" "put_c$c" put - "$c" "$leader" "bench/put/c$c"
  done
  if [[ $system == roster ]]; then
    set -- default stale consistent
  else
    set -- serializable linearizable
  fi
  for mode in "$@"; do
    wait_healthy "$system" "before get $mode" || return 1; leader=$LEADER
    run_wrk "$system" "get_$mode" get "$mode" "$GET_CONNECTIONS" "$leader" bench/get
  done

  # Failover: kill -9 the leader, time the first acked write through a survivor.
  local times=()
  for ((trial = 1; trial <= FAILOVER_TRIALS; trial++)); do
    wait_healthy "$system" "before failover $trial" || return 1; leader=$LEADER
    i=$(member_of_port "$system" "$leader")
    pid=${PID[$system$i]}
    local survivors
    survivors=$(tr ' ' '\n' <<<"$ports" | grep -vx "$leader" | xargs)
    say "$system failover $trial: kill -9 $system$i (pid $pid, port $leader)"
    EXIT_OK[$pid]=1
    mark "$system" "failover $trial: kill -9 of the leader $system$i" "$i"
    # shellcheck disable=SC2206
    local fo_cmd=(python3 "$HELPER" failover "$system" "$pid" $survivors)
    COMMANDS+=("${fo_cmd[*]}")
    out=$("${fo_cmd[@]}" 2>&1) || PROBLEMS+=("$system failover $trial: $out")
    wait "$pid" 2>/dev/null
    say "  -> $out"
    local ms
    ms=$(sed -n 's/^FAILOVER ms=\([0-9]*\).*/\1/p' <<<"$out")
    [[ -n $ms ]] && times+=("$ms")
    check_alive "$system" "failover $trial"
    start_member "$system" "$i"
  done
  wait_healthy "$system" "after failovers"
  R[$system.failover_all]="${times[*]}"
  if ((${#times[@]})); then
    R[$system.failover_ms]=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  fi

  check_alive "$system" "the end of the run"
  say "$system: stopping"
  for i in 1 2 3; do stop_member "$system" "$i" TERM; done
}

# ---------------------------------------------------------------------------------------
# Run

say "Roster $ROSTER_BIN, etcd $ETCD_VERSION, wrk $WRK_VERSION; DURATION=${DURATION}s KEYS=$KEYS" \
  "GET_KEYS=$GET_KEYS THREADS=$THREADS BASE_PORT=$BASE_PORT; temp dir $TMP"
STARTED_AT=$SECONDS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for system in $SYSTEMS; do
  bench_system "$system" || say "$system run stopped early (see problems)"
done

# ---------------------------------------------------------------------------------------
# Report

val() { echo "${R[$1]:-n/a}"; }
ratio() {  # a / b, or n/a
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'
}
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.*f", d, v; else print v }'; }
mib() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9]+$/) printf "%.1f", v / 1024; else print "n/a" }'; }
row() { printf '| %-50s | %14s | %14s | %7s |\n' "$1" "$2" "$3" "$4"; }
higher() { row "$1" "$(fmt "$2" "${4:-0}")" "$(fmt "$3" "${4:-0}")" "$(ratio "$2" "$3")"; }  # roster/etcd
lower() { row "$1" "$(fmt "$2" "${4:-1}")" "$(fmt "$3" "${4:-1}")" "$(ratio "$3" "$2")"; }   # etcd/roster

echo
echo "Roster vs etcd $ETCD_VERSION — 3 members each on 127.0.0.1, $(nproc) cores, load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
echo "wrk $WRK_VERSION, ${DURATION} s per run, $THREADS threads, ${VALUE_BYTES}-byte values, requests to the leader$( [[ $QUICK == 1 ]] && echo ' (QUICK smoke run)')"
echo "ratio > 1 means Roster is better: throughput is roster/etcd; latency, time and memory are etcd/roster"
echo
row "metric" "roster" "etcd" "ratio"
row "$(printf '%050d' 0 | tr 0 -)" "--------------" "--------------" "-------"
for c in $PUT_CONNECTIONS; do
  higher "PUT c=$c throughput (req/s)" "$(val "roster.put_c$c.rps")" "$(val "etcd.put_c$c.rps")"
  lower "PUT c=$c p50 (ms)" "$(val "roster.put_c$c.p50_ms")" "$(val "etcd.put_c$c.p50_ms")" 2
  lower "PUT c=$c p99 (ms)" "$(val "roster.put_c$c.p99_ms")" "$(val "etcd.put_c$c.p99_ms")" 2
done
g=$GET_CONNECTIONS
higher "GET c=$g (req/s): default / linearizable" "$(val roster.get_default.rps)" "$(val etcd.get_linearizable.rps)"
higher "GET c=$g (req/s): consistent / linearizable" "$(val roster.get_consistent.rps)" "$(val etcd.get_linearizable.rps)"
higher "GET c=$g (req/s): stale / serializable" "$(val roster.get_stale.rps)" "$(val etcd.get_serializable.rps)"
lower "failover, kill -9 leader -> ack (ms, median)" "$(val roster.failover_ms)" "$(val etcd.failover_ms)" 0
row "  (each trial, ms)" "$(val roster.failover_all | tr ' ' ',')" "$(val etcd.failover_all | tr ' ' ',')" ""
row "RSS fresh cluster, max of 3 (MiB)" "$(mib "$(val roster.rss_empty_max)")" "$(mib "$(val etcd.rss_empty_max)")" \
  "$(ratio "$(val etcd.rss_empty_max)" "$(val roster.rss_empty_max)")"
row "RSS after $KEYS keys, leader (MiB)" "$(mib "$(val roster.rss_leader)")" "$(mib "$(val etcd.rss_leader)")" \
  "$(ratio "$(val etcd.rss_leader)" "$(val roster.rss_leader)")"
row "RSS after $KEYS keys, max of 3 (MiB)" "$(mib "$(val roster.rss_max)")" "$(mib "$(val etcd.rss_max)")" \
  "$(ratio "$(val etcd.rss_max)" "$(val roster.rss_max)")"
lower "restart with $KEYS keys -> first write ack (ms)" "$(val roster.restart_write_ms)" "$(val etcd.restart_write_ms)" 0
lower "restart with $KEYS keys -> first read (ms)" "$(val roster.restart_read_ms)" "$(val etcd.restart_read_ms)" 0
higher "load of $KEYS keys, python, 32 conns (keys/s)" "$(val roster.load_rate)" "$(val etcd.load_rate)"

echo
echo "Every wrk run (latencies in ms; errors = socket errors + HTTP status > 399 + 2xx with a wrong body):"
printf '%-22s %10s %9s %9s %9s %9s %9s %7s\n' run requests req/s p50 p90 p99 max errors
for run in "${RUNS[@]}"; do
  errors=0
  for name in err_connect err_read err_write err_status err_timeout bad_body; do
    ((errors += ${R[$run.$name]:-0}))
  done
  printf '%-22s %10s %9s %9s %9s %9s %9s %7s\n' "$run" "${R[$run.requests]}" "$(fmt "${R[$run.rps]}")" \
    "$(fmt "${R[$run.p50_ms]}" 2)" "$(fmt "${R[$run.p90_ms]}" 2)" "$(fmt "${R[$run.p99_ms]}" 2)" \
    "$(fmt "${R[$run.max_ms]}" 1)" "$errors"
done

echo
echo "Roster servers' warning (W) and error (E) log lines, counted, digits shown as N:"
if ls "$TMP"/roster?.log >/dev/null 2>&1; then
  # Lines look like "[bench stamp] [server's own time] W file.cc:123] text".
  warnings=$(cat "$TMP"/roster?.log | grep -oE '(^| )[WE] [A-Za-z0-9_]+\.(cc|h):[0-9]+\] .*' |
    sed -E 's/^ //; s/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -n 15)
  echo "${warnings:-  none}"
fi

echo
echo "Problems:"
if ((${#PROBLEMS[@]})); then printf '  - %s\n' "${PROBLEMS[@]}"; else echo "  none"; fi

echo
echo "Commands (Roster at HTTP ports $(api_ports roster), etcd at client ports $(api_ports etcd)):"
printf '  %s\n' "${COMMANDS[@]}" | sed "s|$REPO/||g"
echo "  roster: $ROSTER_BIN server -node sN -data-dir DIR -bind 127.0.0.1 -server-port $((BASE_PORT + 11))..13" \
  "-http-port $((BASE_PORT + 1))..3 -bootstrap-expect 3 -join 127.0.0.1:$((BASE_PORT + 11)) -join ...12 -join ...13 $ROSTER_ARGS"
echo "  etcd:   etcd --name eN --data-dir DIR --listen-client-urls http://127.0.0.1:$((BASE_PORT + 21))..23" \
  "--advertise-client-urls (same) --listen-peer-urls http://127.0.0.1:$((BASE_PORT + 31))..33" \
  "--initial-advertise-peer-urls (same) --initial-cluster e1=...,e2=...,e3=... --initial-cluster-state new" \
  "--initial-cluster-token kv-vs-etcd-PID $ETCD_ARGS"
echo "  total time $((SECONDS - STARTED_AT)) s"
