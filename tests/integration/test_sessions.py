"""Sessions and locks on three real servers (consul-api.md §1.6, §3): a session that stops
renewing loses its locks after TTL x 2 (never before its TTL); renewals through any
server keep it alive; and when the leader is killed (kill -9) while ten clients contend
for one lock, there is never more than one holder (fencing: every successful acquire has
its own, larger LockIndex, and starts after the previous holder let go), and the lock is
held again within TTL x 2 plus an election. A key whose holder's session ended stays in
its lock-delay for `lock` ops inside /v1/txn too: the transaction fails whole with 409
and Consul's error, and goes through once the delay has passed.

Only Consul's API is used (PUT /v1/session/create, /renew, /destroy, GET
/v1/session/info, ?acquire and ?release on KV PUT, /v1/txn), so the tests read as they
would against Consul. The TTL is Consul's 10 s minimum, which makes them slow (about
80 s)."""

import base64
import json
import threading
import time
import unittest

from cluster import (ClusterTestCase, TRANSPORT_ERRORS, is_acknowledged, report,
                     require_status, wait_for)

TTL_S = 10  # Consul's minimum session TTL
TTL_TEXT = f"{TTL_S}s"
ELECTION_S = 5.0  # a new leader takes 0.5-1 s; room for a loaded machine
RENEW_PERIOD_S = TTL_S / 2  # as Consul's RenewPeriodic
LOCK_KEY = "locks/contended"
CLIENTS = 10
HOLD_S = 0.2


def create_session(server, name, ttl=TTL_TEXT, lock_delay="0s"):
    """A new session on `server`'s own node; returns its ID."""
    body = json.dumps({"Name": name, "TTL": ttl, "LockDelay": lock_delay}).encode()
    response = server.request("PUT", "/v1/session/create", body=body)
    require_status(response, 200)
    return response.json()["ID"]


def renew(server, session_id):
    return server.request("PUT", f"/v1/session/renew/{session_id}")


def session_info(server, session_id, **params):
    response = server.request("GET", f"/v1/session/info/{session_id}", params=params)
    require_status(response, 200)
    return response.json() or []


def acquire(server, key, session_id, value=b"held"):
    return is_acknowledged(server.kv_put(key, value, acquire=session_id))


def release(server, key, session_id):
    return is_acknowledged(server.kv_put(key, b"", release=session_id))


def lock_state(server, key, **params):
    """(Session, LockIndex) of `key`, or ("", 0) when it is absent."""
    response = server.kv_get(key, **params)
    if response.status == 404:
        return "", 0
    require_status(response, 200)
    entry = response.json()[0]
    return entry.get("Session") or "", entry["LockIndex"]


class SessionTtlTest(ClusterTestCase):

    def test_renewals_through_any_server_keep_a_session_and_unknown_ones_are_404(self):
        cluster = self.start_cluster(3)
        leader = cluster.wait_for_leader()
        follower = cluster.followers(leader)[0]
        session_id = create_session(follower, "renew-me")
        for server in cluster.servers:
            response = renew(server, session_id)
            require_status(response, 200)
            renewed = response.json()
            self.assertEqual(len(renewed), 1)
            self.assertEqual(renewed[0]["ID"], session_id)
            self.assertEqual(renewed[0]["Node"], follower.name)  # the server's own node
        missing = renew(follower, "00000000-0000-0000-0000-000000000000")
        self.assertEqual(missing.status, 404, missing.describe())
        self.assertIn(b"not found", missing.body)

    def test_a_session_that_stops_renewing_loses_its_locks_after_ttl_x2(self):
        cluster = self.start_cluster(3)
        leader = cluster.wait_for_leader()
        followers = cluster.followers(leader)
        session_id = create_session(followers[0], "forgetful")
        self.assertTrue(acquire(followers[0], "locks/ttl", session_id))

        # Renewed through every server in turn for longer than TTL x 2: it lives on.
        renewals_until = time.monotonic() + 2 * TTL_S + 3
        turn = 0
        while time.monotonic() < renewals_until:
            server = cluster.servers[turn % len(cluster.servers)]
            turn += 1
            last_sent = time.monotonic()
            require_status(renew(server, session_id), 200)
            last_acked = time.monotonic()
            time.sleep(RENEW_PERIOD_S / 2)  # the client's renewal pace
        self.assertEqual(lock_state(leader, "locks/ttl")[0], session_id)

        # Then silence: the leader invalidates it after TTL x 2, never before its TTL.
        wait_for(lambda: lock_state(followers[1], "locks/ttl", stale=None)[0] == "",
                 2 * TTL_S + 5, "the lock of a session that stopped renewing to be released")
        released_after_s = time.monotonic() - last_acked
        report(f"  lock released {released_after_s:.1f} s after the last renewal "
               f"(TTL {TTL_S} s, bound {2 * TTL_S + 1} s)")
        self.assertGreaterEqual(released_after_s, TTL_S)
        self.assertLessEqual(time.monotonic() - last_sent, 2 * TTL_S + 1)
        self.assertEqual(session_info(leader, session_id), [])


