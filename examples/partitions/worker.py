"""A worker that owns a share of PARTITIONS partitions, rebalanced as workers join and leave.

Membership is an ephemeral key PREFIX/members/NAME, held by a session with
behavior=delete: it disappears when the worker leaves (session destroyed) or dies
(session expires). `roster watch` runs assign.py on every change of the member list;
each worker computes its own share from the sorted list, so no coordinator is needed.

    python3 worker.py NAME PARTITIONS STATE_FILE
"""

import os
import signal
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import roster_api  # noqa: E402  (examples/roster_api.py)

PREFIX = "demo/partitions"
TTL_S = 10
ASSIGN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assign.py")


def main():
    name, partitions, state_file = sys.argv[1], sys.argv[2], sys.argv[3]
    leaving = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: leaving.set())
    session = roster_api.session_create(f"worker {name}", ttl=f"{TTL_S}s", behavior="delete",
                                        lock_delay="0s")
    keep_alive = roster_api.KeepAlive(session, TTL_S)
    if not roster_api.kv_put(f"{PREFIX}/members/{name}", name, acquire=session):
        sys.exit(f"{name}: another live worker has this name")
    print(f"{name} joined", flush=True)
    watch = subprocess.Popen([os.environ.get("ROSTER", "roster"), "watch", "-type", "keyprefix",
                              "-prefix", f"{PREFIX}/members/",
                              sys.executable, ASSIGN, name, partitions, state_file])
    while not leaving.wait(0.5):
        if keep_alive.lost.is_set():
            print(f"{name} lost its membership (session expired)", flush=True)
            break
    watch.terminate()
    watch.wait()
    keep_alive.stop()
    roster_api.session_destroy(session)
    print(f"{name} left", flush=True)


if __name__ == "__main__":
    main()
