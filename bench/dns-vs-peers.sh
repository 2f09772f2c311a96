#!/usr/bin/env bash
# Roster's DNS interface vs dnsmasq and unbound on one machine (bench/README.md, issue 6).
#
# Serves the same 1,000 names from three servers on 127.0.0.1, one after the other:
#   - `roster dev` with 1,000 services svcN, each with 10 instances (10 nodes), registered
#     through PUT /v1/catalog/register; queried as svcN.service.roster;
#   - dnsmasq (Debian's dnsmasq-base) and unbound (Debian's unbound), unprivileged, on a
#     high port, with a generated config holding the same names as static records:
#     10 A and 10 SRV records per name, the SRV targets with A records of their own;
# and drives each with the same queries (every name once as A and once as SRV, shuffled,
# EDNS0 on so 10-instance SRV answers fit in UDP):
#   - maximum throughput: dnsperf -c 8 -T 2 -q 500 for DURATION s (queries per second,
#     lost queries, mean latency);
#   - latency at a fixed offered load: bench/dns_load (dns_load.cc) at QPS for DURATION s,
#     paced every 250 us, replies timed by the kernel; p50/p99/p99.9/max of the answered
#     queries, a query unanswered after 1 s lost. (dnsperf -Q -v printed a line per answer
#     and used 1.5 cores at 50k, so its own scheduling was the tail it measured.)
# The load generator shares the machine's 2 cores with the server under test.
# Goal (issue 6): Roster's throughput >= the faster of dnsmasq and unbound; p99 < 1 ms
# at 50,000 queries per second.
#
# Usage: bench/dns-vs-peers.sh            (about 2 minutes)
#        QUICK=1 bench/dns-vs-peers.sh    (smoke run: 3 s per run; under a minute)
#        make bench-dns                   (builds first; QUICK=1 make bench-dns works too)
# Settings (environment):
#   DURATION=10         seconds per dnsperf and dns_load run (QUICK: 3)
#   NAMES=1000  INSTANCES=10  QPS=50000
#   LAYOUT=shared       shared: instance i of every service on node-i (10 nodes with
#                       1,000 services and checks each); spread: one node per instance
#                       (10,000 nodes). Roster's answer cost depends on it (README).
#   UDP_WORKERS=2       roster's -dns-udp-workers
#   SYSTEMS="roster dnsmasq unbound"
#   BASE_PORT=30000     roster HTTP BASE+1, Raft BASE+2, DNS BASE+3; dnsmasq BASE+4;
#                       unbound BASE+5
#   ROSTER_BIN=build/bin/roster (built with cmake+ninja into build/ when missing)
#   DNS_LOAD=build/bin/dns_load (likewise)
#   ROSTER_ARGS         extra `roster dev` flags (default none)
#   KEEP=1              keep the temp dir (configs, logs, dnsperf output)
# Installs dnsmasq-base and unbound with apt-get when missing (needs root then); this is
# for the benchmark only, scripts/setup does not install them.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
HELPER="$HERE/dns_bench.py"

QUICK=${QUICK:-0}
[[ $QUICK == 1 ]] && DURATION=${DURATION:-3}
DURATION=${DURATION:-10}
NAMES=${NAMES:-1000}
INSTANCES=${INSTANCES:-10}
QPS=${QPS:-50000}
UDP_WORKERS=${UDP_WORKERS:-2}
SYSTEMS=${SYSTEMS:-"roster dnsmasq unbound"}
LAYOUT=${LAYOUT:-shared}
case $LAYOUT in shared) SPREAD=() ;; spread) SPREAD=(--spread) ;; *) echo "LAYOUT is shared or spread" >&2; exit 1 ;; esac
BASE_PORT=${BASE_PORT:-30000}
ROSTER_BIN=${ROSTER_BIN:-$REPO/build/bin/roster}
DNS_LOAD=${DNS_LOAD:-$REPO/build/bin/dns_load}
ROSTER_ARGS=${ROSTER_ARGS:-}
KEEP=${KEEP:-0}

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