def txn(server, ops):
    """PUT /v1/txn with KV ops given as (verb, key, value, session)."""
    body = [{"KV": {"Verb": verb, "Key": key, "Value": base64.b64encode(value).decode(),
                    "Session": session}} for verb, key, value, session in ops]
    return server.request("PUT", "/v1/txn", body=json.dumps(body).encode())


class LockDelayTest(ClusterTestCase):

    def test_a_txn_lock_in_lock_delay_fails_whole_until_the_delay_passes(self):
        cluster = self.start_cluster(3)
        leader = cluster.wait_for_leader()
        follower = cluster.followers(leader)[0]  # the txn is forwarded to the leader
        delay_s = 3
        old = create_session(follower, "old-holder", lock_delay=f"{delay_s}s")
        new = create_session(follower, "new-holder")
        self.assertTrue(acquire(follower, "locks/txn", old))
        destroy_sent = time.monotonic()
        require_status(follower.request("PUT", f"/v1/session/destroy/{old}"), 200)
        self.assertEqual(lock_state(leader, "locks/txn")[0], "")  # released

        ops = [("set", "txn/side-effect", b"1", None), ("lock", "locks/txn", b"mine", new)]
        refused = txn(follower, ops)
        self.assertEqual(refused.status, 409, refused.describe())
        self.assertEqual(refused.json(), {
            "Results": None,
            "Errors": [{"OpIndex": 1,
                        "What": 'failed to lock key "locks/txn" due to lock delay'}]})
        # Nothing of it was applied, not even the set before the delayed lock.
        self.assertEqual(leader.kv_get("txn/side-effect", consistent=None).status, 404)
        self.assertEqual(lock_state(leader, "locks/txn", consistent=None)[0], "")

        wait_for(lambda: txn(follower, ops).status == 200, delay_s + 10,
                 "the transaction to commit once the lock-delay passed")
        after_s = time.monotonic() - destroy_sent
        report(f"  the txn lock went through {after_s:.1f} s after the destroy "
               f"(lock-delay {delay_s} s)")
        self.assertGreaterEqual(after_s, delay_s)
        self.assertEqual(lock_state(leader, "locks/txn", consistent=None)[0], new)
        self.assertEqual(leader.kv_value("txn/side-effect", consistent=None), b"1")


class LockClient:
    """One contender: its own session on its own server, renewed every TTL/2; loops
    acquire, check the fencing token, hold briefly, release. Records every acquire."""

    def __init__(self, number, server, stop):
        self.number = number
        self.server = server
        self.session_id = None
        self.acquires = []  # dicts: lock_index, acquired_at, released_at (None: never)
        self.error = None
        self._stop = stop
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def join(self):
        self._thread.join(timeout=3 * TTL_S)

    def records(self):
        with self._lock:
            return [dict(record) for record in self.acquires]

    def _run(self):
        try:
            self._contend()
        except AssertionError as error:  # handed to the test by LockContentionTest
            self.error = error

    def _contend(self):
        while self.session_id is None and not self._stop.is_set():
            try:
                self.session_id = create_session(self.server, f"client-{self.number}")
            except TRANSPORT_ERRORS + (AssertionError,):
                self._stop.wait(0.1)
        next_renewal = time.monotonic() + RENEW_PERIOD_S
        while not self._stop.is_set():
            if time.monotonic() >= next_renewal:
                self._try(lambda: renew(self.server, self.session_id))
                next_renewal = time.monotonic() + RENEW_PERIOD_S
            acquired = self._try(lambda: acquire(self.server, LOCK_KEY, self.session_id,
                                                 f"client-{self.number}".encode()))
            if acquired:
                self._hold_and_release(time.monotonic())
            self._stop.wait(0.02)  # the contention pace

    def _hold_and_release(self, acquired_at):
        holder, lock_index = self._try(
            lambda: lock_state(self.server, LOCK_KEY, consistent=None)) or ("", 0)
        if holder and holder != self.session_id:
            raise AssertionError(f"client {self.number} acquired {LOCK_KEY}, which "
                                 f"session {holder} holds")
        record = {"lock_index": lock_index, "acquired_at": acquired_at, "released_at": None,
                  "client": self.number}
        with self._lock:
            self.acquires.append(record)
        self._stop.wait(HOLD_S)
        # The client stops counting itself the holder when it first asks to release.
        # It asks until the key is certainly released: an unanswered release may or may
        # not have applied, and re-acquiring a key one still holds keeps its LockIndex.
        released_at = time.monotonic()
        while not self._stop.is_set():
            if self._try(lambda: release(self.server, LOCK_KEY, self.session_id)):
                break
            state = self._try(lambda: lock_state(self.server, LOCK_KEY, consistent=None))
            if state is not None and state[0] != self.session_id:
                break
            self._stop.wait(0.1)
        else:
            return  # stopped while holding: never released as far as it knows
        with self._lock:
            record["released_at"] = released_at

    @staticmethod
    def _try(request):
        """The request's value, or None when the server is down or answered an error."""
        try:
            return request()
        except TRANSPORT_ERRORS:
            return None
        except AssertionError:  # a 5xx while there is no leader
            return None


