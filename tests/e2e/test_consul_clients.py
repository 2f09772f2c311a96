"""Real Consul clients against a real Roster cluster (DESIGN.md, testing layer 5): Debian's
python3-consul and the npm `consul` client each register a service with a TTL check
through an agent, pass and fail it, find it in the catalog and in health?passing, and
use KV and sessions, exactly as they would against Consul (issue 5).

Runs under /usr/bin/python3, where Debian installs python3-consul; the npm client is
installed with `npm ci` from package-lock.json into $ROSTER_E2E_NPM_DIR (the build dir).
"""

import os
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from cluster import ClusterTestCase  # noqa: E402
import python_consul_steps  # noqa: E402

NPM_TIMEOUT_S = 180
NODE_TIMEOUT_S = 120


def npm_client_dir():
    """A directory with the npm consul client installed, from the committed lock file."""
    target = os.environ.get("ROSTER_E2E_NPM_DIR") or os.path.join(HERE, "..", "..", "build",
                                                                   "e2e-npm")
    os.makedirs(target, exist_ok=True)
    for name in ("package.json", "package-lock.json", "npm_consul_client.js"):
        shutil.copyfile(os.path.join(HERE, name), os.path.join(target, name))
    if not os.path.isdir(os.path.join(target, "node_modules", "consul")):
        result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=target,
                                capture_output=True, text=True, timeout=NPM_TIMEOUT_S)
        if result.returncode != 0:
            raise AssertionError(f"npm ci failed in {target}:\n{result.stdout}{result.stderr}")
    return target


class ConsulClientsTest(ClusterTestCase):

    def setUp(self):
        self.cluster = self.start_cluster(3)
        self.agent = self.start_agent(self.cluster, "client-host")

    def test_python3_consul(self):
        python_consul_steps.run("127.0.0.1", self.agent.http_port,
                                lambda condition, message: self.assertTrue(condition, message))

    def test_npm_consul(self):
        directory = npm_client_dir()
        result = subprocess.run(["node", "npm_consul_client.js", "127.0.0.1",
                                 str(self.agent.http_port)], cwd=directory,
                                capture_output=True, text=True, timeout=NODE_TIMEOUT_S)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("all steps passed", result.stdout)


if __name__ == "__main__":
    unittest.main()
