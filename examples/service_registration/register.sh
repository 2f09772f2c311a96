#!/bin/sh
# register.sh [NAME]: service registration with nothing but curl, against the local agent at
# $ROSTER_HTTP_ADDR (default 127.0.0.1:8500). Registers NAME (default shell-demo) with a TTL
# check, passes the check as a heartbeating service would, waits until the instance shows
# up in /v1/health/service/NAME?passing, prints that answer, then deregisters it.
# The same calls work against Consul. examples/README.md, example 6.
set -eu

addr="${ROSTER_HTTP_ADDR:-127.0.0.1:8500}"
name="${1:-shell-demo}"
id="$name-1"
check="service:$id"  # the ID the agent gives a service's only check
api="http://$addr/v1"

# --fail-with-body: a 4xx/5xx is an error (exit 22) and the agent's message is shown.
put() { curl -sS --fail-with-body -X PUT "$@"; }

# 1. Register. The TTL check starts critical: the service is not discoverable yet.
put --data-binary @- "$api/agent/service/register" <<EOF
{"Name": "$name", "ID": "$id", "Port": 9999, "Tags": ["shell"],
 "Check": {"TTL": "30s", "Notes": "passed by register.sh"}}
EOF
echo "registered $id"
# From here on, whatever happens, do not leave the instance behind.
trap 'put "$api/agent/service/deregister/$id" >/dev/null || true' EXIT

# 2. Pass the TTL check; a real service repeats this well within the TTL.
put "$api/agent/check/pass/$check?note=alive" >/dev/null
echo "passed $check"

# 3. Discover it. The agent syncs to the servers right after a change; poll briefly until
#    the instance is there with its check (?passing leaves out instances with a check that
#    is not passing).
deadline=$(($(date +%s) + 10))
until answer=$(curl -sS --fail-with-body "$api/health/service/$name?passing") &&
      printf '%s' "$answer" | grep -q "\"CheckID\": *\"$check\""; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "register.sh: $id is not in $name?passing after 10 s: $answer" >&2
    exit 1
  fi
  sleep 0.2  # the polling period
done
echo "passing instances of $name:"
printf '%s\n' "$answer"

# 4. Deregister (the trap is then a harmless no-op).
put "$api/agent/service/deregister/$id" >/dev/null
trap - EXIT
echo "deregistered $id"
