"""A clock move made through one process reaches the other processes on the same PostgreSQL database at once."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from localportone.kernel.clock import Clock
from localportone.kernel.config import Settings
from localportone.kernel.db import Database
from localportone.kernel.uow import listen_for_clock_moves
from tests.support.server import RunningServer


def test_another_process_hears_the_clock_move(server: RunningServer, client: httpx.Client,
                                              settings: Settings) -> None:
    if settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite processes reload the offset once their copy is a second old")
    heard: list[bool] = []

    async def listen_then_wait() -> int:
        # what `serve` / `worker` do at start-up, with a clock whose cached offset would stay fresh for an hour
        db = Database.connect(settings.database_url)
        clock = Clock(cache_seconds=3600)
        clock.on_change(lambda: heard.append(True))
        try:
            await listen_for_clock_moves(db, clock)
            response = await asyncio.to_thread(client.post, "/_sandbox/clock", json={"advanceSeconds": 7200})
            assert response.status_code == 200, response.text
            deadline = time.monotonic() + 10
            while not heard and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            return int(clock.offset.total_seconds())
        finally:
            await db.dispose()

    offset = asyncio.run(listen_then_wait())
    assert heard, "no notification arrived"
    assert 7190 <= offset <= 7210
