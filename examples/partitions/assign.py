"""roster watch's handler for one worker: reads the member list (JSON entries under
PREFIX/members/) on stdin and takes partition p when p % len(members) is this worker's
position in the sorted list. Writes the assignment to STATE_FILE (atomically) and prints it.

    roster watch -type keyprefix -prefix PREFIX/members/ \
        python3 assign.py NAME PARTITIONS STATE_FILE
"""

import json
import os
import sys


def share(name, members, partitions):
    """The partitions `name` owns among `members` (sorted)."""
    if name not in members:
        return []
    position = members.index(name)
    return [p for p in range(partitions) if p % len(members) == position]


def main():
    name, partitions, state_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    entries = json.load(sys.stdin)
    # A member key without a session is a leftover of an ended one: not a live member.
    members = sorted(entry["Key"].rsplit("/", 1)[1] for entry in entries if entry.get("Session"))
    mine = share(name, members, partitions)
    temporary = state_file + ".tmp"
    with open(temporary, "w") as state:
        json.dump({"members": members, "partitions": mine,
                   "index": int(os.environ.get("ROSTER_INDEX", "0"))}, state)
    os.replace(temporary, state_file)
    print(f"{name} owns {mine} (members: {' '.join(members)})", flush=True)


if __name__ == "__main__":
    main()
