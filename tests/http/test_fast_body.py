"""Fast routes with a body (ASGI level): the body is read once, within the app's limit, and replayed to the app
when the route declines; an answer may carry any status."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from localportone.http.fast import STATS, FastAnswer, FastPaths, FastRequest, FastRoute

SEEN: list[tuple[str, bytes, tuple[str, int] | None]] = []


async def _handler(request: FastRequest) -> FastAnswer | None:
    """``answer-*`` answers 201 with the body; ``decline-*`` declines, ``boom-*`` raises (both before any side
    effect)."""
    item = request.params[0]
    SEEN.append((item, request.body, request.client))
    if item.startswith("decline"):
        return None
    if item.startswith("boom"):
        raise RuntimeError("the regular route knows what to answer")
    return FastAnswer(201, b'{"echo":"%s"}' % request.body)


ROUTES = [FastRoute("POST", ("items", None, "do"), _handler, body=True)]


class _App:
    """Stands in for FastAPI: reads the body as Starlette does, then answers ``regular <body>`` (text)."""

    max_body_size: int | None = None

    def __init__(self) -> None:
        self.state = SimpleNamespace(runtime=SimpleNamespace(name="runtime"))
        self.received: list[Message] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"regular " + b"".join(chunks)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})


def _scope(path: str, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    raw, _, query = path.partition("?")
    return {"type": "http", "method": "POST", "path": raw, "raw_path": raw.encode(), "query_string": query.encode(),
            "headers": list(headers), "client": ("10.0.0.7", 5000)}


async def _call(paths: FastPaths, scope: dict[str, Any], messages: list[Message]) -> tuple[list[Message], int]:
    """Run the request with ``messages`` to receive (then ``http.disconnect``); what was sent, and how many
    messages were received."""
    pending = list(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await paths(scope, receive, send)
    return sent, len(messages) - len(pending)


def _chunks(*parts: bytes) -> list[Message]:
    return [{"type": "http.request", "body": part, "more_body": i < len(parts) - 1} for i, part in enumerate(parts)]


async def test_the_body_is_read_whole_and_the_answer_sent_with_its_status() -> None:
    app = _App()
    served = STATS["served"]
    sent, received = await _call(FastPaths(app, ROUTES), _scope("/items/answer-1/do"), _chunks(b"ab", b"", b"cd"))
    assert received == 3 and SEEN[-1] == ("answer-1", b"abcd", ("10.0.0.7", 5000))
    assert sent == [{"type": "http.response.start", "status": 201, "headers": [
        (b"content-length", b"15"), (b"content-type", b"application/json")]},
        {"type": "http.response.body", "body": b'{"echo":"abcd"}'}]
    assert STATS["served"] == served + 1 and not app.received


@pytest.mark.parametrize("item", ["decline-1", "boom-1"])
async def test_a_declined_request_reaches_the_app_with_the_same_body(item: str) -> None:
    app = _App()
    declined = STATS["declined"]
    sent, _ = await _call(FastPaths(app, ROUTES), _scope(f"/items/{item}/do"), _chunks(b"ab", b"cd"))
    assert SEEN[-1][:2] == (item, b"abcd")
    assert app.received == [{"type": "http.request", "body": b"abcd", "more_body": False}]
    assert sent[-1] == {"type": "http.response.body", "body": b"regular abcd"}
    assert STATS["declined"] == declined + 1


@pytest.mark.parametrize("target", ["/items/answer-1/do?x=1", "/items/answer-1/do/"])
async def test_an_unknown_query_or_a_trailing_slash_is_left_to_the_app_unread(target: str) -> None:
    app = _App()
    before = len(SEEN)
    sent, received = await _call(FastPaths(app, ROUTES), _scope(target), _chunks(b"ab", b"cd"))
    assert len(SEEN) == before and received == 2
    assert app.received == _chunks(b"ab", b"cd") and sent[-1]["body"] == b"regular abcd"


async def test_a_client_gone_before_the_end_of_the_body_is_left_to_the_app() -> None:
    app = _App()
    before = len(SEEN)
    await _call(FastPaths(app, ROUTES), _scope("/items/answer-1/do"), _chunks(b"ab", b"cd")[:1])
    assert len(SEEN) == before
    assert app.received == [{"type": "http.request", "body": b"ab", "more_body": True}, {"type": "http.disconnect"}]


async def test_a_body_over_the_apps_limit_is_left_to_the_app_as_soon_as_it_shows() -> None:
    app = _App()
    app.max_body_size = 3
    paths = FastPaths(app, ROUTES)
    before = len(SEEN)
    # declared too long: nothing read
    _, received = await _call(paths, _scope("/items/answer-1/do", (b"content-length", b"4")), _chunks(b"abcd"))
    assert app.received[0] == {"type": "http.request", "body": b"", "more_body": True} and received == 1
    # streamed: reading stops at the chunk that crosses the limit, the app reads the rest
    app.received.clear()
    _, received = await _call(paths, _scope("/items/answer-1/do"), _chunks(b"ab", b"cd", b"ef"))
    assert received == 3 and app.received == [{"type": "http.request", "body": b"abcd", "more_body": True},
                                              {"type": "http.request", "body": b"ef", "more_body": False}]
    assert len(SEEN) == before
    # within the limit: answered
    sent, _ = await _call(paths, _scope("/items/answer-1/do", (b"content-length", b"3")), _chunks(b"abc"))
    assert sent[0]["status"] == 201


async def test_fastapis_413_is_unchanged() -> None:
    app = FastAPI(max_body_size=8)

    @app.post("/items/{item}/do")
    async def do(request: Request, item: str) -> Response:
        return Response(b"regular " + await request.body())

    paths = FastPaths(app, ROUTES)
    app.state.runtime = SimpleNamespace(name="runtime")
    transport = httpx.ASGITransport(app=paths, client=("10.0.0.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        large = await client.post("/items/answer-1/do", content=b"0123456789")
        small = await client.post("/items/answer-1/do", content=b"0123")
    assert (large.status_code, large.text) == (413, "Content Too Large")
    assert (small.status_code, small.content) == (201, b'{"echo":"0123"}')
