"""The HTTP/1.1 protocol ``serve`` runs: uvicorn's httptools protocol, with fast routes answered in the protocol
and each response written in one piece.

**Fast routes without ASGI.** For each request uvicorn builds a ``RequestResponseCycle``, an ``asyncio.Event`` and
a task, runs the app through its middleware, and checks and writes each ASGI message; for ``GET /payments/{id}``
that cost more CPU than the fast route itself (bench/README.md). When a complete ``GET`` without a body matches a
:class:`~localportone.http.fast.FastRoute` and nothing else is in flight on the connection, the protocol runs the
route's handler at once, in the parser's callback, and writes the head and body uvicorn would have written for
that answer in one ``write``. The handler is a coroutine driven by hand, outside any task: this is done only on
SQLite, where it completes without waiting (should it wait all the same, the request becomes an ordinary uvicorn
request whose task finishes the handler); on PostgreSQL its waits need a task, and uvicorn's path serves it. A
declined request, and every other one, takes uvicorn's path unchanged; a request that arrives while another is in
flight is queued by uvicorn as before, so pipelined answers keep their order.

**One write per response** on uvicorn's path: uvicorn writes a response's head when the app sends
``http.response.start`` and its body when the app sends ``http.response.body``: two ``send()`` calls, two TCP
segments, and two wake-ups of the client. Here the transport holds a response head until the next write (the
body, normally sent at once) and sends both together; a head that is not followed at once (a streamed or empty
body, ``HEAD``, ``100 Continue``) goes out on the next pass of the event loop, so nothing waits longer than that.
"""

from __future__ import annotations

import asyncio
import contextvars
import urllib.parse
from collections.abc import Coroutine, Generator
from typing import Any

from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string
from uvicorn.server import ServerState

from localportone.http.fast import CONTENT_TYPE, DECLINED, FastPaths, Match, send_answer


