"""Example 2, a lock whose holder is fenced (examples/README.md, section 2): holder A
stalls, its session ends, B takes the lock with a larger fencing token, and when A wakes
up its late writes are refused by the downstream service, which compares tokens."""

import os
import signal
import sys
import unittest

from cluster import roster_binary
from harness import ExampleTestCase, python_command

PREFIX = "demo/fenced"
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


class FencingExample(ExampleTestCase):

    def holder(self, name, url, server):
        # -lock-delay 0s: the next holder may take the lock as soon as A's session ends,
        # which is when fencing matters most (docs/cli.md).
        command = [roster_binary(), "lock", "-verbose", "-lock-delay", "0s", PREFIX,
                   sys.executable, WORKER, name, url]
        return self.start(name, command, server)

    def test_a_stalled_holders_late_write_is_refused(self):
        cluster = self.start_cluster(3)
        first, second = cluster.servers[0], cluster.servers[1]
        self.wait_for_sessions(first)
        downstream = self.start("downstream", python_command("fencing", "downstream.py", "0"),
                                first)
        port = self.wait_for_output(downstream, r"listening on (\d+)").group(1)
        url = f"http://127.0.0.1:{port}/data"

        a = self.holder("A", url, first)
        token_a = int(self.wait_for_output(downstream, r"accepted A token=(\d+)").group(1))

        # A stalls (a long GC pause, a frozen VM): roster lock, its renewals and the
        # worker all stop. Its session ends meanwhile; an operator destroys it here, a TTL
        # expiry would do the same a little later.
        a.signal_group(signal.SIGSTOP)
        [entry] = second.kv_get(PREFIX + "/.lock").json()
        second.request("PUT", f"/v1/session/destroy/{entry['Session']}")

        b = self.holder("B", url, second)
        token_b = int(self.wait_for_output(downstream, r"accepted B token=(\d+)").group(1))
        self.assertGreater(token_b, token_a)

        # A resumes. Its worker still believes it holds the lock and writes; roster lock
        # finds the lock lost and stops it; its final flush is refused too.
        a.signal_group(signal.SIGCONT)
        self.wait_for_output(downstream, rf"rejected A token={token_a} \(highest seen {token_b}\)")
        self.assertEqual(a.wait(), 1, self.describe_processes())
        self.assertIn("lost", a.output())
        self.assertRegex(a.output(), r"A: final flush answered 409")

        lines = downstream.output().splitlines()
        first_b = next(number for number, line in enumerate(lines) if "accepted B" in line)
        late_a = [line for line in lines[first_b:] if line.startswith("accepted A")]
        self.assertEqual(late_a, [], "the downstream took A's writes after B's")
        self.assertTrue(b.running(), self.describe_processes())


if __name__ == "__main__":
    unittest.main()
