"""Three servers (and one alone): one leader, writes through any server, reads and blocking queries on any
server (consul-api.md §1.4, §2.1, §2.3)."""

import time
import unittest

from cluster import Background, ClusterTestCase, report, wait_for

REPLICATION_TIMEOUT_S = 5.0


class LoneServerTest(ClusterTestCase):

    def test_bootstrap_expect_one_with_a_join_list_naming_itself(self):
        # `roster server -bootstrap-expect 1 -join <its own server address>`: one config
        # shared by every server names each one too. The server must see that the address
        # is its own and found the cluster, not wait for someone to join.
        cluster = self.start_cluster(1)  # waits for it to lead
        server = cluster.servers[0]
        command = server.command
        self.assertIn(["-join", server.address], [command[i:i + 2] for i in range(len(command))])
        configuration = server.request("GET", "/v1/operator/raft/configuration").json()
        self.assertEqual([(entry["Address"], entry["Voter"]) for entry in configuration["Servers"]],
                         [(server.address, True)])
        self.assert_acknowledged(server.kv_put("alone", b"yes"))
        self.assertEqual(server.kv_value("alone"), b"yes")
        wait_for(lambda: "is this server itself" in server.log_text(), REPLICATION_TIMEOUT_S,
                 "the server to log that its -join address is its own")


class KvClusterTest(ClusterTestCase):

    def setUp(self):
        self.cluster = self.start_cluster(3)
        self.leader = self.cluster.wait_for_leader()
        self.followers = self.cluster.followers(self.leader)

    def test_elects_exactly_one_leader(self):
        states = {server.name: server.raft_status()["RaftState"] for server in self.cluster.servers}
        self.assertEqual(sorted(states.values()), ["Follower", "Follower", "Leader"], states)
        self.assertEqual(states[self.leader.name], "Leader")

        configuration = self.leader.request("GET", "/v1/operator/raft/configuration").json()
        self.assertEqual({server["Address"] for server in configuration["Servers"]},
                         {server.address for server in self.cluster.servers})
        self.assertEqual([server["Address"] for server in configuration["Servers"]
                          if server["Leader"]], [self.leader.address])
        self.assertTrue(all(server["Voter"] for server in configuration["Servers"]))

    def test_write_through_a_follower_reaches_every_server(self):
        self.assert_acknowledged(self.followers[0].kv_put("service/web", b"10.0.0.1:80"))
        for server in self.cluster.servers:
            wait_for(lambda: server.kv_value("service/web", stale=None) == b"10.0.0.1:80",
                     REPLICATION_TIMEOUT_S, f"the write to be readable on {server.name}")

    def test_consistent_read_on_a_follower_sees_an_acknowledged_write(self):
        self.assert_reads_see_acknowledged_writes(consistent=None)

    def test_default_read_on_a_follower_sees_an_acknowledged_write(self):
        # A follower's default-mode read takes the leader's commit index without a quorum
        # round (ReadPolicy::kLeaderLease), and must still wait until it has applied it.
        self.assert_reads_see_acknowledged_writes()

    def assert_reads_see_acknowledged_writes(self, **mode):
        # Every ordered pair of servers, several times: write through one, and at once read
        # through the other in `mode`. No polling: the read must already see the write.
        servers = self.cluster.servers
        pairs = [(writer, reader) for writer in servers for reader in servers
                 if writer is not reader]
        for round_number in range(5):
            for writer, reader in pairs:
                value = f"round {round_number} via {writer.name}".encode()
                self.assert_acknowledged(writer.kv_put("register", value))
                self.assertEqual(reader.kv_value("register", **mode), value,
                                 f"{reader.name} missed a write acknowledged by {writer.name}")

    def test_blocking_query_wakes_on_a_write_through_another_server(self):
        watcher, writer = self.followers[0], self.followers[1]
        self.assert_acknowledged(writer.kv_put("watched", b"before"))
        index = self.index_once_replicated(watcher, "watched")
        query = Background(lambda: watcher.kv_get("watched", index=index, wait="20s"))
        self.assert_blocks(query, index)

        written_at = time.monotonic()
        self.assert_acknowledged(writer.kv_put("watched", b"after"))
        acknowledged_at = time.monotonic()
        response = query.result()
        report(f"  blocking query on {watcher.name} woke "
               f"{(query.finished_at - written_at) * 1000:.1f} ms after the write was sent "
               f"through {writer.name}, {(query.finished_at - acknowledged_at) * 1000:.1f} ms "
               f"after it was acknowledged")
        self.assertLess(query.finished_at - written_at, 2.0)
        self.assertEqual(response.status, 200)
        self.assertGreater(response.index, index)
        self.assertEqual(response.json()[0]["Value"], "YWZ0ZXI=")  # base64 of "after"

    def test_blocking_query_ignores_writes_to_other_keys(self):
        watcher, writer = self.followers[0], self.leader
        self.assert_acknowledged(writer.kv_put("watched", b"unchanged"))
        index = self.index_once_replicated(watcher, "watched")
        started_at = time.monotonic()
        query = Background(lambda: watcher.kv_get("watched", index=index, wait="1s"))
        self.assert_blocks(query, index)

        self.assert_acknowledged(writer.kv_put("unrelated", b"noise"))
        wait_for(lambda: watcher.kv_value("unrelated", stale=None) == b"noise",
                 REPLICATION_TIMEOUT_S, "the other write to reach the watcher")
        response = query.result()
        elapsed_s = query.finished_at - started_at
        report(f"  blocking query with wait=1s returned after {elapsed_s * 1000:.0f} ms")
        self.assertGreaterEqual(elapsed_s, 0.95, "woken by a write to another key")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.index, index)
        self.assertEqual(response.json()[0]["Value"], "dW5jaGFuZ2Vk")  # base64 of "unchanged"

    def index_once_replicated(self, server, key):
        """Waits until `server`'s own store has `key`; returns that read's X-Consul-Index."""
        def index():
            response = server.kv_get(key, stale=None)
            return response.index if response.status == 200 else None
        return wait_for(index, REPLICATION_TIMEOUT_S, f"{key} to reach {server.name}")


