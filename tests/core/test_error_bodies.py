"""Every error body shape providers answer with becomes a ProviderError carrying the provider's own message and
code: OpenAI's envelope, a bare error string, and the gRPC status that Google-AIP-style APIs (Fireworks) send."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ftops.errors import NotFoundError, ProviderError
from ftops.providers.http import HttpClient, RetryPolicy


@pytest.fixture
def server():
    """A real HTTP server on loopback that answers every request with the status and body the test sets."""
    answer = {"status": 400, "body": b"{}"}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(answer["status"])
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer["body"])))
            self.send_header("x-request-id", "req-1")
            self.end_headers()
            self.wfile.write(answer["body"])

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    client = HttpClient(provider="p", base_url=f"http://127.0.0.1:{httpd.server_address[1]}", headers={},
                        policy=RetryPolicy(max_retries=0, sleep=lambda s: None))

    def ask(status: int, body) -> ProviderError:
        answer["status"], answer["body"] = status, body if isinstance(body, bytes) else json.dumps(body).encode()
        with pytest.raises(ProviderError) as caught:
            client.json("GET", "thing")
        return caught.value

    yield ask
    client.close()
    httpd.shutdown()


@pytest.mark.parametrize("status, body, message, code", [
    (400, {"error": {"message": "bad suffix", "code": "invalid_value", "param": "suffix"}}, "bad suffix",
     "invalid_value"),
    (409, {"error": "already exists"}, "already exists", None),
    (409, {"code": 6, "message": "supervisedFineTuningJob ftops-1 already exists", "details": []},
     "supervisedFineTuningJob ftops-1 already exists", "ALREADY_EXISTS"),
    (400, {"code": "FAILED_PRECONDITION", "message": "model is already deployed"}, "model is already deployed",
     "FAILED_PRECONDITION"),
    (403, {"code": 7, "message": ""}, "HTTP 403", "PERMISSION_DENIED"),
    (400, {"code": 99, "message": "odd"}, "odd", "99"),
    (400, b"<html>gateway</html>", "HTTP 400: <html>gateway</html>", None),
])
def test_an_error_body_becomes_a_provider_error_with_its_message_and_code(server, status, body, message, code):
    error = server(status, body)
    assert error.status == status and error.code == code and error.request_id == "req-1"
    assert error.message.startswith(f"p: {message}")


def test_a_grpc_not_found_is_a_not_found_error(server):
    error = server(404, {"code": 5, "message": "dataset ftops-abc not found"})
    assert isinstance(error, NotFoundError) and "dataset ftops-abc not found" in str(error)
    assert "code=NOT_FOUND" in str(error)
