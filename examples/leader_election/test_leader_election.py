"""Example 1, leader election with `roster elect` (examples/README.md, section 1):
candidates queue on ephemeral-sequential keys; each waits only on the key before its
own; the next one leads when the leader is killed (its session expires) or stops (its
session ends)."""

import os
import re
import signal
import time
import unittest

from cluster import roster_binary
from harness import ExampleTestCase, report

SERVICE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "service.sh")
PREFIX = "demo/leader"
TTL_S = 10  # the shortest session TTL a server accepts: a killed leader is replaced sooner


class LeaderElectionExample(ExampleTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.start_dev_server()
        self.wait_for_sessions(self.server)

    def candidate(self, name):
        command = [roster_binary(), "elect", "-verbose", "-ttl", f"{TTL_S}s", "-name", name,
                   PREFIX, "sh", SERVICE, name]
        return self.start(name, command, self.server)

    def leads(self, candidate, timeout_s=20.0):
        """The fencing token `candidate` got when it started leading."""
        pattern = rf"{candidate.name} leads \(fencing token (\d+)"
        return int(self.wait_for_output(candidate, pattern, timeout_s).group(1))

    def test_the_next_candidate_leads_when_the_leader_dies_or_stops(self):
        alice = self.candidate("alice")
        alice_token = self.leads(alice)
        bob = self.candidate("bob")
        bob_key = self.wait_for_output(bob, r"candidate (\S+)").group(1)
        carol = self.candidate("carol")
        # No herd: carol waits on bob's key, not on the leader's.
        self.wait_for_output(carol, r"waits for " + re.escape(bob_key))
        self.assert_quiet(bob, r"bob leads", for_s=1.0)

        # A crash: kill -9 of alice's `roster elect`. Its child dies with it (SIGTERM), and
        # bob leads once the server expires alice's session (TTL, at most 2 x TTL).
        killed_at = time.monotonic()
        alice.process.kill()
        self.wait_for_output(alice, r"alice steps down", timeout_s=5.0)
        bob_token = self.leads(bob, timeout_s=2 * TTL_S + 10)
        report(f"  bob leads {time.monotonic() - killed_at:.1f} s after alice was killed")
        self.assertGreater(bob_token, alice_token)
        self.assertNotIn("carol leads", carol.output())

        # A clean stop: SIGTERM to bob's `roster elect` reaches the service, which exits 0;
        # bob's session is destroyed, so carol leads at once.
        stopped_at = time.monotonic()
        bob.process.send_signal(signal.SIGTERM)
        self.assertEqual(bob.wait(), 0, self.describe_processes())
        self.assertIn("bob steps down", bob.output())
        carol_token = self.leads(carol, timeout_s=5.0)
        report(f"  carol leads {time.monotonic() - stopped_at:.2f} s after bob was stopped")
        self.assertGreater(carol_token, bob_token)


if __name__ == "__main__":
    unittest.main()
