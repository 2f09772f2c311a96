-- wrk script for bench/kv-vs-etcd.sh: the same load against Roster's Consul-style KV API
-- and etcd's v3 JSON gateway.
--
--   wrk -t2 -c64 -d10s --latency -s bench/wrk/kv.lua http://127.0.0.1:PORT -- \
--       SYSTEM OP MODE PREFIX VALUE_BYTES KEYS
--
--   SYSTEM       roster | etcd
--   OP           put    every request writes a new key PREFIX/<thread>/<n>
--                get    every request reads one of the KEYS keys PREFIX/<i> (i in
--                       0..KEYS-1, preloaded by the caller), chosen at random
--   MODE         get only. roster: default | stale | consistent
--                          etcd:   serializable | linearizable
--   VALUE_BYTES  put only: size of each value (default 100)
--
-- Besides wrk's own counts (socket errors, HTTP status > 399) it counts "bad" replies:
-- a 2xx whose body is not what success looks like (Roster PUT not `true`; etcd put
-- without a header; etcd range without the key). done() prints one machine-readable
-- line, "BENCH key=value ...", which the shell script parses.

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local b64table = {}
for i = 1, 64 do b64table[i - 1] = b64chars:sub(i, i) end

local function b64(s)
  local out = {}
  local len = #s
  for i = 1, len, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144)
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = b64table[c1] .. b64table[c2]
      .. (b and b64table[c3] or "=") .. (c and b64table[c4] or "=")
  end
  return table.concat(out)
end

-- setup/done run in the main Lua state; every thread has its own state.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local system, op, mode, prefix, value_bytes, keys
local value, value_b64
local counter = 0
local requests_by_key = {}  -- get: the prebuilt request for each key
bad = 0                     -- global so done() can read it with thread:get
bad_sample = ""

function init(args)
  system = args[1] or "roster"
  op = args[2] or "put"
  mode = args[3] or "default"
  prefix = args[4] or "bench"
  value_bytes = tonumber(args[5] or "100")
  keys = tonumber(args[6] or "1000")
  math.randomseed(os.time() + (id or 0) * 7919)

  value = string.rep("v", value_bytes)
  value_b64 = b64(value)

  if op == "get" then
    for i = 0, keys - 1 do
      local key = prefix .. "/" .. i
      if system == "roster" then
        local query = ""
        if mode == "stale" then query = "?stale" elseif mode == "consistent" then query = "?consistent" end
        requests_by_key[i] = wrk.format("GET", "/v1/kv/" .. key .. query)
      else
        local serializable = (mode == "serializable") and "true" or "false"
        requests_by_key[i] = wrk.format("POST", "/v3/kv/range",
          {["Content-Type"] = "application/json"},
          '{"key":"' .. b64(key) .. '","serializable":' .. serializable .. '}')
      end
    end
  end
end

function request()
  if op == "get" then
    return requests_by_key[math.random(0, keys - 1)]
  end
  counter = counter + 1
  local key = prefix .. "/" .. (id or 0) .. "/" .. counter
  if system == "roster" then
    return wrk.format("PUT", "/v1/kv/" .. key, nil, value)
  end
  return wrk.format("POST", "/v3/kv/put", {["Content-Type"] = "application/json"},
    '{"key":"' .. b64(key) .. '","value":"' .. value_b64 .. '"}')
end

local function note_bad(status, body)
  bad = bad + 1
  if bad_sample == "" then
    bad_sample = tostring(status) .. " " .. string.sub(body or "", 1, 120):gsub("%s+", " ")
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    -- wrk counts > 399 itself; keep a sample of what came back for the report.
    if bad_sample == "" then
      bad_sample = tostring(status) .. " " .. string.sub(body or "", 1, 120):gsub("%s+", " ")
    end
    return
  end
  if system == "roster" then
    if op == "put" and not body:find("^%s*true%s*$") then note_bad(status, body) end
  elseif op == "put" then
    if not body:find('"header"', 1, true) then note_bad(status, body) end
  else
    if not body:find('"kvs"', 1, true) then note_bad(status, body) end
  end
end

function done(summary, latency, requests)
  local bad_total, sample = 0, ""
  for _, thread in ipairs(threads) do
    bad_total = bad_total + (thread:get("bad") or 0)
    local s = thread:get("bad_sample") or ""
    if sample == "" and s ~= "" then sample = s end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
      .. "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d bad_body=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, bad_total))
  if sample ~= "" then
    io.write("BENCH_SAMPLE " .. sample .. "\n")
  end
end
