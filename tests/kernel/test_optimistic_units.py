"""Optimistic write units of work on SQLite (``Transactions.run``, kernel/optimistic.py): the work runs on a
snapshot, its reads are checked again under the write lock, and a unit whose reads changed runs again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import pytest

from localportone.kernel import optimistic
from localportone.kernel.config import Settings
from localportone.kernel.records import RecordTable, encode_datetime
from localportone.kernel.uow import UnitOfWork, keep_changes
from localportone.runtime import Runtime
from localportone.wire.errors import InvalidRequestError


@dataclass(eq=False)
class KeyRow:
    name: str
    value: str
    created_at: datetime


KEYS = RecordTable("server_keys", KeyRow, kinds={"created_at": "datetime"}, key=("name",))


def _on_sqlite(settings: Settings) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("optimistic units of work are the SQLite write path (PostgreSQL locks rows)")


def _run(settings: Settings, main: Callable[[Runtime], Awaitable[None]]) -> None:
    async def wrapped() -> None:
        runtime = await Runtime.open(settings)
        try:
            await main(runtime)
        finally:
            await runtime.close()

    asyncio.run(wrapped())


async def _load(uow: UnitOfWork, name: str) -> KeyRow | None:
    row = await uow.sql.one(f"SELECT {KEYS.select_list} FROM server_keys WHERE name = ?", name)
    return None if row is None else uow.track(KEYS, KEYS.load(uow.sql, row))


async def _value(runtime: Runtime, name: str) -> str | None:
    async with runtime.transactions.read() as uow:
        value = await uow.sql.value("SELECT value FROM server_keys WHERE name = ?", name)
        return None if value is None else str(value)


async def _create(runtime: Runtime, name: str, value: str) -> None:
    async def work(uow: UnitOfWork) -> None:
        uow.add(KEYS, KeyRow(name, value, uow.now))

    await runtime.transactions.run(work)


def test_a_unit_commits_what_it_wrote_on_its_snapshot(settings: Settings) -> None:
    _on_sqlite(settings)

    async def main(runtime: Runtime) -> None:
        before = optimistic.STATS.copy()
        await _create(runtime, "occ-a", "1")
        assert await _value(runtime, "occ-a") == "1"
        assert optimistic.STATS["committed"] == before["committed"] + 1
        assert optimistic.STATS["conflict"] == before["conflict"]

    _run(settings, main)


def test_racing_increments_are_not_lost(settings: Settings) -> None:
    """Both units read "0" on their snapshots; the second finds the value changed under the lock and runs again."""
    _on_sqlite(settings)

    async def main(runtime: Runtime) -> None:
        await _create(runtime, "occ-counter", "0")
        both_read = asyncio.Barrier(2)
        runs: list[str] = []

        async def increment(uow: UnitOfWork) -> str:
            row = await _load(uow, "occ-counter")
            assert row is not None
            runs.append(row.value)
            if len(runs) <= 2:
                await both_read.wait()  # the first two runs read before either writes
            row.value = str(int(row.value) + 1)
            return row.value

        before = optimistic.STATS.copy()
        results = await asyncio.gather(runtime.transactions.run(increment), runtime.transactions.run(increment))
        assert sorted(results) == ["1", "2"]
        assert runs == ["0", "0", "1"]  # the unit that lost the race ran again and read the other's write
        assert await _value(runtime, "occ-counter") == "2"
        assert optimistic.STATS["conflict"] == before["conflict"] + 1
        assert optimistic.STATS["committed"] == before["committed"] + 1

    _run(settings, main)


def test_an_error_is_decided_on_the_snapshot_without_the_write_lock(settings: Settings) -> None:
    _on_sqlite(settings)

    async def main(runtime: Runtime) -> None:
        group = runtime.db.group
        assert group is not None
        commits = group._commits
        before = optimistic.STATS.copy()

        async def refuse(uow: UnitOfWork) -> None:
            uow.add(KEYS, KeyRow("occ-refused", "x", uow.now))
            raise InvalidRequestError("no")

        with pytest.raises(InvalidRequestError):
            await runtime.transactions.run(refuse)
        assert await _value(runtime, "occ-refused") is None
        assert group._commits == commits
        assert optimistic.STATS["read-only"] == before["read-only"] + 1

    _run(settings, main)


def test_an_error_that_keeps_changes_commits_them(settings: Settings) -> None:
    _on_sqlite(settings)

    async def main(runtime: Runtime) -> None:
        async def decline(uow: UnitOfWork) -> None:
            uow.add(KEYS, KeyRow("occ-kept", "failed attempt", uow.now))
            raise keep_changes(InvalidRequestError("declined"))

        with pytest.raises(InvalidRequestError):
            await runtime.transactions.run(decline)
        assert await _value(runtime, "occ-kept") == "failed attempt"

    _run(settings, main)


def test_a_unit_that_needs_the_lock_runs_again_under_it(settings: Settings) -> None:
    """A statement that writes at once (or the ORM session) cannot run on a snapshot: the whole unit runs again
    pessimistically, so its work must have no effect outside the unit (here: counted runs)."""
    _on_sqlite(settings)

    async def main(runtime: Runtime) -> None:
        runs = 0

        async def direct(uow: UnitOfWork) -> None:
            nonlocal runs
            runs += 1
            await uow.sql.run("INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?)",
                              "occ-direct", "v", encode_datetime(uow.now, True))

        before = optimistic.STATS.copy()
        await runtime.transactions.run(direct)
        assert runs == 2
        assert await _value(runtime, "occ-direct") == "v"
        assert optimistic.STATS["fallback"] == before["fallback"] + 1

        async def swallowing(uow: UnitOfWork) -> None:
            """Even when the work catches the refusal, the unit is run again."""
            nonlocal runs
            runs += 1
            try:
                await uow.sql.run("DELETE FROM server_keys WHERE name = ?", "occ-direct")
            except Exception:
                return

        runs = 0
        await runtime.transactions.run(swallowing)
        assert runs == 2
        assert await _value(runtime, "occ-direct") is None

    _run(settings, main)


def test_deferred_statements_run_before_the_rows_at_the_flush(settings: Settings) -> None:
    _on_sqlite(settings)

    async def main(runtime: Runtime) -> None:
        await _create(runtime, "occ-replaced", "old")

        async def replace(uow: UnitOfWork) -> None:
            uow.defer("DELETE FROM server_keys WHERE name = ?", "occ-replaced")
            uow.add(KEYS, KeyRow("occ-replaced", "new", uow.now))

        before = optimistic.STATS.copy()
        await runtime.transactions.run(replace)
        assert await _value(runtime, "occ-replaced") == "new"
        assert optimistic.STATS["committed"] == before["committed"] + 1

    _run(settings, main)