class _CoalescingTransport:
    """Wraps the connection's transport: a response head waits for the body, then both are written at once."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held + bytes(data))
        elif bytes(data[:5]) == b"HTTP/":
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
        else:
            self._transport.write(data)

    def _flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:  # asked for every response: not worth a failed lookup and ``__getattr__``
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


#: Request headers that send a fast-route ``GET`` the ASGI way: a body, or a client address for the access log
#: that ``ProxyHeadersMiddleware`` would rewrite.
_ASGI_ONLY = frozenset({b"content-length", b"transfer-encoding", b"x-forwarded-for", b"x-forwarded-proto"})


def _fast_paths(app: Any) -> FastPaths | None:
    """The :class:`FastPaths` uvicorn serves, under its own proxy-headers middleware; ``None`` if it serves
    anything else (e.g. with the message logger of ``--log-level trace``)."""
    if isinstance(app, ProxyHeadersMiddleware):
        app = app.app
    return app if isinstance(app, FastPaths) and "GET" in app.methods else None


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    #: Whether fast-route GETs are answered in the protocol (tests turn it off to compare with uvicorn's path).
    answer_in_protocol = True

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # With a concurrency limit, uvicorn's path answers 503 past it: every request is left to it. So are they
        # when the fast routes' handlers may wait (PostgreSQL): they then need the task uvicorn runs them in.
        paths = _fast_paths(self.app) if self.answer_in_protocol and self.limit_concurrency is None else None
        self.fast_paths = paths if paths is not None and paths.runs_inline() else None
        #: What :meth:`_match` found for the request being parsed.
        self._fast: tuple[Match, bool, tuple[str, str, str]] | None = None
        self._defaults: list[tuple[bytes, bytes]] | None = None
        self._head = b""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._out = _CoalescingTransport(transport, self.loop)
        self._raw = transport  # asked directly where every request asks (the wrapper's lookups cost more)
        self._idle_since: float | None = None
        super().connection_made(self._out)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None

    # -------------------------------------------------------------------------------------------- keep-alive
    # uvicorn cancels its keep-alive timer when data arrives and starts a new one after each response: a timer
    # made and cancelled per request. Here a connection's timer stays armed while requests keep coming; when it
    # fires, it closes the connection only if it has been idle for the whole timeout, and else waits for the rest.

    def _unset_keepalive_if_required(self) -> None:
        self._idle_since = None  # busy: the timer, if armed, will not close the connection

    def on_response_complete(self) -> None:
        """uvicorn's, with the keep-alive timer above."""
        self.server_state.total_requests += 1
        if self._raw.is_closing():
            return
        self._idle_since = None
        if self.flow.read_paused:
            self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self._keep_alive_expired)

    def _keep_alive_expired(self) -> None:
        self.timeout_keep_alive_task = None
        idle_since = self._idle_since
        if idle_since is None:  # a request is in progress: the timer starts again when it is answered
            return
        left = idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(left, self._keep_alive_expired)
        else:
            self.timeout_keep_alive_handler()

    # ---------------------------------------------------------------------------------------- parser callbacks

    def on_message_begin(self) -> None:
        if self.fast_paths is None:
            super().on_message_begin()
            return
        # what uvicorn resets; its ASGI scope is made only for a request that takes its path (:meth:`_make_scope`)
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def on_headers_complete(self) -> None:
        if self.fast_paths is None:
            super().on_headers_complete()
            return
        self._fast = self._match()
        if self._fast is None:
            self._make_scope()
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._fast is not None:  # not expected (no length, so no body): uvicorn takes the request after all
            self._fast = None
            self._make_scope()
            super().on_headers_complete()
        super().on_body(body)

    def on_message_complete(self) -> None:
        fast, self._fast = self._fast, None
        if fast is None:
            super().on_message_complete()
            return
        fast_paths = self.fast_paths
        assert fast_paths is not None
        found, keep_alive, target = fast
        context = contextvars.copy_context()  # as a task would have: nothing the handler sets leaks out
        try:
            coroutine = fast_paths.start(found, self.headers)
            waiting = context.run(coroutine.send, None)
        except StopIteration as done:
            payload = fast_paths.finish(done.value)
        except Exception as exc:
            payload = fast_paths.failed(exc, target[1])
        else:  # the handler waits after all: a task finishes it
            self._start_cycle(keep_alive, target, _Finish(self.app, fast_paths, coroutine, waiting), context)
            return
        if payload is None:
            self._start_cycle(keep_alive, target, self.app, None, declined=True)
        else:
            self._respond(payload, keep_alive, target)

    # ------------------------------------------------------------------------------------------------ helpers

    def _match(self) -> tuple[Match, bool, tuple[str, str, str]] | None:
        """The fast route of a complete-at-headers ``GET`` that may be answered here and now, whether to keep the
        connection open after it, and the HTTP version, path and query; else ``None``."""
        assert self.fast_paths is not None
        parser = self.parser
        cycle = self.cycle
        if (parser.get_method() != b"GET" or self.expect_100_continue or self.pipeline
                or (cycle is not None and not cycle.response_complete)  # never overtake a request in flight
                or self.flow.write_paused or self._raw.is_closing() or parser.should_upgrade()):
            return None
        for name, _ in self.headers:
            if name in _ASGI_ONLY:
                return None
        try:
            target = self.url.decode("ascii")
        except UnicodeDecodeError:  # uvicorn's path meets the same error and answers it as it does
            return None
        if not target.startswith("/") or "#" in target:  # not a plain path and query: uvicorn's path parses it
            return None
        path, _, query = target.partition("?")  # as httptools.parse_url splits such a target
        found = self.fast_paths.match_target("GET", self.root_path + path if self.root_path else path, query)
        if found is None:
            return None
        http_version = parser.get_http_version()
        return found, http_version != "1.0" and parser.should_keep_alive(), (http_version, path, query)

    def _make_scope(self) -> None:
        """uvicorn's ASGI scope for the request being parsed, as its ``on_message_begin`` makes it."""
        url, headers, expect_100_continue = self.url, self.headers, self.expect_100_continue
        super().on_message_begin()
        self.url, self.headers, self.expect_100_continue = url, headers, expect_100_continue
        self.scope["headers"] = headers

    def _scoped(self, target: tuple[str, str, str]) -> Any:
        """The ASGI scope of a fast-route request, as uvicorn's ``on_headers_complete`` completes it."""
        self._make_scope()
        http_version, path, query = target
        scope = self.scope
        scope["method"] = "GET"
        if http_version != "1.1":
            scope["http_version"] = http_version
        scope["path"] = self.root_path + (urllib.parse.unquote(path) if "%" in path else path)
        scope["raw_path"] = (self.root_path + path).encode("ascii")
        scope["query_string"] = query.encode("ascii")
        return scope

    def _respond(self, payload: bytes, keep_alive: bool, target: tuple[str, str, str]) -> None:
        """Write the fast answer as uvicorn's ``RequestResponseCycle.send`` would write it, in one piece."""
        if self.access_log:
            scope = self._scoped(target)
            self.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope), scope["method"],
                                    get_path_with_query_string(scope), scope["http_version"], 200)
        defaults = self.server_state.default_headers
        if defaults is not self._defaults:  # uvicorn replaces the list when the date changes (once a second)
            self._defaults = defaults
            self._head = b"".join([STATUS_LINE[200], *(b"%s: %s\r\n" % (n.lower(), v) for n, v in defaults)])
        out = self._out
        if out._held is not None:  # (never, in fact: a response that completed has written what it held)
            out._flush()
        self._raw.write(b"".join((
            self._head, b"content-length: ", str(len(payload)).encode(), b"\r\ncontent-type: ", CONTENT_TYPE,
            b"\r\n\r\n" if keep_alive else b"\r\nconnection: close\r\n\r\n", payload,
        )))
        if not keep_alive:
            out.close()
        self.on_response_complete()

    def _start_cycle(self, keep_alive: bool, target: tuple[str, str, str], app: Any,
                     context: contextvars.Context | None, *, declined: bool = False) -> None:
        """Hand the (complete, bodiless) request to uvicorn's request cycle, as ``on_headers_complete`` and
        ``on_message_complete`` would have."""
        scope = self._scoped(target)
        if declined:
            scope[DECLINED] = True
        self.cycle = cycle = RequestResponseCycle(
            scope=scope,
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=keep_alive,
            on_response=self.on_response_complete,
        )
        cycle.more_body = False  # the whole request (no body) is in: the app's first ``receive()`` returns at once
        cycle.message_event.set()
        if context is None:
            self._start_asgi_task(cycle, app)
            return
        task = self.loop.create_task(cycle.run_asgi(app), context=context)
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)


