"""DNS on three servers (consul-api.md §5, docs/dns.md), asked with `dig` (bind9-dnsutils):
A and SRV answers for instances registered through /v1/catalog/register, on every server;
an instance turning critical leaves the answers within a second and a new one joins them
as fast; a service with 200 instances comes with TC over UDP and whole over TCP; names
outside the domains are REFUSED without recursors and forwarded to a second Roster (serving
the domain `other.`) with them. A c-ares client (ares_resolve, tests/integration) resolves
against the same servers when it was built."""

import json
import os
import re
import shutil
import subprocess
import time
import unittest

from cluster import ClusterTestCase, report, wait_for

SELF_REGISTRATION_TIMEOUT_S = 10.0
CHANGE_DEADLINE_S = 1.0  # issue 6: answers change within a second
DIG_TIMEOUT_S = 10.0


def register_body(node, address, service, check_status="passing"):
    return json.dumps({
        "Node": node, "Address": address, "NodeMeta": {"rack": "r1"},
        "Service": service,
        "Check": {"CheckID": f"{service['ID']}-alive", "Name": "alive",
                  "ServiceID": service["ID"], "Status": check_status},
    }).encode()


class Dig:
    """One `dig` answer: status, header flags and the answer section as
    (name, ttl, type, data) tuples."""

    HEADER = re.compile(r"->>HEADER<<- opcode: \w+, status: (\w+), id: \d+")
    FLAGS = re.compile(r";; flags: ([a-z ]*);")

    def __init__(self, output):
        self.output = output
        status = self.HEADER.search(output)
        flags = self.FLAGS.search(output)
        if status is None or flags is None:
            raise AssertionError(f"dig printed no header:\n{output}")
        self.status = status.group(1)
        self.flags = set(flags.group(1).split())
        self.answers = []
        for line in output.splitlines():
            if not line or line.startswith(";"):
                continue
            name, ttl, _klass, rtype, data = line.split(None, 4)
            self.answers.append((name, int(ttl), rtype, data))

    def data(self, rtype):
        return sorted(data for _name, _ttl, kind, data in self.answers if kind == rtype)


def dig(port, name, rtype="A", tcp=False):
    # +ignore: show a truncated UDP answer as it is instead of retrying over TCP.
    command = ["dig", "@127.0.0.1", "-p", str(port), name, rtype, "+tries=1", "+time=3",
               "+noall", "+comments", "+answer", "+tcp" if tcp else "+ignore"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=DIG_TIMEOUT_S)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}: "
                             f"{done.stdout}{done.stderr}")
    return Dig(done.stdout)


