"""A barrier: this process waits until COUNT participants have arrived at PREFIX, then
goes on (ZooKeeper's barrier recipe, on Roster's keys and blocking queries).

Each participant registers PREFIX/arrived/NAME, held by a session with behavior=delete,
so one that dies before the barrier opens stops counting. The first to see COUNT
arrivals creates PREFIX/open (cas=0: once). Everyone waits for that key with blocking
queries on the prefix, so participants that leave after it opened cannot close it again.
One barrier per PREFIX.

    python3 barrier.py NAME COUNT PREFIX
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import roster_api  # noqa: E402  (examples/roster_api.py)

TTL_S = 10


def main():
    name, count, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3].rstrip("/")
    session = roster_api.session_create(f"barrier {name}", ttl=f"{TTL_S}s", behavior="delete")
    keep_alive = roster_api.KeepAlive(session, TTL_S)
    roster_api.kv_put(f"{prefix}/arrived/{name}", name, acquire=session)
    print(f"{name} arrived at {time.time():.3f}", flush=True)

    index = 0
    while True:
        entries, index = roster_api.kv_get(prefix + "/", recurse=None, index=index, wait="60s")
        keys = {entry["Key"] for entry in entries}
        if f"{prefix}/open" in keys:
            break
        arrived = [key for key in keys if key.startswith(f"{prefix}/arrived/")]
        if len(arrived) >= count:
            roster_api.kv_put(f"{prefix}/open", name, cas=0)  # the first writer wins

    print(f"{name} passed at {time.time():.3f}", flush=True)
    keep_alive.stop()
    roster_api.session_destroy(session)


if __name__ == "__main__":
    main()
