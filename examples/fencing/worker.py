"""The lock holder's work, run by `roster lock`: it writes to the downstream service,
stamping every write with the lock's fencing token ($ROSTER_FENCING_TOKEN). When the lock
is lost, roster lock sends SIGTERM, and the worker flushes one last write on its way out:
exactly the late write from a stale holder that the downstream must refuse.

    roster lock PREFIX python3 worker.py NAME http://127.0.0.1:PORT/data
"""

import os
import signal
import sys
import threading
import urllib.error
import urllib.request

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def write(url, name, token, text):
    """PUT text to the downstream; its HTTP status."""
    request = urllib.request.Request(url, data=text.encode(), method="PUT",
                                     headers={"X-Fencing-Token": token, "X-Writer": name})
    try:
        with _OPENER.open(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def main():
    name, url = sys.argv[1], sys.argv[2]
    token = os.environ["ROSTER_FENCING_TOKEN"]
    print(f"{name} holds the lock, fencing token {token}", flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    update = 0
    while not stopping.wait(0.2):
        if write(url, name, token, f"{name} update {update}") != 200:
            print(f"{name}: update {update} refused: the token is stale", flush=True)
        update += 1
    status = write(url, name, token, f"{name} final flush")
    print(f"{name}: final flush answered {status}", flush=True)


if __name__ == "__main__":
    main()
