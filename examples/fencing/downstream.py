"""A tiny downstream service that stores one value and refuses writes stamped with a
fencing token older than the newest it has seen (Chubby's sequencer check; the storage
side of "fencing tokens"). Writers send PUT /data with X-Fencing-Token and X-Writer.

    python3 downstream.py PORT        (0: any free port; it prints the one it got)
"""

import http.server
import sys
import threading

_lock = threading.Lock()
_state = {"highest_token": 0, "value": b""}


class Handler(http.server.BaseHTTPRequestHandler):

    def do_PUT(self):
        token = int(self.headers.get("X-Fencing-Token", "0"))
        writer = self.headers.get("X-Writer", "?")
        value = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with _lock:
            highest = _state["highest_token"]
            if token < highest:
                print(f"rejected {writer} token={token} (highest seen {highest}): {value.decode()}",
                      flush=True)
                self.reply(409, f"stale fencing token {token} < {highest}\n")
                return
            _state.update(highest_token=token, value=value)
        print(f"accepted {writer} token={token}: {value.decode()}", flush=True)
        self.reply(200, "ok\n")

    def do_GET(self):
        with _lock:
            self.reply(200, f"{_state['highest_token']} {_state['value'].decode()}\n")

    def reply(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # the accepted/rejected lines are the log


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
