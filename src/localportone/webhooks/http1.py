"""A minimal HTTP/1.1 client for webhook POSTs to ``http://`` URLs, over asyncio streams.

Why: with httpx (httpcore, anyio, h11) about half of the CPU of a delivery went to the HTTP client, which capped the
job at ~500 deliveries/s per core (bench/README.md). This client does only what a webhook POST needs: one request
per connection at a time, keep-alive connections pooled per (host, port), the status line and headers parsed, the
body read by ``Content-Length``, chunked transfer-encoding or until close, and kept up to a cap. No TLS, proxies,
redirects (a 3xx is just a status), compression or cookies: ``https://`` and anything unusual stay on httpx.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

USER_AGENT = "localportone-webhooks/1"
#: Largest status line + headers accepted (the StreamReader limit).
MAX_HEAD_BYTES = 64 * 1024
#: Characters allowed in a URL taken by this client; anything else (spaces, non-ASCII, backslashes) goes to httpx,
#: which knows how to normalise it.
_URL_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)


class ProtocolError(Exception):
    """The receiver's response is not valid HTTP/1.x, or the connection ended before it was complete."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    #: The ``Host`` header value (the port only when not 80; IPv6 literals in brackets).
    authority: str
    #: Path and query, as sent on the request line.
    target: str


@dataclass
class Response:
    status_code: int
    #: (name, value) as received, names in their own case.
    headers: list[tuple[bytes, bytes]]
    #: At most the pool's ``max_body`` first bytes of the (decoded from chunks) body.
    body: bytes


def plain_http_target(url: str) -> Target | None:
    """The target of a plain ``http://`` URL this client handles, else None (https, userinfo, odd characters)."""
    if not url.startswith("http://") or not all(c in _URL_CHARS for c in url):
        return None
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port or 80
    except ValueError:
        return None
    host = parts.hostname
    if not host or "@" in parts.netloc or parts.username is not None:
        return None
    host_header = f"[{host}]" if ":" in host else host
    authority = host_header if port == 80 else f"{host_header}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not target.startswith("/"):
        return None
    return Target(host, port, authority, target)


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        """Cheap check of an idle connection: the receiver has not closed it (or sent something unasked)."""
        return not self.writer.is_closing() and not self.reader.at_eof() and not self.reader._buffer  # type: ignore[attr-defined]

    def close(self) -> None:
        self.writer.close()


class _Stale(Exception):
    """A reused connection failed before any byte of the response: the request may be retried once."""


