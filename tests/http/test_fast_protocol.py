"""Fast routes answered inside ``serve``'s HTTP protocol: byte for byte what uvicorn's ASGI path writes for the same
answer, in request order, and everything the route declines (or cannot take here) handed to the ASGI app."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.server import ServerState

from localportone.http.fast import STATS, FastPaths, FastRequest, FastRoute
from localportone.http.server import CoalescingHttpToolsProtocol

DATE = (b"date", b"Sun, 29 Nov 2026 00:00:00 GMT")


class _Transport:
    """Records what the protocol writes; closes and pauses as asked."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.writes = 0
        self.closed = False
        self.reading = True

    def write(self, data: Any) -> None:
        self.data += bytes(data)
        self.writes += 1

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)


class _App:
    """Stands in for FastAPI: every request it gets is answered ``regular <path>`` after a few loop passes (so
    that a request after it could overtake it), reading the request first as Starlette does."""

    def __init__(self, *, postgres: bool = False) -> None:
        database = SimpleNamespace(pg=object() if postgres else None)
        self.state = SimpleNamespace(runtime=SimpleNamespace(name="runtime", db=database))
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "http.request"
        self.paths.append(scope["path"])
        for _ in range(3):
            await asyncio.sleep(0)
        body = f"regular {scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-length", str(len(body)).encode()), (b"content-type", b"text/plain"),
        ]})
        await send({"type": "http.response.body", "body": body})


HANDLED: Counter[str] = Counter()


async def _item(request: FastRequest) -> bytes | None:
    """``fast-*`` answers; ``slow-*`` waits first (as on PostgreSQL); ``*decline-*`` declines, ``*boom-*``
    fails."""
    item = request.params[0]
    HANDLED[item] += 1
    assert request.runtime.name == "runtime"
    if item.startswith("slow"):
        await asyncio.sleep(0)
    if "decline" in item:
        return None
    if "boom" in item:
        raise RuntimeError("the regular route knows the error to answer")
    return b'{"item":"%s","store":"%s","auth":"%s"}' % (
        item.encode(), request.query.get("storeId", "-").encode(), (request.header(b"authorization") or "-").encode())


class _Uvicorn(CoalescingHttpToolsProtocol):
    answer_in_protocol = False


def _protocol(cls: type[CoalescingHttpToolsProtocol] = CoalescingHttpToolsProtocol, *, app: _App | None = None,
              access_log: bool = False) -> tuple[CoalescingHttpToolsProtocol, _Transport, _App]:
    app = app or _App()
    paths = FastPaths(app, [FastRoute("GET", ("items", None), _item, frozenset({"storeId"}))])
    config = uvicorn.Config(paths, lifespan="off", access_log=access_log, http=cls, log_level="warning")
    config.load()
    state = ServerState()
    state.default_headers = [DATE, (b"server", b"uvicorn")]
    protocol = cls(config, state, {}, asyncio.get_running_loop())
    transport = _Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport, app


async def _settle(protocol: CoalescingHttpToolsProtocol) -> None:
    """Let the request tasks run until none is left."""
    for _ in range(100):
        if not protocol.server_state.tasks:
            return
        await asyncio.sleep(0)
    raise AssertionError("requests still running")


async def _exchange(data: bytes, cls: type[CoalescingHttpToolsProtocol] = CoalescingHttpToolsProtocol
                    ) -> tuple[bytes, _Transport, CoalescingHttpToolsProtocol]:
    protocol, transport, _app = _protocol(cls)
    protocol.data_received(data)
    await _settle(protocol)
    return bytes(transport.data), transport, protocol


def _get(target: str, *headers: str, version: str = "1.1") -> bytes:
    lines = [f"GET {target} HTTP/{version}", "Host: example", *headers, "", ""]
    return "\r\n".join(lines).encode()


