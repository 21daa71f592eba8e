"""A real HTTP server on 127.0.0.1 for faking third-party APIs in tests.

The official SDKs (google-genai, pinecone, stripe) are pointed at it through their
base-URL options, so the SDK code under test is the real one. Routes are plain
functions; every request is recorded so tests can assert what the SDK sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str] | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class FakeResponse:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before each streamed piece (or before a plain body).
    delay: float = 0.0

    @classmethod
    def json(cls, payload: Any, status: int = 200, **headers: str) -> FakeResponse:
        return cls(
            status, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers}
        )


Handler = Callable[[RecordedRequest], FakeResponse]


class FakeServer:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register `handler` for `method` and a regex matched against the whole path."""

        def register(handler: Handler) -> Handler:
            self._routes.insert(0, (method.upper(), re.compile(pattern), handler))
            return handler

        return register

    def requests_to(self, pattern: str) -> list[RecordedRequest]:
        rx = re.compile(pattern)
        with self._lock:
            return [r for r in self.requests if rx.fullmatch(r.path)]

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _dispatch(self, req: RecordedRequest) -> FakeResponse:
        with self._lock:
            self.requests.append(req)
            routes = list(self._routes)
        for method, rx, handler in routes:
            if method == req.method and (m := rx.fullmatch(req.path)):
                req.match = m
                return handler(req)
        return FakeResponse.json(
            {"error": {"message": f"no fake route for {req.method} {req.path}"}}, 404
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                resp = server._dispatch(req)
                try:
                    self._write(resp)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _write(self, resp: FakeResponse) -> None:
                self.send_response(resp.status)
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                if isinstance(resp.body, bytes):
                    if resp.delay:
                        time.sleep(resp.delay)
                    self.send_header("Content-Length", str(len(resp.body)))
                    self.end_headers()
                    self.wfile.write(resp.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for piece in resp.body:
                    if resp.delay:
                        time.sleep(resp.delay)
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        return _Handler
