"""HTTP on loopback: parse a request, apply faults and auth, route it, answer JSON or bytes.

Built on ``http.server.ThreadingHTTPServer`` (HTTP/1.1 keep-alive). Every answer carries ``x-request-id``;
every failure is the dialect's error body, including the stdlib's own parse errors. Unexpected exceptions
become a 500: a traceback never reaches a client.
"""

from __future__ import annotations

import json
import random
import secrets
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ftops.emulator import admin, answers, filestore, jobs
from ftops.emulator import faults as faults_mod
from ftops.emulator.apierror import ApiError, reason
from ftops.emulator.dialects import Dialect
from ftops.emulator.httpio import JSON_LIMIT, Reply, Request, read_body, receive
from ftops.emulator.router import Router
from ftops.emulator.spool import Spool
from ftops.emulator.state import Store
from ftops.emulator.validation import Unvalidated

MAX_VALIDATION_ROUNDS = 1000  # checks one request may wait for (one per round; each runs once, then is kept)


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, store: Store, faults: faults_mod.Faults, dialect: Dialect):
        self.store = store
        self.faults = faults
        self.dialect = dialect
        self.router = Router(dialect.rules() + admin.rules(faults))
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ftops-emulator"
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body: no 40 ms stall
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format, *args) -> None:  # quiet: tests and `serve` keep stdout for the URL
        pass

    def do_GET(self):
        self._handle()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def send_error(self, code, message=None, explain=None) -> None:
        """The stdlib's parse errors (bad request line, huge headers, ...) as envelopes."""
        self.close_connection = True
        self.request_version = self.protocol_version  # an unparsable line would otherwise get a bare HTTP/0.9 body
        self._send(ApiError(code, message or reason(code)), "req_" + secrets.token_hex(16))

    def _handle(self) -> None:
        request_id = "req_" + secrets.token_hex(16)
        try:
            result, drop = self._dispatch()
        except ApiError as exc:
            result, drop = exc, False
            if exc.status == 413:
                self.close_connection = True
        except Exception as exc:  # a bug in the emulator: say so on the server's stderr, not to the client
            print(f"ftops emulator: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
            result, drop = ApiError(500, "The server had an error while processing your request."), False
        if drop:
            self.close_connection = True
            return
        self._send(result, request_id)

    def _dispatch(self) -> tuple:
        spools: list[Spool] = []
        try:
            return self._dispatch_with(spools)
        finally:
            for spool in spools:  # received to disk and not made a blob by the handler
                spool.discard()

    def _dispatch_with(self, spools: list[Spool]):
        url = urlsplit(self.path)
        path = url.path
        is_api = any(path.startswith(p) or path == p.rstrip("/") for p in self.server.dialect.api_prefixes)
        fault, delay = self.server.faults.next() if is_api else (None, 0.0)
        route, params, route_error = self._match(path)
        store = self.server.store
        form, upload, body = None, None, b""
        if route is not None and route.uploads:
            form, upload = receive(self.rfile, self.headers, route.limit, store.root / "blobs", spools)
        else:
            body = read_body(self.rfile, self.headers, route.limit if route else JSON_LIMIT)
        if fault == "drop":
            return None, True
        injected = faults_mod.error_for(fault) if fault else None
        if injected:
            raise injected
        if fault == "slow":
            time.sleep(delay)
        if is_api:
            cfg = self.server.store.cfg
            wait = random.uniform(*cfg.latency) + (cfg.create_latency if self.command == "POST" else 0.0)
            if wait:
                time.sleep(wait)  # a provider far away, or slow to create: the request lands only after this
        if is_api:
            self.server.dialect.authenticate(self.headers, self.server.store.cfg)
        if route_error:
            raise route_error
        req = Request(self.command, path, params, parse_qs(url.query, keep_blank_values=True), self.headers, body,
                      form=form, upload=upload, spools=spools)
        for _ in range(MAX_VALIDATION_ROUNDS):
            try:
                with store.transaction() as tx:
                    jobs.sync(tx)
                    filestore.expire(tx)
                    result = route.handler(tx, req)
                return result, fault == "drop_after"
            except Unvalidated as pending:  # rolled back; check the file without the lock, then again
                pending.work()
        raise ApiError(503, "The server is busy validating files; try again.")

    def _match(self, path: str):
        try:
            route, params = self.server.router.match(self.command, path)
        except ApiError as error:
            return None, {}, error
        return route, params, None

    def _send(self, result, request_id: str) -> None:
        headers = {"x-request-id": request_id}
        if isinstance(result, ApiError):
            status, payload = result.status, json.dumps(self.server.dialect.render_error(result)).encode()
            headers.update(result.headers)
            ctype = "application/json"
        elif isinstance(result, Reply):
            status, headers = result.status, {**headers, **result.headers}
            if isinstance(result.body, bytes) or result.body is None:
                payload, ctype = result.body or b"", "application/octet-stream"
            else:
                payload, ctype = json.dumps(result.body).encode(), "application/json"
        elif isinstance(result, bytes):
            status, payload, ctype = 200, result, "application/octet-stream"
        else:
            status, payload, ctype = 200, json.dumps(result).encode(), "application/json"
        answers.notify(self.server.store.cfg.on_response, self.server.dialect.name,
                       str(getattr(self, "command", None) or ""), urlsplit(getattr(self, "path", "") or "").path,
                       status, ctype, payload)
        try:
            self.send_response(status, reason(status))
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True  # the client went away; nothing to answer
