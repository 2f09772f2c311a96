"""An agent's -config-dir reloaded (docs/agent.md, "Config files"), with a dev server and
one agent: on SIGHUP, on PUT /v1/agent/reload and through `roster reload`, the agent
registers what the files define and removes what came from them and is gone, leaving
services registered through the API alone; the catalog follows; a bad file is a clear
error that changes nothing and stops nothing; a restart drops what left the files while
the agent was down; SIGHUP does not stop a server either."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from cluster import ClusterTestCase, roster_binary, wait_for

SYNC_TIMEOUT_S = 10.0
CLI_TIMEOUT_S = 30.0


class AgentReloadTest(ClusterTestCase):

    def setUp(self):
        cluster = self.start_dev_cluster()
        self.server = cluster.servers[0]
        self.config_dir = tempfile.mkdtemp(prefix="roster-agent-config-")
        self.addCleanup(shutil.rmtree, self.config_dir, True)
        self.define("web", port=80)
        self.agent = self.start_agent(cluster, "a1",
                                      extra_arguments=["-config-dir", self.config_dir])

    def define(self, name, port):
        with open(os.path.join(self.config_dir, f"{name}.json"), "w") as out:
            json.dump({"service": {"id": f"{name}-1", "name": name, "port": port}}, out)

    def undefine(self, name):
        os.remove(os.path.join(self.config_dir, f"{name}.json"))

    def agent_services(self):
        response = self.agent.request("GET", "/v1/agent/services")
        self.assertEqual(response.status, 200, response.describe())
        return sorted(response.json())

    def catalog_services(self):
        response = self.server.request("GET", "/v1/catalog/services")
        return sorted(response.json()) if response.status == 200 else None

    def reload_cli(self):
        return subprocess.run(
            [roster_binary(), "reload", "-http-addr", f"127.0.0.1:{self.agent.http_port}"],
            capture_output=True, text=True, timeout=CLI_TIMEOUT_S)

    def test_sighup_the_api_and_the_cli_reload_and_a_bad_file_changes_nothing(self):
        self.assertEqual(self.agent_services(), ["web-1"])
        body = json.dumps({"ID": "api-1", "Name": "api", "Port": 9000}).encode()
        registered = self.agent.request("PUT", "/v1/agent/service/register", body=body)
        self.assertEqual(registered.status, 200, registered.describe())

        self.undefine("web")
        self.define("db", port=5432)
        self.agent.send_signal(signal.SIGHUP)
        wait_for(lambda: self.agent_services() == ["api-1", "db-1"], SYNC_TIMEOUT_S,
                 "SIGHUP to swap web-1 for db-1 and leave api-1")
        wait_for(lambda: self.catalog_services() == ["api", "consul", "db"], SYNC_TIMEOUT_S,
                 "the catalog to follow the reload")

        self.define("cache", port=6379)
        reloaded = self.agent.request("PUT", "/v1/agent/reload")
        self.assertEqual(reloaded.status, 200, reloaded.describe())
        self.assertEqual(self.agent_services(), ["api-1", "cache-1", "db-1"])

        self.undefine("cache")
        done = self.reload_cli()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, "Configuration reload triggered\n")
        self.assertEqual(self.agent_services(), ["api-1", "db-1"])

        # A bad file: the reload says which and what, and nothing changes, not even
        # the removal of db-1, whose file is gone too.
        with open(os.path.join(self.config_dir, "bad.json"), "w") as out:
            out.write('{"service": {"port": 1}}')
        self.undefine("db")
        refused = self.agent.request("PUT", "/v1/agent/reload")
        self.assertEqual(refused.status, 500, refused.describe())
        self.assertIn("bad.json: Missing service name", refused.body.decode())
        self.assertIn("nothing was changed", refused.body.decode())
        failed = self.reload_cli()
        self.assertNotEqual(failed.returncode, 0)
        self.assertIn("bad.json: Missing service name", failed.stderr)
        self.agent.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP: reload failed" in self.agent.log_text(), SYNC_TIMEOUT_S,
                 "the agent to log the failed SIGHUP reload")
        self.assertTrue(self.agent.running())
        self.assertEqual(self.agent_services(), ["api-1", "db-1"])

    def test_a_restart_drops_what_left_the_files_and_sighup_spares_a_server(self):
        self.define("db", port=5432)
        self.assertEqual(self.agent.request("PUT", "/v1/agent/reload").status, 200)
        self.assertEqual(self.agent_services(), ["db-1", "web-1"])
        self.agent.stop()
        self.undefine("db")
        self.agent.start()
        wait_for(lambda: self.agent.request("GET", "/v1/agent/self").status == 200,
                 SYNC_TIMEOUT_S, "the restarted agent to answer")
        self.assertEqual(self.agent_services(), ["web-1"])

        self.server.send_signal(signal.SIGHUP)
        wait_for(lambda: "received SIGHUP" in self.server.log_text(), SYNC_TIMEOUT_S,
                 "the server to log the SIGHUP")
        self.assertTrue(self.server.running())
        self.assertEqual(self.server.request("GET", "/v1/status/leader").status, 200)


if __name__ == "__main__":
    unittest.main()
