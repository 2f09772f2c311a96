"""Debian's python3-consul (0.7.1) against a Roster agent, the way a Python service uses it.

Old clients like this one send lower-case JSON field names ("name", "ttl") and GET for
check pass and service deregister; Consul accepts both, so Roster must too (DESIGN.md,
"Deliberate differences"). Run by test_consul_clients.py under /usr/bin/python3, where
the Debian package lives.
"""

import time

import consul


def eventually(what, probe, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # the polling period, not a synchronisation


def run(host, port, check):
    """Runs every step against the agent at host:port; `check(condition, message)` asserts."""
    c = consul.Consul(host=host, port=port)

    check(c.agent.service.register("py-web", service_id="py-web-1", port=9090,
                                   tags=["py"], check=consul.Check.ttl("30s")),
          "service register returns true")
    services = c.agent.services()
    check("py-web-1" in services and services["py-web-1"]["Service"] == "py-web",
          f"agent/services lists py-web-1: {services}")
    checks = c.agent.checks()
    check(checks.get("service:py-web-1", {}).get("Status") == "critical",
          f"a new TTL check starts critical: {checks}")

    check(c.agent.check.ttl_pass("service:py-web-1", notes="fine"), "ttl_pass (a GET) returns true")
    eventually("py-web in the catalog", lambda: "py-web" in c.catalog.services()[1])
    _, nodes = eventually("py-web in health?passing",
                          lambda: (lambda r: r if len(r[1]) == 1 else None)(
                              c.health.service("py-web", passing=True)))
    check(nodes[0]["Service"]["ID"] == "py-web-1" and nodes[0]["Service"]["Port"] == 9090,
          f"health/service shows the instance: {nodes}")
    check(any(ch["CheckID"] == "service:py-web-1" and ch["Status"] == "passing"
              for ch in nodes[0]["Checks"]), f"its TTL check is passing: {nodes[0]['Checks']}")

    # A service registering again (on a restart, say) keeps its check's status.
    check(c.agent.service.register("py-web", service_id="py-web-1", port=9090,
                                   tags=["py"], check=consul.Check.ttl("30s")),
          "service register again returns true")
    again = c.agent.checks().get("service:py-web-1", {})
    check(again.get("Status") == "passing" and again.get("Output") == "fine",
          f"registering again keeps the check passing: {again}")

    c.agent.check.ttl_fail("service:py-web-1", notes="down")
    eventually("py-web out of ?passing", lambda: not c.health.service("py-web", passing=True)[1])

    check(c.kv.put("py/greeting", "hello"), "kv put returns true")
    index, entry = c.kv.get("py/greeting")  # 0.7.1 hands back X-Consul-Index as a string
    check(entry["Value"] == b"hello" and int(index) > 0, f"kv get reads it back: {entry}")
    # A blocking get on a key that changes returns at once with a newer index.
    c.kv.put("py/greeting", "again")
    index2, entry2 = c.kv.get("py/greeting", index=index, wait="5s")
    check(int(index2) > int(index) and entry2["Value"] == b"again",
          "a blocking get sees the new value")

    session = c.session.create(name="py-session", ttl=15)
    check(c.kv.put("py/lock", "me", acquire=session), "acquire with a session")
    check(c.kv.get("py/lock")[1]["Session"] == session, "the lock names the session")
    check(not c.kv.put("py/lock", "other", acquire=c.session.create(ttl=15)) is True,
          "a second session cannot take the held lock")
    c.session.destroy(session)
    eventually("the lock released", lambda: "Session" not in c.kv.get("py/lock")[1])

    # No coordinates, but the answers python-consul expects (it needs X-Consul-Index).
    check(c.coordinate.datacenters()[0]["Coordinates"] == [], "coordinate datacenters")
    index, coordinates = c.coordinate.nodes()
    check(coordinates == [] and int(index) > 0, f"coordinate nodes: {index} {coordinates}")
    _, catalog_nodes = c.catalog.nodes()
    check(all(n["TaggedAddresses"].get("lan") == n["Address"] for n in catalog_nodes),
          f"every node has Consul's TaggedAddresses: {catalog_nodes}")

    # force-leave (a GET in this client) removes a node that is gone for good.
    check(c.catalog.register("py-ghost", "10.9.9.9"), "catalog register of a node")
    check(c.agent.force_leave("py-ghost"), "force-leave (a GET) returns true")
    check("py-ghost" not in [n["Node"] for n in c.catalog.nodes()[1]],
          "force-leave removed the node from the catalog")

    check(c.agent.service.deregister("py-web-1"), "service deregister (a GET) returns true")
    eventually("py-web gone from the catalog", lambda: "py-web" not in c.catalog.services()[1])
