"""Node liveness on three real servers (docs/api.md, "Node liveness"; consul-api.md §4.1
"serfHealth"): a Python stand-in for an agent heartbeats node h1 every 0.5 s through
PUT /v1/internal/node/heartbeat, and the leader drives h1's serfHealth check from that:

- h1 appears on every server with serfHealth passing; a session on h1 holds a KV lock;
- heartbeats stop: within the failure timeout + 2 s serfHealth is critical everywhere and
  the lock is free; they resume: passing again; they stop again: after the reconnect
  timeout h1 is gone from the catalog;
- a second node leaves gracefully: gone at once, and members lists it with Status 3;
- the leader is killed (kill -9) while h1 heartbeats through a follower: h1 never turns
  critical because leadership moved, while the dead server's own node does;
- a heartbeat without Node is a 400 and registers nothing.

The servers run with -failure-timeout 2s -reconnect-timeout 5s, so the whole file takes
about 40 s."""

import json
import threading
import time
import unittest

from cluster import ClusterTestCase, TRANSPORT_ERRORS, report, require_status, wait_for

FAILURE_TIMEOUT_S = 2
RECONNECT_TIMEOUT_S = 5
ARGUMENTS = ("-failure-timeout", f"{FAILURE_TIMEOUT_S}s",
             "-reconnect-timeout", f"{RECONNECT_TIMEOUT_S}s")
HEARTBEAT_PERIOD_S = 0.5
DETECTION_SLACK_S = 2  # the goal: critical everywhere within the failure timeout + 2 s
REGISTRATION_TIMEOUT_S = 5.0
ELECTION_S = 5.0
LOCK_KEY = "locks/h1"


def heartbeat(server, node, address):
    body = json.dumps({"Node": node, "Address": address, "Meta": {"agent": "python"}})
    return server.request("PUT", "/v1/internal/node/heartbeat", body=body.encode())


class Heartbeater:
    """A stand-in for an agent: heartbeats `node` every 0.5 s to `target` (which a test
    may change) on a thread, until paused or stopped. Counts answers that were not 200."""

    def __init__(self, node, target, address="10.0.0.5"):
        self.node = node
        self.address = address
        self.target = target
        self.failures = []
        self._running = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self.resume()
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._running.set()
        self._thread.join()

    def pause(self):
        self._running.clear()

    def resume(self):
        self._running.set()

    def _loop(self):
        while not self._stop.is_set():
            self._running.wait()
            if self._stop.is_set():
                return
            target = self.target
            try:
                response = heartbeat(target, self.node, self.address)
                if response.status != 200:
                    self.failures.append((target.name, response.describe()))
            except TRANSPORT_ERRORS as error:
                self.failures.append((target.name, repr(error)))
            self._stop.wait(HEARTBEAT_PERIOD_S)