need=()
command -v dnsperf >/dev/null || need+=(dnsperf)
[[ -x /usr/sbin/dnsmasq ]] || command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
[[ -x /usr/sbin/unbound ]] || command -v unbound >/dev/null || need+=(unbound)
if ((${#need[@]})); then
  [[ $(id -u) == 0 ]] || die "need ${need[*]}: run as root or install them"
  say "installing ${need[*]} (benchmark only)"
  # unbound's package tries to start its service; policy-rc.d or no systemd stops that.
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >&2 ||
    die "apt-get install ${need[*]} failed"
fi
PATH=$PATH:/usr/sbin
command -v python3 >/dev/null || die "python3 is needed"
build() {  # target; builds it into build/
  (cd "$REPO" && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    ninja -C build -j2 "$1") >&2 || die "building $1 failed"
}
if [[ ! -x $ROSTER_BIN ]]; then
  say "building roster into build/ ($ROSTER_BIN is missing)"
  build roster
  ROSTER_BIN=$REPO/build/bin/roster
fi
if [[ ! -x $DNS_LOAD ]]; then
  say "building dns_load into build/ ($DNS_LOAD is missing)"
  build dns_load
  DNS_LOAD=$REPO/build/bin/dns_load
fi

HTTP_PORT=$((BASE_PORT + 1)) RAFT_PORT=$((BASE_PORT + 2)) ROSTER_DNS=$((BASE_PORT + 3))
DNSMASQ_PORT=$((BASE_PORT + 4)) UNBOUND_PORT=$((BASE_PORT + 5))
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in $HTTP_PORT $RAFT_PORT $ROSTER_DNS $DNSMASQ_PORT $UNBOUND_PORT; do
  port_in_use "$port" && die "port $port is in use; pick another BASE_PORT"
done

TMP=$(mktemp -d /tmp/dns-vs-peers.XXXXXX)
chmod 755 "$TMP"
PID=""
declare -a PROBLEMS=() COMMANDS=()
declare -A R=()
cleanup() {
  [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null
  wait 2>/dev/null
  if [[ $KEEP == 1 ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$HELPER" gen "$TMP" "${SPREAD[@]}" --names "$NAMES" --instances "$INSTANCES" \
  --dnsmasq-port "$DNSMASQ_PORT" --unbound-port "$UNBOUND_PORT" || die "generating configs failed"

start() {  # system; sets PID and PORT, waits until a query is answered
  local system=$1
  case $system in
    roster)
      PORT=$ROSTER_DNS
      # shellcheck disable=SC2086  # ROSTER_ARGS is a list of flags
      "$ROSTER_BIN" dev -data-dir "$TMP/roster-data" -server-port "$RAFT_PORT" -http-port "$HTTP_PORT" \
        -dns-port "$PORT" -dns-udp-workers "$UDP_WORKERS" $ROSTER_ARGS >"$TMP/roster.log" 2>&1 &
      ;;
    dnsmasq)
      PORT=$DNSMASQ_PORT
      dnsmasq --keep-in-foreground --conf-file="$TMP/dnsmasq.conf" --user="$(id -un)" \
        --pid-file="$TMP/dnsmasq.pid" >"$TMP/dnsmasq.log" 2>&1 &
      ;;
    unbound)
      PORT=$UNBOUND_PORT
      unbound -d -c "$TMP/unbound.conf" >"$TMP/unbound.log" 2>&1 &
      ;;
  esac
  PID=$!
  local i
  for i in $(seq 300); do
    if [[ $system == roster ]]; then
      curl -fsS "http://127.0.0.1:$HTTP_PORT/v1/status/leader" 2>/dev/null | grep -q ':' && break
    else
      dig +time=1 +tries=1 @127.0.0.1 -p "$PORT" svc0.service.roster +short 2>/dev/null | grep -q . && break
    fi
    sleep 0.1
  done
  if [[ $system == roster ]]; then
    say "roster: registering $NAMES services x $INSTANCES instances"
    python3 "$HELPER" register "$HTTP_PORT" "${SPREAD[@]}" --names "$NAMES" --instances "$INSTANCES" >&2 || return 1
  fi
  local answers
  answers=$(dig +time=1 +tries=1 @127.0.0.1 -p "$PORT" "svc$((NAMES - 1)).service.roster" +short | wc -l)
  ((answers == INSTANCES)) || { PROBLEMS+=("$system: $answers A answers for the last name, not $INSTANCES"); return 1; }
}

stop() { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }  # utime+stime

# UDP datagrams the kernel dropped because a socket's receive buffer was full (any socket).
udp_rcvbuf_errors() { awk '/^Udp:/ { if (!n++) for (i = 1; i <= NF; i++) col[$i] = i; else print $col["RcvbufErrors"] }' /proc/net/snmp; }

# CPU time (all cores, in ticks) in total and stolen by the hypervisor: "TOTAL STEAL".
cpu_total_steal() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $9; exit }' /proc/stat; }

stat() { sed -n "s/^ *$2: *\([0-9.]*\).*/\1/p" "$1" | head -n 1; }

bench() {  # system
  local system=$1 out
  say "==== $system"
  start "$system" || { PROBLEMS+=("$system did not start (log: $(tail -n 3 "$TMP/$system.log" | tr '\n' ' '))"); stop; return; }
  R[$system.size]=$(dig +time=1 +tries=1 @127.0.0.1 -p "$PORT" svc1.service.roster SRV | sed -n 's/.*MSG SIZE  rcvd: //p')

  local max=(dnsperf -s 127.0.0.1 -p "$PORT" -d "$TMP/queries" -e -l "$DURATION" -c 8 -T 2 -q 500)
  COMMANDS+=("${max[*]}")
  R[$system.load_max]=$(cut -d' ' -f1 /proc/loadavg)
  out="$TMP/$system-max.out"
  local cpu0 t0=$EPOCHREALTIME
  cpu0=$(cpu_ticks "$PID")
  "${max[@]}" >"$out" 2>&1
  # The server's CPU over the run, in cores (unbound and roster use several threads).
  R[$system.cores]=$(awk -v a="$cpu0" -v b="$(cpu_ticks "$PID")" -v t0="$t0" -v t1="$EPOCHREALTIME" \
    -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz / (t1 - t0) }')
  R[$system.qps]=$(stat "$out" "Queries per second")
  R[$system.lost]=$(sed -n 's/^ *Queries lost: *\([0-9]*\) (\(.*\)).*/\1 (\2)/p' "$out")
  R[$system.avg_ms]=$(awk '/Average Latency/ {printf "%.3f", $4 * 1000}' "$out")
  R[$system.per_core]=$(awk -v q="${R[$system.qps]:-0}" -v c="${R[$system.cores]}" 'BEGIN { if (c > 0) printf "%.0f", q / c; else print "n/a" }')
  say "  max: ${R[$system.qps]} qps, lost ${R[$system.lost]}, mean ${R[$system.avg_ms]} ms, server ${R[$system.cores]} cores"

  local fixed=("$DNS_LOAD" --server "127.0.0.1:$PORT" --queries "$TMP/queries" --qps "$QPS" --duration "$DURATION")
  COMMANDS+=("${fixed[*]}")
  R[$system.load_fixed]=$(cut -d' ' -f1 /proc/loadavg)
  out="$TMP/$system-fixed.out"
  local drops0 steal0
  drops0=$(udp_rcvbuf_errors)
  steal0=$(cpu_total_steal)
  cpu0=$(cpu_ticks "$PID")
  t0=$EPOCHREALTIME
  "${fixed[@]}" >"$out" 2>&1
  # The server's CPU per answered query at the fixed load: the figure that batching and
  # allocation work move, whatever the machine's disturbance does to the tail.
  R[$system.at_cores]=$(awk -v a="$cpu0" -v b="$(cpu_ticks "$PID")" -v t0="$t0" -v t1="$EPOCHREALTIME" \
    -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz / (t1 - t0) }')
  R[$system.at_drops]=$(($(udp_rcvbuf_errors) - drops0))
  # A vCPU the host takes away stalls whatever runs on it, server or load generator.
  R[$system.at_steal]=$(echo "$steal0 $(cpu_total_steal)" |
    awk '{ t = $3 - $1; printf "%.1f %%", (t > 0 ? 100 * ($4 - $2) / t : 0) }')
  local kv
  for kv in $(sed -n 's/^DNSLOAD //p' "$out"); do R[$system.at_${kv%%=*}]=${kv#*=}; done
  [[ -n ${R[$system.at_p99_ms]:-} ]] || PROBLEMS+=("$system: dns_load printed no figures ($(tail -n 2 "$out" | tr '\n' ' '))")
  R[$system.at_us_per_query]=$(awk -v c="${R[$system.at_cores]}" -v q="${R[$system.at_qps_answered]:-0}" 'BEGIN { if (q > 0) printf "%.1f", 1e6 * c / q; else print "n/a" }')
  R[$system.at_lost_pct]=$(awk -v l="${R[$system.at_lost]:-0}" -v q="$QPS" -v d="$DURATION" 'BEGIN { printf "%.2f %%", 100 * l / (q * d) }')
  say "  at $QPS qps offered: ${R[$system.at_qps_answered]:-n/a} qps answered, lost ${R[$system.at_lost]:-n/a}," \
    "p50 ${R[$system.at_p50_ms]:-n/a} ms, p99 ${R[$system.at_p99_ms]:-n/a} ms, p99.9 ${R[$system.at_p999_ms]:-n/a} ms" \
    "(server ${R[$system.at_cores]} cores, ${R[$system.at_us_per_query]} us CPU per answer; dns_load ${R[$system.at_cpu_cores]:-n/a} cores; ${R[$system.at_drops]} datagrams dropped at a full socket buffer; CPU steal ${R[$system.at_steal]})"
  R[$system.rss]=$(awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$PID/status" 2>/dev/null)
  kill -0 "$PID" 2>/dev/null || PROBLEMS+=("$system exited during the run")
  stop
  [[ $KEEP == 1 ]] || rm -f "$out"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED_AT=$SECONDS
for system in $SYSTEMS; do bench "$system"; done

v() { echo "${R[$1]:-n/a}"; }
echo
echo "dns_load at $QPS qps paced every 250 us, 1 s timeout; dnsperf $(dnsperf -h 2>&1 | sed -n 's/^Version //p'), $(/usr/sbin/dnsmasq --version | head -n 1 | cut -d' ' -f1-3)," \
  "unbound $(/usr/sbin/unbound -V | sed -n 's/^Version //p'); $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1));" \
  "load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after; roster -dns-udp-workers $UDP_WORKERS;" \
  "commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)$( [[ $QUICK == 1 ]] && echo ' (QUICK smoke run)')"
echo "$NAMES names x $INSTANCES instances ($LAYOUT layout), A and SRV, EDNS0; ${DURATION} s per run"
echo
echo "| system | max qps | lost | mean ms | server cores | qps per core | load | answered qps at $QPS | server cores | us CPU per answer | lost | rcvbuf drops | p50 ms | p99 ms | p99.9 ms | max ms | dns_load cores | steal | load | SRV answer bytes | RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for s in $SYSTEMS; do
  echo "| $s | $(v "$s.qps" | cut -d. -f1) | $(v "$s.lost") | $(v "$s.avg_ms") | $(v "$s.cores") | $(v "$s.per_core") | $(v "$s.load_max") |" \
    "$(v "$s.at_qps_answered") | $(v "$s.at_cores") | $(v "$s.at_us_per_query") | $(v "$s.at_lost") ($(v "$s.at_lost_pct")) | $(v "$s.at_drops") | $(v "$s.at_p50_ms") | $(v "$s.at_p99_ms") | $(v "$s.at_p999_ms") | $(v "$s.at_max_ms") | $(v "$s.at_cpu_cores") | $(v "$s.at_steal") |" \
    "$(v "$s.load_fixed") | $(v "$s.size") | $(v "$s.rss") |"
done
echo
echo "Problems:"
if ((${#PROBLEMS[@]})); then printf '  - %s\n' "${PROBLEMS[@]}"; else echo "  none"; fi
echo
echo "Commands (roster DNS $ROSTER_DNS, dnsmasq $DNSMASQ_PORT, unbound $UNBOUND_PORT):"
printf '  %s\n' "${COMMANDS[@]}" | sed "s|$TMP/|TMP/|g"
echo "  roster dev -data-dir DIR -server-port $RAFT_PORT -http-port $HTTP_PORT -dns-port $ROSTER_DNS -dns-udp-workers $UDP_WORKERS $ROSTER_ARGS"
echo "  dnsmasq --keep-in-foreground --conf-file=TMP/dnsmasq.conf --user=$(id -un); unbound -d -c TMP/unbound.conf (bench/dns_bench.py gen)"
echo "  total time $((SECONDS - STARTED_AT)) s"
((${#PROBLEMS[@]} == 0))
