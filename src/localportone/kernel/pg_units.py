"""PostgreSQL units of work on asyncpg connections of their own; the ORM joins the same transaction on request.

A unit of work used to open an ``AsyncSession`` and take its connection: a pool checkout with a ping (SQLAlchemy's
asyncpg ping is ``BEGIN``, ``;``, ``ROLLBACK``: three round trips), greenlet switches and the session's commit
machinery, around hand-written SQL that needs none of it. Here a unit takes an asyncpg connection from the small
pool of this module, sends ``BEGIN`` and ``COMMIT``/``ROLLBACK`` itself and runs :class:`.Sql` on it, as
:mod:`.group_commit` does on SQLite.

Code that still uses the ORM (the webhook delivery and schedule jobs) gets an ``AsyncSession`` on the same
connection and transaction. Each pooled asyncpg connection carries a SQLAlchemy connection made through one engine
whose ``async_creator`` hands over that asyncpg connection. The engine runs in ``AUTOCOMMIT`` mode, so SQLAlchemy
never begins, commits or rolls back anything on the wire: its commit and rollback are no-ops and the unit's
``BEGIN``/``COMMIT`` decide. The SQLAlchemy connection lives as long as the asyncpg one, so that its prepared
statements and the engine's compiled statements are reused from one unit to the next, as with a regular pool.

Connections are checked at checkout without a round trip (asyncpg notices a closed socket) and dropped when a unit
leaves one in a state other than idle (a failed ``ROLLBACK``, a lost connection, a cancellation).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from localportone.kernel.sql import Sql

log = logging.getLogger("localportone.db")

#: Idle connections unused for this long are closed (the most recently used ones are handed out first).
IDLE_SECONDS = 300.0
#: How long a unit waits for a connection when all of them are in use (SQLAlchemy's default ``pool_timeout``).
CHECKOUT_TIMEOUT = 30.0


class _Pooled:
    """One connection of the pool: asyncpg, the SQLAlchemy connection on it, and the :class:`Sql` on it."""

    __slots__ = ("fresh", "idle_since", "orm", "raw", "sql")

    def __init__(self, raw: Any, orm: AsyncConnection) -> None:
        self.raw = raw
        self.orm = orm
        self.sql = Sql("postgresql", raw)
        self.idle_since = 0.0
        #: Not used by a unit yet (a failure on it is not one of a connection that went away while idle).
        self.fresh = True

    def new_session(self) -> AsyncSession:
        return AsyncSession(bind=self.orm, expire_on_commit=False, autoflush=False)


class PgUnits:
    """The asyncpg connections of one :class:`.Database` on PostgreSQL and the transactions units run on them."""

    def __init__(self, url: str, *, max_size: int) -> None:
        #: ``postgresql+asyncpg://`` for the ORM engine; asyncpg itself takes the plain ``postgresql://`` form.
        self._url = url
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._max_size = max_size
        self._slots = asyncio.Semaphore(max_size)
        self._idle: list[_Pooled] = []  # a stack: the last released is the next handed out
        self._engine: AsyncEngine | None = None
        self._lending: Any = None
        self._lend_lock = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()  # referenced until done (the loop keeps weak refs)
        self._closed = False
        self._listener: Any = None  # the connection LISTENing for notifications, once asked (:meth:`listen`)

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[tuple[Sql, Callable[[], AsyncSession]]]:
        """``BEGIN``; the unit's SQL and a factory for an ORM session on the same transaction; then ``COMMIT`` on a
        normal exit of a write unit, ``ROLLBACK`` otherwise (an exception is re-raised after the rollback)."""
        pooled = await self._begin()
        clean = False
        try:
            try:
                yield pooled.sql, pooled.new_session
            except BaseException:
                # A failed ROLLBACK (a lost connection) must not hide the error: the connection is dropped instead.
                with suppress(Exception):
                    await pooled.raw.execute("ROLLBACK")
                    clean = True
                raise
            await pooled.raw.execute("COMMIT" if write else "ROLLBACK")
            clean = True
        finally:
            self._release(pooled, clean)

    async def _begin(self) -> _Pooled:
        """A connection in a new transaction.

        ``BEGIN`` on an idle connection fails only when the connection is gone (the server restarted or ended it
        before this process noticed): then the next one is tried, as a pre-ping would, but without its round trip.
        """
        while True:
            pooled = await self._acquire()
            try:
                await pooled.raw.execute("BEGIN")
            except Exception:
                self._release(pooled, clean=False)
                if pooled.fresh:
                    raise
                log.info("dropped a PostgreSQL connection that failed to begin a transaction", exc_info=True)
                continue
            return pooled

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[Sql]:
        """SQL outside a transaction block: each statement is its own transaction (for read-only work)."""
        pooled = await self._acquire()
        clean = False
        try:
            yield pooled.sql
            clean = True
        finally:
            self._release(pooled, clean)

    # ------------------------------------------------------------------------------------------------------ pool

    async def _acquire(self) -> _Pooled:
        if self._slots.locked():
            try:
                async with asyncio.timeout(CHECKOUT_TIMEOUT):
                    await self._slots.acquire()
            except TimeoutError:
                raise TimeoutError(f"all {self._max_size} PostgreSQL connections of this process stayed in use "
                                   f"for {CHECKOUT_TIMEOUT:.0f} s") from None
        else:
            await self._slots.acquire()
        try:
            while self._idle:
                pooled = self._idle.pop()
                if not pooled.raw.is_closed():
                    self._close_stale()
                    return pooled
                self._discard(pooled)
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    def _release(self, pooled: _Pooled, clean: bool) -> None:
        self._slots.release()
        pooled.fresh = False
        if clean and not self._closed and not pooled.raw.is_closed() and not pooled.raw.is_in_transaction():
            pooled.idle_since = time.monotonic()
            self._idle.append(pooled)
        else:
            self._discard(pooled)

    def _close_stale(self) -> None:
        """Close the least recently used idle connection if it has not been used for :data:`IDLE_SECONDS`."""
        if self._idle and time.monotonic() - self._idle[0].idle_since > IDLE_SECONDS:
            self._discard(self._idle.pop(0))

    def _discard(self, pooled: _Pooled) -> None:
        """Drop a connection: the socket at once, SQLAlchemy's side of it in a task of its own."""
        if not pooled.raw.is_closed():
            pooled.raw.terminate()
        task = asyncio.get_running_loop().create_task(_close_orm(pooled.orm))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _connect(self) -> _Pooled:
        import asyncpg

        raw = await asyncpg.connect(self._dsn)
        try:
            async with self._lend_lock:  # the engine's creator hands over exactly this connection
                self._lending = raw
                try:
                    orm = await self._orm_engine().connect()
                finally:
                    self._lending = None
        except BaseException:
            raw.terminate()
            raise
        return _Pooled(raw, orm)

    def _orm_engine(self) -> AsyncEngine:
        """One engine for every pooled connection (one dialect, one compiled-statement cache).

        Its connect events install SQLAlchemy's JSON codecs on the asyncpg connection (the ones :class:`Sql` relies
        on: JSON text in, Python objects out) and switch SQLAlchemy's adapter to autocommit.
        """
        if self._engine is None:
            async def lend() -> Any:
                assert self._lending is not None
                return self._lending

            self._engine = create_async_engine(self._url, async_creator=lend, poolclass=NullPool,
                                               isolation_level="AUTOCOMMIT")
        return self._engine

    async def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call ``callback(payload)`` on every ``NOTIFY`` on ``channel`` (from any process), on a connection of
        its own, held until :meth:`close`. If that connection is lost, nothing is heard any more: listeners must
        be hints only (callers keep polling)."""
        import asyncpg

        if self._listener is None:
            self._listener = await asyncpg.connect(self._dsn)
        await self._listener.add_listener(channel, lambda _conn, _pid, _channel, payload: callback(payload))

    async def close(self) -> None:
        """Close the idle connections and the engine (units still running close theirs when they end)."""
        self._closed = True
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with suppress(Exception):
                await listener.close(timeout=2)
        idle, self._idle = self._idle, []
        for pooled in idle:
            await _close_orm(pooled.orm)
            if not pooled.raw.is_closed():
                with suppress(Exception):
                    await pooled.raw.close(timeout=2)
        if self._closing:
            await asyncio.wait(list(self._closing))
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


async def _close_orm(orm: AsyncConnection) -> None:
    """Give the SQLAlchemy connection back (its pool then closes the asyncpg connection, if still open)."""
    try:
        await orm.close()
    except Exception as exc:  # a connection that is already gone: nothing left to release
        log.debug("closing a PostgreSQL connection failed: %s", exc)
