"""The webhook HTTP/1.1 client against a small asyncio server on 127.0.0.1 whose answers each test scripts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from localportone.webhooks import http1

HEADERS = {"content-type": "application/json", "webhook-id": "wh-1", "webhook-timestamp": "1700000000"}
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Case: Kept\r\n\r\nok"

#: Answers one request (its head and body already read); returns False to close the connection afterwards.
Answer = Callable[[asyncio.StreamWriter, bytes, bytes], Awaitable[bool]]


@dataclass
class Server:
    port: int = 0
    connections: int = 0
    requests: list[tuple[bytes, bytes]] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    answer: Answer | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def target(self, path: str = "/hook") -> http1.Target:
        target = http1.plain_http_target(self.url(path))
        assert target is not None
        return target

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                length = next(
                    int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                assert self.answer is not None
                if not await self.answer(writer, head, body):
                    return
        finally:
            writer.close()


def reply(data: bytes, *, keep: bool = True) -> Answer:
    async def answer(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
        writer.write(data)
        await writer.drain()
        return keep

    return answer


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server(answer=reply(OK))
    listener = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield state
        for writer in state.writers:
            writer.close()


@pytest.fixture
async def pool() -> AsyncIterator[http1.Pool]:
    p = http1.Pool(max_idle=4, max_body=64)
    yield p
    await p.aclose()


async def test_content_length_body_and_request_shape(server: Server, pool: http1.Pool) -> None:
    response = await pool.post(server.target("/hook?a=1"), HEADERS, b'{"x":1}', timeout=5)
    assert response.status_code == 200 and response.body == b"ok"
    assert response.headers == [(b"Content-Length", b"2"), (b"X-Case", b"Kept")]
    ((head, body),) = server.requests
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /hook?a=1 HTTP/1.1"
    assert lines[1] == f"Host: 127.0.0.1:{server.port}"
    assert "content-type: application/json" in lines and "webhook-id: wh-1" in lines
    assert "Content-Length: 7" in lines and any(line.startswith("User-Agent: ") for line in lines)
    assert body == b'{"x":1}'


async def test_chunked_body_with_extensions_and_trailers(server: Server, pool: http1.Pool) -> None:
    server.answer = reply(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    first = await pool.post(server.target(), HEADERS, b"{}", timeout=5)
    second = await pool.post(server.target(), HEADERS, b"{}", timeout=5)
    assert first.body == second.body == b"wikipedia"
    assert server.connections == 1  # the chunked body was read to its end: the connection was reused


async def test_body_until_close_and_connection_close(server: Server, pool: http1.Pool) -> None:
    server.answer = reply(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", keep=False)
    assert (await pool.post(server.target(), HEADERS, b"{}", timeout=5)).body == b"until the end"
    server.answer = reply(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert (await pool.post(server.target(), HEADERS, b"{}", timeout=5)).body == b""
    assert (await pool.post(server.target(), HEADERS, b"{}", timeout=5)).status_code == 200
    assert server.connections == 3  # neither kind of connection was reused


async def test_keep_alive_reuses_one_connection(server: Server, pool: http1.Pool) -> None:
    for _ in range(5):
        assert (await pool.post(server.target(), HEADERS, b"{}", timeout=5)).status_code == 200
    assert server.connections == 1 and len(server.requests) == 5


async def test_idle_connections_are_bounded(server: Server) -> None:
    pool = http1.Pool(max_idle=2, max_body=64)
    await asyncio.gather(*(pool.post(server.target(), HEADERS, b"{}", timeout=5) for _ in range(5)))
    assert server.connections == 5
    await asyncio.gather(*(pool.post(server.target(), HEADERS, b"{}", timeout=5) for _ in range(2)))
    assert server.connections == 5  # two were kept idle and reused
    await pool.aclose()


async def test_a_stale_keep_alive_connection_is_retried_once_on_a_fresh_one(server: Server, pool: http1.Pool) -> None:
    assert (await pool.post(server.target(), HEADERS, b"{}", timeout=5)).status_code == 200
    calls = 0

    async def close_first(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:  # the receiver drops the kept-alive connection without answering
            return False
        return await reply(OK)(writer, head, body)

    server.answer = close_first
    response = await pool.post(server.target(), HEADERS, b'{"n":2}', timeout=5)
    assert response.status_code == 200
    assert server.connections == 2 and [body for _, body in server.requests] == [b"{}", b'{"n":2}', b'{"n":2}']


async def test_an_idle_connection_closed_by_the_receiver_is_not_used(server: Server, pool: http1.Pool) -> None:
    server.answer = reply(OK)
    await pool.post(server.target(), HEADERS, b"{}", timeout=5)
    for writer in server.writers:
        writer.close()
    await asyncio.sleep(0.05)
    assert (await pool.post(server.target(), HEADERS, b"{}", timeout=5)).status_code == 200
    assert server.connections == 2 and len(server.requests) == 2


async def test_a_fresh_connection_closed_without_response_is_an_error(server: Server, pool: http1.Pool) -> None:
    server.answer = reply(b"", keep=False)
    with pytest.raises(http1.ProtocolError):
        await pool.post(server.target(), HEADERS, b"{}", timeout=5)
    assert server.connections == 1  # not retried: the connection was not a reused one


async def test_timeout_covers_the_whole_attempt_and_discards_the_connection(server: Server, pool: http1.Pool) -> None:
    async def stall(writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")  # then never the rest
        await writer.drain()
        await asyncio.sleep(10)
        return False

    server.answer = stall
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await pool.post(server.target(), HEADERS, b"{}", timeout=0.3)
    assert loop.time() - started < 2
    server.answer = reply(OK)
    assert (await pool.post(server.target(), HEADERS, b"{}", timeout=5)).status_code == 200
    assert server.connections == 2


async def test_non_2xx_and_3xx_are_statuses_not_followed(server: Server, pool: http1.Pool) -> None:
    server.answer = reply(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy")
    response = await pool.post(server.target(), HEADERS, b"{}", timeout=5)
    assert (response.status_code, response.body) == (503, b"busy")
    server.answer = reply(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")
    response = await pool.post(server.target(), HEADERS, b"{}", timeout=5)
    assert response.status_code == 302 and len(server.requests) == 2
    server.answer = reply(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
    assert (await pool.post(server.target(), HEADERS, b"{}", timeout=5)).status_code == 204


async def test_the_stored_body_is_capped(server: Server, pool: http1.Pool) -> None:
    server.answer = reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100)
    assert (await pool.post(server.target(), HEADERS, b"{}", timeout=5)).body == b"x" * 64
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"32\r\n" + b"y" * 50 + b"\r\n"
    server.answer = reply(chunked + b"32\r\n" + b"y" * 50 + b"\r\n0\r\n\r\n")
    assert (await pool.post(server.target(), HEADERS, b"{}", timeout=5)).body == b"y" * 64
    assert server.connections == 2  # a body not read to its end leaves the connection unusable


async def test_connection_refused_and_invalid_responses_raise(server: Server, pool: http1.Pool) -> None:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    dead = http1.plain_http_target(f"http://127.0.0.1:{port}/")
    assert dead is not None
    with pytest.raises(OSError):
        await pool.post(dead, HEADERS, b"{}", timeout=5)
    server.answer = reply(b"SPDY/3 200 OK\r\n\r\n", keep=False)
    with pytest.raises(http1.ProtocolError):
        await pool.post(server.target(), HEADERS, b"{}", timeout=5)


@pytest.mark.parametrize(("url", "expected"), [
    ("http://example.com/hook", ("example.com", 80, "example.com", "/hook")),
    ("http://Example.com:8080", ("example.com", 8080, "example.com:8080", "/")),
    ("http://[::1]:81/a?b=c#frag", ("::1", 81, "[::1]:81", "/a?b=c")),
    ("https://example.com/hook", None),
    ("http://user:pass@example.com/hook", None),
    ("http://example.com/a b", None),
    ("http://example.com/caf\u00e9", None),
    ("http://example.com:99999/", None),
    ("http:///nohost", None),
])
def test_which_urls_the_client_takes(url: str, expected: tuple[str, int, str, str] | None) -> None:
    target = http1.plain_http_target(url)
    if expected is None:
        assert target is None
    else:
        assert target is not None and (target.host, target.port, target.authority, target.target) == expected