@unittest.skipIf(shutil.which("dig") is None, "dig is not installed (bind9-dnsutils)")
class DnsClusterTest(ClusterTestCase):

    def setUp(self):
        # A second Roster serving `other.` only, as the recursor of the three servers.
        self.other = self.start_dev_server(extra_arguments=["-domain", "other.",
                                                           "-alt-domain", ""])
        self.cluster = self.start_cluster(
            3, extra_arguments=["-recursor", f"127.0.0.1:{self.other.dns_port}"])
        self.leader = self.cluster.wait_for_leader()
        wait_for(lambda: len(self.leader.request("GET", "/v1/catalog/service/consul").json()) == 3,
                 SELF_REGISTRATION_TIMEOUT_S, "the three servers to register as service consul")

    def register(self, server, node, address, service, check_status="passing"):
        response = server.request("PUT", "/v1/catalog/register",
                                  body=register_body(node, address, service, check_status))
        self.assertEqual((response.status, response.body), (200, b"true"))

    def register_web(self, node, address, port, check_status="passing"):
        self.register(self.leader, node, address,
                      {"ID": f"web-{node}", "Service": "web", "Tags": ["primary"], "Port": port},
                      check_status)

    def wait_on_every_server(self, predicate, what):
        """Polls every server's DNS until predicate(dig answer) holds; returns the slowest
        server's time, measured from the call."""
        started = time.monotonic()
        slowest = 0.0
        for server in self.cluster.servers:
            wait_for(lambda: predicate(server), CHANGE_DEADLINE_S * 5, f"{server.name}: {what}")
            slowest = max(slowest, time.monotonic() - started)
        return slowest

    def test_a_and_srv_answers_on_every_server(self):
        self.register_web("host-a", "10.0.0.1", 8080)
        self.register_web("host-b", "10.0.0.2", 8081)
        self.wait_on_every_server(
            lambda server: dig(server.dns_port, "web.service.roster").data("A") ==
            ["10.0.0.1", "10.0.0.2"], "both web instances in the A answer")
        for server in self.cluster.servers:
            srv = dig(server.dns_port, "web.service.consul", "SRV")  # the alt domain
            self.assertEqual(srv.status, "NOERROR")
            self.assertIn("aa", srv.flags)
            self.assertEqual(srv.data("SRV"), ["1 1 8080 host-a.node.dc1.consul.",
                                               "1 1 8081 host-b.node.dc1.consul."])
            tagged = dig(server.dns_port, "_web._primary.service.roster", "SRV")
            self.assertEqual(len(tagged.data("SRV")), 2)
            node = dig(server.dns_port, "HOST-A.node.roster")  # names ignore case
            self.assertEqual(node.data("A"), ["10.0.0.1"])
            missing = dig(server.dns_port, "nothing.service.roster")
            self.assertEqual(missing.status, "NXDOMAIN")

    def test_an_instance_turning_critical_leaves_within_a_second(self):
        self.register_web("host-a", "10.0.0.1", 8080)
        self.register_web("host-b", "10.0.0.2", 8081)
        self.wait_on_every_server(
            lambda server: len(dig(server.dns_port, "web.service.roster").data("A")) == 2,
            "both instances")

        self.register_web("host-b", "10.0.0.2", 8081, check_status="critical")
        slowest = self.wait_on_every_server(
            lambda server: dig(server.dns_port, "web.service.roster").data("A") == ["10.0.0.1"],
            "host-b to leave the A answer")
        report(f"  critical instance gone from DNS on all 3 servers after {slowest * 1000:.0f} ms")
        self.assertLess(slowest, CHANGE_DEADLINE_S)
        for server in self.cluster.servers:
            srv = dig(server.dns_port, "web.service.roster", "SRV").data("SRV")
            self.assertEqual(srv, ["1 1 8080 host-a.node.dc1.roster."])

        self.register_web("host-c", "10.0.0.3", 8082)
        slowest = self.wait_on_every_server(
            lambda server: dig(server.dns_port, "web.service.roster").data("A") ==
            ["10.0.0.1", "10.0.0.3"], "host-c to join the A answer")
        report(f"  new instance in DNS on all 3 servers after {slowest * 1000:.0f} ms")
        self.assertLess(slowest, CHANGE_DEADLINE_S)

    def test_200_instances_truncated_over_udp_and_whole_over_tcp(self):
        addresses = set()
        for number in range(200):
            address = f"10.1.{number // 100}.{number % 100 + 1}"
            addresses.add(address)
            self.register(self.leader, f"big-{number:03d}", address,
                          {"ID": "big", "Service": "big", "Port": 9000})
        server = self.cluster.servers[1]
        wait_for(lambda: len(dig(server.dns_port, "big.service.roster", tcp=True).data("A")) == 200,
                 CHANGE_DEADLINE_S * 5, "200 A records over TCP")
        over_udp = dig(server.dns_port, "big.service.roster")
        self.assertIn("tc", over_udp.flags)
        self.assertLess(len(over_udp.answers), 200)
        over_tcp = dig(server.dns_port, "big.service.roster", tcp=True)
        self.assertNotIn("tc", over_tcp.flags)
        self.assertEqual(set(over_tcp.data("A")), addresses)
        srv_over_tcp = dig(server.dns_port, "big.service.roster", "SRV", tcp=True)
        self.assertEqual(len(srv_over_tcp.data("SRV")), 200)
        self.assertIn("tc", dig(server.dns_port, "big.service.roster", "SRV").flags)

    def test_other_names_refused_without_recursors_forwarded_with_them(self):
        self.register(self.other, "api-host", "10.2.0.1",
                      {"ID": "api", "Service": "api", "Port": 7000})
        wait_for(lambda: dig(self.other.dns_port, "api.service.other").data("A") == ["10.2.0.1"],
                 CHANGE_DEADLINE_S * 5, "the second Roster to answer for api.service.other")

        refused = dig(self.other.dns_port, "web.service.roster")  # it has no recursors
        self.assertEqual(refused.status, "REFUSED")
        self.assertNotIn("ra", refused.flags)
        self.assertEqual(dig(self.other.dns_port, "www.example.com").status, "REFUSED")

        for server in self.cluster.servers:
            forwarded = dig(server.dns_port, "api.service.other")
            self.assertEqual(forwarded.status, "NOERROR")
            self.assertEqual(forwarded.data("A"), ["10.2.0.1"])
            self.assertIn("ra", forwarded.flags)
            over_tcp = dig(server.dns_port, "_api._tcp.service.other", "SRV", tcp=True)
            self.assertEqual(over_tcp.data("SRV"), ["1 1 7000 api-host.node.dc1.other."])
            # The recursor refuses names it does not serve either: that is a failure.
            self.assertEqual(dig(server.dns_port, "www.example.com").status, "SERVFAIL")

    @unittest.skipIf(not os.environ.get("ARES_RESOLVE_BIN"), "ARES_RESOLVE_BIN is not set")
    def test_a_c_ares_client_resolves_a_and_srv(self):
        self.register_web("host-a", "10.0.0.1", 8080)
        server = self.cluster.servers[2]
        wait_for(lambda: dig(server.dns_port, "web.service.roster").data("A") == ["10.0.0.1"],
                 CHANGE_DEADLINE_S * 5, "web in DNS")
        for transport in ("udp", "tcp"):
            done = subprocess.run(
                [os.environ["ARES_RESOLVE_BIN"], f"127.0.0.1:{server.dns_port}", transport,
                 "web.service.roster", "_web._tcp.service.roster"],
                capture_output=True, text=True, timeout=DIG_TIMEOUT_S)
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stdout.splitlines(),
                             ["web.service.roster A 10.0.0.1",
                              "_web._tcp.service.roster SRV 1 1 8080 host-a.node.dc1.roster"])


if __name__ == "__main__":
    unittest.main()
