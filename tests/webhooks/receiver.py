"""A real HTTP receiver on 127.0.0.1 for webhook tests: records every request; can fail, redirect or stall."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    #: Header names exactly as sent (the Python SDK looks them up case-sensitively).
    headers: dict[str, str]
    body: bytes
    answered: int
    at: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        return self.body.decode()


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        #: Requests whose body was read, before any ``delay`` (a request in flight shows up here first).
        self.arrivals = 0
        self._lock = threading.Condition()
        self._fail_next = 0
        self._fail_status = 500
        self.status = 200
        self.delay = 0.0
        self.response_body = b'{"ok":true}'
        self.url = ""

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status`` (then the normal status again)."""
        with self._lock:
            self._fail_next = count
            self._fail_status = status

    def _answer(self) -> int:
        with self._lock:
            if self._fail_next > 0:
                self._fail_next -= 1
                return self._fail_status
            return self.status

    def record(self, item: Received) -> None:
        with self._lock:
            self.requests.append(item)
            self._lock.notify_all()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """Block until at least ``count`` requests arrived (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} webhook requests, got {len(self.requests)}")
                self._lock.wait(left)
            return list(self.requests)

    def settle(self, quiet: float = 0.3) -> list[Received]:
        """Wait until no request arrived for ``quiet`` seconds (to check that nothing more comes)."""
        while True:
            before = len(self.requests)
            time.sleep(quiet)
            if len(self.requests) == before:
                return list(self.requests)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.arrivals += 1
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver._answer()
                receiver.record(Received(self.path, dict(self.headers.items()), body, status))
                payload = receiver.response_body
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/redirected")
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Receiver", "tests")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the sender gave up (timeout, shutdown)
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the default backlog of 5 refuses connections under a burst of webhooks
    daemon_threads = True


@contextmanager
def running_receiver(configure: Callable[[Receiver], None] | None = None) -> Iterator[Receiver]:
    receiver = Receiver()
    if configure is not None:
        configure(receiver)
    server = _Server(("127.0.0.1", 0), receiver.handler())
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/webhook"
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="webhook-receiver")
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
