"""Servers coming back: the whole cluster after kill -9, and a follower that lost its Raft
log and snapshots and must be brought up to date by InstallSnapshot."""

import re
import time
import unittest

from cluster import ClusterTestCase, WriteLoad, report, wait_for

WRITES_BEFORE_KILL = 300
# Small enough that a few hundred writes compact every log several times.
SNAPSHOT_ARGUMENTS = ("-raft-snapshot-threshold", "50", "-raft-trailing-logs", "10")
KEYS_BEFORE_WIPE = 50
KEYS_WHILE_DOWN = 300
CATCH_UP_TIMEOUT_S = 20.0


class WholeClusterRestartTest(ClusterTestCase):

    def test_every_server_killed_under_write_load(self):
        # Small snapshot settings, so each server restarts from a snapshot plus a log tail
        # (and may be killed in the middle of writing a snapshot).
        cluster = self.start_cluster(3, extra_arguments=SNAPSHOT_ARGUMENTS)
        with WriteLoad(cluster.servers, threads=6) as load:
            wait_for(lambda: len(load.acknowledged()) >= WRITES_BEFORE_KILL, 10.0,
                     f"{WRITES_BEFORE_KILL} acknowledged writes")
            cluster.kill_all()
        writes = load.acknowledged()
        report(f"  {len(writes)} writes acknowledged before every server was killed")
        for server in cluster.servers:
            self.assertTrue(server.snapshot_files(), f"{server.name} never took a snapshot")

        restarted_at = time.monotonic()
        cluster.start()
        leader = cluster.wait_for_leader()
        report(f"  {leader.name} leads {(time.monotonic() - restarted_at) * 1000:.0f} ms "
               "after the restart")
        for server in cluster.servers:
            self.assert_eventually_holds(server, writes, load.prefix)
        self.assert_acknowledged(leader.kv_put("after/restart", b"ok"), "a write after the restart")


class WipedFollowerTest(ClusterTestCase):

    def test_wiped_follower_catches_up_by_snapshot(self):
        cluster = self.start_cluster(3, extra_arguments=SNAPSHOT_ARGUMENTS)
        leader = cluster.wait_for_leader()
        follower = cluster.followers(leader)[0]
        writes = self.write_keys(leader, "before/", KEYS_BEFORE_WIPE)
        self.assert_eventually_holds(follower, writes, "")

        follower.kill()
        follower.wipe_raft_state()
        writes.update(self.write_keys(leader, "while-down/", KEYS_WHILE_DOWN))
        self.assertTrue(leader.snapshot_files(), "the leader never compacted its log")

        follower.start()
        self.assert_eventually_holds(follower, writes, "", timeout_s=CATCH_UP_TIMEOUT_S)
        target_index = leader.raft_status()["LastAppliedIndex"]
        wait_for(lambda: follower.raft_status()["LastAppliedIndex"] >= target_index,
                 CATCH_UP_TIMEOUT_S,
                 lambda: f"{follower.name}'s applied index to reach the leader's "
                         f"{target_index} (it is at {follower.raft_status()['LastAppliedIndex']})")
        self.assert_received_a_snapshot(follower)

    def write_keys(self, server, prefix, count):
        """Writes `count` keys through `server`, each acknowledged; returns them."""
        writes = {f"{prefix}{number:04d}": f"value {number}".encode() for number in range(count)}
        for key, value in writes.items():
            self.assert_acknowledged(server.kv_put(key, value), f"the write of {key}")
        return writes

    def assert_received_a_snapshot(self, follower):
        """A snapshot file the follower did not write itself (it logs "snapshot at index N"
        for each of its own) came from the leader."""
        files = follower.snapshot_files()
        self.assertTrue(files, f"{follower.name}'s snapshots/ is empty: no InstallSnapshot")
        own_indexes = {int(index) for index in
                       re.findall(r"snapshot at index (\d+)", follower.log_text())}
        received = [name for name in files if int(name.split("-")[0]) not in own_indexes]
        report(f"  {follower.name} snapshot files {files}; taken itself at {sorted(own_indexes)}")
        self.assertTrue(received, f"{follower.name} has only snapshots it took itself: {files}")


if __name__ == "__main__":
    unittest.main()