class _Finish:
    """The ASGI app of a fast request whose handler waits (a database round trip): it finishes the handler in the
    request's task, then answers, or passes the request on to uvicorn's app if the route declined."""

    __slots__ = ("app", "coroutine", "fast_paths", "waiting")

    def __init__(self, app: Any, fast_paths: FastPaths, coroutine: Coroutine[Any, Any, Any], waiting: Any) -> None:
        self.app = app
        self.fast_paths = fast_paths
        self.coroutine = coroutine
        self.waiting = waiting

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            payload = self.fast_paths.finish(await _Resumed(self.coroutine, self.waiting))
        except Exception as exc:
            payload = self.fast_paths.failed(exc, scope["path"])
        if payload is None:
            scope[DECLINED] = True
            await self.app(scope, receive, send)
        else:
            await send_answer(send, payload)


class _Resumed:
    """Awaiting this runs the rest of a coroutine that was started outside any task and now waits for
    ``waiting`` (what it yielded: the task waits for that first, then resumes the coroutine)."""

    __slots__ = ("coroutine", "waiting")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], waiting: Any) -> None:
        self.coroutine = coroutine
        self.waiting = waiting

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, waiting = self.coroutine, self.waiting
        while True:
            try:
                sent = yield waiting
            except BaseException as exc:  # cancellation and the like go to the coroutine, as with ``await``
                try:
                    waiting = coroutine.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    waiting = coroutine.send(sent)
                except StopIteration as done:
                    return done.value
