import hashlib
import hmac
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _own_throttle_counts(monkeypatch):
    """Rate-limit counts of this test only: the suite's Redis may be shared with other runs that reuse user ids."""
    from django.core.cache.backends.locmem import LocMemCache

    from core.api.throttling import TokenRateThrottle

    monkeypatch.setattr(TokenRateThrottle, "cache", LocMemCache(f"throttle-{uuid.uuid4()}", {}))


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 that records each POST and checks its signature with `receiver.secret`."""

    class Receiver:
        secret = ""
        status = 200
        requests = []

        @property
        def url(self):
            return f"http://127.0.0.1:{server.server_address[1]}/hooks/safqa?src=test"

    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            timestamp = self.headers["X-Safqa-Timestamp"]
            expected = hmac.new(state.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "payload": json.loads(body),
                    "signature_ok": hmac.compare_digest(self.headers["X-Safqa-Signature"], f"sha256={expected}"),
                }
            )
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
