"""The agent (docs/agent.md) with three servers and three agents: a service registered
through an agent shows up in the catalog and health/service?passing on every server; a
failing HTTP check turns critical and drops out of ?passing; a killed agent's node turns
critical everywhere and its sessions are released; restarted, its services come back
without anyone registering them again; when the server an agent talks to is killed, the
agent fails over and its registrations stay; bad input through an agent is a 400 that
registers nothing."""

import http.server
import json
import threading
import unittest

from cluster import ClusterTestCase, wait_for

SYNC_TIMEOUT_S = 10.0
# serfHealth turns critical after the failure timeout (10 s) without heartbeats.
FAILURE_DETECTION_TIMEOUT_S = 10.0 + 5.0
CHECK_INTERVAL = "200ms"


class FlippableHealthEndpoint:
    """A tiny HTTP server whose /health answers 200 until flipped to 500."""

    def __init__(self):
        self.status = 200
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(endpoint.status)
                self.end_headers()
                self.wfile.write(b"status %d" % endpoint.status)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/health"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()


class AgentClusterTest(ClusterTestCase):

    def setUp(self):
        self.cluster = self.start_cluster(3)
        self.servers = self.cluster.servers
        self.agents = [self.start_agent(self.cluster, f"a{number + 1}") for number in range(3)]
        self.health = FlippableHealthEndpoint()
        self.addCleanup(self.health.close)

    def register_web(self, agent, service_id):
        body = {"Name": "web", "ID": service_id, "Port": 8080, "Tags": ["v1"],
                "Check": {"HTTP": self.health.url, "Interval": CHECK_INTERVAL}}
        response = agent.request("PUT", "/v1/agent/service/register",
                                 body=json.dumps(body).encode())
        self.assertEqual(response.status, 200, response.describe())

    def catalog_nodes(self, server, service, **params):
        response = server.request("GET", f"/v1/catalog/service/{service}", params=params)
        if response.status != 200:
            return None
        return sorted(row["Node"] for row in response.json())

    def passing_nodes(self, server, service):
        response = server.request("GET", f"/v1/health/service/{service}",
                                  params={"passing": None, "stale": None})
        if response.status != 200:
            return None
        return sorted(entry["Node"]["Node"] for entry in response.json())

    def wait_everywhere(self, predicate, what, timeout_s=SYNC_TIMEOUT_S):
        for server in self.servers:
            if server.running():
                wait_for(lambda server=server: predicate(server), timeout_s,
                         f"{what} on {server.name}")

    def liveness_available(self):
        response = self.servers[0].request("GET", "/v1/internal/members")
        return response.status == 200

    def test_registration_through_an_agent_and_a_failing_check(self):
        a1 = self.agents[0]
        self.register_web(a1, "web-1")
        self.wait_everywhere(lambda s: self.catalog_nodes(s, "web", stale=None) == ["a1"],
                             "web on a1 in the catalog")
        self.wait_everywhere(lambda s: self.passing_nodes(s, "web") == ["a1"],
                             "web on a1 passing")
        local = a1.request("GET", "/v1/agent/checks").json()
        self.assertEqual(local["service:web-1"]["Status"], "passing")

        self.health.status = 500
        self.wait_everywhere(lambda s: self.passing_nodes(s, "web") == [],
                             "web to drop out of ?passing")
        checks = self.servers[1].request("GET", "/v1/health/checks/web").json()
        self.assertEqual([check["Status"] for check in checks], ["critical"])
        self.assertIn("500", checks[0]["Output"])

        self.health.status = 200
        self.wait_everywhere(lambda s: self.passing_nodes(s, "web") == ["a1"],
                             "web to pass again")

    def test_bad_input_through_an_agent_registers_nothing(self):
        a2 = self.agents[1]
        response = a2.request("PUT", "/v1/agent/service/register",
                              body=json.dumps({"Port": 80}).encode())
        self.assertEqual(response.status, 400, response.describe())
        self.assertIn(b"Missing service name", response.body)
        self.assertEqual(a2.request("GET", "/v1/agent/services").json(), {})
        # A request through the agent's forwarding reaches the catalog: nothing there.
        self.assertEqual(a2.request("GET", "/v1/catalog/services").json().keys(), {"consul"})

    def test_killed_agent_turns_critical_and_comes_back_on_restart(self):
        a3 = self.agents[2]
        self.register_web(a3, "web-3")
        self.wait_everywhere(lambda s: self.passing_nodes(s, "web") == ["a3"], "web on a3 passing")
        if not self.liveness_available():
            self.skipTest("server-side liveness (serfHealth from heartbeats) has not landed")

        def serf_health(server):
            checks = server.request("GET", "/v1/health/node/a3", params={"stale": None}).json()
            return {c["CheckID"]: c["Status"] for c in checks}.get("serfHealth")
        self.wait_everywhere(lambda s: serf_health(s) == "passing",
                             "a3's heartbeats to make serfHealth pass")
        session = a3.request("PUT", "/v1/session/create",
                             body=json.dumps({"Node": "a3", "Name": "lock-holder"}).encode())
        self.assertEqual(session.status, 200, session.describe())
        session_id = session.json()["ID"]

        a3.kill()
        self.wait_everywhere(lambda s: self.passing_nodes(s, "web") == [],
                             "a3's web to drop out of ?passing", FAILURE_DETECTION_TIMEOUT_S)
        self.wait_everywhere(lambda s: serf_health(s) == "critical", "a3's serfHealth critical")
        wait_for(lambda: self.servers[0].request("GET", f"/v1/session/info/{session_id}").json()
                 in (None, []), SYNC_TIMEOUT_S, "a3's session to be released")

        a3.start()  # nobody registers web-3 again
        self.wait_everywhere(lambda s: serf_health(s) == "passing", "a3's serfHealth passing")
        self.wait_everywhere(lambda s: self.passing_nodes(s, "web") == ["a3"],
                             "a3's web passing again")
        self.assertIn("web-3", a3.request("GET", "/v1/agent/services").json())

    def test_agent_fails_over_when_its_server_is_killed(self):
        a1 = self.agents[0]  # talks to s1 first
        self.register_web(a1, "web-1")
        self.wait_everywhere(lambda s: self.catalog_nodes(s, "web", stale=None) == ["a1"],
                             "web on a1 in the catalog")
        self.servers[0].kill()
        survivors = self.servers[1:3]
        body = {"Name": "api", "ID": "api-1", "Port": 9090}
        def registered():
            response = a1.request("PUT", "/v1/agent/service/register",
                                  body=json.dumps(body).encode())
            return response.status == 200
        wait_for(registered, SYNC_TIMEOUT_S, "a registration through a1 after s1 died")
        for server in survivors:
            wait_for(lambda server=server: self.catalog_nodes(server, "api", stale=None) == ["a1"],
                     SYNC_TIMEOUT_S * 2, f"api on a1 in the catalog of {server.name}")
            self.assertEqual(self.catalog_nodes(server, "web", stale=None), ["a1"])
        # Reads through the agent keep working too.
        response = a1.request("GET", "/v1/catalog/service/api")
        self.assertEqual(response.status, 200, response.describe())


if __name__ == "__main__":
    unittest.main()
