"""What the example tests share (not part of any example): start an example's processes
against real roster servers, read their output, and stop them.

Builds on tests/integration/cluster.py (servers, wait_for). ctest puts both directories on
PYTHONPATH and sets ROSTER_BIN; by hand, from the repository root:
    PYTHONPATH=tests/integration:examples ROSTER_BIN=build/bin/roster \
        python3 -m unittest -v examples/leader_election/test_leader_election.py
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from cluster import ClusterTestCase, report, roster_binary, wait_for

EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))
STOP_TIMEOUT_S = 10.0


class Process:
    """One process of an example, its stdout and stderr in one file. It gets its own
    process group, so a test can pause or kill it together with its children, as when
    the machine it runs on stalls or dies."""

    def __init__(self, name, command, env):
        self.name = name
        self.command = command
        self._log = tempfile.NamedTemporaryFile(prefix=f"roster-example-{name}-", delete=False)
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)

    def output(self):
        with open(self._log.name, "rb") as log:
            return log.read().decode(errors="replace")

    def wait_for_output(self, pattern, timeout_s, describe):
        """The first match of `pattern` (a regex) in the output, once there is one."""
        return wait_for(lambda: re.search(pattern, self.output()), timeout_s,
                        lambda: f"{self.name} to print /{pattern}/\n{describe()}")

    def running(self):
        return self.process.poll() is None

    def signal_group(self, signal_number):
        if self.running():
            os.killpg(self.process.pid, signal_number)

    def wait(self, timeout_s=STOP_TIMEOUT_S):
        return self.process.wait(timeout=timeout_s)

    def stop(self):
        """SIGTERM to the group (SIGCONT in case it is paused), SIGKILL if it hangs."""
        try:
            self.signal_group(signal.SIGTERM)
            self.signal_group(signal.SIGCONT)
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # leftovers of the group, if any
        except ProcessLookupError:
            pass
        self.process.wait()
        self._log.close()
        os.unlink(self._log.name)


class ExampleTestCase(ClusterTestCase):
    """A ClusterTestCase that also runs an example's processes and shows their output
    when a wait fails."""

    def setUp(self):
        self.processes = []

    def start(self, name, command, server, extra_env=None):
        """Runs `command` (a list) with ROSTER (the binary) and ROSTER_HTTP_ADDR (server's
        HTTP address) in its environment; stopped when the test ends."""
        env = dict(os.environ, ROSTER=roster_binary(), PYTHONUNBUFFERED="1",
                   ROSTER_HTTP_ADDR=f"127.0.0.1:{server.http_port}", **(extra_env or {}))
        process = Process(name, command, env)
        self.processes.append(process)
        self.addCleanup(process.stop)
        return process

    def describe_processes(self):
        parts = []
        for process in self.processes:
            state = "running" if process.running() else f"exited {process.process.returncode}"
            parts.append(f"---- {process.name} ({state}) ----\n{process.output()}")
        return "\n".join(parts)

    def wait_until(self, predicate, timeout_s, what):
        """wait_for, with every process's output in the failure message."""
        return wait_for(predicate, timeout_s, lambda: f"{what}\n{self.describe_processes()}")

    def wait_for_output(self, process, pattern, timeout_s=20.0):
        return process.wait_for_output(pattern, timeout_s, self.describe_processes)

    def assert_quiet(self, process, pattern, for_s):
        """`pattern` does not show up in `process`'s output during `for_s` seconds."""
        deadline = time.monotonic() + for_s
        while time.monotonic() < deadline:
            self.assertIsNone(re.search(pattern, process.output()),
                              f"{process.name} printed /{pattern}/ too early\n"
                              f"{self.describe_processes()}")
            time.sleep(0.05)  # the polling period of a negative check

    def wait_for_sessions(self, server, timeout_s=20.0):
        """Waits until `server` can create a session (its node is in the catalog)."""
        def session_works():
            response = server.request("PUT", "/v1/session/create", body=b"{}")
            if response.status != 200:
                return False
            server.request("PUT", f"/v1/session/destroy/{response.json()['ID']}")
            return True
        self.wait_until(session_works, timeout_s, f"{server.name} to create sessions")


def python_command(example, script, *args):
    """[python3, examples/<example>/<script>, args...]"""
    return [sys.executable, os.path.join(EXAMPLES_DIR, example, script)] + list(args)


__all__ = ["EXAMPLES_DIR", "ExampleTestCase", "Process", "python_command", "report"]
