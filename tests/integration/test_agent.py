"""The agent (docs/agent.md) with three servers and three agents: a service registered
through an agent shows up in the catalog and health/service?passing on every server; a
failing HTTP check turns critical and drops out of ?passing; a killed agent's node turns
critical everywhere and its sessions are released; restarted, its services come back
without anyone registering them again; when the server an agent talks to is killed, the
agent fails over and its registrations stay; a watch stream through an agent resumes on
another server without a gap; bad input through an agent is a 400 that registers
nothing."""

import http.client
import http.server
import json
import threading
import unittest

from cluster import TRANSPORT_ERRORS, ClusterTestCase, is_acknowledged, wait_for

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


class StreamReader:
    """GET /v1/watch on a background thread, every line parsed as it comes."""

    def __init__(self, port, path):
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self._connection.request("GET", path)
        self.response = self._connection.getresponse()
        self._lock = threading.Lock()
        self._lines = []
        self.error = None
        self._closed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            while True:
                line = self.response.readline()
                if not line:
                    return
                with self._lock:
                    self._lines.append(json.loads(line))  # a half line would not parse
        except (ValueError, *TRANSPORT_ERRORS) as error:
            self.error = error
        except AttributeError:
            # close() took the socket from under readline (http.client drops its file).
            if not self._closed:
                raise

    def lines(self):
        with self._lock:
            return list(self._lines)

    def close(self):
        self._closed = True
        self._connection.close()


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

    def test_watch_stream_through_an_agent_resumes_when_its_server_dies(self):
        a1 = self.agents[0]  # talks to s1 first
        start = a1.request("GET", "/v1/kv/watched/", params={"recurse": None}).index
        stream = StreamReader(a1.http_port, f"/v1/watch?prefix=watched/&index={start}")
        self.addCleanup(stream.close)
        self.assertEqual(stream.response.status, 200)
        self.assertEqual(stream.response.getheader("Content-Type"), "application/x-ndjson")

        def write(key):
            wait_for(lambda: is_acknowledged(self.servers[1].kv_put(key, key.encode())),
                     SYNC_TIMEOUT_S * 2, f"the write of {key} acknowledged")

        def streamed_keys():
            return {line["Key"] for line in stream.lines() if line["Op"] == "set"}

        for number in range(5):
            write(f"watched/before-{number}")
        wait_for(lambda: len(streamed_keys()) == 5, SYNC_TIMEOUT_S, "5 keys in the stream")
        self.servers[0].kill()  # the stream's server, killed mid-stream
        for number in range(5):
            write(f"watched/after-{number}")
        wait_for(lambda: len(streamed_keys()) == 10, SYNC_TIMEOUT_S * 3,
                 f"10 keys in the stream (error: {stream.error!r})")
        self.assertIsNone(stream.error)
        wait_for(lambda: "watch stream resumed on" in a1.log_text(), SYNC_TIMEOUT_S,
                 f"the agent to log the resume: {a1.log_tail()}")

        # No gap: every key's last write is in the stream, in index order (a line may
        # come twice across the resume, which the contract allows).
        entries = self.servers[1].request("GET", "/v1/kv/watched/", params={"recurse": None}).json()
        events = [(line["Index"], line["Key"]) for line in stream.lines() if line["Op"] == "set"]
        for entry in entries:
            self.assertIn((entry["ModifyIndex"], entry["Key"]), events)
        indexes = [index for index, _ in events]
        self.assertEqual(indexes, sorted(indexes))

    def test_watch_stream_errors_through_an_agent_are_the_servers(self):
        a1 = self.agents[0]
        response = a1.request("GET", "/v1/watch", params={"index": "abc"})
        self.assertEqual((response.status, response.body), (400, b"Invalid index"))
        stream = StreamReader(a1.http_port, "/v1/watch?prefix=none/")
        self.addCleanup(stream.close)
        self.assertEqual(stream.response.status, 200)
        # A stream from "now" starts with a progress line at the server's index.
        wait_for(lambda: stream.lines(), SYNC_TIMEOUT_S, "the first progress line")
        self.assertEqual(stream.lines()[0]["Op"], "progress")


if __name__ == "__main__":
    unittest.main()
