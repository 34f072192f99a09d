"""Fast paths: a few hot reads answered before FastAPI (in ``serve``'s HTTP protocol, or in plain ASGI).

FastAPI's routing, dependency injection and middleware stack cost more per request than the whole of a
``GET /payments/{id}`` done in plain SQL (bench/README.md). A :class:`FastRoute` answers only the case it is sure
of, a 200 with the resource; for anything else (an error, a query it does not understand, code that still needs
the ORM) its handler returns ``None`` or raises, and the request goes through the regular FastAPI route, which
produces the same body or the error the spec requires. A fast route therefore never changes what a client sees.

Handlers must not rely on running in a task: the protocol drives their coroutine itself, and hands it to a task
only if it waits (:mod:`localportone.http.server`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from starlette.types import Receive, Scope, Send

log = logging.getLogger("localportone.http.fast")

#: How many requests the fast paths answered and declined in this process (for tests and diagnostics).
STATS: Counter[str] = Counter()


@dataclass(slots=True)
class FastRequest:
    """What a fast handler may read: path parameters, the query, headers, and the process's runtime."""

    params: tuple[str, ...]
    query: dict[str, str]
    #: The request's headers as the ASGI scope has them (lower-case names).
    headers: list[tuple[bytes, bytes]]
    #: The app's :class:`~localportone.runtime.Runtime` (``app.state.runtime``: transactions, authenticator...).
    runtime: Any

    def header(self, name: bytes) -> str | None:
        for key, value in self.headers:
            if key == name:
                return str(value.decode("latin-1"))
        return None


#: A handler (a coroutine function) answers with the JSON body (a dict, or bytes already encoded) or ``None`` to
#: decline.
Handler = Callable[[FastRequest], Coroutine[Any, Any, dict[str, Any] | bytes | None]]


@dataclass(frozen=True)
class FastRoute:
    """``segments``: the path split on ``/``; ``None`` marks a parameter (one non-empty segment)."""

    method: str
    segments: tuple[str | None, ...]
    handler: Handler
    #: The query parameters the handler understands; any other makes the request take the regular route.
    query: frozenset[str] = frozenset()


#: Set in a request's scope once a fast route declined it, so that the ASGI path does not ask the route again.
DECLINED = "localportone.fast_declined"

#: The content type of a fast answer (its headers: uvicorn's defaults, ``content-length``, this).
CONTENT_TYPE = b"application/json"

#: What :meth:`FastPaths.match` found: the route, its path parameters and the query.
Match = tuple[FastRoute, tuple[str, ...], dict[str, str]]


class FastPaths:
    """Wraps the FastAPI app (outside Starlette's own middleware): answers what a :class:`FastRoute` can serve.

    ``serve``'s HTTP protocol (:mod:`localportone.http.server`) answers most of these requests without ASGI, with
    :meth:`match_target` and the steps of :meth:`answer`; a request it leaves to uvicorn, or that the route
    declined there (marked :data:`DECLINED`), comes through here.
    """

    def __init__(self, app: Any, routes: Sequence[FastRoute]) -> None:
        self.app = app
        self.routes = tuple(routes)
        self.methods = {r.method for r in self.routes}
        #: method -> number of segments -> [(route, its fixed segments by position, its parameters' positions)]
        self._index: dict[str, dict[int, list[tuple[FastRoute, tuple[tuple[int, str], ...], tuple[int, ...]]]]] = {}
        for route in self.routes:
            fixed = tuple((i, s) for i, s in enumerate(route.segments) if s is not None)
            params = tuple(i for i, s in enumerate(route.segments) if s is None)
            by_length = self._index.setdefault(route.method, {})
            by_length.setdefault(len(route.segments), []).append((route, fixed, params))
        #: ``app.state.runtime`` once the lifespan has set it (Starlette's ``State`` costs a failed attribute
        #: lookup per read).
        self._runtime: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.methods and DECLINED not in scope:
            found = self.match(scope)
            if found is not None:
                payload = await self.answer(found, scope)
                if payload is not None:
                    await send_answer(send, payload)
                    return
        await self.app(scope, receive, send)

    def match(self, scope: Scope) -> Match | None:
        """The route for the request, if one handles its method, path and query (an unknown query parameter
        counts as declined)."""
        raw: bytes = scope.get("raw_path") or scope["path"].encode()
        path, _, query = raw.decode("latin-1").partition("?")
        query_bytes: bytes = scope.get("query_string", b"")
        return self.match_target(scope["method"], path, query_bytes.decode("latin-1") or query)

    def match_target(self, method: str, path: str, query: str) -> Match | None:
        """:meth:`match` from the request target's path (still percent-encoded) and query (called for every
        request the protocol may answer)."""
        by_length = self._index.get(method)
        if by_length is None:
            return None
        parts = path[1:].split("/") if path.startswith("/") else path.split("/")
        if "" in parts:
            parts = [p for p in parts if p]  # doubled slashes collapse, as in RawPathMiddleware
        candidates = by_length.get(len(parts))
        if candidates is None:
            return None
        for route, fixed, positions in candidates:
            for i, expected in fixed:
                if parts[i] != expected:
                    break
            else:
                arguments: dict[str, str] = {}
                if query:
                    arguments = dict(parse_qsl(query, keep_blank_values=True))
                    if not arguments.keys() <= route.query:
                        STATS["declined"] += 1
                        return None
                params = []
                for i in positions:
                    part = parts[i]
                    params.append(unquote(part) if "%" in part else part)
                return route, tuple(params), arguments
        return None

    def runs_inline(self) -> bool:
        """Whether the handlers may run outside a task, as the protocol runs them: on SQLite they complete without
        waiting (reads run on the loop's thread); on PostgreSQL they wait for the server, and code on that path
        needs a task (the connection pool's checkout timeout). ``False`` until the app's runtime is attached."""
        runtime = self._runtime or getattr(self.app.state, "runtime", None)
        if runtime is None:
            return False
        self._runtime = runtime
        return runtime.db.pg is None

    async def answer(self, found: Match, scope: Scope) -> bytes | None:
        """The JSON body of the 200 the route answers with, or ``None`` when it declines (or fails)."""
        try:
            answer = await self.start(found, scope["headers"])
        except Exception as exc:
            return self.failed(exc, scope["path"])
        return self.finish(answer)

    # The steps of :meth:`answer`, for the protocol, which runs the handler's coroutine itself.

    def start(self, found: Match, headers: list[tuple[bytes, bytes]]
              ) -> Coroutine[Any, Any, dict[str, Any] | bytes | None]:
        """The handler's coroutine for the request (not started)."""
        route, params, query = found
        runtime = self._runtime
        if runtime is None:
            runtime = self._runtime = self.app.state.runtime
        return route.handler(FastRequest(params, query, headers, runtime))

    @staticmethod
    def finish(answer: dict[str, Any] | bytes | None) -> bytes | None:
        """The body to answer with, from what the handler returned (``None``: it declined)."""
        if answer is None:
            STATS["declined"] += 1
            return None
        STATS["served"] += 1
        return answer if isinstance(answer, bytes) else orjson.dumps(answer)

    @staticmethod
    def failed(exc: Exception, path: str) -> None:
        """The handler raised: the regular route will answer, with the right error if there is one."""
        log.debug("fast path declined %s: %r", path, exc)
        STATS["declined"] += 1


async def send_answer(send: Send, payload: bytes) -> None:
    """A fast answer as ASGI messages: ``200``, ``content-length``, ``content-type``, the body."""
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-length", str(len(payload)).encode()), (b"content-type", CONTENT_TYPE),
    ]})
    await send({"type": "http.response.body", "body": payload})
