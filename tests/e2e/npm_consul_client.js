// Drives the npm `consul` client (2.x) against a Roster agent, the way a Node.js service
// would: register with a TTL check, pass it, find itself in the catalog and in
// health?passing, KV and sessions. Exits 0 when every step saw what Consul would give,
// else prints the step and exits 1. Usage: node npm_consul_client.js HOST PORT
"use strict";
const assert = require("node:assert/strict");
const Consul = require("consul");

async function eventually(what, probe, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));  // polling period
  }
}

async function main() {
  const [host, port] = process.argv.slice(2);
  const consul = new Consul({ host, port: Number(port) });

  await consul.agent.service.register({
    name: "node-web", id: "node-web-1", port: 8080, tags: ["v1"], check: { ttl: "30s" },
  });
  const services = await consul.agent.service.list();
  assert.equal(services["node-web-1"].Service, "node-web");
  assert.deepEqual(services["node-web-1"].Tags, ["v1"]);

  // A new TTL check starts critical: not in ?passing until it is passed.
  const checks = await consul.agent.check.list();
  assert.equal(checks["service:node-web-1"].Status, "critical");
  await consul.agent.check.pass({ id: "service:node-web-1", note: "ok from node" });

  await eventually("node-web in the catalog", async () =>
    "node-web" in (await consul.catalog.service.list()));
  const healthy = await eventually("node-web in health?passing", async () => {
    const entries = await consul.health.service({ service: "node-web", passing: true });
    return entries.length === 1 ? entries : null;
  });
  assert.equal(healthy[0].Service.ID, "node-web-1");
  assert.equal(healthy[0].Service.Port, 8080);

  await consul.agent.check.fail({ id: "service:node-web-1", note: "broken" });
  await eventually("node-web out of health?passing", async () =>
    (await consul.health.service({ service: "node-web", passing: true })).length === 0);

  assert.equal(await consul.kv.set("npm/greeting", "hello"), true);
  const entry = await consul.kv.get("npm/greeting");
  assert.equal(entry.Value, "hello");

  const session = await consul.session.create({ name: "npm-session", ttl: "15s" });
  assert.match(session.ID, /^[0-9a-f-]{36}$/);
  assert.equal(await consul.kv.set({ key: "npm/lock", value: "me", acquire: session.ID }), true);
  assert.equal((await consul.kv.get("npm/lock")).Session, session.ID);
  await consul.session.destroy(session.ID);
  await eventually("the lock released with its session", async () =>
    (await consul.kv.get("npm/lock")).Session === undefined);

  await consul.agent.service.deregister("node-web-1");
  await eventually("node-web gone from the catalog", async () =>
    !("node-web" in (await consul.catalog.service.list())));
  console.log("npm consul client: all steps passed");
}

main().catch((error) => {
  console.error(`npm consul client: ${error.stack || error}`);
  process.exit(1);
});