class LockContentionTest(ClusterTestCase):

    def test_leader_killed_while_ten_clients_contend_for_a_lock(self):
        cluster = self.start_cluster(3)
        leader = cluster.wait_for_leader()
        stop = threading.Event()
        clients = [LockClient(number, cluster.servers[number % 3], stop)
                   for number in range(CLIENTS)]
        for client in clients:
            client.start()
        try:
            wait_for(lambda: sum(len(client.records()) for client in clients) >= 20, 30.0,
                     "20 acquisitions before the kill")
            # Kill while a client of the leader holds the lock, if that happens within a
            # while: it cannot release, so the lock comes back only through its TTL.
            leader_sessions = {client.session_id for client in clients
                               if client.server is leader and client.session_id}
            try:
                wait_for(lambda: lock_state(leader, LOCK_KEY)[0] in leader_sessions, 10.0,
                         "a client of the leader to hold the lock")
            except AssertionError:
                report("  no client of the leader held the lock in 10 s; killing anyway")
            holder_at_kill = lock_state(leader, LOCK_KEY)[0]
            killed_at = time.monotonic()
            leader.kill()
            stranded = holder_at_kill in leader_sessions
            new_leader = cluster.wait_for_leader(timeout_s=ELECTION_S + 5)

            bound_s = 2 * TTL_S + ELECTION_S
            first = wait_for(lambda: self.first_acquire_after(clients, killed_at),
                             bound_s + 5, "the lock to be acquired again after the kill")
            regained_s = first["acquired_at"] - killed_at
            report(f"  killed leader {leader.name} while "
                   f"{'its own client' if stranded else 'another client'} held the lock; "
                   f"new leader {new_leader.name}; lock held again {regained_s:.1f} s later "
                   f"(bound {bound_s:.0f} s)")
            self.assertLessEqual(regained_s, bound_s)
            wait_for(lambda: self.first_acquire_after(clients, first["acquired_at"]), 30.0,
                     "contention to carry on after the failover")
        finally:
            stop.set()
            for client in clients:
                client.join()
        for client in clients:
            if client.error is not None:
                raise client.error
        self.assert_one_holder_at_a_time(clients)

    @staticmethod
    def first_acquire_after(clients, moment):
        later = [record for client in clients for record in client.records()
                 if record["acquired_at"] > moment and record["lock_index"] > 0]
        return min(later, key=lambda record: record["acquired_at"]) if later else None

    def assert_one_holder_at_a_time(self, clients):
        records = [record for client in clients for record in client.records()
                   if record["lock_index"] > 0]
        by_index = sorted(records, key=lambda record: record["lock_index"])
        indexes = [record["lock_index"] for record in by_index]
        self.assertEqual(len(indexes), len(set(indexes)),
                         "two acquisitions share a LockIndex (fencing token)")
        # In fencing order, each holder got the lock after the previous one let go (as
        # far as the previous one knew: a stranded holder never let go).
        for previous, current in zip(by_index, by_index[1:]):
            if previous["released_at"] is None:
                continue
            self.assertLess(previous["released_at"], current["acquired_at"],
                            f"client {current['client']} held the lock (LockIndex "
                            f"{current['lock_index']}) before client {previous['client']} "
                            f"released it (LockIndex {previous['lock_index']})")
        report(f"  {len(records)} acquisitions, LockIndex {indexes[0]}..{indexes[-1]}, "
               f"never two holders")


if __name__ == "__main__":
    unittest.main()
