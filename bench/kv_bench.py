#!/usr/bin/env python3
"""Helper for bench/kv-vs-etcd.sh: talks to a 3-member Roster or etcd cluster over
HTTP (Roster's Consul-style KV API, etcd's v3 JSON gateway). Standard library only.

Every member is named by the port of its HTTP API (Roster -http-port, etcd client
port); all on 127.0.0.1.

  stamp LOG                       copy stdin to LOG, each line prefixed with the UTC time
  leader SYSTEM PORT...           print the leader's PORT once the members agree
  wait-healthy SYSTEM PORT...     wait until they agree on a leader and it acks a write
  load SYSTEM PORT PREFIX COUNT   write keys PREFIX/0 .. PREFIX/COUNT-1 (retrying failures)
  failover SYSTEM PID PORT...     kill -9 PID (the leader), time the first acked write
                                  sent afterwards to one of PORT... (the survivors)
  first-ack SYSTEM SINCE KEY PORT...
                                  time from SINCE (epoch seconds) to the first acked
                                  write and the first successful read of KEY
"""

import argparse
import base64
import http.client
import json
import os
import signal
import sys
import threading
import time

HOST = "127.0.0.1"


def b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def request(port, method, path, body=None, timeout=2.0, conn=None):
    """(status, body bytes); raises OSError / HTTPException on transport errors.
    With `conn` the connection is reused (the caller replaces it after an error)."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        if own:
            conn.close()


# ---------------------------------------------------------------------------------------
# The two APIs

def write(system, port, key, value, timeout=2.0, conn=None):
    """True when the system acknowledged the write."""
    if system == "roster":
        status, body = request(port, "PUT", "/v1/kv/" + key, value, timeout, conn)
        return status == 200 and body.strip() == b"true"
    payload = json.dumps({"key": b64(key), "value": b64(value)})
    status, body = request(port, "POST", "/v3/kv/put", payload, timeout, conn)
    return status == 200 and b'"header"' in body


def read(system, port, key, timeout=2.0):
    """True when a default (Roster) / linearizable (etcd) read returned the key."""
    if system == "roster":
        status, _ = request(port, "GET", "/v1/kv/" + key, None, timeout)
        return status == 200
    payload = json.dumps({"key": b64(key)})
    status, body = request(port, "POST", "/v3/kv/range", payload, timeout)
    return status == 200 and b'"kvs"' in body


def leader_port(system, ports, timeout=2.0):
    """The leader's port if every member in `ports` answers and names the same leader
    among them, else None."""
    if system == "roster":
        named = set()
        for port in ports:
            status, body = request(port, "GET", "/v1/status/leader", None, timeout)
            if status != 200:
                return None
            named.add(json.loads(body))
        if len(named) != 1:
            return None
        address = named.pop()
        if not address:
            return None
        # Roster names the leader by its server (Raft) port: the script passes the
        # mapping in ROSTER_PORT_MAP as "server:http,server:http,...".
        mapping = dict(pair.split(":") for pair in os.environ["ROSTER_PORT_MAP"].split(","))
        http_port = mapping.get(address.rsplit(":", 1)[1])
        return int(http_port) if http_port and int(http_port) in ports else None
    leaders, members = set(), {}
    for port in ports:
        status, body = request(port, "POST", "/v3/maintenance/status", "{}", timeout)
        if status != 200:
            return None
        reply = json.loads(body)
        leader = reply.get("leader", "0")
        if leader in ("0", 0, None):
            return None
        leaders.add(str(leader))
        members[str(reply["header"]["member_id"])] = port
    if len(leaders) != 1:
        return None
    return members.get(leaders.pop())


TRANSPORT_ERRORS = (OSError, http.client.HTTPException, ValueError, KeyError)


def poll(predicate, timeout_s, interval_s=0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = predicate()
            if value:
                return value
        except TRANSPORT_ERRORS:
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval_s)


# ---------------------------------------------------------------------------------------
# Commands

def cmd_stamp(args):
    with open(args.log, "ab", buffering=0) as log:
        for line in sys.stdin.buffer:
            now = time.time()
            stamp = time.strftime("%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d} "
            log.write(stamp.encode() + line)


def cmd_leader(args):
    port = poll(lambda: leader_port(args.system, args.ports), args.timeout)
    if port is None:
        print(f"no agreed leader among {args.ports} within {args.timeout} s", file=sys.stderr)
        return 1
    print(port)
    return 0


def cmd_wait_healthy(args):
    def healthy():
        port = leader_port(args.system, args.ports)
        if port is None:
            return None
        key = f"bench/health/{time.time_ns()}"
        return port if write(args.system, port, key, "ok") else None
    started = time.monotonic()
    port = poll(healthy, args.timeout, 0.1)
    if port is None:
        print(f"{args.system} cluster {args.ports} not healthy within {args.timeout} s",
              file=sys.stderr)
        return 1
    print(port)
    print(f"healthy after {time.monotonic() - started:.2f} s, leader at port {port}",
          file=sys.stderr)
    return 0


def cmd_load(args):
    """COUNT keys over `concurrency` keep-alive connections; a failed write is retried
    (same key) until it is acknowledged, so exactly COUNT keys exist afterwards."""
    value = "v" * args.value_bytes
    lock = threading.Lock()
    state = {"next": 0, "errors": 0, "first_error": ""}

    def take():
        with lock:
            index = state["next"]
            if index >= args.count:
                return None
            state["next"] += 1
            return index

    def worker():
        conn = None
        index = take()
        failures_in_a_row = 0
        while index is not None:
            if conn is None:
                conn = http.client.HTTPConnection(HOST, args.port, timeout=10)
            try:
                ok = write(args.system, args.port, f"{args.prefix}/{index}", value, conn=conn)
                error = "" if ok else "not acknowledged"
            except TRANSPORT_ERRORS as exc:
                ok, error = False, repr(exc)
                conn.close()
                conn = None
            if ok:
                failures_in_a_row = 0
                index = take()
                continue
            failures_in_a_row += 1
            with lock:
                state["errors"] += 1
                if not state["first_error"]:
                    state["first_error"] = error
            if failures_in_a_row > 50:
                raise SystemExit(f"load: 50 failures in a row writing {args.prefix}/{index}: {error}")
            time.sleep(0.05)
        if conn is not None:
            conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    done = state["next"]
    print(f"LOAD keys={done} seconds={seconds:.2f} rate={done / seconds:.0f} "
          f"errors={state['errors']}" +
          (f" first_error={state['first_error']!r}" if state["errors"] else ""))
    return 0 if done >= args.count else 1


class FirstSuccess:
    """Launches an attempt every `interval_s` on its own thread (so a hung attempt does
    not hold the next one back) and remembers when the first one succeeded."""

    def __init__(self, attempt, interval_s, max_in_flight=100):
        self.attempt = attempt  # attempt(number) -> bool; may raise transport errors
        self.interval_s = interval_s
        self.max_in_flight = max_in_flight
        self.first_ok_at = None
        self.sent_first_ok_at = None
        self.attempts = 0
        self.failures = 0
        self.last_error = ""
        self._lock = threading.Lock()
        self._in_flight = 0

    def _run(self, number, sent_at):
        try:
            ok = self.attempt(number)
            error = "" if ok else "not acknowledged"
        except TRANSPORT_ERRORS as exc:
            ok, error = False, repr(exc)
        now = time.monotonic()
        with self._lock:
            self._in_flight -= 1
            if ok and (self.first_ok_at is None or now < self.first_ok_at):
                self.first_ok_at, self.sent_first_ok_at = now, sent_at
            elif not ok:
                self.failures += 1
                self.last_error = error

    def run(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        number = 0
        while time.monotonic() < deadline:
            with self._lock:
                if self.first_ok_at is not None:
                    return self.first_ok_at
                can_start = self._in_flight < self.max_in_flight
                if can_start:
                    self._in_flight += 1
            if can_start:
                number += 1
                self.attempts += 1
                threading.Thread(target=self._run, args=(number, time.monotonic()),
                                 daemon=True).start()
            time.sleep(self.interval_s)
        return self.first_ok_at


def cmd_failover(args):
    ports = args.ports
    tag = f"bench/failover/{time.time_ns()}"

    def attempt(number):
        return write(args.system, ports[number % len(ports)], f"{tag}/{number}", "v" * 100,
                     timeout=args.request_timeout)

    killed_at = time.monotonic()
    os.kill(args.pid, signal.SIGKILL)
    tracker = FirstSuccess(attempt, args.interval)
    first = tracker.run(args.timeout)
    if first is None:
        print(f"FAILOVER none within {args.timeout} s (attempts={tracker.attempts}, "
              f"last error {tracker.last_error})")
        return 1
    print(f"FAILOVER ms={(first - killed_at) * 1000:.0f} attempts={tracker.attempts} "
          f"failed={tracker.failures} first_ok_sent_ms={(tracker.sent_first_ok_at - killed_at) * 1000:.0f}")
    return 0


def cmd_first_ack(args):
    """Both trackers run at once; times are from SINCE (the epoch time the script took
    just before it started the first member)."""
    ports = args.ports
    tag = f"bench/restart/{time.time_ns()}"
    offset = time.time() - time.monotonic()  # monotonic -> epoch

    def write_attempt(number):
        return write(args.system, ports[number % len(ports)], f"{tag}/{number}", "v" * 100,
                     timeout=args.request_timeout)

    def read_attempt(number):
        return read(args.system, ports[number % len(ports)], args.key,
                    timeout=args.request_timeout)

    results = {}
    trackers = {"write": FirstSuccess(write_attempt, args.interval),
                "read": FirstSuccess(read_attempt, args.interval)}
    threads = [threading.Thread(target=lambda name=name, tracker=tracker:
                                results.__setitem__(name, tracker.run(args.timeout)))
               for name, tracker in trackers.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    parts = []
    for name in ("write", "read"):
        first = results.get(name)
        parts.append(f"{name}_ms=" + ("none" if first is None else
                                       f"{(first + offset - args.since) * 1000:.0f}"))
    print("RESTART " + " ".join(parts))
    return 0 if all(results.get(name) is not None for name in trackers) else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("stamp")
    p.add_argument("log")
    p.set_defaults(func=cmd_stamp)

    for name, func in (("leader", cmd_leader), ("wait-healthy", cmd_wait_healthy)):
        p = sub.add_parser(name)
        p.add_argument("system", choices=("roster", "etcd"))
        p.add_argument("ports", type=int, nargs="+")
        p.add_argument("--timeout", type=float, default=60.0)
        p.set_defaults(func=func)

    p = sub.add_parser("load")
    p.add_argument("system", choices=("roster", "etcd"))
    p.add_argument("port", type=int)
    p.add_argument("prefix")
    p.add_argument("count", type=int)
    p.add_argument("--value-bytes", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=32)
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("failover")
    p.add_argument("system", choices=("roster", "etcd"))
    p.add_argument("pid", type=int)
    p.add_argument("ports", type=int, nargs="+")
    p.add_argument("--interval", type=float, default=0.02)
    p.add_argument("--request-timeout", type=float, default=3.0)
    p.add_argument("--timeout", type=float, default=30.0)
    p.set_defaults(func=cmd_failover)

    p = sub.add_parser("first-ack")
    p.add_argument("system", choices=("roster", "etcd"))
    p.add_argument("since", type=float)
    p.add_argument("key")
    p.add_argument("ports", type=int, nargs="+")
    p.add_argument("--interval", type=float, default=0.02)
    p.add_argument("--request-timeout", type=float, default=3.0)
    p.add_argument("--timeout", type=float, default=120.0)
    p.set_defaults(func=cmd_first_ack)

    args = parser.parse_args()
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
