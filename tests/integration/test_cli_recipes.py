"""`roster lock`, `roster elect`, `roster watch` against real servers (docs/cli.md): a
semaphore admits N holders, -timeout gives up, exit codes and signals pass through, the
key and session are cleaned up, a holder cut off from the cluster stops its child before
anyone else can take the lock, a candidate whose session is destroyed stops its command
and campaigns again with a new session (or exits, with -once), and a watch runs its
handler once per change. (Elections with crashes and the lock with fencing are exercised
by the examples' tests, examples/*/test_*.py.)"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from cluster import ClusterTestCase, report, roster_binary, wait_for

TTL_S = 10


def accepts_sessions(server):
    """Creates and destroys a session: true once the server's node is in the catalog."""
    response = server.request("PUT", "/v1/session/create", body=b"{}")
    if response.status != 200:
        return False
    server.request("PUT", f"/v1/session/destroy/{response.json()['ID']}")
    return True


class Cli:
    """One roster CLI process; stdout and stderr in one file."""

    def __init__(self, test, server, *args):
        self.log = tempfile.NamedTemporaryFile(prefix="roster-cli-", delete=False)
        env = dict(os.environ, ROSTER_HTTP_ADDR=f"127.0.0.1:{server.http_port}")
        self.process = subprocess.Popen([roster_binary()] + list(args), stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=env)
        test.addCleanup(self.close)

    def output(self):
        with open(self.log.name, "rb") as log:
            return log.read().decode(errors="replace")

    def wait(self, timeout_s=20):
        return self.process.wait(timeout=timeout_s)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


