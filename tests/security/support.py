"""An attacker's server for the pull-request threat model: it records everything sent to it (headers and body)
and answers like a friendly OpenAI-compatible API, so a client that trusts it would carry on talking."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CANARY = "fake-canary-PR-must-never-see-this"  # obviously fake, shaped like no real key


class Recorder:
    def __init__(self):
        self.requests: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(f"{self.command} {self.path}\n{self.headers}\n{body!r}")
                payload = json.dumps({"object": "list", "data": [], "has_more": False}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PUT = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def saw(self, secret: str) -> bool:
        return any(secret in r for r in self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