class LivenessTest(ClusterTestCase):

    def setUp(self):
        self.cluster = self.start_cluster(3, extra_arguments=ARGUMENTS)
        self.leader = self.cluster.wait_for_leader()
        self.followers = self.cluster.followers(self.leader)

    def serf_health(self, server, node):
        """The node's serfHealth check as `server`'s own replica has it, or None."""
        response = server.request("GET", f"/v1/health/node/{node}", params={"stale": None})
        require_status(response, 200)
        checks = [check for check in response.json() if check["CheckID"] == "serfHealth"]
        return checks[0] if checks else None

    def serf_status(self, server, node):
        check = self.serf_health(server, node)
        return check["Status"] if check else None

    def wait_everywhere(self, node, status, timeout_s, servers=None):
        for server in servers or self.cluster.servers:
            wait_for(lambda: self.serf_status(server, node) == status, timeout_s,
                     lambda: f"serfHealth of {node} {status} on {server.name} "
                             f"(it is {self.serf_status(server, node)})")

    def node_names(self, server, **params):
        response = server.request("GET", "/v1/catalog/nodes", params=params)
        require_status(response, 200)
        return {node["Node"] for node in response.json()}

    def members(self, server):
        response = server.request("GET", "/v1/internal/members")
        require_status(response, 200)
        return {member["Name"]: member for member in response.json()}

    def test_a_silent_node_fails_releases_its_lock_recovers_and_is_reaped(self):
        with Heartbeater("h1", self.followers[0]) as agent:
            self.wait_everywhere("h1", "passing", REGISTRATION_TIMEOUT_S)
            for server in self.cluster.servers:
                self.assertIn("h1", self.node_names(server, stale=None), server.name)
            check = self.serf_health(self.leader, "h1")
            self.assertEqual((check["Name"], check["Output"]),
                             ("Serf Health Status", "Agent alive and reachable"))
            created = self.leader.request("PUT", "/v1/session/create",
                                          body=json.dumps({"Node": "h1", "LockDelay": "0s"}).encode())
            require_status(created, 200)
            session = created.json()["ID"]
            acquired = self.leader.kv_put(LOCK_KEY, b"mine", acquire=session)
            self.assertEqual(acquired.body, b"true")

            agent.pause()
            stopped_at = time.monotonic()
            self.wait_everywhere("h1", "critical", FAILURE_TIMEOUT_S + DETECTION_SLACK_S)
            detected_s = time.monotonic() - stopped_at
            self.assertEqual(self.serf_health(self.leader, "h1")["Output"],
                             "Agent not live or unreachable")
            entry = self.leader.kv_get(LOCK_KEY).json()[0]
            self.assertNotIn("Session", entry, "the lock of a failed node's session is released")
            info = self.leader.request("GET", f"/v1/session/info/{session}").json()
            self.assertFalse(info, "the session bound to serfHealth is invalidated")
            report(f"h1 critical on every server {detected_s:.2f} s after its heartbeats stopped")

            agent.resume()
            self.wait_everywhere("h1", "passing", REGISTRATION_TIMEOUT_S)

            agent.pause()
            for server in self.cluster.servers:
                wait_for(lambda: "h1" not in self.node_names(server, stale=None),
                         FAILURE_TIMEOUT_S + RECONNECT_TIMEOUT_S + DETECTION_SLACK_S,
                         f"h1 reaped from the catalog on {server.name}")
            self.assertEqual(agent.failures, [])

    def test_a_graceful_leave_deregisters_at_once_and_members_shows_it_left(self):
        with Heartbeater("h2", self.followers[0], address="10.0.0.6") as agent:
            self.wait_everywhere("h2", "passing", REGISTRATION_TIMEOUT_S)
            self.assertEqual(self.members(self.leader)["h2"]["Status"], 1)
            agent.pause()
            left = self.followers[1].request("PUT", "/v1/internal/node/leave",
                                             body=b'{"Node": "h2"}')
            self.assertEqual((left.status, left.body), (200, b"true"))
            # Acknowledged means committed: the leader's view has it gone already.
            self.assertNotIn("h2", self.node_names(self.leader))
            for server in self.cluster.servers:
                wait_for(lambda: "h2" not in self.node_names(server, stale=None), 2.0,
                         f"h2 gone on {server.name}")
            member = self.members(self.leader)["h2"]
            self.assertEqual((member["Status"], member["Addr"]), (3, "10.0.0.6"))
            self.assertEqual(member["Tags"]["role"], "node")
            servers = [m for m in self.members(self.leader).values() if m["Tags"]["role"] == "consul"]
            self.assertEqual(len(servers), 3)
            self.assertTrue(all(m["Status"] == 1 for m in servers))
            self.assertIsNone(self.serf_health(self.leader, "h2"))

    def test_a_new_leader_never_fails_a_heartbeating_node(self):
        target = self.followers[0]
        with Heartbeater("h1", target) as agent:
            self.wait_everywhere("h1", "passing", REGISTRATION_TIMEOUT_S)
            before = self.serf_health(target, "h1")["ModifyIndex"]
            dead = self.leader
            dead.kill()
            survivors = [server for server in self.cluster.servers if server is not dead]
            new_leader = self.cluster.wait_for_leader(ELECTION_S)
            self.assertIsNot(new_leader, dead)
            # Long enough for any timer the old leader or the new one held to run out.
            watch_until = time.monotonic() + 2 * FAILURE_TIMEOUT_S + DETECTION_SLACK_S
            while time.monotonic() < watch_until:
                for server in survivors:
                    self.assertEqual(self.serf_status(server, "h1"), "passing", server.name)
                time.sleep(0.1)  # sampling period of an invariant, not a synchronisation
            # Not even a brief flip: the check's ModifyIndex did not move.
            self.assertEqual(self.serf_health(new_leader, "h1")["ModifyIndex"], before)
            # The killed server's own node, though, stops heartbeating and fails.
            self.wait_everywhere(dead.name, "critical", FAILURE_TIMEOUT_S + DETECTION_SLACK_S,
                                 servers=survivors)
            self.assertEqual(self.members(new_leader)[dead.name]["Status"], 4)
            self.assertEqual(agent.failures, [])

    def test_a_heartbeat_without_node_is_refused_and_registers_nothing(self):
        before = self.node_names(self.leader)
        for server in self.cluster.servers:
            response = server.request("PUT", "/v1/internal/node/heartbeat",
                                      body=b'{"Address": "10.0.0.9"}')
            self.assertEqual((response.status, response.body), (400, b"Missing node name"))
            response = server.request("PUT", "/v1/internal/node/heartbeat", body=b'{"Node": ')
            self.assertEqual(response.status, 400)
            self.assertTrue(response.body.startswith(b"Request decode failed: "))
        self.assertEqual(self.node_names(self.leader), before)


if __name__ == "__main__":
    unittest.main()
