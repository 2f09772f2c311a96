"""The few calls of Roster's HTTP API the examples use (Consul's KV and session endpoints,
plus Roster's ?sequential), with the Python standard library only.

The address comes from $ROSTER_HTTP_ADDR (default 127.0.0.1:8500), as for the roster CLI.
Every function is one HTTP request; a blocking read passes index= and wait=.
"""

import base64
import json
import os
import threading
import urllib.error
import urllib.parse
import urllib.request

ADDRESS = os.environ.get("ROSTER_HTTP_ADDR", "127.0.0.1:8500")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


def request(method, path, body=None, params=None, timeout_s=700):
    """(status, X-Consul-Index or 0, body bytes). Params: {"recurse": None} is a bare flag."""
    url = f"http://{ADDRESS}{path}"
    if params:
        url += "?" + "&".join(name if value is None else
                              f"{name}={urllib.parse.quote(str(value), safe='')}"
                              for name, value in params.items())
    data = body.encode() if isinstance(body, str) else body
    try:
        with _OPENER.open(urllib.request.Request(url, data=data, method=method),
                          timeout=timeout_s) as reply:
            return reply.status, int(reply.headers.get("X-Consul-Index", 0)), reply.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, int(error.headers.get("X-Consul-Index", 0)), error.read()


def _kv_path(key):
    return "/v1/kv/" + urllib.parse.quote(key, safe="/")


def _check(status, body, what):
    if status != 200:
        raise RuntimeError(f"{what}: HTTP {status} {body[:200]!r}")


def value_of(entry):
    """An entry's Value, base64-decoded, as text."""
    return base64.b64decode(entry.get("Value") or "").decode()


def kv_get(key, **params):
    """(entries, index): a key, or a prefix with recurse=None; [] when absent."""
    status, index, body = request("GET", _kv_path(key), params=params)
    if status == 404:
        return [], index
    _check(status, body, f"GET {key}")
    return json.loads(body), index


def kv_keys(prefix, **params):
    """(key names under prefix, index)."""
    status, index, body = request("GET", _kv_path(prefix), params=dict(params, keys=None))
    if status == 404:
        return [], index
    _check(status, body, f"GET {prefix}?keys")
    return json.loads(body), index


def kv_put(key, value="", **params):
    """The server's reply: True/False, or the created entry for sequential=None."""
    status, _, body = request("PUT", _kv_path(key), body=value, params=params)
    _check(status, body, f"PUT {key}")
    return json.loads(body)


def kv_delete(key, **params):
    status, _, body = request("DELETE", _kv_path(key), params=params)
    _check(status, body, f"DELETE {key}")
    return json.loads(body)


def session_create(name="", ttl="10s", behavior="release", lock_delay="15s"):
    body = json.dumps({"Name": name, "TTL": ttl, "Behavior": behavior, "LockDelay": lock_delay})
    status, _, reply = request("PUT", "/v1/session/create", body=body)
    _check(status, reply, "session create")
    return json.loads(reply)["ID"]


def session_renew(session):
    """False once the session no longer exists."""
    status, _, body = request("PUT", f"/v1/session/renew/{session}")
    if status == 404:
        return False
    _check(status, body, "session renew")
    return True


def session_destroy(session):
    request("PUT", f"/v1/session/destroy/{session}")


class KeepAlive:
    """Renews a session every ttl_s/2 on a thread until stop(); `lost` is set when the
    server says the session is gone."""

    def __init__(self, session, ttl_s):
        self.session = session
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ttl_s / 2,), daemon=True)
        self._thread.start()

    def _run(self, period_s):
        while not self._stop.wait(period_s):
            try:
                if not session_renew(self.session):
                    self.lost.set()
                    return
            except OSError:
                pass  # the server is unreachable for now: try again next period

    def stop(self):
        self._stop.set()
        self._thread.join()
