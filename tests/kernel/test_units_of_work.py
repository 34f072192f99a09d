"""Units of work: hand-written SQL and the ORM session share one transaction on both engines.

On PostgreSQL a unit runs on an asyncpg connection with ``BEGIN``/``COMMIT`` sent by hand, and the ORM session
joins that transaction (kernel/pg_units.py); on SQLite a write unit is a savepoint of a group commit. Either way a
change made with plain SQL is visible to the ORM in the same unit (and the other way round), invisible outside it
until the commit, undone by a rollback, and kept by ``keep_changes``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from localportone.kernel import pg_units
from localportone.kernel.config import Settings
from localportone.kernel.db import async_url
from localportone.kernel.records import encode_datetime
from localportone.kernel.tables import ServerKey
from localportone.kernel.uow import keep_changes
from localportone.runtime import Runtime
from localportone.wire.errors import InvalidRequestError


def _run(settings: Settings, body: Callable[[Runtime], Awaitable[None]]) -> None:
    async def main() -> None:
        runtime = await Runtime.open(settings)
        try:
            await body(runtime)
        finally:
            await runtime.close()

    asyncio.run(main())


async def _names(runtime: Runtime) -> set[str]:
    """What a separate, committed-data-only reader sees."""
    async with runtime.transactions.read() as uow:
        rows = await uow.sql.all("SELECT name FROM server_keys WHERE name LIKE 'uow-%'")
    return {row[0] for row in rows}


def test_plain_sql_and_orm_share_one_transaction(settings: Settings) -> None:
    async def body(runtime: Runtime) -> None:
        committed: list[str] = []
        async with runtime.transactions.begin() as uow:
            await uow.sql.run("INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?)",
                              "uow-sql", "a", encode_datetime(uow.now, uow.sql.is_sqlite))
            # The ORM sees the row written with plain SQL: same connection, same transaction.
            row = await uow.session.get(ServerKey, "uow-sql")
            assert row is not None and row.value == "a"
            row.value = "changed by the ORM"
            uow.session.add(ServerKey(name="uow-orm", value="b", created_at=uow.now))
            await uow.session.flush()
            # ... and plain SQL sees what the ORM flushed.
            assert await uow.sql.value("SELECT value FROM server_keys WHERE name = ?", "uow-sql") == \
                "changed by the ORM"
            assert await uow.sql.value("SELECT value FROM server_keys WHERE name = ?", "uow-orm") == "b"
            # Nothing is visible outside the unit before its commit.
            assert await _names(runtime) == set()
            uow.after_commit(lambda: committed.append("after commit"))
            assert committed == []
        assert committed == ["after commit"]
        assert await _names(runtime) == {"uow-sql", "uow-orm"}
        async with runtime.transactions.begin(write=False) as uow:
            stored = (await uow.session.scalars(select(ServerKey).where(ServerKey.name.like("uow-%")))).all()
            assert {(k.name, k.value) for k in stored} == {("uow-sql", "changed by the ORM"), ("uow-orm", "b")}

    _run(settings, body)


def test_a_rollback_undoes_plain_sql_and_orm_changes(settings: Settings) -> None:
    async def body(runtime: Runtime) -> None:
        called: list[str] = []
        with pytest.raises(InvalidRequestError):
            async with runtime.transactions.begin() as uow:
                await uow.sql.run("INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?)",
                                  "uow-sql", "a", encode_datetime(uow.now, uow.sql.is_sqlite))
                uow.session.add(ServerKey(name="uow-orm", value="b", created_at=uow.now))
                await uow.session.flush()
                uow.after_commit(lambda: called.append("after commit"))
                uow.before_commit("hook", lambda: _append(called, "before commit"))
                raise InvalidRequestError("no")
        assert called == []
        assert await _names(runtime) == set()
        # The connection went back clean: the next unit commits normally.
        async with runtime.transactions.begin() as uow:
            uow.session.add(ServerKey(name="uow-next", value="c", created_at=uow.now))
        assert await _names(runtime) == {"uow-next"}

    _run(settings, body)


def test_keep_changes_commits_then_raises(settings: Settings) -> None:
    async def body(runtime: Runtime) -> None:
        called: list[str] = []
        with pytest.raises(InvalidRequestError, match="kept anyway"):
            async with runtime.transactions.begin() as uow:
                await uow.sql.run("INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?)",
                                  "uow-sql", "a", encode_datetime(uow.now, uow.sql.is_sqlite))
                # Not flushed by the caller: the unit flushes the ORM before it commits.
                uow.session.add(ServerKey(name="uow-orm", value="b", created_at=uow.now))
                uow.before_commit("hook", lambda: _append(called, "before commit"))
                uow.after_commit(lambda: called.append("after commit"))
                raise keep_changes(InvalidRequestError("kept anyway"))
        assert called == ["before commit", "after commit"]
        assert await _names(runtime) == {"uow-sql", "uow-orm"}

    _run(settings, body)


def test_a_read_unit_writes_nothing(settings: Settings) -> None:
    async def body(runtime: Runtime) -> None:
        async with runtime.transactions.begin(write=False) as uow:
            await uow.sql.run("INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?)",
                              "uow-read", "a", encode_datetime(uow.now, uow.sql.is_sqlite))
        assert await _names(runtime) == set()

    _run(settings, body)


def test_concurrent_units_each_keep_their_own_transaction(settings: Settings) -> None:
    async def body(runtime: Runtime) -> None:
        async def one(i: int) -> None:
            async with runtime.transactions.begin() as uow:
                await uow.sql.run("INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?)",
                                  f"uow-{i}", "x", encode_datetime(uow.now, uow.sql.is_sqlite))
                await asyncio.sleep(0)
                if i % 2:
                    uow.session.add(ServerKey(name=f"uow-{i}-orm", value="y", created_at=uow.now))
                if i % 3 == 0:
                    raise InvalidRequestError("rolled back")

        results = await asyncio.gather(*(one(i) for i in range(24)), return_exceptions=True)
        assert [i for i, r in enumerate(results) if isinstance(r, InvalidRequestError)] == list(range(0, 24, 3))
        kept = [i for i in range(24) if i % 3]
        assert await _names(runtime) == {f"uow-{i}" for i in kept} | {f"uow-{i}-orm" for i in kept if i % 2}

    _run(settings, body)


def test_a_failed_statement_rolls_back_and_the_next_unit_works(settings: Settings) -> None:
    async def body(runtime: Runtime) -> None:
        async with runtime.transactions.begin() as uow:
            uow.session.add(ServerKey(name="uow-dup", value="a", created_at=uow.now))
        for _ in range(3):  # more than once: the same pooled connection comes back each time
            with pytest.raises(IntegrityError):
                async with runtime.transactions.begin() as uow:
                    await uow.sql.run("INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?)",
                                      "uow-lost", "b", encode_datetime(uow.now, uow.sql.is_sqlite))
                    uow.session.add(ServerKey(name="uow-dup", value="again", created_at=uow.now))
                    await uow.session.flush()
        async with runtime.transactions.begin() as uow:
            assert await uow.sql.value("SELECT value FROM server_keys WHERE name = ?", "uow-dup") == "a"
            await uow.sql.run("UPDATE server_keys SET value = ? WHERE name = ?", "b", "uow-dup")
        assert await _names(runtime) == {"uow-dup"}

    _run(settings, body)


def test_postgres_connections_ended_by_the_server_are_replaced(settings: Settings) -> None:
    """What SQLAlchemy's pre-ping did: a unit never fails because an idle connection went away (a restart)."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL connection pool")

    async def body(runtime: Runtime) -> None:
        async def unit(i: int) -> int:
            async with runtime.transactions.begin() as uow:
                await asyncio.sleep(0.01)  # overlap, so that several pooled connections exist
                return int(await uow.sql.value("SELECT pg_backend_pid()"))

        pids = set(await asyncio.gather(*(unit(i) for i in range(4))))
        assert len(pids) > 1
        import asyncpg

        admin = await asyncpg.connect(settings.database_url)
        try:
            ended = await admin.fetch("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE pid = ANY($1::int[])", list(pids))
        finally:
            await admin.close()
        assert len(ended) == len(pids)
        pool = runtime.db.pg
        assert pool is not None
        # asyncpg has usually read the EOF by now; make the pool see the dead connections as open, as it would if
        # the unit came before the event loop read them.
        for pooled in pool._idle:
            pooled.raw = _Unnoticed(pooled.raw)
        async with runtime.transactions.begin() as uow:
            assert int(await uow.sql.value("SELECT pg_backend_pid()")) not in pids
            uow.session.add(ServerKey(name="uow-after", value="x", created_at=uow.now))
        assert await _names(runtime) == {"uow-after"}

    _run(settings, body)


