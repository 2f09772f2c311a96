"""Real `roster` processes on loopback ports, for the integration tests (DESIGN.md,
testing layer 4).

A Server is one roster process with its own ports, data dir and log file, all of which
survive a restart. A Cluster starts servers that know each other. ClusterTestCase gives
each test its clusters, stops them afterwards, prints the tail of every server's log when
the test failed, and prints how long the test took.

Synchronisation is always `wait_for(predicate, timeout_s, what)`: poll until the predicate
holds or fail with `what`. Standard library only, so the tests run on a fresh Debian with
just python3. The binary comes from $ROSTER_BIN (ctest sets it to the roster target).

Run them all from the build dir with `ctest -L integration --output-on-failure`, or one
file (or one test) by hand from this directory:
    ROSTER_BIN=../../build/bin/roster python3 -m unittest -v test_failover.py
    ROSTER_BIN=../../build/bin/roster python3 -m unittest -v test_failover.ForwardedWriteTest
"""

import atexit
import base64
import ctypes
import dataclasses
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

# Above the 7 s a server holds a write while there is no leader, so "No cluster leader"
# arrives as a 500 rather than as a client time-out.
HTTP_TIMEOUT_S = 10.0
ELECTION_TIMEOUT_S = 10.0  # election timeouts are 0.5-1 s; this is generous
BOOTSTRAP_TIMEOUT_S = 20.0  # servers find each other by retrying joins, then elect
STOP_TIMEOUT_S = 10.0
AGENT_START_TIMEOUT_S = 20.0
LOG_TAIL_LINES = 40
POLL_INTERVAL_S = 0.02

# What a request can raise when a server is down, starting, or killed mid-request.
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


def report(message):
    """Prints a measured figure or a progress note next to unittest's own output."""
    print(message, file=sys.stderr, flush=True)


def wait_for(predicate, timeout_s, what):
    """Polls `predicate` until it returns something true, and returns that.

    Transport errors count as "not yet" (servers start, die and restart under us). After
    `timeout_s` fails with `what`: a string, or a callable that describes the final state.
    """
    deadline = time.monotonic() + timeout_s
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except TRANSPORT_ERRORS as error:
            last_error = error
        if time.monotonic() >= deadline:
            description = what() if callable(what) else what
            suffix = f" (last transport error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout_s:.1f} s waiting for "
                                 f"{description}{suffix}")
        time.sleep(POLL_INTERVAL_S)  # the polling period, not a synchronisation


def roster_binary():
    path = os.environ.get("ROSTER_BIN", "")
    if not (path and os.access(path, os.X_OK)):
        raise RuntimeError(f"ROSTER_BIN must name the roster binary, got {path!r} "
                           "(ctest sets it; by hand: ROSTER_BIN=build/bin/roster)")
    return path


def free_ports(count):
    """Distinct free loopback ports, picked by the kernel (bind to port 0).

    All sockets stay open until every port is picked so the ports differ. Linux hands
    bind(0) mostly odd ports and outgoing connections mostly even ones, so a port kept for
    a restart is unlikely to be taken as a client's source port meanwhile.
    """
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


# ---------------------------------------------------------------------------------------
# HTTP

@dataclasses.dataclass
class Response:
    status: int
    headers: object  # an email.message.Message: case-insensitive get()
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def index(self):
        """X-Consul-Index as an int, or None when the response has none."""
        value = self.headers.get("X-Consul-Index")
        return int(value) if value is not None else None

    def describe(self):
        return f"HTTP {self.status} {self.body[:200]!r}"


# No proxies: a CI machine's http_proxy must not see loopback requests.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_request(method, url, body=None, timeout_s=HTTP_TIMEOUT_S):
    """One request; every HTTP status comes back as a Response, transport errors raise."""
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with _OPENER.open(request, timeout=timeout_s) as reply:
            return Response(reply.status, reply.headers, reply.read())
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, error.headers, error.read())


def query_string(params):
    """{"recurse": None, "index": 5} -> "recurse&index=5": None makes a bare flag."""
    parts = []
    for name, value in params.items():
        parts.append(name if value is None else
                     f"{name}={urllib.parse.quote(str(value), safe='')}")
    return "&".join(parts)


def decode_entries(response):
    """A KV listing as {key: value bytes} (a null Value is b"")."""
    return {entry["Key"]: base64.b64decode(entry["Value"] or "") for entry in response.json()}


# ---------------------------------------------------------------------------------------
# Processes

_live_servers = set()  # killed at exit, whatever happened to the test


def _kill_live_servers():
    for server in list(_live_servers):
        server.kill()


