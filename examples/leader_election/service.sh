#!/bin/sh
# The work only the leader does. `roster elect` starts it once this candidate leads, with
# ROSTER_LEADER=true and ROSTER_FENCING_TOKEN (larger for every later leader), and sends
# it SIGTERM if leadership is lost.
name=${1:?usage: service.sh NAME}
echo "$name leads (fencing token $ROSTER_FENCING_TOKEN, key $ROSTER_ELECTION_KEY)"
trap 'echo "$name steps down"; exit 0' TERM INT
while :; do
  sleep 0.2  # a real service would serve requests here
done
