#!/usr/bin/env python3
"""The measuring side of bench/agents-bench.sh (bench/README.md, issue 5).

Runs bench/agents_sim.cc (the simulated agents: one epoll loop, one keep-alive
connection per agent from its own loopback address, heartbeats every 2 s, one service
with a check registered per agent, re-registered every CHURN_PERIOD s) against a running
3-server cluster, and measures around it:
  - start-up: until every agent has heartbeated and registered;
  - a warm-up, then a steady window: server CPU (utime+stime from /proc/PID/stat) and
    RSS, the load generator's own CPU, heartbeat and register latency (agents_sim);
  - failure detection: K agents stop (agents_sim closes their sockets); the time until
    the serfHealth check of each is critical on every server, found by polling
    /v1/health/state/critical?stale on each server every POLL_MS while the other agents
    keep heartbeating. Any other simulated node seen critical is a false positive.
Prints one "BENCH key=value ..." line for the shell script. Standard library only.
"""

import argparse
import asyncio
import json
import os
import re
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
CONTENT_LENGTH = re.compile(r"content-length:\s*(\d+)")


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}]", *args, file=sys.stderr, flush=True)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class HttpProtocol(asyncio.Protocol):
    """The client side of one keep-alive HTTP/1.1 connection: one request at a time.
    A Protocol rather than streams plus wait_for: about half the CPU per request, which
    matters with thousands of requests per second from one Python thread."""

    def __init__(self):
        self.transport = None
        self.buffer = bytearray()
        self.waiter = None
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1").lower()
        match = CONTENT_LENGTH.search(head)
        length = int(match.group(1)) if match else 0
        if len(self.buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        body = bytes(self.buffer[end + 4:end + 4 + length])
        del self.buffer[:end + 4 + length]
        self.waiter.set_result((status, body, "connection: close" in head))

    def connection_lost(self, exc):
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))


