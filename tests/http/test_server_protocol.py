"""The response writer of ``serve``: one write per response, and nothing held back longer than a loop pass."""

from __future__ import annotations

import asyncio
from typing import Any

from localportone.http.server import _CoalescingTransport


class _Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


async def test_a_head_and_its_body_go_out_in_one_write() -> None:
    raw = _Recorder()
    transport = _CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert raw.writes == []
    transport.write(b"{}")
    assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"more")  # later chunks of a streamed body pass straight through
    assert raw.writes[-1] == b"more"
    assert transport.is_closing() is False  # everything else is the real transport's


async def test_a_head_without_a_body_goes_out_on_the_next_loop_pass() -> None:
    raw = _Recorder()
    transport = _CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"]


async def test_closing_flushes_a_held_head_first() -> None:
    raw = _Recorder()
    transport = _CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
    transport.close()
    assert raw.writes == [b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n"] and raw.closed
