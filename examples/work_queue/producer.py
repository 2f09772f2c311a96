"""Puts COUNT jobs on the queue PREFIX/: each job is a sequential key (Roster's
?sequential), named by the log index that created it, so keys sort in queue order.

    python3 producer.py PREFIX COUNT NAME
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import roster_api  # noqa: E402  (examples/roster_api.py)


def main():
    prefix, count, name = sys.argv[1].rstrip("/"), int(sys.argv[2]), sys.argv[3]
    for number in range(count):
        job = f"{name}-job-{number}"
        entry = roster_api.kv_put(prefix + "/", job, sequential=None)
        print(f"{name} queued {entry['Key']} {job}", flush=True)


if __name__ == "__main__":
    main()
