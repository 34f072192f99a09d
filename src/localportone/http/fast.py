"""Fast paths: a few hot reads answered before FastAPI, in plain ASGI.

FastAPI's routing, dependency injection and middleware stack cost more per request than the whole of a
``GET /payments/{id}`` done in plain SQL (bench/README.md). A :class:`FastRoute` answers only the case it is sure
of, a 200 with the resource; for anything else (an error, a query it does not understand, code that still needs
the ORM) its handler returns ``None`` or raises, and the request goes through the regular FastAPI route, which
produces the same body or the error the spec requires. A fast route therefore never changes what a client sees.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from starlette.types import Receive, Scope, Send

log = logging.getLogger("localportone.http.fast")

#: How many requests the fast paths answered and declined in this process (for tests and diagnostics).
STATS: Counter[str] = Counter()


@dataclass(frozen=True)
class FastRequest:
    """What a fast handler may read: path parameters, the query, headers, and the app's state."""

    params: tuple[str, ...]
    query: dict[str, str]
    scope: Scope
    #: The FastAPI app's ``state`` (runtime, transactions, authenticator).
    state: Any

    def header(self, name: bytes) -> str | None:
        for key, value in self.scope["headers"]:
            if key == name:
                return str(value.decode("latin-1"))
        return None


#: A handler answers with the JSON body (a dict, or bytes already encoded) or ``None`` to decline.
Handler = Callable[[FastRequest], Awaitable[dict[str, Any] | bytes | None]]


@dataclass(frozen=True)
class FastRoute:
    """``segments``: the path split on ``/``; ``None`` marks a parameter (one non-empty segment)."""

    method: str
    segments: tuple[str | None, ...]
    handler: Handler
    #: The query parameters the handler understands; any other makes the request take the regular route.
    query: frozenset[str] = frozenset()


class FastPaths:
    """Wraps the FastAPI app (outside Starlette's own middleware): answers what a :class:`FastRoute` can serve."""

    def __init__(self, app: Any, routes: Sequence[FastRoute]) -> None:
        self.app = app
        self.routes = tuple(routes)
        self.methods = {r.method for r in self.routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.methods:
            body = await self._try(scope)
            if body is not None:
                STATS["served"] += 1
                payload = body if isinstance(body, bytes) else orjson.dumps(body)
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-length", str(len(payload)).encode()), (b"content-type", b"application/json"),
                ]})
                await send({"type": "http.response.body", "body": payload})
                return
        await self.app(scope, receive, send)

    async def _try(self, scope: Scope) -> dict[str, Any] | bytes | None:
        raw = scope.get("raw_path") or scope["path"].encode()
        path, _, query_string = raw.decode("latin-1").partition("?")
        parts = [p for p in path.split("/") if p]  # doubled slashes collapse, as in RawPathMiddleware
        for route in self.routes:
            if route.method != scope["method"] or len(parts) != len(route.segments):
                continue
            params: list[str] = []
            for part, expected in zip(parts, route.segments, strict=True):
                if expected is None:
                    params.append(unquote(part))
                elif part != expected:
                    break
            else:
                query_bytes: bytes = scope.get("query_string", b"")
                query = dict(parse_qsl(query_bytes.decode("latin-1") or query_string, keep_blank_values=True))
                if not set(query) <= route.query:
                    STATS["declined"] += 1
                    return None
                try:
                    answer = await route.handler(FastRequest(tuple(params), query, scope, self.app.state))
                except Exception as exc:  # the regular route will answer, with the right error if there is one
                    log.debug("fast path declined %s: %r", path, exc)
                    answer = None
                if answer is None:
                    STATS["declined"] += 1
                return answer
        return None
