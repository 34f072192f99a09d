"""The unit of work: one database transaction per request or job, and the only place that commits.

A service raises a PortOne error to reject a request; the transaction then rolls back, unless the error was
marked with :func:`keep_changes` (a PG decline: the FAILED attempt and its webhook must be committed before the
502 reaches the caller). Callbacks registered with :meth:`UnitOfWork.after_commit` run only after a commit
(e.g. waking the webhook delivery job), never for a rolled-back change.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from localportone.kernel import optimistic
from localportone.kernel.clock import Clock
from localportone.kernel.db import Database
from localportone.kernel.group_commit import GroupCommit
from localportone.kernel.records import RecordTable, Tracker
from localportone.kernel.sql import Sql
from localportone.kernel.tables import ClockRow

log = logging.getLogger("localportone.uow")

E = TypeVar("E", bound=BaseException)
R = TypeVar("R")


def keep_changes(error: E) -> E:
    """Mark an error so that the unit of work commits what was written before it is raised to the caller."""
    error.__dict__["_keep_changes"] = True
    return error


def keeps_changes(error: BaseException) -> bool:
    return bool(getattr(error, "_keep_changes", False))


@dataclass
class UnitOfWork:
    now: datetime
    write: bool
    #: Hand-written SQL on the unit of work's connection and transaction (:mod:`.sql`).
    sql: Sql
    #: Makes the ORM session on the same connection and transaction, when code first asks for :attr:`session`.
    session_factory: Callable[[], AsyncSession]
    _session: AsyncSession | None = None
    _after_commit: list[Callable[[], None]] = field(default_factory=list)
    _before_commit: dict[Hashable, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    #: Facts a use case notes for later steps of the same unit of work (e.g. "search terms written").
    memo: dict[Hashable, Any] = field(default_factory=dict)
    _tracker: Tracker = field(default_factory=Tracker)

    @property
    def session(self) -> AsyncSession:
        """The ORM session of this unit of work (made on first use: the hot paths write plain SQL only)."""
        if self._session is None:
            self._session = self.session_factory()
        return self._session

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def before_commit(self, key: Hashable, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` once (per ``key``) after the last change and before the commit.

        For derived data that must reflect the final state of the transaction (e.g. a payment's document).
        """
        self._before_commit.setdefault(key, callback)

    async def finish(self) -> None:
        """Run the before-commit callbacks, flush, and flush the ORM session.

        The callbacks run before the flush, so that a new row they complete is inserted once, in its final state;
        a callback that reads what the unit of work changed flushes first (:meth:`flush`).
        """
        await self.run_before_commit()
        await self.flush()
        if self._session is not None:
            await self._session.flush()

    async def run_before_commit(self) -> None:
        """The :meth:`before_commit` callbacks (and those they register in turn)."""
        while self._before_commit:
            callbacks, self._before_commit = list(self._before_commit.values()), {}
            for callback in callbacks:
                await callback()

    def track(self, table: RecordTable[R], record: R) -> R:
        """Have :meth:`flush` write what the caller changes in ``record`` (loaded from ``table``).

        Returns the record already tracked under the same key, if any: use the returned object.
        """
        return self._tracker.track(self.sql, table, record)

    def add(self, table: RecordTable[R], record: R) -> R:
        """Insert ``record`` at the next :meth:`flush` (and track it from then on)."""
        return self._tracker.add(table, record)

    def append(self, table: RecordTable[Any], rows: Sequence[Sequence[Any]]) -> None:
        """Insert write-once ``rows`` (values in column order) at the next :meth:`flush`, untracked."""
        self._tracker.append(table, rows)

    def defer(self, statement: str, *args: Any) -> None:
        """Run a statement at the next :meth:`flush`, before it writes rows (e.g. a delete that appended rows
        replace): unlike a statement run now, an optimistic unit of work can do it (:mod:`.optimistic`)."""
        self._tracker.defer(statement, *args)

    def discard_appended(self, table: RecordTable[Any], drop: Callable[[Sequence[Any]], bool]) -> None:
        """Forget rows appended to ``table`` and not written yet, for which ``drop`` is true."""
        self._tracker.discard_appended(table, drop)

    def appended(self, table: RecordTable[Any]) -> list[Sequence[Any]]:
        """The rows appended to ``table`` and not written yet."""
        return self._tracker.appended(table)

    def tracked(self, table: RecordTable[R], *key: Any) -> R | None:
        """The record this unit of work tracks under ``key`` (loaded or added), without a query."""
        return self._tracker.get(table, *key)

    def created_records(self, table: RecordTable[R]) -> list[R]:
        """The records of ``table`` this unit of work added (not written before the flush: a query misses them)."""
        return self._tracker.created_records(table)

    def created(self, table: RecordTable[R], record: R) -> bool:
        """Whether this unit of work added ``record`` (so that nothing referring to it existed before)."""
        return self._tracker.created(table, record)

    async def flush(self) -> None:
        """Write the changes of tracked records (also done before the commit)."""
        await self._tracker.flush(self.sql)