class TombstoneReapTest(ClusterTestCase):
    """A delete leaves a tombstone so its prefix's X-Consul-Index does not go backwards
    while watchers may be parked on it; the leader reaps it once -tombstone-ttl has passed,
    and the reap replicates like any write (consul-api.md §2.2)."""

    TTL_S = 2.0

    def test_tombstone_lives_the_ttl_then_is_reaped_on_every_server(self):
        cluster = self.start_cluster(3, extra_arguments=("-tombstone-ttl", f"{self.TTL_S:g}s"))
        leader = cluster.wait_for_leader()
        self.assert_acknowledged(leader.kv_put("gone/a", b"x"))
        delete_sent_at = time.monotonic()
        self.assert_acknowledged(leader.kv_delete("gone/a"))
        deleted = leader.kv_get("gone/", recurse=None)
        self.assertEqual(deleted.status, 404)
        self.assert_acknowledged(leader.kv_put("other", b"y"))
        later_index = leader.kv_get("other").index
        self.assertGreater(later_index, deleted.index)
        # The tombstone holds the prefix at the delete's index despite the later write...
        self.assertEqual(leader.kv_get("gone/", recurse=None).index, deleted.index)

        # ...until it is reaped; then the prefix falls back to the table index, everywhere.
        def reaped_on(server):
            return server.kv_get("gone/", recurse=None, stale=None).index >= later_index
        for server in cluster.servers:
            wait_for(lambda: reaped_on(server), self.TTL_S * 3 + 5,
                     f"the tombstone to be reaped on {server.name}")
        reaped_after_s = time.monotonic() - delete_sent_at
        report(f"  tombstone reaped {reaped_after_s:.2f} s after the delete (ttl {self.TTL_S} s)")
        self.assertGreaterEqual(reaped_after_s, self.TTL_S, "reaped before the ttl had passed")


class SequentialKeysTest(ClusterTestCase):
    """`?sequential` (Roster's extension, docs/api.md): keys created at the same time through
    every server are unique, and their names order them as the log does."""

    WRITERS_PER_SERVER = 3
    KEYS_PER_WRITER = 20

    def test_concurrent_sequential_keys_through_every_server_are_unique_and_ordered(self):
        cluster = self.start_cluster(3)
        created = []  # (CreateIndex, Key) as each PUT answered

        def writer(server):
            mine = []
            for _ in range(self.KEYS_PER_WRITER):
                response = server.request("PUT", "/v1/kv/queue/job-", body=b"x",
                                          params={"sequential": None})
                self.assertEqual(response.status, 200, response.describe())
                entry = response.json()
                mine.append((entry["CreateIndex"], entry["Key"]))
            return mine

        writers = [Background(lambda server=server: writer(server))
                   for server in cluster.servers for _ in range(self.WRITERS_PER_SERVER)]
        for background in writers:
            created.extend(background.result(timeout_s=60))

        total = len(cluster.servers) * self.WRITERS_PER_SERVER * self.KEYS_PER_WRITER
        keys = [key for _, key in created]
        self.assertEqual(len(set(keys)), total, "a sequential key was handed out twice")
        for index, key in created:
            self.assertEqual(key, f"queue/job-{index:020d}", "the name is not its index")
        # Listing in key order is listing in creation (log) order, on every server.
        for server in cluster.servers:
            wait_for(lambda: len(server.kv_get("queue/", keys=None, stale=None).json()) == total,
                     REPLICATION_TIMEOUT_S, f"every key on {server.name}")
            listed = server.kv_get("queue/", keys=None, stale=None).json()
            self.assertEqual(listed, [key for _, key in sorted(created)])


if __name__ == "__main__":
    unittest.main()