atexit.register(_kill_live_servers)


def _die_with_parent():
    """In the child: SIGKILL when the test process dies (a ctest time-out kills only it)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass  # not glibc: atexit still cleans up after a normal exit


def _timestamp():
    """Now, in the servers' own format: UTC with milliseconds."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


_STAMPED = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def _copy_with_timestamps(pipe, log_path):
    """Copies a server's output into its log until the server exits, stamping the lines
    that carry no time of their own (its start-up banner) with when they arrived."""
    with pipe, open(log_path, "ab") as log:
        for line in pipe:
            log.write(line if _STAMPED.match(line) else _timestamp().encode() + b" " + line)
            log.flush()


class Server:
    """One roster process. Ports, data dir and log file stay the same across restarts."""

    def __init__(self, name, command, data_dir, log_path, http_port, server_port,
                 dns_port=None):
        self.name = name
        self.data_dir = data_dir
        self.log_path = log_path
        self.http_port = http_port
        self.server_port = server_port
        self.dns_port = dns_port  # UDP and TCP
        self._command = command  # the binary and its arguments
        self._process = None
        self._log_copier = None
        self._exit_expected = False  # the harness signalled it

    @property
    def address(self):
        """The server (Raft) address, as /v1/status/leader names it."""
        return f"127.0.0.1:{self.server_port}"

    @property
    def command(self):
        """The binary and its arguments."""
        return list(self._command)

    def __repr__(self):
        return f"{self.name}({self.address})"

    # Life cycle.

    def start(self):
        assert not self.running(), f"{self.name} is already running"
        os.makedirs(self.data_dir, exist_ok=True)
        self.note("starting")
        self._exit_expected = False
        self._process = subprocess.Popen(
            self._command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        self._log_copier = threading.Thread(
            target=_copy_with_timestamps, args=(self._process.stdout, self.log_path),
            daemon=True)
        self._log_copier.start()
        _live_servers.add(self)

    def note(self, event):
        """Writes a harness event into the server's log, timestamped like its lines."""
        with open(self.log_path, "ab") as log:
            log.write(f"{_timestamp()} ==== test harness: {event} {self.name} ====\n".encode())

    def running(self):
        return self._process is not None and self._process.poll() is None

    def expect_exit(self):
        """The test asked the process to exit by other means than a signal (an agent
        told to `roster leave`): its exit is not reported as a crash."""
        self.note("expecting the exit of")
        self._exit_expected = True

    def wait_exited(self, timeout_s=STOP_TIMEOUT_S):
        """Its exit status once it has exited; raises subprocess.TimeoutExpired."""
        return self._process.wait(timeout=timeout_s)

    def kill(self):
        """kill -9: no chance to flush or say goodbye."""
        self._signal_and_reap(signal.SIGKILL)

    def pause(self):
        """SIGSTOP: the process keeps its sockets (the kernel still accepts data for it)
        but answers nothing, like a server stuck in a long stall."""
        self.note("sending SIGSTOP to")
        self._process.send_signal(signal.SIGSTOP)

    def send_signal(self, signal_number):
        """A signal the process is to live through (SIGHUP: reload)."""
        self.note(f"sending {signal.Signals(signal_number).name} to")
        self._process.send_signal(signal_number)

    def stop(self):
        """SIGTERM and wait for a clean exit; a server that hangs or fails to exit cleanly
        is reported (and killed if it hangs)."""
        if not self._signal_and_reap(signal.SIGTERM):
            report(f"warning: {self.name} did not exit within {STOP_TIMEOUT_S} s of "
                   "SIGTERM; killed it")
            self.kill()
        elif self._process is not None and self._process.returncode not in (0, -signal.SIGKILL):
            report(f"warning: {self.name} exited with status {self._process.returncode}")

    def _signal_and_reap(self, signal_number):
        """True once the process has exited (or was not running) and its log is complete."""
        _live_servers.discard(self)
        if self.running():
            self._exit_expected = True
            self.note(f"sending {signal.Signals(signal_number).name} to")
            self._process.send_signal(signal_number)
            self._process.send_signal(signal.SIGCONT)  # a paused server must run to exit
            try:
                self._process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                return False
        if self._log_copier is not None:
            self._log_copier.join(timeout=STOP_TIMEOUT_S)
        return True

    def exited_by_itself(self):
        """The exit status if the process ended without the harness asking, else None."""
        if self._process is None or self._exit_expected:
            return None
        return self._process.poll()

    def wipe_raft_state(self):
        """Loses the Raft log and snapshots, as a replaced disk would, but keeps node-id and
        cluster-id so the server comes back as the same member of the same cluster."""
        assert not self.running(), "wipe a stopped server"
        for name in ("raft.db", "raft.db-wal", "raft.db-shm"):
            path = os.path.join(self.data_dir, name)
            if os.path.exists(path):
                os.remove(path)
        shutil.rmtree(self.snapshot_dir(), ignore_errors=True)
        os.makedirs(self.snapshot_dir())

    def snapshot_dir(self):
        return os.path.join(self.data_dir, "snapshots")

    def snapshot_files(self):
        """Completed snapshot files (`<index>-<term>.snap`), oldest first."""
        return sorted(name for name in os.listdir(self.snapshot_dir()) if name.endswith(".snap"))

    def log_text(self):
        with open(self.log_path, "rb") as log:
            return log.read().decode(errors="replace")

    def log_tail(self, lines=LOG_TAIL_LINES):
        return "\n".join(self.log_text().splitlines()[-lines:])

    # HTTP.

    def request(self, method, path, body=None, params=None, timeout_s=HTTP_TIMEOUT_S):
        url = f"http://127.0.0.1:{self.http_port}{path}"
        if params:
            url += "?" + query_string(params)
        return http_request(method, url, body, timeout_s)

    def kv_get(self, key, **params):
        return self.request("GET", kv_path(key), params=params)

    def kv_put(self, key, value, **params):
        return self.request("PUT", kv_path(key), body=value, params=params)

    def kv_delete(self, key, **params):
        return self.request("DELETE", kv_path(key), params=params)

    def kv_value(self, key, **params):
        """The value of `key` as bytes, or None when it is missing."""
        response = self.kv_get(key, **params)
        if response.status == 404:
            return None
        require_status(response, 200)
        return decode_entries(response)[key]

    def kv_entries(self, prefix, **params):
        """{key: value} for every key under `prefix`."""
        response = self.kv_get(prefix, recurse=None, **params)
        if response.status == 404:
            return {}
        require_status(response, 200)
        return decode_entries(response)

    def leader_address(self):
        response = self.request("GET", "/v1/status/leader")
        require_status(response, 200)
        return response.json()

    def raft_status(self):
        """The "Roster" object of /v1/agent/self: RaftState, CommitIndex, LastAppliedIndex."""
        response = self.request("GET", "/v1/agent/self")
        require_status(response, 200)
        return response.json()["Roster"]


def kv_path(key):
    return "/v1/kv/" + urllib.parse.quote(key, safe="/")


def require_status(response, status):
    if response.status != status:
        raise AssertionError(f"expected HTTP {status}, got {response.describe()}")


def is_acknowledged(response):
    """A KV write the server confirmed: 200 with the literal `true`."""
    return response.status == 200 and response.body.strip() == b"true"


def agent_command(name, data_dir, http_port, join_servers, extra_arguments=()):
    """`roster agent -node NAME` on 127.0.0.1, joined to `join_servers` (by HTTP address,
    in that order: the agent talks to the first one that answers)."""
    joins = [word for server in join_servers
             for word in ("-join", f"127.0.0.1:{server.http_port}")]
    return ([roster_binary(), "agent", "-node", name, "-data-dir", data_dir,
             "-bind", "127.0.0.1", "-http-port", str(http_port)] + joins +
            list(extra_arguments))


class Cluster:
    """`size` servers that join each other (or one `roster dev`), in one temp dir, and the
    agents started beside them (`agents`: Servers without a server port)."""

    def __init__(self, size=3, dev=False, extra_arguments=(), data_root=None):
        """`data_root`: where the servers' data dirs go (default: the cluster's temp dir,
        which also holds the logs)."""
        assert not (dev and size != 1), "roster dev is one server"
        binary = roster_binary()  # before making anything to clean up
        self.base_dir = tempfile.mkdtemp(prefix="roster-integration-")
        ports = free_ports(3 * size)
        http_ports, server_ports, dns_ports = ports[:size], ports[size:2 * size], ports[2 * size:]
        joins = [word for port in server_ports for word in ("-join", f"127.0.0.1:{port}")]
        self.servers = []
        self.agents = []
        for number in range(size):
            name = "dev" if dev else f"s{number + 1}"
            data_dir = os.path.join(data_root or self.base_dir, name)
            common = ["-data-dir", data_dir, "-http-port", str(http_ports[number]),
                      "-server-port", str(server_ports[number]),
                      "-dns-port", str(dns_ports[number])] + list(extra_arguments)
            if dev:
                command = [binary, "dev"] + common
            else:
                command = ([binary, "server", "-node", name, "-bind", "127.0.0.1",
                            "-bootstrap-expect", str(size)] + joins + common)
            self.servers.append(Server(name, command, data_dir,
                                       os.path.join(self.base_dir, f"{name}.log"),
                                       http_ports[number], server_ports[number],
                                       dns_ports[number]))

    def start(self):
        for server in self.servers:
            server.start()

    def add_agent(self, name, join_order=None, extra_arguments=()):
        """Starts `roster agent -node NAME` (data dir and log beside the servers') joined to
        the servers in `join_order` (default: all of them, s1 first); returns its Server,
        which is stopped, shown on failure and removed with the servers. The caller waits
        for it to answer (ClusterTestCase.start_agent does)."""
        [http_port] = free_ports(1)
        data_dir = os.path.join(self.base_dir, name)
        command = agent_command(name, data_dir, http_port, join_order or self.servers,
                                extra_arguments)
        agent = Server(name, command, data_dir, os.path.join(self.base_dir, f"{name}.log"),
                       http_port, None)
        self.agents.append(agent)
        agent.start()
        return agent

    def processes(self):
        """The servers, then the agents."""
        return self.servers + self.agents

    def running(self):
        return [server for server in self.servers if server.running()]

    def server_at(self, address):
        return next((server for server in self.servers if server.address == address), None)

    def wait_for_leader(self, timeout_s=ELECTION_TIMEOUT_S):
        """The leader every running server names, once they agree on a running one."""
        def agreed_leader():
            addresses = {server.leader_address() for server in self.running()}
            if len(addresses) != 1:
                return None
            leader = self.server_at(addresses.pop())
            return leader if leader is not None and leader.running() else None
        return wait_for(agreed_leader, timeout_s,
                        lambda: f"one leader named by every running server "
                                f"({self._leader_views()})")

    def _leader_views(self):
        views = []
        for server in self.running():
            try:
                views.append(f"{server.name} says {server.leader_address()!r}")
            except TRANSPORT_ERRORS as error:
                views.append(f"{server.name}: {error!r}")
        return ", ".join(views)

    def followers(self, leader):
        return [server for server in self.running() if server is not leader]

    def kill_all(self):
        for server in self.processes():
            server.kill()

    def stop_all(self):
        for server in reversed(self.processes()):  # agents first: they leave cleanly
            server.stop()

    def print_log_tails(self):
        for server in self.processes():
            report(f"---- last {LOG_TAIL_LINES} lines of {server.name}'s log "
                   f"({server.log_path}) ----")
            try:
                report(server.log_tail())
            except OSError as error:
                report(f"(cannot read it: {error})")

    def remove_files(self):
        shutil.rmtree(self.base_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# Concurrency helpers

class Background:
    """Runs `function` on a thread; `result()` returns its value or raises its error, and
    `finished_at` is the time.monotonic() at which it returned."""

    def __init__(self, function):
        self.finished_at = None
        self._value = None
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(function,), daemon=True)
        self._thread.start()

    def _run(self, function):
        try:
            self._value = function()
        except BaseException as error:  # handed to the test thread by result()
            self._error = error
        finally:
            self.finished_at = time.monotonic()

    def done_within(self, timeout_s):
        """Waits up to `timeout_s` for it to finish; True if it has."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def result(self, timeout_s=HTTP_TIMEOUT_S + 5):
        if not self.done_within(timeout_s):
            raise AssertionError(f"background call still running after {timeout_s} s")
        if self._error is not None:
            raise self._error
        return self._value


@dataclasses.dataclass
class AcknowledgedWrite:
    key: str
    value: bytes
    sent_at: float   # time.monotonic()
    acked_at: float


class WriteLoad:
    """Client threads that write distinct keys under `prefix`, each thread cycling through
    `servers`, and record every write acknowledged with 200 `true`. A failed write is never
    retried under the same key: it may or may not have been applied, and only acknowledged
    writes are promised."""

    def __init__(self, servers, threads=4, prefix="load/"):
        self.prefix = prefix
        self._servers = list(servers)
        self._thread_count = threads
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._acknowledged = []
        self._failures = 0
        self._threads = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def start(self):
        for number in range(self._thread_count):
            thread = threading.Thread(target=self._write_loop, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _write_loop(self, number):
        sequence = 0
        while not self._stop.is_set():
            key = f"{self.prefix}{number:02d}/{sequence:06d}"
            server = self._servers[(number + sequence) % len(self._servers)]
            sequence += 1
            if not self._write(server, key, f"{key} via {server.name}".encode()):
                self._stop.wait(0.05)  # pace retries against a dead server

    def _write(self, server, key, value):
        sent_at = time.monotonic()
        try:
            acknowledged = is_acknowledged(server.kv_put(key, value))
        except TRANSPORT_ERRORS:
            acknowledged = False
        with self._lock:
            if acknowledged:
                self._acknowledged.append(
                    AcknowledgedWrite(key, value, sent_at, time.monotonic()))
            else:
                self._failures += 1
        return acknowledged

    def acknowledged(self):
        """Every acknowledged write, as {key: value}."""
        with self._lock:
            return {write.key: write.value for write in self._acknowledged}

    def failures(self):
        with self._lock:
            return self._failures

    def acknowledged_sent_after(self, moment):
        """Acknowledged writes sent after `moment` (time.monotonic()), first ack first."""
        with self._lock:
            writes = [write for write in self._acknowledged if write.sent_at > moment]
        return sorted(writes, key=lambda write: write.acked_at)


# ---------------------------------------------------------------------------------------
# The test case

class ClusterTestCase(unittest.TestCase):
    """Gives a test its clusters and cleans up after it: on failure it prints the tail of
    every server's log and keeps the data dirs; it always prints the test's duration."""

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        self._clusters = []
        problems_before = len(result.failures) + len(result.errors)
        started_at = time.monotonic()
        try:
            return super().run(result)
        finally:
            failed = len(result.failures) + len(result.errors) > problems_before
            self._close_clusters(failed)
            report(f"  [{self.id()}: {time.monotonic() - started_at:.1f} s]")

    def _close_clusters(self, failed):
        for cluster in self._clusters:
            cluster.stop_all()
            if failed:
                cluster.print_log_tails()
                report(f"---- data dirs and logs kept in {cluster.base_dir} ----")
            else:
                cluster.remove_files()

    def start_cluster(self, size=3, extra_arguments=()):
        """Starts `size` servers and waits until they agree on a leader."""
        return self._start(Cluster(size, extra_arguments=extra_arguments))

    def start_dev_server(self, data_root=None, extra_arguments=()):
        """Starts `roster dev` and waits until it leads itself; returns its Server."""
        return self.start_dev_cluster(data_root, extra_arguments).servers[0]

    def start_dev_cluster(self, data_root=None, extra_arguments=()):
        """start_dev_server, returning the Cluster (to start agents beside it)."""
        return self._start(Cluster(1, dev=True, extra_arguments=extra_arguments,
                                   data_root=data_root))

    def start_agent(self, cluster, name, join_order=None, extra_arguments=(),
                    timeout_s=AGENT_START_TIMEOUT_S):
        """Cluster.add_agent, then waits until the agent answers /v1/agent/self."""
        agent = cluster.add_agent(name, join_order, extra_arguments)
        wait_for(lambda: agent.request("GET", "/v1/agent/self").status == 200, timeout_s,
                 lambda: f"agent {name} to answer\n{agent.log_tail()}")
        return agent

    def _start(self, cluster):
        self._clusters.append(cluster)
        self.addCleanup(self._assert_no_server_exited, cluster)
        cluster.start()
        cluster.wait_for_leader(timeout_s=BOOTSTRAP_TIMEOUT_S)
        return cluster

    def _assert_no_server_exited(self, cluster):
        exited = {server.name: server.exited_by_itself() for server in cluster.processes()
                  if server.exited_by_itself() is not None}
        self.assertEqual(exited, {}, "servers exited on their own (name: exit status)")

    # Assertions shared by the scenarios.

    def assert_acknowledged(self, response, what="the write"):
        self.assertTrue(is_acknowledged(response),
                        f"{what} was not acknowledged: {response.describe()}")

    def assert_blocks(self, query, index, for_s=0.3):
        """`query`, a Background blocking GET with ?index=`index`, is still waiting after
        `for_s`: nothing changed, so it must not return."""
        if query.done_within(for_s):
            response = query.result()
            self.fail(f"the blocking query at index {index} returned at once: "
                      f"{response.describe()} with X-Consul-Index {response.index}")

    def assert_eventually_holds(self, server, writes, prefix, timeout_s=20.0):
        """Waits until `server` holds every write in `writes` ({key: value} under `prefix`),
        reading its own store (?stale)."""
        missing = {}

        def holds_all():
            stored = server.kv_entries(prefix, stale=None)
            missing.clear()
            missing.update({key: value for key, value in writes.items()
                            if stored.get(key) != value})
            return not missing

        wait_for(holds_all, timeout_s,
                 lambda: f"{server.name} to hold all {len(writes)} acknowledged writes: "
                         f"{len(missing)} missing or wrong, e.g. {sorted(missing)[:5]}")
