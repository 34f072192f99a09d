"""Group commit for SQLite: the write units of work that are ready together share one ``COMMIT``.

A SQLite commit appends every page the transaction dirtied to the WAL; a payment dirties ~15 pages (tables and
their indexes), so one commit per request cost more than the request itself (bench/README.md). Here the writers
of a process take turns on one persistent connection inside one ``BEGIN IMMEDIATE`` transaction, each in a
``SAVEPOINT`` of its own: a unit of work that fails rolls back to its savepoint and leaves the others alone. A
committer task, started with each batch, lets the writers that are already runnable take their turn (one pass of
the event loop), then commits; every member of the batch waits for that commit before it answers, so a response
still means "committed". Writers that arrive later form the next batch. Across processes nothing changes: a batch
holds SQLite's write lock like a single transaction did.

The hand-written SQL of a unit of work runs on that connection directly (no pool, no greenlet). Code that still
uses the ORM gets, on first use, an ``AsyncSession`` on an engine whose only connection is the same one, with
``commit``/``rollback`` turned into no-ops: the savepoint, not SQLAlchemy, decides what is kept.

Checkpoints (copying the WAL back into the database file, with an fsync) are taken off the request path: the write
connection does not checkpoint automatically (``wal_autocheckpoint=0``); every :data:`CHECKPOINT_EVERY` batches,
and when writes pause, the committer runs a ``RESTART`` checkpoint in a thread (SQLite releases the GIL while it
copies) while it holds the writers' turn, so that the WAL starts over instead of growing. On the
development VM ~2.6 ms of a 10-row transaction went to automatic checkpoints, 0.9 ms remained (bench/README.md).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import StaticPool

from localportone.kernel import sqlite_inloop
from localportone.kernel.sql import Sql

log = logging.getLogger("localportone.db")

#: Seconds without a commit after which the WAL is checkpointed (so that an idle database is compact).
CHECKPOINT_INTERVAL = 0.5
#: Batches committed between checkpoints under load (a payment appends ~15 pages to the WAL).
CHECKPOINT_EVERY = 256
#: How long a checkpoint waits for another process's writer or a reader before giving up until the next one.
CHECKPOINT_WAIT_SECONDS = 0.25


class _Borrowed(sqlite_inloop.InLoopConnection):
    """The write connection as the ORM engine sees it: transactions are the group's business, not SQLAlchemy's."""

    async def commit(self) -> None:
        return None

    async def rollback(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def stop(self) -> None:
        return None


class GroupCommit:
    """The write connection of one process, its batches, and its checkpoints."""

    def __init__(self, url: str, path: str) -> None:
        self._url = url
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._orm_engine: AsyncEngine | None = None
        self._lock = asyncio.Lock()
        self._committed: asyncio.Future[None] | None = None
        self._committers: set[asyncio.Task[None]] = set()  # referenced until done (the loop keeps weak refs)
        self._savepoints = itertools.count()
        self._commits = 0
        self._checkpointed_at = 0
        self._checkpointer: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[tuple[Sql, Callable[[], AsyncSession]]]:
        """One writer's turn: its SQL, a factory for an ORM session on the same connection, inside a savepoint.

        A normal exit keeps the writer's changes (``RELEASE``), an exception undoes them (``ROLLBACK TO``); either
        way the writer then waits for its batch's ``COMMIT``, whose failure it raises.
        """
        async with self._lock:
            if self._committed is None:
                await self._open_batch()
            assert self._connection is not None and self._committed is not None
            committed = self._committed
            savepoint = f"unit_{next(self._savepoints)}"
            self._connection.execute(f"SAVEPOINT {savepoint}")
            try:
                yield Sql("sqlite", sqlite_inloop.InLoopConnection(self._connection)), self._new_session
            except BaseException:
                self._connection.execute(f"ROLLBACK TO {savepoint}")
                self._connection.execute(f"RELEASE {savepoint}")
                raise
            else:
                self._connection.execute(f"RELEASE {savepoint}")
        await asyncio.wait([committed])
        error = committed.exception()
        if error is not None:
            raise error

    def _new_session(self) -> AsyncSession:
        if self._orm_engine is None:
            borrowed = _Borrowed(self._write_connection())

            async def lend() -> _Borrowed:
                return borrowed

            self._orm_engine = create_async_engine(self._url, async_creator=lend, poolclass=StaticPool)
        return AsyncSession(bind=self._orm_engine, expire_on_commit=False, autoflush=False)

    def _write_connection(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = sqlite_inloop.open_connection(self._path, busy_timeout_ms=0)
        return self._connection

    async def _open_batch(self) -> None:
        await sqlite_inloop.wait_begin_immediate(self._write_connection())
        self._committed = asyncio.get_running_loop().create_future()
        task = asyncio.get_running_loop().create_task(self._commit_soon())
        self._committers.add(task)
        task.add_done_callback(self._committers.discard)

    async def _commit_soon(self) -> None:
        await asyncio.sleep(0)  # writers already runnable join this batch
        async with self._lock:
            connection, committed = self._connection, self._committed
            self._committed = None
            assert connection is not None and committed is not None
            try:
                connection.execute("COMMIT")
            except BaseException as exc:
                committed.set_exception(exc)
                with suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            else:
                committed.set_result(None)
                self._commits += 1
                if self._commits - self._checkpointed_at >= CHECKPOINT_EVERY:
                    await self._checkpoint()  # still holding the lock: no writer of ours appends meanwhile
        if self._checkpointer is None or self._checkpointer.done():
            self._checkpointer = asyncio.get_running_loop().create_task(self._checkpoint_when_idle())

    async def _checkpoint_when_idle(self) -> None:
        seen = -1
        while seen != self._commits:  # stops after an interval without commits; the next commit restarts it
            seen = self._commits
            await asyncio.sleep(CHECKPOINT_INTERVAL)
        async with self._lock:
            if self._checkpointed_at != self._commits:
                await self._checkpoint()

    async def _checkpoint(self) -> None:
        """Copy the WAL into the database and have the next writer start the WAL from its beginning.

        ``RESTART`` waits (in a thread, up to :data:`CHECKPOINT_WAIT_SECONDS`) for other processes' writers and
        readers; a passive copy alone never lets the WAL restart while writers keep appending, and the file
        grows without end (seen: 85 MB after 1,400 payments).
        """
        self._checkpointed_at = self._commits
        try:
            await asyncio.to_thread(_checkpoint, self._path)
        except sqlite3.Error as exc:  # busy: the next checkpoint will do it
            log.debug("checkpoint failed: %s", exc)

    async def close(self) -> None:
        """Wait for the open batch, stop checkpointing, close the connection (before the process ends)."""
        async with self._lock:
            committed = self._committed
        if committed is not None:
            await asyncio.wait([committed])
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._orm_engine is not None:
            await self._orm_engine.dispose()
            self._orm_engine = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _checkpoint(path: str) -> None:
    connection = sqlite3.connect(path, timeout=CHECKPOINT_WAIT_SECONDS)
    try:
        connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
    finally:
        connection.close()

