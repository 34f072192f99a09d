"""The HTTP/1.1 protocol ``serve`` runs: uvicorn's httptools protocol, with each response written in one piece.

uvicorn writes a response's head when the app sends ``http.response.start`` and its body when the app sends
``http.response.body``: two ``send()`` calls, two TCP segments, and two wake-ups of the client, for every
response. A profile of ``GET /payments/{id}`` under load spent about a third of the server's samples in those
writes (bench/README.md). Here the transport holds a response head until the next write (the body, normally sent
at once) and sends both together; a head that is not followed at once (a streamed or empty body, ``HEAD``,
``100 Continue``) goes out on the next pass of the event loop, so nothing waits longer than that.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


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

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