def test_postgres_units_wait_for_a_free_connection_then_time_out(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL connection pool")
    monkeypatch.setattr(pg_units, "CHECKOUT_TIMEOUT", 0.3)

    async def main() -> None:
        units = pg_units.PgUnits(async_url(settings.database_url), max_size=1)
        try:
            async with units.transaction(write=False) as (sql, _):
                with pytest.raises(TimeoutError, match="all 1 PostgreSQL connections"):
                    async with units.autocommit():
                        pass
                assert await sql.value("SELECT 1") == 1
            waiting = asyncio.ensure_future(_one_value(units))
            async with units.transaction(write=True) as (sql, _):
                await asyncio.sleep(0.05)
                assert not waiting.done()  # queued behind the unit that holds the only connection
            assert await waiting == 2
        finally:
            await units.close()

    asyncio.run(main())


async def _one_value(units: pg_units.PgUnits) -> int:
    async with units.autocommit() as sql:
        return int(await sql.value("SELECT 2"))


class _Unnoticed:
    """An asyncpg connection that claims to be open."""

    def __init__(self, connection: object) -> None:
        self._connection = connection

    def is_closed(self) -> bool:
        return False

    def __getattr__(self, name: str) -> object:
        return getattr(self._connection, name)


async def _append(target: list[str], value: str) -> None:
    target.append(value)