class Pool:
    """Keep-alive connections per (host, port), at most ``max_idle`` idle ones each."""

    def __init__(self, *, max_idle: int = 64, max_body: int = 64 * 1024) -> None:
        self.max_idle = max_idle
        self.max_body = max_body
        self._idle: dict[tuple[str, int], deque[_Connection]] = {}
        self._closed = False

    async def post(self, target: Target, headers: dict[str, str], body: bytes, *, timeout: float) -> Response:
        """POST ``body`` with ``headers`` (plus Host, Content-Length, User-Agent); the whole attempt — connecting,
        sending, reading the body — must end within ``timeout`` seconds (TimeoutError)."""
        head = self._request_head(target, headers, len(body))
        async with asyncio.timeout(timeout):
            connection = self._take_idle((target.host, target.port))
            if connection is not None:
                try:
                    return await self._exchange(target, connection, head, body, reused=True)
                except _Stale:
                    pass  # the receiver had closed the idle connection: once more on a fresh one
            connection = await self._connect(target)
            return await self._exchange(target, connection, head, body, reused=False)

    async def aclose(self) -> None:
        """Close the idle connections (connections in use are closed by their request when it ends)."""
        self._closed = True
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    # ---------------------------------------------------------------------------------------------------- internals

    @staticmethod
    def _request_head(target: Target, headers: dict[str, str], length: int) -> bytes:
        lines = [f"POST {target.target} HTTP/1.1", f"Host: {target.authority}"]
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        lines.append(f"Content-Length: {length}")
        lines.append(f"User-Agent: {USER_AGENT}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _take_idle(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to have been closed by the receiver
            if connection.usable():
                return connection
            connection.close()
        return None

    def _put_idle(self, key: tuple[str, int], connection: _Connection) -> None:
        idle = self._idle.setdefault(key, deque())
        if self._closed or len(idle) >= self.max_idle:
            connection.close()
        else:
            idle.append(connection)

    @staticmethod
    async def _connect(target: Target) -> _Connection:
        reader, writer = await asyncio.open_connection(target.host, target.port, limit=MAX_HEAD_BYTES)
        return _Connection(reader, writer)

    async def _exchange(self, target: Target, connection: _Connection, head: bytes, body: bytes,
                        *, reused: bool) -> Response:
        """One request/response on ``connection``; it goes back to the pool only after a complete response that
        allows keep-alive, and is closed on anything else (errors, cancellation, timeouts included)."""
        keep = False
        try:
            try:
                connection.writer.write(head + body)
                await connection.writer.drain()
                status, version, headers = await self._read_head(connection.reader)
            except (OSError, asyncio.IncompleteReadError) as exc:
                if reused and not (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                    raise _Stale(str(exc)) from exc
                if isinstance(exc, asyncio.IncompleteReadError):
                    raise ProtocolError("the receiver closed the connection without a complete response") from None
                raise
            response_body, complete, until_close = await self._read_body(connection.reader, status, headers)
            keep = complete and not until_close and _keep_alive(version, headers)
            return Response(status, headers, response_body)
        finally:
            if keep:
                self._put_idle((target.host, target.port), connection)
            else:
                connection.close()

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Status, version and headers of the final response (1xx interim responses are skipped)."""
        while True:
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                raise ProtocolError("the response headers are too large") from None
            lines = raw[:-4].split(b"\r\n")
            parts = lines[0].split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
                raise ProtocolError(f"invalid status line: {lines[0][:100]!r}")
            status = int(parts[1])
            headers: list[tuple[bytes, bytes]] = []
            for line in lines[1:]:
                name, sep, value = line.partition(b":")
                if not sep or not name or name != name.strip():
                    raise ProtocolError(f"invalid header line: {line[:100]!r}")
                headers.append((name, value.strip(b" \t")))
            if 100 <= status < 200 and status != 101:
                continue
            return status, parts[0], headers

    async def _read_body(self, reader: asyncio.StreamReader, status: int,
                         headers: list[tuple[bytes, bytes]]) -> tuple[bytes, bool, bool]:
        """(the first ``max_body`` bytes, whether the whole body was read, whether it was delimited by the close).
        A body longer than the cap is not read to its end: the connection is then closed, not reused."""
        if status in (204, 304) or 100 <= status < 200:
            return b"", True, False
        encoding = _header(headers, b"transfer-encoding")
        if encoding is not None and encoding.lower().rsplit(b",", 1)[-1].strip() == b"chunked":
            return await self._read_chunked(reader)
        length = _header(headers, b"content-length")
        if length is not None and encoding is None:
            try:
                size = int(length)
            except ValueError:
                raise ProtocolError(f"invalid Content-Length: {length[:40]!r}") from None
            if size < 0:
                raise ProtocolError(f"invalid Content-Length: {length[:40]!r}")
            data = await _read_exactly(reader, min(size, self.max_body))
            return data, size <= self.max_body, False
        # Delimited by the end of the connection.
        chunks: list[bytes] = []
        kept = 0
        while kept < self.max_body:
            chunk = await reader.read(self.max_body - kept)
            if not chunk:
                return b"".join(chunks), True, True
            chunks.append(chunk)
            kept += len(chunk)
        return b"".join(chunks), False, True

    async def _read_chunked(self, reader: asyncio.StreamReader) -> tuple[bytes, bool, bool]:
        chunks: list[bytes] = []
        kept = 0
        while True:
            line = await _read_line(reader)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"invalid chunk size: {line[:40]!r}") from None
            if size < 0:
                raise ProtocolError(f"invalid chunk size: {line[:40]!r}")
            if size == 0:
                while await _read_line(reader):  # trailers, up to the empty line
                    pass
                return b"".join(chunks), True, False
            if kept + size > self.max_body:
                chunks.append(await _read_exactly(reader, self.max_body - kept))
                return b"".join(chunks), False, False
            chunks.append(await _read_exactly(reader, size))
            kept += size
            if await _read_line(reader):
                raise ProtocolError("a chunk is not followed by CRLF")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The value of ``name`` (lower case); repeated headers are joined with commas."""
    values = [value for key, value in headers if key.lower() == name]
    return b", ".join(values) if values else None


def _keep_alive(version: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
    connection = (_header(headers, b"connection") or b"").lower()
    tokens = {token.strip() for token in connection.split(b",")}
    if version == b"HTTP/1.0":
        return b"keep-alive" in tokens
    return b"close" not in tokens


async def _read_exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise ProtocolError("the receiver closed the connection before the end of the body") from None


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    try:
        return (await reader.readuntil(b"\r\n"))[:-2]
    except asyncio.IncompleteReadError:
        raise ProtocolError("the receiver closed the connection before the end of the body") from None
    except asyncio.LimitOverrunError:
        raise ProtocolError("a chunk header is too long") from None
