"""Example 5, partition assignment (examples/README.md, section 5): workers join, leave and
crash; after each change every partition is owned by exactly one live worker."""

import json
import os
import shutil
import signal
import tempfile
import time
import unittest

from harness import ExampleTestCase, python_command, report

PARTITIONS = 12
TTL_S = 10  # worker.py's session TTL: a crashed worker is gone within 2 x TTL


class PartitionsExample(ExampleTestCase):

    def setUp(self):
        super().setUp()
        self.state_dir = tempfile.mkdtemp(prefix="roster-partitions-")
        self.addCleanup(shutil.rmtree, self.state_dir, True)
        self.server = self.start_dev_server()
        self.wait_for_sessions(self.server)
        self.workers = {}

    def join(self, name):
        self.workers[name] = self.start(name, python_command(
            "partitions", "worker.py", name, str(PARTITIONS), self.state_path(name)), self.server)

    def state_path(self, name):
        return os.path.join(self.state_dir, name + ".json")

    def state(self, name):
        try:
            with open(self.state_path(name)) as state:
                return json.load(state)
        except (OSError, ValueError):
            return None

    def assert_balanced(self, live, timeout_s=10.0):
        """Waits until each live worker's latest assignment was computed from exactly the
        live members, then checks that every partition has exactly one owner."""
        live = sorted(live)
        started = time.monotonic()
        self.wait_until(lambda: all((self.state(name) or {}).get("members") == live
                                    for name in live),
                        timeout_s, f"every live worker to see members {live}: "
                                   f"{ {name: self.state(name) for name in live} }")
        owners = {}
        for name in live:
            for partition in self.state(name)["partitions"]:
                owners.setdefault(partition, []).append(name)
        self.assertEqual(sorted(owners), list(range(PARTITIONS)), "every partition owned")
        self.assertEqual({p: names for p, names in owners.items() if len(names) > 1}, {},
                         "partitions with more than one owner")
        report(f"  balanced over {live} after {time.monotonic() - started:.1f} s")

    def test_partitions_follow_membership(self):
        for name in ("w1", "w2", "w3"):
            self.join(name)
        self.assert_balanced(["w1", "w2", "w3"])

        self.workers["w2"].process.send_signal(signal.SIGTERM)  # leaves cleanly
        self.assertEqual(self.workers["w2"].wait(), 0, self.describe_processes())
        self.assert_balanced(["w1", "w3"])

        self.workers["w3"].signal_group(signal.SIGKILL)  # its machine dies: no goodbye
        self.assert_balanced(["w1"], timeout_s=2 * TTL_S + 10)

        self.join("w4")
        self.assert_balanced(["w1", "w4"])


if __name__ == "__main__":
    unittest.main()
