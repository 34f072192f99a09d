"""Fast paths: a few hot requests answered before FastAPI (in ``serve``'s HTTP protocol, or in plain ASGI).

FastAPI's routing, dependency injection and middleware stack cost more per request than the whole of a
``GET /payments/{id}`` done in plain SQL, and a fifth of a payment (bench/README.md). A :class:`FastRoute` answers
only what it is sure of, exactly as the regular FastAPI route would (status, ``content-type``, body); a fast route
therefore never changes what a client sees.

- **Reads** (``GET``, no body, no side effects): the handler answers a 200 with the resource; for anything else
  (an error, a query it does not understand, code that still needs the ORM) it returns ``None`` or raises, and the
  request goes through the regular route, which produces the same body or the error the spec requires. These are
  also answered inside ``serve``'s HTTP protocol, without ASGI (:mod:`localportone.http.server`).
- **Writes** (``body=True``, e.g. ``POST /payments/{id}/billing-key``; ASGI only): :class:`FastPaths` reads the
  body first (within the app's ``max_body_size``, if it has one) and hands it to the handler; when the route
  declines, the regular app gets a ``receive`` that replays the same body. A query parameter the route does not
  know, or a trailing slash (FastAPI redirects it), is left to the app before the body is read. A handler may
  decline (return ``None`` or raise) only *before* it starts anything with side effects (its unit of work): e.g.
  for an ``Idempotency-Key`` header (:class:`~localportone.idempotency.middleware.IdempotencyMiddleware`'s
  business) or a body that does not parse (FastAPI's exact 400). From then on it produces the final answer itself,
  errors included, with :func:`final_answer`: a :class:`FastAnswer` rendered by :mod:`localportone.http.errors`,
  as the app's exception handlers render it.

What the middleware between uvicorn and the route does, the fast routes do too or decline: ``RawPathMiddleware``'s
routing on the raw path (``%2F`` in an id, doubled slashes), the body limit, ``IdempotencyMiddleware`` (declined),
the 500 of an unexpected error (logged as the app logs it, then raised on to the server, which closes the
connection); the rest (telemetry, off; the exit stack) shows nothing to a client. uvicorn's access log and proxy
headers are outside and see a fast answer as any other; the unit of work runs its after-commit callbacks itself.

Handlers must not rely on running in a task: the protocol drives the coroutine of a read itself, and hands it to a
task only if it waits (:mod:`localportone.http.server`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote

import orjson
from pydantic import BaseModel
from starlette.types import Message, Receive, Scope, Send

from localportone.http.errors import portone_error_response, unexpected_error_response
from localportone.http.parsing import parse_model
from localportone.wire.errors import InvalidRequestError, PortOneError

log = logging.getLogger("localportone.http.fast")

#: How many requests the fast paths answered and declined in this process (for tests and diagnostics).
STATS: Counter[str] = Counter()

M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class FastRequest:
    """What a fast handler may read: path parameters, the query, headers, the process's runtime, and for a route
    with ``body=True`` the request's body and where it comes from."""

    params: tuple[str, ...]
    query: dict[str, str]
    #: The request's headers as the ASGI scope has them (lower-case names).
    headers: list[tuple[bytes, bytes]]
    #: The app's :class:`~localportone.runtime.Runtime` (``app.state.runtime``: transactions, authenticator...).
    runtime: Any
    #: The whole body (routes with ``body=True``; else empty).
    body: bytes = b""
    #: The client's address as the ASGI scope has it (``None`` when unknown; not set in the HTTP protocol).
    client: tuple[str, int] | None = None
    #: The method and (decoded) path, for the log of an unexpected error.
    method: str = "GET"
    path: str = ""

    def header(self, name: bytes) -> str | None:
        for key, value in self.headers:
            if key == name:
                return str(value.decode("latin-1"))
        return None

    def client_host(self, default: str = "127.0.0.1") -> str:
        """The client's host, as ``request.client.host`` gives it (``default`` when unknown)."""
        return self.client[0] if self.client else default

    def json_body(self, model: type[M]) -> M | None:
        """The body as :func:`~localportone.http.parsing.parse_body` parses it (empty counts as ``{}``), or
        ``None`` where it would answer 400: the route then declines and FastAPI renders that 400."""
        raw = self.body
        try:
            return parse_model(model, orjson.loads(raw) if raw.strip() else {})
        except (orjson.JSONDecodeError, InvalidRequestError):
            return None


@dataclass(frozen=True, slots=True)
class FastAnswer:
    """An answer with its status and JSON body (``content-type: application/json``), e.g. a PortOne error."""

    status: int
    body: bytes
    #: An unexpected error the answer (a 500) reports: raised to the server once the answer is sent, as the app's
    #: ``ServerErrorMiddleware`` does (uvicorn logs it and closes the connection).
    error: Exception | None = None


#: A handler (a coroutine function) answers with the JSON body of a 200 (a dict, or bytes already encoded), a
#: :class:`FastAnswer` (routes with ``body=True`` only: a read answers 200 or declines), or ``None`` to decline.
Handler = Callable[[FastRequest], Coroutine[Any, Any, dict[str, Any] | bytes | FastAnswer | None]]


@dataclass(frozen=True)
class FastRoute:
    """``segments``: the path split on ``/``; ``None`` marks a parameter (one non-empty segment)."""

    method: str
    segments: tuple[str | None, ...]
    handler: Handler
    #: The query parameters the handler understands; any other makes the request take the regular route.
    query: frozenset[str] = frozenset()
    #: Whether the handler reads the request's body (:attr:`FastRequest.body`). Such a route is served at the ASGI
    #: level only, and its handler answers every request it does not decline before its side effects.
    body: bool = False


