"""The catalog and health endpoints on three servers (consul-api.md §1.2, §1.3, §2.2):
registrations through any server are seen by every server, in the catalog and in
health/service?passing; servers register themselves as service `consul`; a blocking query
on one service sleeps through writes to another; bad registrations leave nothing behind."""

import json
import unittest

from cluster import Background, ClusterTestCase, wait_for

REPLICATION_TIMEOUT_S = 5.0
SELF_REGISTRATION_TIMEOUT_S = 10.0


def register_body(node, address, service=None, checks=()):
    body = {"Node": node, "Address": address, "NodeMeta": {"rack": "r1"}}
    if service is not None:
        body["Service"] = service
    if checks:
        body["Checks"] = list(checks)
    return json.dumps(body).encode()


class CatalogClusterTest(ClusterTestCase):

    def setUp(self):
        self.cluster = self.start_cluster(3)
        self.leader = self.cluster.wait_for_leader()
        self.followers = self.cluster.followers(self.leader)
        # The servers register themselves once they know a leader; let them finish, so
        # that the catalog holds only what the test writes besides them.
        wait_for(lambda: len(self.get(self.leader, "/v1/catalog/service/consul").json()) == 3,
                 SELF_REGISTRATION_TIMEOUT_S, "the three servers to register as service consul")

    def register(self, server, body):
        response = server.request("PUT", "/v1/catalog/register", body=body)
        self.assertEqual((response.status, response.body), (200, b"true"),
                         f"registration through {server.name}")
        return response

    def get(self, server, path, **params):
        response = server.request("GET", path, params=params)
        self.assertEqual(response.status, 200, f"{path} on {server.name}: {response.describe()}")
        return response

    def register_web(self, server, node, port, check_status="passing"):
        self.register(server, register_body(
            node, "10.0.0.1",
            service={"ID": f"web-{node}", "Service": "web", "Tags": ["primary"], "Port": port},
            checks=[{"CheckID": "serfHealth", "Name": "Serf Health Status",
                     "Status": "passing"},
                    {"CheckID": "web-alive", "Name": "web alive",
                     "ServiceID": f"web-{node}", "Status": check_status}]))

    def test_every_server_registers_itself_as_service_consul(self):
        expected = sorted((server.name, server.server_port) for server in self.cluster.servers)

        for server in self.cluster.servers:
            def consul_instances():
                rows = self.get(server, "/v1/catalog/service/consul", stale=None).json()
                return sorted((row["Node"], row["ServicePort"]) for row in rows) == expected
            wait_for(consul_instances, SELF_REGISTRATION_TIMEOUT_S,
                     f"{server.name} to list the three servers as service consul")

        instances = self.get(self.leader, "/v1/health/service/consul", passing=None).json()
        self.assertEqual(len(instances), 3)
        for instance in instances:
            self.assertEqual(instance["Service"]["ID"], "consul")
            self.assertEqual(instance["Service"]["Address"], "127.0.0.1")
            self.assertEqual([check["CheckID"] for check in instance["Checks"]], ["serfHealth"])

    def test_a_server_node_carries_its_agent_uuid_and_tagged_addresses(self):
        members = {m["Name"]: m for m in self.get(self.leader, "/v1/agent/members").json()}
        for server in self.cluster.servers:
            uuid = self.get(server, "/v1/agent/self").json()["Config"]["NodeID"]
            self.assertRegex(uuid, r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
            node = self.get(self.leader, f"/v1/catalog/node/{server.name}").json()["Node"]
            self.assertEqual(node["ID"], uuid, f"{server.name}'s catalog ID")
            self.assertEqual(members[server.name]["Tags"]["id"], uuid)
            self.assertEqual(node["TaggedAddresses"],
                             {"lan": "127.0.0.1", "lan_ipv4": "127.0.0.1",
                              "wan": "127.0.0.1", "wan_ipv4": "127.0.0.1"})
            # Consul looks a node up by its ID too.
            by_id = self.get(self.leader, f"/v1/catalog/node/{uuid[:8]}").json()
            self.assertEqual(by_id["Node"]["Node"], server.name)

    def test_a_registration_through_one_server_is_seen_by_every_server(self):
        self.register_web(self.followers[0], "host-a", 8080)
        self.register_web(self.followers[1], "host-b", 8081, check_status="critical")

        for server in self.cluster.servers:
            def sees_both():
                rows = self.get(server, "/v1/catalog/service/web", stale=None).json()
                return sorted(row["ServiceID"] for row in rows) == ["web-host-a", "web-host-b"]
            wait_for(sees_both, REPLICATION_TIMEOUT_S, f"{server.name} to list both web instances")
            passing = self.get(server, "/v1/health/service/web", passing=None, stale=None).json()
            self.assertEqual([instance["Service"]["ID"] for instance in passing], ["web-host-a"],
                             f"health/service/web?passing on {server.name}")
            services = self.get(server, "/v1/catalog/services", stale=None).json()
            self.assertEqual(services.get("web"), ["primary"])

        # Every server answers with the same index once it has applied the same entries.
        index = self.get(self.leader, "/v1/health/service/web").index
        for server in self.cluster.servers:
            wait_for(lambda: self.get(server, "/v1/health/service/web", stale=None).index == index,
                     REPLICATION_TIMEOUT_S, f"{server.name} to answer index {index}")

    def test_a_blocking_query_on_one_service_sleeps_through_another(self):
        watcher, writer = self.followers[0], self.followers[1]
        self.register_web(writer, "host-a", 8080)
        self.register(writer, register_body("host-d", "10.0.0.4",
                                            service={"Service": "db", "Port": 5432}))
        wait_for(lambda: self.get(watcher, "/v1/catalog/service/db", stale=None).json(),
                 REPLICATION_TIMEOUT_S, f"{watcher.name} to see db")
        web_index = self.get(watcher, "/v1/health/service/web").index
        db_index = self.get(watcher, "/v1/health/service/db").index
        self.assertLess(web_index, db_index)

        parked = Background(lambda: watcher.request(
            "GET", "/v1/health/service/web", params={"index": web_index, "wait": "30s"},
            timeout_s=40))
        self.assert_blocks(parked, web_index)

        # A write to db moves db's index, not web's: a short query on web answers at its
        # deadline with web's index unchanged, and the parked one keeps waiting.
        self.register(writer, register_body("host-d", "10.0.0.4",
                                            service={"Service": "db", "Port": 5433}))
        wait_for(lambda: self.get(watcher, "/v1/health/service/db", stale=None).index > db_index,
                 REPLICATION_TIMEOUT_S, f"{watcher.name} to apply the write to db")
        short = self.get(watcher, "/v1/health/service/web", index=web_index, wait="200ms")
        self.assertEqual(short.index, web_index)
        self.assert_blocks(parked, web_index)

        # A write to web wakes it, with a higher index and the new state.
        self.register_web(writer, "host-a", 8080, check_status="warning")
        response = parked.result()
        self.assertEqual(response.status, 200, response.describe())
        self.assertGreater(response.index, web_index)
        statuses = [check["Status"] for check in response.json()[0]["Checks"]]
        self.assertIn("warning", statuses)

    def test_deregistration_removes_the_service_and_keeps_indexes_moving_forward(self):
        self.register_web(self.followers[0], "host-a", 8080)
        before = self.get(self.leader, "/v1/health/service/web").index
        response = self.followers[1].request(
            "PUT", "/v1/catalog/deregister",
            body=json.dumps({"Node": "host-a", "ServiceID": "web-host-a"}).encode())
        self.assertEqual((response.status, response.body), (200, b"true"))
        for server in self.cluster.servers:
            wait_for(lambda: self.get(server, "/v1/health/service/web", stale=None).json() == [],
                     REPLICATION_TIMEOUT_S, f"{server.name} to drop web")
            self.assertGreater(self.get(server, "/v1/health/service/web", stale=None).index,
                               before, "the index of a vanished service went backwards")
            checks = self.get(server, "/v1/health/node/host-a", stale=None).json()
            self.assertEqual([check["CheckID"] for check in checks], ["serfHealth"])

    def test_bad_registrations_leave_nothing_registered(self):
        server = self.followers[0]
        nodes_before = self.get(server, "/v1/catalog/nodes").json()
        cases = [
            (b"", 400, b"Request decode failed: EOF"),
            (b"{\"Node\": ", 400, None),
            (json.dumps({"Node": 7}).encode(), 400, None),
            (json.dumps({"Address": "10.0.0.9"}).encode(), 500, b"Must provide node"),
            (json.dumps({"Node": "bad-1"}).encode(), 500,
             b"Must provide address if SkipNodeUpdate is not set"),
            (register_body("bad-2", "10.0.0.9", service={"ID": "x"}), 500,
             b"Must provide service name with ID"),
            (register_body("bad-3", "10.0.0.9", service={"Service": "x", "Address": "0.0.0.0"}),
             500, b"Invalid service address"),
            (register_body("bad-4", "10.0.0.9", checks=[{"Name": "c", "Status": "fine"}]), 400,
             b"Bad check status"),
            (register_body("bad-5", "10.0.0.9", checks=[{"Name": "c", "ServiceID": "nope"}]), 500,
             b'failed inserting check on node "bad-5": Missing service registration'),
        ]
        for body, status, text in cases:
            response = server.request("PUT", "/v1/catalog/register", body=body)
            self.assertEqual(response.status, status, f"{body!r}: {response.describe()}")
            if text is not None:
                self.assertEqual(response.body, text)
        # A good write after them, through another server, so that every server has
        # applied everything the bad ones might have reached.
        self.register(self.followers[1], register_body("good", "10.0.0.8"))
        for each in self.cluster.servers:
            wait_for(lambda: any(node["Node"] == "good" for node in
                                 self.get(each, "/v1/catalog/nodes", stale=None).json()),
                     REPLICATION_TIMEOUT_S, f"{each.name} to apply the good registration")
            names = sorted(node["Node"] for node in
                           self.get(each, "/v1/catalog/nodes", stale=None).json())
            self.assertEqual(names, sorted([node["Node"] for node in nodes_before] + ["good"]),
                             f"nodes on {each.name}")
            services = self.get(each, "/v1/catalog/services", stale=None).json()
            self.assertEqual(sorted(services), ["consul"], f"services on {each.name}")


if __name__ == "__main__":
    unittest.main()
