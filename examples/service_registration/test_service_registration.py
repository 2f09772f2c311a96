"""Example 6 against a real `roster dev` server and a real agent: service.cc registers itself
through the agent and is found passing on the server; a failing /health takes it out of
?passing and a healthy one brings it back; SIGTERM deregisters it before it exits.
register.sh does the same with curl and a TTL check. Bad flags are refused with a message
and exit status 2.

$SERVICE_REGISTRATION_BIN names the service binary (ctest sets it, like $ROSTER_BIN)."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from cluster import free_ports, wait_for
from harness import EXAMPLES_DIR, ExampleTestCase

SYNC_TIMEOUT_S = 10.0  # the agent pushes a change at once; checks run every second
SCRIPT_TIMEOUT_S = 30.0
REGISTER_SH = os.path.join(EXAMPLES_DIR, "service_registration", "register.sh")


def service_binary():
    path = os.environ.get("SERVICE_REGISTRATION_BIN", "")
    if not (path and os.access(path, os.X_OK)):
        raise RuntimeError("SERVICE_REGISTRATION_BIN must name the service_registration "
                           f"binary, got {path!r} (ctest sets it)")
    return path


class ServiceRegistrationTest(ExampleTestCase):

    def setUp(self):
        super().setUp()
        cluster = self.start_dev_cluster()
        self.server = cluster.servers[0]
        self.agent = self.start_agent(cluster, "host-1")
        self.temp_dir = tempfile.mkdtemp(prefix="roster-service-example-")
        self.addCleanup(shutil.rmtree, self.temp_dir, True)

    def service_ids(self, path, **params):
        """The service IDs a server's catalog or health read returns, sorted."""
        response = self.server.request("GET", path, params=params)
        if response.status != 200:
            return None
        rows = response.json()
        return sorted(row["Service"]["ID"] if "Service" in row else row["ServiceID"]
                      for row in rows)

    def check_states(self, name):
        checks = self.server.request("GET", f"/v1/health/checks/{name}").json()
        return [(check["CheckID"], check["Status"]) for check in checks]

    def passing(self, name):
        return self.service_ids(f"/v1/health/service/{name}", passing=None)

    def in_catalog(self, name):
        return self.service_ids(f"/v1/catalog/service/{name}")

    def test_service_registers_turns_critical_and_deregisters_on_sigterm(self):
        fail_file = os.path.join(self.temp_dir, "fail")
        # ROSTER_HTTP_ADDR (the agent's address) is how it finds the agent.
        service = self.start("web-1", [service_binary(), "-name", "web", "-id", "web-1",
                                       "-fail-file", fail_file], self.agent)
        self.wait_for_output(service, r"registered service web-1 \(web\) with the agent")
        # Both: the agent can push the service a moment before its check (Agent::
        # RegisterService stores them one after the other while sync may run), and
        # an instance without checks counts as passing.
        self.wait_until(lambda: self.passing("web") == ["web-1"] and
                        self.check_states("web") == [("service:web-1", "passing")],
                        SYNC_TIMEOUT_S, "web-1 and its HTTP check to pass on the server")

        open(fail_file, "w").close()
        self.wait_until(lambda: self.passing("web") == [], SYNC_TIMEOUT_S,
                        "web-1 to drop out of ?passing once /health fails")
        checks = self.server.request("GET", "/v1/health/checks/web").json()
        self.assertEqual(checks[0]["Status"], "critical")
        self.assertIn("500", checks[0]["Output"])
        self.assertEqual(self.in_catalog("web"), ["web-1"], "critical is not deregistered")

        os.remove(fail_file)
        self.wait_until(lambda: self.passing("web") == ["web-1"], SYNC_TIMEOUT_S,
                        "web-1 to pass again once /health is fixed")

        service.signal_group(signal.SIGTERM)
        self.assertEqual(service.wait(), 0, self.describe_processes())
        self.assertIn("deregistered service web-1", service.output())
        self.assertEqual(self.agent.request("GET", "/v1/agent/services").json(), {})
        self.wait_until(lambda: self.in_catalog("web") == [], SYNC_TIMEOUT_S,
                        "web-1 to leave the catalog after SIGTERM")

    def test_register_sh_registers_passes_finds_and_deregisters(self):
        environment = dict(os.environ, ROSTER_HTTP_ADDR=f"127.0.0.1:{self.agent.http_port}")
        result = subprocess.run(["sh", REGISTER_SH, "shell-demo"], env=environment,
                                capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[:3], ["registered shell-demo-1", "passed service:shell-demo-1",
                                     "passing instances of shell-demo:"], result.stdout)
        self.assertEqual(lines[-1], "deregistered shell-demo-1")
        [instance] = json.loads(lines[3])
        self.assertEqual(instance["Service"]["ID"], "shell-demo-1")
        self.assertEqual({check["CheckID"]: check["Status"] for check in instance["Checks"]},
                         {"serfHealth": "passing", "service:shell-demo-1": "passing"})
        self.wait_until(lambda: self.in_catalog("shell-demo") == [], SYNC_TIMEOUT_S,
                        "shell-demo-1 to leave the catalog")


class BadFlagsTest(unittest.TestCase):
    """Refused before anything is registered: exit 2 and what is wrong."""

    def run_service(self, *args):
        return subprocess.run([service_binary()] + list(args), capture_output=True, text=True,
                              timeout=SCRIPT_TIMEOUT_S)

    def test_bad_flags_are_refused_with_a_message(self):
        cases = {("-port", "99999"): 'service_registration: -port must be a number from 0 to '
                                     '65535, not "99999"',
                 ("-colour", "red"): "service_registration: unknown flag -colour",
                 ("-name",): "service_registration: -name needs a value",
                 ("-agent", "localhost"): 'service_registration: -agent must be HOST:PORT, '
                                          'not "localhost"'}
        for args, message in cases.items():
            result = self.run_service(*args)
            self.assertEqual(result.returncode, 2, f"{args}: {result.stderr}")
            self.assertEqual(result.stderr.splitlines()[0], message)

    def test_an_unreachable_agent_is_an_error(self):
        [closed_port] = free_ports(1)
        result = self.run_service("-agent", f"127.0.0.1:{closed_port}", "-id", "x-1")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"registering x-1: cannot reach the agent at 127.0.0.1:{closed_port}",
                      result.stderr)


if __name__ == "__main__":
    unittest.main()
