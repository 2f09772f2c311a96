"""The service discovery commands (docs/cli.md, "Service discovery commands") against a real
`roster dev` server and one agent, host-1: `roster services register|deregister` through
the agent show up in (and leave) `roster catalog services|nodes` on the server; `roster
members` lists the agent alive; `roster maint -enable` takes the node out of ?passing and
`-disable` brings it back; `roster leave` makes the agent leave and exit. Each command also
gets one bad input: a message on stderr that says what is wrong, and exit status 1."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from cluster import ClusterTestCase, free_ports, roster_binary, wait_for

SYNC_TIMEOUT_S = 10.0  # the agent pushes a change to the servers at once
CLI_TIMEOUT_S = 20.0
AGENT = "host-1"


class CliCatalogTest(ClusterTestCase):

    def setUp(self):
        cluster = self.start_dev_cluster()
        self.server = cluster.servers[0]
        self.agent = self.start_agent(cluster, AGENT)
        self.temp_dir = tempfile.mkdtemp(prefix="roster-cli-catalog-")
        self.addCleanup(shutil.rmtree, self.temp_dir, True)

    # The CLI.

    def roster(self, target, *args):
        """Runs `roster ARGS` against `target` (the agent or the server): CompletedProcess."""
        environment = dict(os.environ, ROSTER_HTTP_ADDR=f"127.0.0.1:{target.http_port}")
        return subprocess.run([roster_binary()] + list(args), env=environment,
                              capture_output=True, text=True, timeout=CLI_TIMEOUT_S)

    def succeeds(self, target, *args):
        """stdout's lines of a command that must exit 0."""
        result = self.roster(target, *args)
        self.assertEqual(result.returncode, 0,
                         f"roster {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout.splitlines()

    def assert_fails(self, target, args, message):
        """The command exits 1 with `message` as its stderr, and prints nothing on stdout."""
        result = self.roster(target, *args)
        self.assertEqual((result.returncode, result.stderr, result.stdout),
                         (1, f"roster: {message}\n", ""), f"roster {' '.join(args)}")

    def wait_for_lines(self, args, expected, what):
        """Polls `roster ARGS` on the server until its stdout is `expected` (a list of lines)."""
        seen = []

        def matches():
            seen[:] = [self.succeeds(self.server, *args)]
            return seen[0] == expected
        wait_for(matches, SYNC_TIMEOUT_S, lambda: f"{what}: last output {seen}")

    @staticmethod
    def table(lines):
        """A printed table as rows of words (columns are space-aligned; no cell has spaces)."""
        return [line.split() for line in lines]

    def passing_nodes(self, service):
        response = self.server.request("GET", f"/v1/health/service/{service}",
                                       params={"passing": None})
        return sorted(entry["Node"]["Node"] for entry in response.json())

    # The scenarios.

    def test_services_register_and_deregister_show_in_the_catalog(self):
        self.assertEqual(
            self.succeeds(self.agent, "services", "register", "-name", "web", "-id", "web-1",
                          "-port", "8080", "-tag", "v2", "-tag", "blue"),
            ["Registered service: web"])
        definition = os.path.join(self.temp_dir, "api.json")
        with open(definition, "w") as file:
            json.dump({"service": {"name": "api", "port": 9090}}, file)
        self.assertEqual(self.succeeds(self.agent, "services", "register", definition),
                         ["Registered service: api"])
        self.wait_for_lines(["catalog", "services"], ["api", "consul", "web"],
                            "web and api in `roster catalog services`")
        self.assertEqual(self.succeeds(self.server, "catalog", "services", "-tags"),
                         ["api", "consul", "web     blue,v2"])
        self.assertEqual(self.succeeds(self.server, "catalog", "services", "-node", AGENT),
                         ["api", "web"])

        node_id = self.server.request("GET", f"/v1/catalog/node/{AGENT}").json()["Node"]["ID"]
        nodes = self.table(self.succeeds(self.server, "catalog", "nodes"))
        self.assertEqual(nodes[0], ["Node", "ID", "Address", "DC"])
        self.assertEqual([row[0] for row in nodes[1:]], ["dev", AGENT])
        self.assertEqual(nodes[2], [AGENT, node_id[:8], "127.0.0.1", "dc1"])
        self.assertEqual(self.table(self.succeeds(self.server, "catalog", "nodes",
                                                  "-service", "web"))[1:],
                         [[AGENT, node_id[:8], "127.0.0.1", "dc1"]])

        self.assertEqual(self.succeeds(self.agent, "services", "deregister", "-id", "web-1"),
                         ["Deregistered service: web-1"])
        self.assertEqual(self.succeeds(self.agent, "services", "deregister", definition),
                         ["Deregistered service: api"])
        self.wait_for_lines(["catalog", "services"], ["consul"],
                            "web and api to leave `roster catalog services`")

    def test_bad_input_to_services_and_catalog(self):
        self.assert_fails(self.agent, ["services", "register", "-port", "80"],
                          "HTTP 400: Missing service name")
        self.assert_fails(self.agent, ["services", "register", "-name", "web", "-port", "http"],
                          "-port must be a number from 0 to 65535")
        self.assertEqual(self.agent.request("GET", "/v1/agent/services").json(), {},
                         "a refused registration registered something")
        self.assert_fails(self.agent, ["services", "deregister", "-id", "nosuch"],
                          'HTTP 404: Unknown service ID "nosuch". Ensure that the service ID '
                          "is passed, not the service name.")
        self.assert_fails(self.server, ["catalog", "services", "-node", "nosuch"],
                          'No node found with name "nosuch"')
        self.assert_fails(self.server, ["catalog", "nodes", "-node-meta", "rack"],
                          '-node-meta takes key=value, not "rack"')

    def test_members_and_node_maintenance(self):
        def member_rows():
            return {row[0]: row for row in self.table(self.succeeds(self.agent, "members"))}
        wait_for(lambda: member_rows().get(AGENT, [None] * 4)[2:4] == ["alive", "client"],
                 SYNC_TIMEOUT_S, f"{AGENT} alive in `roster members`")
        rows = member_rows()
        self.assertEqual(rows["Node"],
                         ["Node", "Address", "Status", "Type", "Build", "Protocol", "DC"])
        self.assertEqual(rows["dev"][2:4], ["alive", "server"])
        self.assert_fails(self.agent, ["members", "-status", "[alive"],
                          "-status is not a valid regular expression: [alive")

        self.succeeds(self.agent, "services", "register", "-name", "web", "-port", "8080")
        wait_for(lambda: self.passing_nodes("web") == [AGENT], SYNC_TIMEOUT_S,
                 "web on host-1 passing")
        self.assertEqual(self.succeeds(self.agent, "maint", "-enable", "-reason", "disk swap"),
                         ["Node maintenance is now enabled"])
        wait_for(lambda: self.passing_nodes("web") == [], SYNC_TIMEOUT_S,
                 "host-1 to leave ?passing in maintenance")
        self.assertEqual(self.succeeds(self.agent, "maint"),
                         ["Node:", f"  Name:   {AGENT}", "  Reason: disk swap", ""])
        self.assert_fails(self.agent, ["maint", "-enable", "-disable"],
                          "only one of -enable or -disable may be given")
        self.assert_fails(self.agent, ["maint", "-enable", "-service", "nosuch"],
                          'HTTP 404: No service registered with ID "nosuch"')

        self.assertEqual(self.succeeds(self.agent, "maint", "-disable"),
                         ["Node maintenance is now disabled"])
        wait_for(lambda: self.passing_nodes("web") == [AGENT], SYNC_TIMEOUT_S,
                 "host-1 back in ?passing after maintenance")
        self.assertEqual(self.succeeds(self.agent, "maint"), [])

    def test_leave_makes_the_agent_leave_and_exit(self):
        [closed_port] = free_ports(1)
        result = self.roster(self.agent, "leave", "-http-addr", f"127.0.0.1:{closed_port}")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertTrue(result.stderr.startswith("roster: cannot reach Roster's HTTP API"),
                        result.stderr)
        self.assertTrue(self.agent.running(), "a failed leave stopped the agent")

        self.agent.expect_exit()
        self.assertEqual(self.succeeds(self.agent, "leave"), ["Graceful leave complete"])
        self.assertEqual(self.agent.wait_exited(), 0, self.agent.log_tail())

        def left_members():
            rows = self.table(self.succeeds(self.server, "members", "-status", "left"))
            return [row[:4] for row in rows[1:]]
        wait_for(lambda: left_members() == [[AGENT, "127.0.0.1:8301", "left", "client"]],
                 SYNC_TIMEOUT_S, lambda: f"{AGENT} alone in `roster members -status left`: "
                                         f"{left_members()}")
        nodes = self.table(self.succeeds(self.server, "catalog", "nodes"))
        self.assertEqual([row[0] for row in nodes[1:]], ["dev"])


if __name__ == "__main__":
    unittest.main()
