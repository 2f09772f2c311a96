#!/usr/bin/env python3
"""Helpers for bench/dns-vs-peers.sh (bench/README.md, issue 6). Standard library only.

  dns_bench.py gen DIR [--spread] --names 1000 --instances 10 --dnsmasq-port P --unbound-port P
      writes DIR/queries (dnsperf input: every name once as A and once as SRV, shuffled),
      DIR/dnsmasq.conf and DIR/unbound.conf serving the same names as static records:
      svcN.service.roster. with INSTANCES A records and INSTANCES SRV records whose
      targets NODE.node.dc1.roster. have A records of their own.
  dns_bench.py register HTTP_PORT [--spread] --names 1000 --instances 10
      registers the same catalog in a Roster server (PUT /v1/catalog/register, one
      passing check per instance, 16 threads).
  Layouts: by default instance i of every service is on node-i (INSTANCES nodes with
  NAMES services each); --spread gives every instance a node of its own.
  (Latency at a fixed load is measured by bench/dns_load, not from dnsperf -v output.)
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading


def instance_address(instance):
    return f"10.0.{instance // 256}.{instance % 256 + 1}"


def layout(args):
    """[(service name, [(node, address)] per instance)]: shared puts instance i of every
    service on node-i (INSTANCES nodes, each with NAMES services and checks); spread puts
    every instance on a node of its own (NAMES x INSTANCES nodes, one service each)."""
    out = []
    for n in range(args.names):
        instances = []
        for i in range(args.instances):
            if args.spread:
                k = n * args.instances + i + 1
                instances.append((f"node-{n}-{i}", f"10.{k >> 16 & 255}.{k >> 8 & 255}.{k & 255}"))
            else:
                instances.append((f"node-{i}", instance_address(i)))
        out.append((f"svc{n}", instances))
    return out


def gen(args):
    os.makedirs(args.dir, exist_ok=True)
    names = [f"svc{n}.service.roster" for n in range(args.names)]
    queries = [f"{name} A" for name in names] + [f"{name} SRV" for name in names]
    random.Random(1).shuffle(queries)
    with open(os.path.join(args.dir, "queries"), "w") as f:
        f.write("\n".join(queries) + "\n")
    services = layout(args)
    nodes = sorted({node_address for _, instances in services for node_address in instances})

    with open(os.path.join(args.dir, "dnsmasq.conf"), "w") as f:
        f.write(f"port={args.dnsmasq_port}\nlisten-address=127.0.0.1\nbind-interfaces\n"
                "no-resolv\nno-hosts\nno-negcache\nlocal-ttl=0\nlocal=/roster/\n")
        for node, address in nodes:
            f.write(f"host-record={node}.node.dc1.roster,{address}\n")
        for service, instances in services:
            for node, address in instances:
                f.write(f"host-record={service}.service.roster,{address}\n")
                f.write(f"srv-host={service}.service.roster,{node}.node.dc1.roster,8080,1,1\n")

    with open(os.path.join(args.dir, "unbound.conf"), "w") as f:
        f.write("server:\n"
                f"  interface: 127.0.0.1@{args.unbound_port}\n  port: {args.unbound_port}\n"
                f"  username: \"\"\n  chroot: \"\"\n  directory: \"{args.dir}\"\n"
                f"  pidfile: \"{args.dir}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n"
                "  do-daemonize: no\n  num-threads: 2\n  so-reuseport: yes\n"
                "  access-control: 127.0.0.0/8 allow\n  verbosity: 0\n"
                "  local-zone: \"roster.\" static\n")
        for node, address in nodes:
            f.write(f"  local-data: \"{node}.node.dc1.roster. 0 IN A {address}\"\n")
        for service, instances in services:
            for node, address in instances:
                f.write(f"  local-data: \"{service}.service.roster. 0 IN A {address}\"\n")
                f.write(f"  local-data: \"{service}.service.roster. 0 IN SRV 1 1 8080 "
                        f"{node}.node.dc1.roster.\"\n")
        f.write("remote-control:\n  control-enable: no\n")


def register(args):
    bodies = []
    for service, instances in layout(args):
        for node, address in instances:
            bodies.append(json.dumps({
                "Node": node, "Address": address,
                "Service": {"ID": service, "Service": service, "Port": 8080},
                "Checks": [{"CheckID": f"service:{service}", "Name": "check",
                            "Status": "passing", "ServiceID": service}],
            }))
    errors = []

    def worker(part):
        conn = http.client.HTTPConnection("127.0.0.1", args.http_port, timeout=30)
        for body in part:
            conn.request("PUT", "/v1/catalog/register", body, {"Content-Type": "application/json"})
            reply = conn.getresponse()
            text = reply.read()
            if reply.status != 200:
                errors.append(f"HTTP {reply.status} {text[:200]!r}")
                return

    threads = [threading.Thread(target=worker, args=(bodies[t::16],)) for t in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        sys.exit(f"register failed: {errors[0]}")
    print(f"registered {len(bodies)} instances")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("gen")
    p.add_argument("dir")
    p.add_argument("--names", type=int, default=1000)
    p.add_argument("--instances", type=int, default=10)
    p.add_argument("--spread", action="store_true", help="one node per instance")
    p.add_argument("--dnsmasq-port", type=int, required=True)
    p.add_argument("--unbound-port", type=int, required=True)
    p = sub.add_parser("register")
    p.add_argument("http_port", type=int)
    p.add_argument("--spread", action="store_true", help="one node per instance")
    p.add_argument("--names", type=int, default=1000)
    p.add_argument("--instances", type=int, default=10)
    args = parser.parse_args()
    {"gen": gen, "register": register}[args.command](args)


if __name__ == "__main__":
    main()