class Conn:
    """One keep-alive HTTP/1.1 connection from a given source address; reopens after a
    close or an error. Timeouts: the caller's watchdog (see Agent.run)."""

    def __init__(self, host, port, source):
        self.host, self.port, self.source = host, port, source
        self.protocol = None
        self.host_header = f"Host: {host}:{port}\r\nContent-Type: application/json\r\n"

    def encode(self, method, path, body):
        return (f"{method} {path} HTTP/1.1\r\n{self.host_header}"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def request(self, method, path, body=b"", timeout=None, raw=None):
        loop = asyncio.get_running_loop()
        for attempt in (0, 1):
            if self.protocol is None or self.protocol.closed:
                _, self.protocol = await loop.create_connection(
                    HttpProtocol, self.host, self.port, local_addr=(self.source, 0))
            protocol = self.protocol
            protocol.waiter = loop.create_future()
            protocol.transport.write(raw if raw is not None else self.encode(method, path, body))
            try:
                if timeout is None:
                    status, reply, close = await protocol.waiter
                else:
                    status, reply, close = await asyncio.wait_for(protocol.waiter, timeout)
            except ConnectionError:
                self.close()
                if attempt == 1:
                    raise
                continue
            if close:
                self.close()
            return status, reply
        raise AssertionError("unreachable")

    def close(self):
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.close()
        self.protocol = None


class Bench:
    def __init__(self, args):
        self.args = args
        self.servers = [(s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])) for s in args.servers.split(",")]
        self.pids = [int(p) for p in args.pids.split(",")]
        self.errors = {}
        self.first_errors = []

    def error(self, kind, text):
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{kind}: {text}")

    async def command(self, line, reply_prefix):
        self.sim.stdin.write((line + "\n").encode())
        await self.sim.stdin.drain()
        while True:
            out = await self.sim.stdout.readline()
            if not out:
                raise RuntimeError("agents_sim exited")
            text = out.decode().strip()
            if text.startswith(reply_prefix):
                return dict(kv.split("=", 1) for kv in text.split()[1:] if "=" in kv) \
                    if reply_prefix == "STATS" else text.split()[1:]

    async def critical_watch(self, server, victims, seen, done):
        """Polls one server every poll_ms; records when each victim shows up critical."""
        conn = Conn(server[0], server[1], "127.0.0.1")
        while not done.is_set():
            try:
                status, body = await conn.request(
                    "GET", "/v1/health/state/critical?stale", timeout=15)
            except (OSError, asyncio.TimeoutError, ValueError) as error:
                self.error("watch", f"{type(error).__name__}: {error}")
                conn.close()
                await asyncio.sleep(0.1)
                continue
            now = time.monotonic()
            if status != 200:
                self.error("watch", f"HTTP {status} {body[:200]!r}")
                await asyncio.sleep(0.1)
                continue
            for check in json.loads(body):
                if check.get("CheckID") != "serfHealth":
                    continue
                node = check.get("Node")
                if node in victims:
                    seen.setdefault(node, {}).setdefault(server, now)
                elif node.startswith("sim-"):
                    self.false_critical.add(node)
            await asyncio.sleep(self.args.poll_ms / 1000)
        conn.close()

    async def main(self):
        args = self.args
        rss_base = [status_field(p, "VmRSS") for p in self.pids]  # before any agent
        self.sim = await asyncio.create_subprocess_exec(
            args.sim, "--servers", args.servers, "--agents", str(args.agents),
            "--interval-ms", str(int(args.interval * 1000)),
            "--churn-period-ms", str(int(args.churn_period * 1000)),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        sim_pid = self.sim.pid
        started = time.monotonic()
        ready = False
        while time.monotonic() - started < args.startup_timeout:
            stats = await self.command("stats", "STATS")
            if int(stats["registered"]) >= args.agents:
                ready = True
                break
            await asyncio.sleep(0.5)
        startup_s = time.monotonic() - started
        log(f"{args.agents} agents {'registered' if ready else 'NOT all registered'} in {startup_s:.1f} s")
        await asyncio.sleep(args.warmup)

        # Steady window.
        await self.command("stats", "STATS")  # resets the samples
        cpu0 = [cpu_seconds(p) for p in self.pids]
        sim_cpu0 = cpu_seconds(sim_pid)
        t0 = time.monotonic()
        await asyncio.sleep(args.window)
        stats = await self.command("stats", "STATS")
        window = time.monotonic() - t0
        cpu = [(cpu_seconds(p) - c) / window for p, c in zip(self.pids, cpu0)]
        gen_cpu = (cpu_seconds(sim_pid) - sim_cpu0) / window
        rss = [status_field(p, "VmRSS") for p in self.pids]
        threads = [status_field(p, "Threads") for p in self.pids]

        # Failure detection: stop K agents spread over the servers.
        seen, done = {}, asyncio.Event()
        self.false_critical = set()
        victims = set()
        watchers = [asyncio.create_task(self.critical_watch(s, victims, seen, done))
                    for s in self.servers]
        await asyncio.sleep(1)  # the watches are running before anything dies
        killed_at = time.monotonic()
        killed = await self.command(f"kill {args.kill}", "KILLED")
        since_ack = {}
        for item in killed:
            name, ms = item.rsplit(":", 1)
            victims.add(name)
            since_ack[name] = int(ms) / 1000
        log(f"stopped {len(victims)} agents; waiting for serfHealth critical on every server")
        deadline = killed_at + args.failure_timeout + args.detect_timeout
        while time.monotonic() < deadline:
            if all(len(seen.get(n, {})) == len(self.servers) for n in victims):
                break
            await asyncio.sleep(0.05)
        done.set()
        detect, from_ack = [], []
        for name in victims:
            times = seen.get(name, {})
            if len(times) == len(self.servers):
                last = max(times.values()) - killed_at
                detect.append(last)
                from_ack.append(last + since_ack[name])
        for task in watchers:
            task.cancel()
        self.sim.stdin.write(b"quit\n")
        await self.sim.stdin.drain()
        await self.sim.wait()

        leader = [port for _, port in self.servers].index(args.leader_port) if args.leader_port else -1
        result = {
            "agents": args.agents, "ready": int(ready), "startup_s": f"{startup_s:.1f}",
            "window_s": f"{window:.1f}",
            "cpu": ",".join(f"{c * 100:.1f}" for c in cpu),
            "cpu_leader": f"{cpu[leader] * 100:.1f}" if leader >= 0 else "n/a",
            "cpu_max": f"{max(cpu) * 100:.1f}",
            "rss_mib": ",".join(f"{r / 1024:.1f}" for r in rss),
            "rss_leader_mib": f"{rss[leader] / 1024:.1f}" if leader >= 0 else "n/a",
            "rss_base_mib": ",".join(f"{r / 1024:.1f}" for r in rss_base),
            "rss_per_1k_mib": f"{max(r - b for r, b in zip(rss, rss_base)) / 1024 * 1000 / args.agents:.1f}",
            "threads": ",".join(str(t) for t in threads),
            "gen_cpu": f"{gen_cpu * 100:.1f}",
            "hb_count": stats["hb"], "hb_rate": f"{int(stats['hb']) / window:.0f}",
            "hb_p50_ms": f"{int(stats['hb_p50_us']) / 1000:.2f}",
            "hb_p99_ms": f"{int(stats['hb_p99_us']) / 1000:.2f}",
            "hb_max_ms": f"{int(stats['hb_max_us']) / 1000:.1f}",
            "reg_count": stats["reg"],
            "reg_p50_ms": f"{int(stats['reg_p50_us']) / 1000:.2f}",
            "reg_p99_ms": f"{int(stats['reg_p99_us']) / 1000:.2f}",
            "killed": len(victims), "detected": len(detect),
            "detect_p50_s": f"{percentile(detect, 0.5):.2f}",
            "detect_max_s": f"{max(detect, default=float('nan')):.2f}",
            "ack_to_detect_max_s": f"{max(from_ack, default=float('nan')):.2f}",
            "false_critical": len(self.false_critical),
            "errors": int(stats["errors"]) + sum(self.errors.values()),
            "watch_errors": sum(self.errors.values()),
        }
        print("BENCH " + " ".join(f"{k}={v}" for k, v in result.items()), flush=True)
        if stats["first_error"] != "none":
            print(f"BENCH_ERROR agents: {stats['first_error']}", flush=True)
        for line in self.first_errors:
            print(f"BENCH_ERROR {line}", flush=True)
        log("done: " + " ".join(f"{k}={v}" for k, v in result.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sim", required=True, help="the agents_sim binary")
    parser.add_argument("--servers", required=True, help="host:port,... HTTP addresses")
    parser.add_argument("--pids", required=True, help="server pids, in the order of --servers")
    parser.add_argument("--leader-port", type=int, default=0)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=2.0, help="heartbeat period, s")
    parser.add_argument("--churn-period", type=float, default=60.0,
                        help="each agent re-registers its service this often, s (0: never)")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--kill", type=int, default=20)
    parser.add_argument("--failure-timeout", type=float, default=10.0)
    parser.add_argument("--detect-timeout", type=float, default=20.0,
                        help="give up this long after the failure timeout")
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    parser.add_argument("--poll-ms", type=float, default=50.0)
    args = parser.parse_args()
    asyncio.run(Bench(args).main())


if __name__ == "__main__":
    main()