class CliRecipesTest(ClusterTestCase):

    def setUp(self):
        self.temp_dir = tempfile.mkdtemp(prefix="roster-cli-test-")
        self.addCleanup(shutil.rmtree, self.temp_dir, True)

    def path(self, name):
        return os.path.join(self.temp_dir, name)

    def dev_server(self):
        server = self.start_dev_server()
        wait_for(lambda: accepts_sessions(server), 20, "the server to accept sessions")
        return server

    def lines(self, name):
        try:
            with open(self.path(name)) as file:
                return file.read().splitlines()
        except FileNotFoundError:
            return []

    def test_semaphore_admits_n_holders_at_a_time(self):
        server = self.dev_server()
        record = self.path("record")
        command = (f'echo "start $(date +%s.%N)" >> {record}; sleep 1; '
                   f'echo "end $(date +%s.%N)" >> {record}')
        holders = [Cli(self, server, "lock", "-n", "2", "demo/pool", command) for _ in range(3)]
        for holder in holders:
            self.assertEqual(holder.wait(), 0, holder.output())
        events = sorted((float(stamp), kind) for kind, stamp in
                        (line.split() for line in self.lines("record")))
        running, most = 0, 0
        for _, kind in events:
            running += 1 if kind == "start" else -1
            most = max(most, running)
        self.assertEqual(len(events), 6, events)
        self.assertEqual(most, 2, f"holders at once: {events}")
        self.assertEqual(server.kv_entries("demo/pool/"), {}, "the semaphore cleaned up")

    def test_a_different_n_is_a_conflict(self):
        server = self.dev_server()
        holder = Cli(self, server, "lock", "-n", "2", "demo/pool",
                     f"touch {self.path('held')}; sleep 30")
        wait_for(lambda: os.path.exists(self.path("held")), 20, "the first holder to run")
        other = Cli(self, server, "lock", "-n", "3", "demo/pool", "true")
        self.assertEqual(other.wait(), 1)
        self.assertIn("semaphore limit conflict", other.output())
        self.assertIsNone(holder.process.poll())

    def test_timeout_gives_up_and_never_runs_the_command(self):
        server = self.dev_server()
        Cli(self, server, "lock", "demo/lock", f"touch {self.path('held')}; sleep 30")
        wait_for(lambda: os.path.exists(self.path("held")), 20, "the holder to run")
        started = time.monotonic()
        waiter = Cli(self, server, "lock", "-timeout", "1s", "demo/lock",
                     f"touch {self.path('ran')}")
        self.assertEqual(waiter.wait(), 1, waiter.output())
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn("timed out after 1s", waiter.output())
        self.assertFalse(os.path.exists(self.path("ran")))

    def test_exit_code_passes_through_and_everything_is_cleaned_up(self):
        server = self.dev_server()
        lock = Cli(self, server, "lock", "demo/lock",
                   'test "$ROSTER_LOCK_HELD $CONSUL_LOCK_HELD" = "true true" && '
                   'test "$ROSTER_FENCING_TOKEN" -gt 0 && exit 7')
        self.assertEqual(lock.wait(), 7, lock.output())
        self.assertEqual(server.kv_entries("demo/"), {})
        self.assertEqual(server.request("GET", "/v1/session/list").json(), [])

    def test_sigterm_is_forwarded_and_the_lock_released(self):
        server = self.dev_server()
        holder = Cli(self, server, "lock", "demo/lock",
                     f"trap 'exit 3' TERM; touch {self.path('held')}; while :; do sleep 0.05; done")
        wait_for(lambda: os.path.exists(self.path("held")), 20, "the holder to run")
        holder.process.send_signal(signal.SIGTERM)
        self.assertEqual(holder.wait(), 3, holder.output())
        next_holder = Cli(self, server, "lock", "-timeout", "5s", "demo/lock", "true")
        self.assertEqual(next_holder.wait(), 0, next_holder.output())

    def test_a_holder_cut_off_from_the_cluster_stops_before_another_takes_the_lock(self):
        cluster = self.start_cluster(3)
        leader = cluster.wait_for_leader()
        follower = cluster.followers(leader)[0]
        wait_for(lambda: accepts_sessions(leader), 20, "the cluster to accept sessions")
        stopped = self.path("stopped")
        holder = Cli(self, follower, "lock", "-ttl", f"{TTL_S}s", "-lock-delay", "0s", "demo/lock",
                     f"trap 'date +%s.%N > {stopped}; exit 0' TERM; touch {self.path('held')}; "
                     "while :; do sleep 0.05; done")
        wait_for(lambda: os.path.exists(self.path("held")), 20, "the holder to run")

        follower.pause()  # the holder's server stalls: renewals and reads hang
        paused_at = time.monotonic()
        taken = self.path("taken")
        rival = Cli(self, leader, "lock", "demo/lock", f"date +%s.%N > {taken}")
        self.assertEqual(rival.wait(timeout_s=3 * TTL_S + 10), 0, rival.output())
        report(f"  the rival took the lock {time.monotonic() - paused_at:.1f} s after the stall")
        self.assertTrue(os.path.exists(stopped), "the holder's child was never stopped: "
                                                 + holder.output())
        with open(stopped) as file_stopped, open(taken) as file_taken:
            stopped_at, taken_at = float(file_stopped.read()), float(file_taken.read())
        report(f"  the holder stopped its child {taken_at - stopped_at:.1f} s before that")
        self.assertLess(stopped_at, taken_at)
        self.assertEqual(holder.wait(), 1, holder.output())
        self.assertRegex(holder.output(), r"could not renew|lost")

    def candidate(self, server, name, *flags):
        """`roster elect` whose command records each term in the file "terms"."""
        terms = self.path("terms")
        command = (f'trap \'echo "{name} stops" >> {terms}; exit 0\' TERM; '
                   f'echo "{name} leads $ROSTER_FENCING_TOKEN $ROSTER_SESSION" >> {terms}; '
                   'while :; do sleep 0.05; done')
        return Cli(self, server, "elect", "-verbose", *flags, "-name", name, "demo/elect",
                   command)

    def terms(self, name):
        """(fencing token, session) of each time `name` started leading, in order."""
        return [(int(words[2]), words[3]) for words in map(str.split, self.lines("terms"))
                if words[:2] == [name, "leads"]]

    def election_keys(self, server):
        """{key: session} under demo/elect/."""
        response = server.kv_get("demo/elect/", recurse=None)
        if response.status == 404:
            return {}
        return {entry["Key"]: entry.get("Session") for entry in response.json()}

    def test_elect_campaigns_again_with_a_new_session_after_losing_its_own(self):
        server = self.dev_server()
        alice = self.candidate(server, "alice")
        wait_for(lambda: self.terms("alice"), 20, "alice to lead")
        bob = self.candidate(server, "bob")
        wait_for(lambda: len(self.election_keys(server)) == 2, 20, "bob to queue")
        [(first_token, first_session)] = self.terms("alice")

        # Alice's session ends from outside: her command stops, bob leads, and alice
        # queues again behind bob with a new session and key.
        response = server.request("PUT", f"/v1/session/destroy/{first_session}")
        self.assertEqual(response.status, 200, response.describe())
        wait_for(lambda: "alice stops" in self.lines("terms"), 20, "alice's command to stop")
        wait_for(lambda: self.terms("bob"), 20, "bob to lead")
        [(bob_token, bob_session)] = self.terms("bob")
        self.assertGreater(bob_token, first_token)

        def alice_requeued():
            sessions = set(self.election_keys(server).values())
            return len(sessions) == 2 and bob_session in sessions and first_session not in sessions
        wait_for(alice_requeued, 20, lambda: "alice to queue again: " + alice.output())
        self.assertIsNone(alice.process.poll(), alice.output())
        self.assertIn("campaigning again with a new session", alice.output())
        self.assertEqual(self.terms("alice"), [(first_token, first_session)])  # not leading

        # Bob steps down: alice leads again, with the new session and a larger token.
        bob.process.send_signal(signal.SIGTERM)
        self.assertEqual(bob.wait(), 0, bob.output())
        wait_for(lambda: len(self.terms("alice")) == 2, 20,
                 lambda: "alice to lead again: " + alice.output())
        second_token, second_session = self.terms("alice")[1]
        self.assertGreater(second_token, bob_token)
        self.assertNotIn(second_session, (first_session, bob_session))
        self.assertEqual(list(self.election_keys(server).values()), [second_session])

        alice.process.send_signal(signal.SIGTERM)
        self.assertEqual(alice.wait(), 0, alice.output())
        self.assertEqual(self.election_keys(server), {})
        self.assertEqual(server.request("GET", "/v1/session/list").json(), [])

    def test_elect_once_exits_when_its_session_is_lost(self):
        server = self.dev_server()
        alice = self.candidate(server, "alice", "-once")
        wait_for(lambda: self.terms("alice"), 20, "alice to lead")
        [(_, session)] = self.terms("alice")
        response = server.request("PUT", f"/v1/session/destroy/{session}")
        self.assertEqual(response.status, 200, response.describe())
        self.assertEqual(alice.wait(), 1, alice.output())
        self.assertIn("alice stops", self.lines("terms"))
        self.assertNotIn("campaigning again", alice.output())
        self.assertEqual(self.election_keys(server), {})
        self.assertEqual(server.request("GET", "/v1/session/list").json(), [])

    def test_watch_runs_the_handler_once_per_change(self):
        server = self.dev_server()
        seen = self.path("seen")
        watch = Cli(self, server, "watch", "-type", "key", "-key", "config/a",
                    f'(cat; echo "index $ROSTER_INDEX") >> {seen}')

        def runs():
            return [json.loads(line) for line in self.lines("seen") if not line.startswith("index")]
        wait_for(lambda: len(runs()) == 1, 20, "the first handler run")
        self.assertIsNone(runs()[0])  # absent key: null
        self.assert_acknowledged(server.kv_put("config/a", b"one"))
        wait_for(lambda: len(runs()) == 2, 10, "a run for the write")
        self.assert_acknowledged(server.kv_put("config/other", b"x"))  # not the watched key
        self.assert_acknowledged(server.kv_put("config/a", b"one"))  # changes nothing
        self.assert_acknowledged(server.kv_delete("config/a"))
        wait_for(lambda: len(runs()) == 3, 10, "a run for the delete")
        first, written, deleted = runs()
        self.assertEqual(written["Key"], "config/a")
        self.assertEqual(written["Value"], "b25l")  # base64 of "one"
        self.assertIsNone(deleted)
        indexes = [int(line.split()[1]) for line in self.lines("seen") if line.startswith("index")]
        self.assertEqual(indexes, sorted(indexes))
        self.assertIsNone(watch.process.poll())


if __name__ == "__main__":
    unittest.main()
