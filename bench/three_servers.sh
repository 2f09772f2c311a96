# Sourced by the bench scripts that run three roster servers on 127.0.0.1
# (coord-bench.sh, agents-bench.sh), after they have set TMP, PIDS (an array), KEEP,
# BASE_PORT and the functions say and die. Kills what was started on exit (keeping TMP
# with KEEP=1), refuses ports in use, and defines the port layout: server i (1..3) serves
# HTTP on BASE_PORT+i and Raft on BASE_PORT+10+i; SERVERS lists the HTTP addresses and
# ROSTER_PORT_MAP maps each Raft port to its HTTP port.

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [[ $KEEP == 1 ]]; then say "kept $TMP (server logs)"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for offset in 1 2 3 11 12 13; do
  port_in_use $((BASE_PORT + offset)) && die "port $((BASE_PORT + offset)) is in use; pick another BASE_PORT"
done

http_port() { echo $((BASE_PORT + $1)); }
raft_port() { echo $((BASE_PORT + 10 + $1)); }
SERVERS="127.0.0.1:$(http_port 1),127.0.0.1:$(http_port 2),127.0.0.1:$(http_port 3)"
export ROSTER_PORT_MAP="$(raft_port 1):$(http_port 1),$(raft_port 2):$(http_port 2),$(raft_port 3):$(http_port 3)"
