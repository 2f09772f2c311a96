"""Takes jobs off the queue PREFIX/ in order until SIGTERM.

A job is claimed by acquiring its key with this consumer's session, done, then deleted.
A consumer that dies mid-job loses its session (TTL), which releases the key, so another
consumer does the job: at-least-once. Two details make the claim safe:
  - a key held by a session is someone's job in progress: skip it;
  - ?acquire on a key that another consumer has just deleted would create it again, so
    after acquiring, the consumer checks the key is the job it listed (same CreateIndex)
    and otherwise deletes what it created.
Waiting for work is a blocking query on the prefix, so an idle consumer costs nothing.

    python3 consumer.py NAME PREFIX
"""

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import roster_api  # noqa: E402  (examples/roster_api.py)

TTL_S = 10


def claim(entry, session):
    """True if this consumer now holds the job `entry` (as listed)."""
    if entry.get("Session"):
        return False  # in progress elsewhere
    if not roster_api.kv_put(entry["Key"], roster_api.value_of(entry), acquire=session):
        return False  # another consumer came first
    entries, _ = roster_api.kv_get(entry["Key"])
    held = entries[0] if entries else None
    if held is None or held["CreateIndex"] != entry["CreateIndex"]:
        if held is not None:
            roster_api.kv_delete(entry["Key"], cas=held["ModifyIndex"])  # we re-created it
        return False
    return True


def main():
    name, prefix = sys.argv[1], sys.argv[2].rstrip("/")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    session = roster_api.session_create(f"consumer {name}", ttl=f"{TTL_S}s", lock_delay="0s")
    keep_alive = roster_api.KeepAlive(session, TTL_S)
    index = 0
    while not stopping.is_set():
        entries, index = roster_api.kv_get(prefix + "/", recurse=None, index=index, wait="2s")
        for entry in sorted(entries, key=lambda entry: entry["Key"]):  # oldest first
            if stopping.is_set() or not claim(entry, session):
                continue
            print(f"{name} did {entry['Key']} {roster_api.value_of(entry)}", flush=True)
            roster_api.kv_delete(entry["Key"])
    keep_alive.stop()
    roster_api.session_destroy(session)


if __name__ == "__main__":
    main()