def _bodies(data: bytes) -> list[bytes]:
    """The bodies of the responses in ``data``, in order (all have a content-length)."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(next(line for line in head.split(b"\r\n") if line.startswith(b"content-length:")).split()[1])
        out.append(rest[:length])
        data = rest[length:]
    return out


@pytest.mark.parametrize("request_bytes", [
    _get("/items/fast-1"),
    _get("/items/fast-1?storeId=store-1", "Authorization: PortOne secret"),
    _get("/items/fast-%31"),
    _get("//items//fast-1"),
    _get("/items/fast-1", "Connection: close"),
    _get("/items/fast-1", version="1.0"),
    _get("/items/fast-1", "Connection: keep-alive", version="1.0"),
])
async def test_a_fast_answer_is_written_as_uvicorn_writes_it_in_one_piece(request_bytes: bytes) -> None:
    served = STATS["served"]
    fast, fast_transport, fast_protocol = await _exchange(request_bytes)
    assert STATS["served"] == served + 1 and not fast_protocol.server_state.tasks
    regular, regular_transport, _ = await _exchange(request_bytes, _Uvicorn)
    assert STATS["served"] == served + 2  # the ASGI path asked the fast route too
    assert fast == regular
    assert fast.startswith(b"HTTP/1.1 200 OK\r\ndate: Sun, 29 Nov 2026 00:00:00 GMT\r\nserver: uvicorn\r\n"
                           b"content-length: ")
    assert b"\r\ncontent-type: application/json\r\n" in fast
    assert fast_transport.writes == 1
    assert fast_transport.closed == regular_transport.closed
    closes = b"Connection: close" in request_bytes or b"HTTP/1.0" in request_bytes
    assert fast_transport.closed is closes and (b"\r\nconnection: close\r\n" in fast) is closes


async def test_a_declined_or_failing_route_hands_the_request_to_the_app_once() -> None:
    protocol, transport, app = _protocol()
    declined = STATS["declined"]
    items = ["decline-1", "boom-1", "slow-decline-1", "slow-boom-1"]
    protocol.data_received(b"".join(_get(f"/items/{item}") for item in items))
    await _settle(protocol)
    assert _bodies(bytes(transport.data)) == [f"regular /items/{item}".encode() for item in items]
    assert app.paths == [f"/items/{item}" for item in items]
    assert [HANDLED[item] for item in items] == [1, 1, 1, 1]  # not asked again on the ASGI path
    assert STATS["declined"] == declined + 4


async def test_a_trailing_slash_is_left_to_the_app() -> None:
    """FastAPI answers ``/items/x/`` with a redirect to ``/items/x``: the fast route must not answer it with 200."""
    protocol, transport, app = _protocol()
    served = STATS["served"]
    protocol.data_received(_get("/items/fast-1/"))
    await _settle(protocol)
    assert _bodies(bytes(transport.data)) == [b"regular /items/fast-1/"]
    assert app.paths == ["/items/fast-1/"] and STATS["served"] == served


async def test_pipelined_requests_are_answered_in_order() -> None:
    protocol, transport, app = _protocol()
    protocol.data_received(_get("/items/fast-1") + _get("/other") + _get("/items/fast-2") + _get("/items/slow-3")
                           + _get("/items/fast-4"))
    await _settle(protocol)
    assert [b.split(b",")[0] for b in _bodies(bytes(transport.data))] == [
        b'{"item":"fast-1"', b"regular /other", b'{"item":"fast-2"', b'{"item":"slow-3"', b'{"item":"fast-4"',
    ]
    assert app.paths == ["/other"]  # the fast requests queued behind others were still answered fast
    assert transport.reading and not transport.closed


async def test_a_fast_request_does_not_overtake_one_in_flight() -> None:
    protocol, transport, _app = _protocol()
    protocol.data_received(_get("/other"))
    protocol.data_received(_get("/items/fast-1"))  # arrives while /other is being answered
    assert transport.data == b""
    await _settle(protocol)
    assert [b.split(b",")[0] for b in _bodies(bytes(transport.data))] == [b"regular /other", b'{"item":"fast-1"']


async def test_a_handler_that_waits_is_finished_in_a_task() -> None:
    protocol, transport, _app = _protocol()
    protocol.data_received(_get("/items/slow-1", "Connection: close"))
    assert transport.data == b"" and protocol.server_state.tasks
    await _settle(protocol)
    slow = bytes(transport.data)
    assert _bodies(slow) == [b'{"item":"slow-1","store":"-","auth":"-"}'] and transport.closed
    regular, _, _ = await _exchange(_get("/items/slow-1", "Connection: close"), _Uvicorn)
    assert slow == regular


@pytest.mark.parametrize("request_bytes", [
    b"GET /items/fast-1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    b"GET /items/fast-1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
    b"GET /items/fast-1 HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
    b"HEAD /items/fast-1 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET http://x/items/fast-1 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /items/fast-1#part HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /items/fast-1?other=1 HTTP/1.1\r\nHost: x\r\n\r\n",
])
async def test_requests_the_protocol_does_not_take_go_the_asgi_way_unchanged(request_bytes: bytes) -> None:
    protocol, transport, _app = _protocol()
    protocol.data_received(request_bytes)
    assert transport.data == b"" and protocol.server_state.tasks  # not answered in the protocol
    await _settle(protocol)
    regular, _, _ = await _exchange(request_bytes, _Uvicorn)
    assert bytes(transport.data) == regular and regular.startswith(b"HTTP/1.1 ")


async def test_on_postgresql_fast_routes_are_answered_in_uvicorns_task() -> None:
    protocol, transport, app = _protocol(app=_App(postgres=True))
    served = STATS["served"]
    protocol.data_received(_get("/items/fast-1"))
    assert transport.data == b"" and protocol.server_state.tasks  # the handler's waits need a task
    await _settle(protocol)
    assert _bodies(bytes(transport.data)) == [b'{"item":"fast-1","store":"-","auth":"-"}']
    assert STATS["served"] == served + 1 and app.paths == []


async def test_no_fast_answer_while_writing_is_paused() -> None:
    protocol, transport, _app = _protocol()
    protocol.pause_writing()
    protocol.data_received(_get("/items/fast-1"))
    await asyncio.sleep(0)
    assert transport.data == b""  # the ASGI path waits for the client to read
    protocol.resume_writing()
    await _settle(protocol)
    assert _bodies(bytes(transport.data)) == [b'{"item":"fast-1","store":"-","auth":"-"}']


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_access_log_lines_are_the_same() -> None:
    logger = logging.getLogger("uvicorn.access")
    lines = []
    for cls in (CoalescingHttpToolsProtocol, _Uvicorn):
        protocol, _, _ = _protocol(cls)  # (uvicorn's Config sets the access logger's level)
        protocol.access_log = True  # as when uvicorn runs with its access log on
        handler, level = _Lines(), logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            protocol.data_received(_get("/items/fast-1?storeId=s"))
            await _settle(protocol)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
        lines.append(handler.lines)
    assert lines[0] == lines[1] == ['127.0.0.1:50000 - "GET /items/fast-1?storeId=s HTTP/1.1" 200']


async def test_an_idle_connection_closes_after_the_keep_alive_timeout_and_a_busy_one_does_not() -> None:
    protocol, transport, _app = _protocol()
    protocol.data_received(_get("/items/fast-1"))
    timer = protocol.timeout_keep_alive_task
    assert timer is not None
    protocol.data_received(_get("/items/fast-2"))
    assert protocol.timeout_keep_alive_task is timer  # one timer for the connection, not one per request
    protocol.data_received(b"GET /items/fast-3 HTTP/1.1\r\n")  # a request is arriving: busy
    protocol._keep_alive_expired()
    assert not transport.closed and protocol.timeout_keep_alive_task is None
    protocol.data_received(b"Host: example\r\n\r\n")
    assert protocol.timeout_keep_alive_task is not None  # idle again: armed again
    protocol._keep_alive_expired()  # fired early (the connection was idle for less than the timeout)
    assert not transport.closed and protocol.timeout_keep_alive_task is not None
    protocol._idle_since = asyncio.get_running_loop().time() - protocol.timeout_keep_alive
    protocol._keep_alive_expired()
    assert transport.closed
    protocol.connection_lost(None)
    assert protocol.timeout_keep_alive_task is None
    assert len(_bodies(bytes(transport.data))) == 3
