"""Group commit for SQLite: the write units of work that are ready together share one ``COMMIT``.

A SQLite commit appends every page the transaction dirtied to the WAL; a payment dirties ~15 pages (tables and
their indexes), so one commit per request cost more than the request itself (bench/README.md). Here the writers
of a process take turns on one persistent connection inside one ``BEGIN IMMEDIATE`` transaction, each in a
``SAVEPOINT`` of its own: a unit of work that fails rolls back to its savepoint and leaves the others alone. A
committer task, started with each batch, lets the writers that are already runnable take their turn (one pass of
the event loop), then commits; every member of the batch waits for that commit before it answers, so a response
still means "committed". Writers that arrive later form the next batch. Across processes nothing changes: a batch
holds SQLite's write lock like a single transaction did.

Optimistic units of work (:mod:`.optimistic`) did their work before they ask for a turn: :meth:`GroupCommit.apply`
queues what they write, and one pass takes the lock, validates and writes each of them in its savepoint and
commits, without letting the loop run anything else meanwhile, so that the lock is held only while rows are
written and the other processes' writers get it sooner.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress

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
        #: Writes of optimistic units waiting for the next applied batch (:meth:`apply`), and the task applying them.
        self._queue: list[tuple[Callable[[Sql], Awaitable[None]], asyncio.Future[None]]] = []
        self._applier: asyncio.Task[None] | None = None

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
            with self._savepoint(self._connection):
                yield Sql("sqlite", sqlite_inloop.InLoopConnection(self._connection)), self._new_session
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
            committed = self._committed
            self._committed = None
            assert committed is not None
            error = await self._commit()
            if error is None:
                committed.set_result(None)
            else:
                committed.set_exception(error)
        self._checkpoint_later()

    async def _commit(self) -> BaseException | None:
        """``COMMIT`` the open transaction (the caller holds :attr:`_lock`); the error, rolled back, if it failed.
        Every :data:`CHECKPOINT_EVERY` commits, a checkpoint follows while the lock is still held."""
        connection = self._connection
        assert connection is not None
        try:
            connection.execute("COMMIT")
        except BaseException as exc:
            with suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            return exc
        self._commits += 1
        if self._commits - self._checkpointed_at >= CHECKPOINT_EVERY:
            await self._checkpoint()  # still holding the lock: no writer of ours appends meanwhile
        return None

    def _checkpoint_later(self) -> None:
        if self._checkpointer is None or self._checkpointer.done():
            self._checkpointer = asyncio.get_running_loop().create_task(self._checkpoint_when_idle())

    async def apply(self, write: Callable[[Sql], Awaitable[None]]) -> None:
        """Run ``write`` in a savepoint of the next batch of applied writes; return once that batch is committed.

        For optimistic units of work (:mod:`.optimistic`), whose work is done before they write: ``write`` only
        validates and writes rows, without waiting for anything, so the write lock is held while rows are written,
        not while the loop runs other requests as it is for :meth:`unit`'s batches. The writes queued while the
        lock is awaited (another process may hold it) share one ``BEGIN IMMEDIATE … COMMIT``; if a batch of
        :meth:`unit` writers is open, they join it and its commit. An exception of ``write`` undoes its savepoint
        and is raised here.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((write, future))
        if self._applier is None or self._applier.done():
            self._applier = asyncio.get_running_loop().create_task(self._apply_queued())
        await future

    async def _apply_queued(self) -> None:
        while self._queue:
            async with self._lock:
                joined = self._committed  # a batch of :meth:`unit` writers is open: add to it
                batch, self._queue = self._queue, []
                if joined is None:
                    try:
                        await sqlite_inloop.wait_begin_immediate(self._write_connection())
                    except Exception as exc:  # e.g. another process kept the lock too long
                        _settle([future for _write, future in batch], exc)
                        continue
                    batch += self._queue  # queued while the lock was awaited
                    self._queue = []
                applied = await self._apply_batch(batch)
                if joined is None:
                    error = await self._commit()
                    _settle(applied, error)
                else:
                    joined.add_done_callback(lambda done, applied=applied: _settle(  # type: ignore[misc]
                        applied, done.exception()))
            if joined is None:
                self._checkpoint_later()

    async def _apply_batch(self, batch: list[tuple[Callable[[Sql], Awaitable[None]], asyncio.Future[None]]]
                           ) -> list[asyncio.Future[None]]:
        """Each write in a savepoint of its own (the lock held); the futures of those that succeeded."""
        connection = self._connection
        assert connection is not None
        sql = Sql("sqlite", sqlite_inloop.InLoopConnection(connection))
        applied: list[asyncio.Future[None]] = []
        for write, future in batch:
            if future.done():  # its waiter was cancelled: nothing of it is written
                continue
            try:
                with self._savepoint(connection):
                    await write(sql)
            except Exception as exc:
                future.set_exception(exc)
            else:
                applied.append(future)
        return applied

    @contextmanager
    def _savepoint(self, connection: sqlite3.Connection) -> Iterator[None]:
        """One writer's changes: kept (``RELEASE``) on a normal exit, undone (``ROLLBACK TO``) by an exception."""
        savepoint = f"unit_{next(self._savepoints)}"
        connection.execute(f"SAVEPOINT {savepoint}")
        try:
            yield
        except BaseException:
            connection.execute(f"ROLLBACK TO {savepoint}")
            connection.execute(f"RELEASE {savepoint}")
            raise
        connection.execute(f"RELEASE {savepoint}")

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
        if self._applier is not None:
            await asyncio.wait([self._applier])
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


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _checkpoint(path: str) -> None:
    connection = sqlite3.connect(path, timeout=CHECKPOINT_WAIT_SECONDS)
    try:
        connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
    finally:
        connection.close()