#: Set in a request's scope once a fast route declined it, so that the ASGI path does not ask the route again.
DECLINED = "localportone.fast_declined"

#: The content type of a fast answer (its headers: uvicorn's defaults, ``content-length``, this).
CONTENT_TYPE = b"application/json"

#: What :meth:`FastPaths.match` found: the route, its path parameters and the query.
Match = tuple[FastRoute, tuple[str, ...], dict[str, str]]


class FastPaths:
    """Wraps the FastAPI app (outside Starlette's own middleware): answers what a :class:`FastRoute` can serve.

    ``serve``'s HTTP protocol (:mod:`localportone.http.server`) answers most reads without ASGI, with
    :meth:`match_target` and :meth:`start` / :meth:`finish`; a request it leaves to uvicorn, or that the route
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

    @property
    def max_body_size(self) -> int | None:
        """The app's limit on a request's body (``FastAPI(max_body_size=...)``; ``None``: none)."""
        limit = getattr(self.app, "max_body_size", None)
        return limit if isinstance(limit, int) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.methods and DECLINED not in scope:
            found = self.match(scope)
            if found is not None:
                await self.serve(found, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def serve(self, found: Match, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request with its route, or pass it on to the app when the route declines."""
        route = found[0]
        body = b""
        if route.body:
            body, complete = await read_body(scope, receive, self.max_body_size)
            receive = replaying(body, complete, receive)
            if not complete:  # over the limit, or the client left: the app answers as it does
                STATS["declined"] += 1
                await self.app(scope, receive, send)
                return
        try:
            answer = await self.start(found, scope["headers"], body, scope)
        except Exception as exc:
            self.failed(exc, scope["path"])
            answer = None
        else:
            if answer is None:
                STATS["declined"] += 1
        if answer is None:
            await self.app(scope, receive, send)
            return
        STATS["served"] += 1
        if isinstance(answer, FastAnswer):
            await send_answer(send, answer.body, answer.status)
            if answer.error is not None:
                raise answer.error
        else:
            await send_answer(send, answer if isinstance(answer, bytes) else orjson.dumps(answer))

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
        trailing_slash = False
        if "" in parts:
            trailing_slash = parts[-1] == "" and len(parts) > 1
            parts = [p for p in parts if p]  # doubled slashes collapse, as in RawPathMiddleware
        candidates = by_length.get(len(parts))
        if candidates is None:
            return None
        for route, fixed, positions in candidates:
            for i, expected in fixed:
                if parts[i] != expected:
                    break
            else:
                if trailing_slash:  # FastAPI answers a redirect (307) to the path without it
                    STATS["declined"] += 1
                    return None
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

    # The steps of answering a read, for the protocol, which runs the handler's coroutine itself.

    def start(self, found: Match, headers: list[tuple[bytes, bytes]], body: bytes = b"", scope: Scope | None = None
              ) -> Coroutine[Any, Any, dict[str, Any] | bytes | FastAnswer | None]:
        """The handler's coroutine for the request (not started)."""
        route, params, query = found
        runtime = self._runtime
        if runtime is None:
            runtime = self._runtime = self.app.state.runtime
        request = FastRequest(params, query, headers, runtime, body)
        if scope is not None:
            request.client, request.method, request.path = scope.get("client"), scope["method"], scope["path"]
        return route.handler(request)

    @staticmethod
    def finish(answer: dict[str, Any] | bytes | FastAnswer | None) -> bytes | None:
        """The body of the 200 to answer a read with, from what the handler returned (``None``: it declined;
        a read's handler answers nothing else)."""
        if answer is None or isinstance(answer, FastAnswer):
            STATS["declined"] += 1
            return None
        STATS["served"] += 1
        return answer if isinstance(answer, bytes) else orjson.dumps(answer)

    @staticmethod
    def failed(exc: Exception, path: str) -> None:
        """The handler raised: the regular route will answer, with the right error if there is one."""
        log.debug("fast path declined %s: %r", path, exc)
        STATS["declined"] += 1


async def final_answer(request: FastRequest, work: Awaitable[dict[str, Any]]) -> FastAnswer:
    """The answer to a request once ``work`` (the unit of work, side effects and all) has started, as the regular
    route and the app's exception handlers render it: 200 with the object, the PortOne error it raised, or a 500
    for anything else (logged as the app logs it, and raised on to the server after the answer, as the app
    does)."""
    error: Exception | None = None
    try:
        body = await work
    except PortOneError as exc:
        response = portone_error_response(exc)
    except Exception as exc:
        response, error = unexpected_error_response(request.method, request.path), exc
    else:
        return FastAnswer(200, orjson.dumps(body))
    return FastAnswer(response.status_code, bytes(response.body), error)


async def read_body(scope: Scope, receive: Receive, limit: int | None) -> tuple[bytes, bool]:
    """The request's body, and whether it is all there: ``False`` when the client left before the end, or the body
    is larger than ``limit`` (then reading stops at once, and the app answers it as it does: 413)."""
    if limit is not None:
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > limit:
                    return b"", False
                break
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left
            return b"".join(chunks), False
        chunk: bytes = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                return b"".join(chunks), False
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks), True


def replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    """``receive`` for the app after :func:`read_body`: what was read, as one message, then ``receive`` itself."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": not complete}

    return replay


async def send_answer(send: Send, payload: bytes, status: int = 200) -> None:
    """A fast answer as ASGI messages: ``status``, ``content-length``, ``content-type``, the body (the headers a
    Starlette ``Response`` of the app's JSON class sends)."""
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-length", str(len(payload)).encode()), (b"content-type", CONTENT_TYPE),
    ]})
    await send({"type": "http.response.body", "body": payload})
