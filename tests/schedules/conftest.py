"""Fixtures of the schedule tests: a channel and billing key of the test store, and a server whose scheduler is off
(so that a test decides exactly when due schedules run: ``POST /_sandbox/schedules/run-due``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from localportone.kernel.config import Settings
from tests.schedules.helpers import PROVIDER, issued_key
from tests.support.contract import validate_response
from tests.support.server import RunningServer, make_client, run_server


@pytest.fixture
def channel(channels: dict[str, str]) -> str:
    return channels[PROVIDER]


@pytest.fixture
def billing_key(client: httpx.Client, channel: str) -> str:
    return issued_key(client, channel)


@pytest.fixture
def quiet_server(settings: Settings) -> Iterator[RunningServer]:
    with run_server(replace(settings, run_jobs=False)) as running:
        yield running


@pytest.fixture
def quiet(quiet_server: RunningServer) -> Iterator[httpx.Client]:
    with make_client(quiet_server.base_url, hooks=[validate_response]) as c:
        yield c


@pytest.fixture
def quiet_channel(quiet: httpx.Client) -> str:
    body = quiet.get("/_sandbox/channels").json()
    key: str = {c["pgProvider"]: c["key"] for c in body["channels"]}[PROVIDER]
    return key


@pytest.fixture
def quiet_key(quiet: httpx.Client, quiet_channel: str) -> str:
    return issued_key(quiet, quiet_channel)


@dataclass
class Receiver:
    """A local webhook endpoint that records every delivery (headers lower-cased, raw body)."""

    url: str
    received: list[tuple[dict[str, str], bytes]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{httpd.server_address[1]}/webhooks", received)
    finally:
        httpd.shutdown()
        httpd.server_close()
