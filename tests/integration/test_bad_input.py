"""Bad requests to a live three-server cluster: each gets its 4xx, and none of them
changes anything (consul-api.md §0, §1.4, §2.1, §2.3)."""

import unittest

from cluster import ClusterTestCase

VALUE_BYTES_MAX = 512 * 1024  # kv_max_value_size


class BadInputTest(ClusterTestCase):

    def setUp(self):
        cluster = self.start_cluster(3)
        self.leader = cluster.wait_for_leader()
        self.follower = cluster.followers(self.leader)[0]
        self.assert_acknowledged(self.leader.kv_put("existing", b"original"))
        self.state_before = self.cluster_state()

    def tearDown(self):
        self.assertEqual(self.cluster_state(), self.state_before, "a bad request changed state")

    def cluster_state(self):
        """What any applied write would change: every entry, the store's index, and the
        leader's Raft commit index (a rejected command that still went through Raft)."""
        listing = self.leader.kv_get("", recurse=None, consistent=None)
        return {"entries": listing.json(), "index": listing.index,
                "commit_index": self.leader.raft_status()["CommitIndex"]}

    def test_oversized_value_is_413_and_not_written(self):
        for server in (self.leader, self.follower):
            response = server.kv_put("big", b"x" * (VALUE_BYTES_MAX + 1))
            self.assertEqual(response.status, 413, response.describe())
            response = server.kv_put("existing", b"y" * (VALUE_BYTES_MAX + 1))
            self.assertEqual(response.status, 413, response.describe())
        self.assertEqual(self.leader.kv_get("big").status, 404)
        self.assertEqual(self.follower.kv_value("existing", consistent=None), b"original")

    def test_bad_index_or_wait_is_400(self):
        for params in ({"index": "abc"}, {"index": "-1"}, {"index": "1", "wait": "30"}):
            for server in (self.leader, self.follower):
                response = server.kv_get("existing", **params)
                self.assertEqual(response.status, 400, f"{params}: {response.describe()}")

    def test_stale_with_consistent_is_400(self):
        response = self.follower.kv_get("existing", stale=None, consistent=None)
        self.assertEqual(response.status, 400, response.describe())
        self.assertIn(b"Cannot specify ?stale with ?consistent", response.body)

    def test_wrong_method_is_405(self):
        for method in ("POST", "PATCH"):
            response = self.follower.request(method, "/v1/kv/existing", body=b"changed")
            self.assertEqual(response.status, 405, f"{method}: {response.describe()}")
            self.assertIn("PUT", response.headers.get("Allow", ""))
        response = self.follower.request("PUT", "/v1/status/leader", body=b"")
        self.assertEqual(response.status, 405, response.describe())

    def test_bad_write_parameters_are_400_and_apply_nothing(self):
        for params in ({"cas": "abc"}, {"flags": "-1"}, {"cas": "0", "acquire": "x"}):
            for server in (self.leader, self.follower):
                response = server.kv_put("existing", b"changed", **params)
                self.assertEqual(response.status, 400, f"{params}: {response.describe()}")
        response = self.follower.kv_delete("existing", recurse=None, cas="1")
        self.assertEqual(response.status, 400, response.describe())
        response = self.follower.kv_put("", b"no key")
        self.assertEqual(response.status, 400, response.describe())


if __name__ == "__main__":
    unittest.main()
