"""An aiosqlite-shaped connection that runs ``sqlite3`` on the event loop's thread.

SQLAlchemy's ``sqlite+aiosqlite`` dialect expects aiosqlite, which sends every call to a thread of its own and
wakes the loop when it returns: on the development VM that costs 0.5-2 ms of CPU per statement, far more than
SQLite itself (a primary-key lookup takes ~5 µs). Handing the dialect this class instead (``async_creator``) keeps
the dialect, the pool and every query unchanged, and removes the thread hops: each coroutine below completes
without suspending.

Blocking the loop is acceptable because SQLite never waits on a network: statements take microseconds, and the
one wait that can be long, for another process's write lock, is made asynchronous by :func:`begin_immediate`
(the write connection has ``busy_timeout=0`` and retries with ``asyncio.sleep``). Inside one process, writers are
queued by an ``asyncio.Lock`` before they ask SQLite for the lock (``kernel.db``), so that a second writer never
spins against the first one of its own loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.util import await_only

#: How long a writer waits for another process's write lock before failing with "database is locked".
LOCK_WAIT_SECONDS = 30.0


class InLoopCursor:
    """The subset of ``aiosqlite.Cursor`` that SQLAlchemy's adapter awaits."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InLoopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InLoopCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InLoopCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None


class _Immediate:
    """Stands in for aiosqlite's request queue: SQLAlchemy's isolation-level setter posts a call to it."""

    def __init__(self) -> None:
        self.calls = 0

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # pragma: no cover - a failing setter surfaces through the future
            future.set_exception(exc)


class InLoopConnection:
    """The subset of ``aiosqlite.Connection`` that SQLAlchemy's adapter uses."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._tx = _Immediate()

    @property
    def _connection(self) -> sqlite3.Connection | None:  # aiosqlite's name; None once closed
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InLoopCursor:
        return InLoopCursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)


def creator(path: str, *, busy_timeout_ms: int) -> Callable[[], Any]:
    """The ``async_creator`` for ``create_async_engine``: one in-loop connection to the file at ``path``."""

    async def connect() -> InLoopConnection:
        return InLoopConnection(open_connection(path, busy_timeout_ms=busy_timeout_ms))

    return connect


def open_connection(path: str, *, busy_timeout_ms: int) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are begun explicitly), WAL, foreign keys on."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, uri=path.startswith("file:"))
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA temp_store=MEMORY")  # savepoint journals stay off the disk
    connection.execute("PRAGMA wal_autocheckpoint=0")  # kernel.group_commit checkpoints off the request path
    connection.execute("PRAGMA journal_size_limit=67108864")  # a WAL that starts over is cut back to 64 MB
    return connection


class _LockWait:
    """Attempts at ``BEGIN IMMEDIATE`` on a connection with ``busy_timeout=0``, and the pauses between them."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + LOCK_WAIT_SECONDS
        self.delay = 0.0005

    def attempt(self, connection: Any) -> float | None:
        """``None`` once the transaction has begun; else how long to wait before the next attempt."""
        try:
            connection.execute("BEGIN IMMEDIATE")
            return None
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > self.deadline:
                raise
        delay, self.delay = self.delay, min(self.delay * 2, 0.01)
        return delay


async def wait_begin_immediate(connection: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE``, waiting for another process's write lock on the loop."""
    wait = _LockWait()
    while (delay := wait.attempt(connection)) is not None:
        await asyncio.sleep(delay)


def begin_immediate(dbapi_connection: Any) -> None:
    """The same from inside SQLAlchemy's greenlet (a ``begin`` event of the write engine, used by migrations)."""
    wait = _LockWait()
    while (delay := wait.attempt(dbapi_connection)) is not None:
        await_only(asyncio.sleep(delay))
