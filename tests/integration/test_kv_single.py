"""The KV API round trips on one server (`roster dev`): consul-api.md §1.4 and §2.1."""

import time
import unittest

from cluster import Background, ClusterTestCase, report

VALUE_BYTES_MAX = 512 * 1024  # kv_max_value_size

class KvSingleServerTest(ClusterTestCase):

    def setUp(self):
        self.server = self.start_dev_server()

    def test_put_get_delete_round_trip(self):
        self.assert_acknowledged(self.server.kv_put("web/config", b"hello", flags=42))
        response = self.server.kv_get("web/config")
        self.assertEqual(response.status, 200)
        [entry] = response.json()  # a list even for one key
        self.assertEqual(entry["Key"], "web/config")
        self.assertEqual(entry["Value"], "aGVsbG8=")  # base64 of "hello"
        self.assertEqual(entry["Flags"], 42)
        self.assertEqual(entry["CreateIndex"], entry["ModifyIndex"])
        self.assertEqual(response.index, entry["ModifyIndex"])
        self.assertEqual(self.server.kv_get("web/config", raw=None).body, b"hello")

        self.assert_acknowledged(self.server.kv_delete("web/config"))
        self.assertEqual(self.server.kv_get("web/config").status, 404)

    def test_missing_key_is_404_with_an_index(self):
        self.assert_acknowledged(self.server.kv_put("present", b"x"))
        response = self.server.kv_get("absent")
        self.assertEqual(response.status, 404)
        self.assertEqual(response.body, b"")
        self.assertIsNotNone(response.index, "a 404 must carry X-Consul-Index")
        self.assertGreaterEqual(response.index, 1)
        self.assertEqual(response.headers.get("X-Consul-KnownLeader"), "true")

    def test_check_and_set(self):
        server = self.server
        self.assertEqual(server.kv_put("lock", b"first", cas=0).json(), True)  # create
        self.assertEqual(server.kv_put("lock", b"second", cas=0).json(), False)  # exists
        modify_index = server.kv_get("lock").json()[0]["ModifyIndex"]
        self.assertEqual(server.kv_put("lock", b"stale", cas=modify_index + 100).json(), False)
        self.assertEqual(server.kv_value("lock"), b"first")
        self.assertEqual(server.kv_put("lock", b"third", cas=modify_index).json(), True)
        self.assertEqual(server.kv_value("lock"), b"third")

        modify_index = server.kv_get("lock").json()[0]["ModifyIndex"]
        self.assertEqual(server.kv_delete("lock", cas=modify_index - 1).json(), False)
        self.assertEqual(server.kv_value("lock"), b"third")
        self.assertEqual(server.kv_delete("lock", cas=modify_index).json(), True)
        self.assertIsNone(server.kv_value("lock"))

    def test_recurse_keys_and_delete_tree(self):
        for key in ("app/a", "app/b", "app/sub/c", "apple", "other/d"):
            self.assert_acknowledged(self.server.kv_put(key, key.encode()))
        self.assertEqual(self.server.kv_entries("app/"),
                         {"app/a": b"app/a", "app/b": b"app/b", "app/sub/c": b"app/sub/c"})
        self.assertEqual(self.server.kv_get("app", keys=None).json(),
                         ["app/a", "app/b", "app/sub/c", "apple"])
        self.assertEqual(self.server.kv_get("app/", keys=None, separator="/").json(),
                         ["app/a", "app/b", "app/sub/"])
        self.assertEqual(self.server.kv_get("nothing/", recurse=None).status, 404)

        self.assert_acknowledged(self.server.kv_delete("app/", recurse=None))
        self.assertEqual(self.server.kv_get("", keys=None).json(), ["apple", "other/d"])

    def test_value_of_exactly_the_size_limit_round_trips(self):
        value = bytes(range(256)) * (VALUE_BYTES_MAX // 256)  # every byte value, 512 KiB
        self.assert_acknowledged(self.server.kv_put("large", value))
        self.assertEqual(self.server.kv_get("large", raw=None).body, value)
        self.assertEqual(self.server.kv_put("large", value + b"!").status, 413)
        self.assertEqual(self.server.kv_get("large", raw=None).body, value)

    def test_blocking_query_returns_soon_after_a_write_to_its_key(self):
        self.assert_acknowledged(self.server.kv_put("watched", b"before"))
        index = self.server.kv_get("watched").index
        query = Background(lambda: self.server.kv_get("watched", index=index, wait="20s"))
        self.assert_blocks(query, index)

        written_at = time.monotonic()
        self.assert_acknowledged(self.server.kv_put("watched", b"after"))
        response = query.result()
        latency_ms = (query.finished_at - written_at) * 1000
        report(f"  blocking query woke {latency_ms:.1f} ms after the write was sent")
        self.assertLess(latency_ms, 2000)
        self.assertGreater(response.index, index)
        self.assertEqual(response.json()[0]["Value"], "YWZ0ZXI=")  # base64 of "after"


if __name__ == "__main__":
    unittest.main()
