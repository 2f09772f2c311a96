#!/usr/bin/env python3
"""Sequential KV GETs through an agent on one keep-alive connection: the rate, and how many
connections the agent left in TIME_WAIT towards its server (one per forwarded request
before the agent kept its upstream connections open).

    bench/agent_forward_rate.py AGENT_HTTP_PORT SERVER_HTTP_PORT [N]
"""
import http.client
import subprocess
import sys
import time


def time_wait(port):
    out = subprocess.run(["ss", "-tan", "state", "time-wait", f"( dport = :{port} or sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    return max(0, len(out.splitlines()) - 1)


def main():
    agent_port, server_port = int(sys.argv[1]), int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    connection = http.client.HTTPConnection("127.0.0.1", agent_port)
    connection.request("PUT", "/v1/kv/bench/agent-forward", body=b"v")
    connection.getresponse().read()
    before = time_wait(server_port)
    started = time.monotonic()
    for _ in range(count):
        connection.request("GET", "/v1/kv/bench/agent-forward")
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
    elapsed = time.monotonic() - started
    print(f"{count} GETs through the agent: {count / elapsed:.0f}/s, "
          f"{elapsed * 1e6 / count:.0f} us each; connections to the server left in "
          f"TIME_WAIT: {max(0, time_wait(server_port) - before)}")


if __name__ == "__main__":
    main()