class Transactions:
    """Opens units of work on a database and keeps the shared clock fresh."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def refresh_clock(self, sql: Sql) -> None:
        self.clock.load(int(await sql.value("SELECT offset_us FROM sandbox_clock WHERE id = 1") or 0))

    def _unit(self, sql: Sql, write: bool, session_factory: Callable[[], AsyncSession]) -> UnitOfWork:
        return UnitOfWork(now=self.clock.now(), write=write, sql=sql, session_factory=session_factory)

    async def run(self, work: Callable[[UnitOfWork], Awaitable[R]]) -> R:
        """``work`` in a write unit of work, committed before this returns (an error rolls it back, unless marked
        with :func:`keep_changes`, as with :meth:`begin`).

        On SQLite the unit is optimistic (:mod:`.optimistic`): ``work`` runs on a read snapshot and only its writes
        take the write lock, so the other ``serve`` processes keep writing meanwhile. ``work`` may therefore run
        twice (the second time under the lock, when what it read changed meanwhile or it needed the lock): it
        must have no effect outside its unit of work.
        """
        group = self.db.group
        if group is not None:
            try:
                return await self._run_optimistic(group, work)
            except optimistic.Speculation as exc:
                optimistic.STATS["fallback"] += 1
                log.debug("optimistic unit of work run again under the lock: %s", exc)
            except optimistic.Conflict:
                optimistic.STATS["conflict"] += 1
        async with self.begin() as uow:
            return await work(uow)

    async def _run_optimistic(self, group: GroupCommit, work: Callable[[UnitOfWork], Awaitable[R]]) -> R:
        kept: BaseException | None = None
        async with self.db.raw_reader() as snapshot:
            if self.clock.is_stale():
                await self.refresh_clock(snapshot)
            sql = optimistic.RecordingSql(snapshot)
            uow = self._unit(sql, True, sql.refuse_session)
            try:
                result = await work(uow)
            except BaseException as exc:
                if sql.refused is not None:
                    raise optimistic.Speculation(sql.refused) from exc
                if not keeps_changes(exc):
                    optimistic.STATS["read-only"] += 1
                    raise  # nothing to undo: the error was decided on the snapshot
                kept = exc
            await uow.run_before_commit()
            if sql.refused is not None:  # refused, and the refusal swallowed on the way
                raise optimistic.Speculation(sql.refused)
        if uow._tracker.is_empty():
            optimistic.STATS["read-only"] += 1
        else:
            reads, tracker = sql.reads, uow._tracker

            async def write(locked: Sql) -> None:
                await optimistic.validate(locked, reads)
                await tracker.flush(locked)

            await group.apply(write)
            optimistic.STATS["committed"] += 1
        _run(uow._after_commit)
        if kept is not None:
            raise kept
        return result

    @asynccontextmanager
    async def begin(self, *, write: bool = True) -> AsyncIterator[UnitOfWork]:
        group = self.db.group
        if write and group is not None:  # SQLite writes: a savepoint of the process's batch (:mod:`.group_commit`)
            async with self._unit_on(group.unit(), write=True) as uow:
                yield uow
            return
        pg = self.db.pg
        if pg is not None:  # PostgreSQL: a transaction of its own on an asyncpg connection (:mod:`.pg_units`)
            async with self._unit_on(pg.transaction(write=write), write=write) as uow:
                yield uow
            return
        # SQLite reads: an ORM session on the read engine (deferred transactions), plain SQL on its connection.
        async with self.db.read_session() as session:
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            sql = Sql(self.db.dialect, raw.driver_connection)
            if self.clock.is_stale():
                await self.refresh_clock(sql)
            uow = self._unit(sql, False, lambda: session)
            uow._session = session
            try:
                yield uow
            finally:
                await session.rollback()
        _run(uow._after_commit)

    @asynccontextmanager
    async def _unit_on(self, source: AbstractAsyncContextManager[tuple[Sql, Callable[[], AsyncSession]]], *,
                       write: bool) -> AsyncIterator[UnitOfWork]:
        """A unit of work inside ``source``, which owns the transaction: it keeps the changes when it exits
        normally and undoes them when an exception passes through it. A ``keep_changes`` error therefore leaves
        ``source`` normally (after the unit is finished) and is raised once the changes are committed."""
        kept: BaseException | None = None
        async with source as (sql, new_session):
            if self.clock.is_stale():
                await self.refresh_clock(sql)
            uow = self._unit(sql, write, new_session)
            try:
                try:
                    yield uow
                except BaseException as exc:
                    if not (write and keeps_changes(exc)):
                        raise
                    kept = exc
                if write:
                    await uow.finish()
            finally:
                if uow._session is not None:
                    await uow._session.close()
        _run(uow._after_commit)  # committed once ``source`` has returned
        if kept is not None:
            raise kept

    def read(self, *, snapshot: bool = True) -> AbstractAsyncContextManager[UnitOfWork]:
        """A read-only unit of work with :attr:`UnitOfWork.sql` only: for reads written entirely in plain SQL.

        Its ``session`` raises on use, so that a read that still needs the ORM fails loudly (the fast HTTP paths
        then answer through the regular route). ``snapshot=False``: each statement reads the latest commit
        (:meth:`Database.raw_reader`).
        """
        return _ReadUnit(self, self.db.raw_reader(snapshot=snapshot))


class _ReadUnit:
    """:meth:`Transactions.read` (a class, not an ``asynccontextmanager``: each fast ``GET`` enters one)."""

    __slots__ = ("_source", "_transactions")

    def __init__(self, transactions: Transactions, source: AbstractAsyncContextManager[Sql]) -> None:
        self._transactions = transactions
        self._source = source

    async def __aenter__(self) -> UnitOfWork:
        sql = await self._source.__aenter__()
        transactions = self._transactions
        if transactions.clock.is_stale():
            try:
                await transactions.refresh_clock(sql)
            except BaseException as exc:
                await self._source.__aexit__(type(exc), exc, exc.__traceback__)
                raise
        return transactions._unit(sql, False, _no_session)

    async def __aexit__(self, *exc: Any) -> None:
        await self._source.__aexit__(*exc)


class NoSessionError(RuntimeError):
    """A session-less unit of work (:meth:`Transactions.read`) reached code that still uses the ORM."""


def _no_session() -> AsyncSession:
    raise NoSessionError("this unit of work has no ORM session")


def _run(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a wake-up hint must never fail the request that already committed
            log.exception("after-commit callback failed")


async def set_clock_offset(session: AsyncSession, offset_us: int) -> None:
    row = await session.get(ClockRow, 1)
    now = datetime.now(UTC)
    if row is None:
        session.add(ClockRow(id=1, offset_us=offset_us, updated_at=now))
    else:
        row.offset_us = offset_us
        row.updated_at = now


#: The PostgreSQL notification channel a clock move is announced on (payload: the new offset in microseconds).
CLOCK_CHANNEL = "localportone_clock"


async def notify_clock_moved(uow: UnitOfWork, offset_us: int) -> None:
    """Tell the other processes on the same PostgreSQL database at once (delivered on commit; SQLite: nothing to
    do, the other processes reload the offset when their cached copy is older than a second)."""
    if not uow.sql.is_sqlite:
        await uow.sql.run("SELECT pg_notify(?, ?)", CLOCK_CHANNEL, str(offset_us))


async def listen_for_clock_moves(db: Database, clock: Clock) -> None:
    """Load a moved clock the moment another process announces it (PostgreSQL), which wakes this process's jobs."""
    if db.pg is None:
        return

    def moved(payload: str) -> None:
        with suppress(ValueError):
            clock.load(int(payload))

    await db.pg.listen(CLOCK_CHANNEL, moved)
