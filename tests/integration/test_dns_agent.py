"""DNS on the agent (issue 6, docs/dns.md "On the agent"), asked with `dig`: three servers
and an agent whose -config-dir also holds a DNS setting (dns_config.service_ttl); a service
registered through the agent is in the agent's A and SRV answers; its check turning
critical takes it out of the agent's answer within a second; the agent keeps answering,
from stale reads, while the leader is killed; a bad dns_config key stops the agent at start
with a message naming file and key."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from cluster import ClusterTestCase, agent_command, free_ports, report, wait_for
from test_dns import CHANGE_DEADLINE_S, dig

SYNC_TIMEOUT_S = 10.0
SERVICE_TTL_S = 7  # from the agent's config file


@unittest.skipIf(shutil.which("dig") is None, "dig is not installed (bind9-dnsutils)")
class DnsAgentTest(ClusterTestCase):

    def setUp(self):
        self.cluster = self.start_cluster(3)
        self.leader = self.cluster.wait_for_leader()
        self.config_dir = tempfile.mkdtemp(prefix="roster-agent-config-")
        self.addCleanup(shutil.rmtree, self.config_dir, True)
        with open(os.path.join(self.config_dir, "dns.json"), "w") as out:
            json.dump({"dns_config": {"service_ttl": {"web": f"{SERVICE_TTL_S}s"}}}, out)
        [self.dns_port] = free_ports(1)
        self.agent = self.start_agent(
            self.cluster, "a1",
            extra_arguments=["-dns-port", str(self.dns_port), "-config-dir", self.config_dir])

    def register_web(self):
        body = {"ID": "web-1", "Name": "web", "Address": "10.1.2.3", "Port": 8080,
                "Tags": ["primary"], "Check": {"CheckID": "web-1-ttl", "TTL": "60s"}}
        response = self.agent.request("PUT", "/v1/agent/service/register",
                                      body=json.dumps(body).encode())
        self.assertEqual(response.status, 200, response.body)
        self.set_check("pass")

    def set_check(self, verb):
        response = self.agent.request("PUT", f"/v1/agent/check/{verb}/web-1-ttl")
        self.assertEqual(response.status, 200, response.body)

    def web_addresses(self):
        return dig(self.dns_port, "web.service.roster").data("A")

    def test_a_and_srv_answers_from_the_agent(self):
        self.register_web()
        wait_for(lambda: self.web_addresses() == ["10.1.2.3"], SYNC_TIMEOUT_S,
                 "web in the agent's A answer")
        answer = dig(self.dns_port, "WEB.service.consul")  # any case, the alt domain
        self.assertEqual(answer.status, "NOERROR")
        self.assertEqual(answer.data("A"), ["10.1.2.3"])
        self.assertEqual({ttl for _name, ttl, _type, _data in answer.answers}, {SERVICE_TTL_S})
        srv = dig(self.dns_port, "_web._primary.service.roster", "SRV")
        # The service has its own address, so the target is its addr name (as on servers).
        self.assertEqual(srv.data("SRV"), ["1 1 8080 0a010203.addr.dc1.roster."])
        node = dig(self.dns_port, "a1.node.roster")
        self.assertEqual(node.data("A"), ["127.0.0.1"])
        self.assertEqual(dig(self.dns_port, "nothing.service.roster").status, "NXDOMAIN")
        self.assertEqual(dig(self.dns_port, "example.com").status, "REFUSED")

    def test_a_critical_instance_leaves_the_agents_answer_within_a_second(self):
        self.register_web()
        wait_for(lambda: self.web_addresses() == ["10.1.2.3"], SYNC_TIMEOUT_S,
                 "web in the agent's A answer")
        started = time.monotonic()
        self.set_check("fail")
        wait_for(lambda: dig(self.dns_port, "web.service.roster").status == "NXDOMAIN",
                 CHANGE_DEADLINE_S * 5, "web to leave the agent's answer")
        elapsed = time.monotonic() - started
        report(f"  critical instance gone from the agent's DNS after {elapsed * 1000:.0f} ms")
        self.assertLess(elapsed, CHANGE_DEADLINE_S)
        started = time.monotonic()
        self.set_check("pass")
        wait_for(lambda: self.web_addresses() == ["10.1.2.3"], CHANGE_DEADLINE_S * 5,
                 "web to come back")
        report(f"  passing again in the agent's DNS after "
               f"{(time.monotonic() - started) * 1000:.0f} ms")

    def test_answers_go_on_while_the_leader_is_killed(self):
        self.register_web()
        wait_for(lambda: self.web_addresses() == ["10.1.2.3"], SYNC_TIMEOUT_S,
                 "web in the agent's A answer")
        follower = next(s for s in self.cluster.servers if s is not self.leader)
        self.leader.kill()
        failures = []
        asked = 0
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            asked += 1
            answer = dig(self.dns_port, "web.service.roster")
            if answer.status != "NOERROR" or answer.data("A") != ["10.1.2.3"]:
                failures.append(answer.output)
        # A name not asked before: fetched from a follower (stale), leader or not.
        node = dig(self.dns_port, f"{follower.name}.node.roster")
        report(f"  {asked} questions while the leader was down, {len(failures)} failed")
        self.assertEqual(failures, [])
        self.assertEqual(node.data("A"), ["127.0.0.1"])

    def test_a_bad_dns_config_key_stops_the_agent(self):
        bad_dir = tempfile.mkdtemp(prefix="roster-agent-bad-")
        self.addCleanup(shutil.rmtree, bad_dir, True)
        with open(os.path.join(bad_dir, "dns.json"), "w") as out:
            json.dump({"dns_config": {"allow_stale": True}}, out)
        [http_port] = free_ports(1)
        command = agent_command("bad", os.path.join(bad_dir, "data"), http_port,
                                self.cluster.servers, ["-config-dir", bad_dir])
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("dns.json: dns_config.allow_stale: unknown key", done.stderr)


if __name__ == "__main__":
    unittest.main()
