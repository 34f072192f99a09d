"""SQLite group commit: writers that are ready together share a COMMIT, and the WAL starts over regularly."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy.engine import make_url

from localportone.kernel import group_commit
from localportone.kernel.config import Settings
from localportone.kernel.db import async_url
from localportone.kernel.records import encode_datetime
from localportone.runtime import Runtime


def _sqlite_path(settings: Settings) -> str:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("group commit is the SQLite write path")
    return make_url(async_url(settings.database_url)).database or ""


async def _write(runtime: Runtime, name: str) -> None:
    async with runtime.transactions.begin() as uow:
        await uow.sql.run("INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?)",
                          name, "x" * 2000, encode_datetime(uow.now, True))


def _wal_frames(path: str) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    finally:
        connection.close()


def test_writers_ready_together_share_one_commit(settings: Settings) -> None:
    _sqlite_path(settings)

    async def main() -> None:
        runtime = await Runtime.open(settings)
        try:
            group = runtime.db.group
            assert group is not None
            before = group._commits
            await asyncio.gather(*(_write(runtime, f"gc-{i}") for i in range(20)))
            assert group._commits - before < 20  # fewer commits than writers
            async with runtime.transactions.read() as uow:
                assert await uow.sql.value("SELECT count(*) FROM server_keys WHERE name LIKE 'gc-%'") == 20
        finally:
            await runtime.close()

    asyncio.run(main())


def test_the_wal_starts_over_under_a_steady_write_load(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _sqlite_path(settings)
    monkeypatch.setattr(group_commit, "CHECKPOINT_EVERY", 8)

    async def main() -> None:
        runtime = await Runtime.open(settings)
        try:
            for i in range(200):  # one writer at a time: 200 batches, each appending a page or more
                await _write(runtime, f"wal-{i}")
            assert _wal_frames(path) < 50  # without the checkpoints: 200+ frames
        finally:
            await runtime.close()

    asyncio.run(main())
