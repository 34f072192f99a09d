"""Engine and session factory, the shared metadata, and column types that behave the same on SQLite and PostgreSQL.

SQLite serialises writers with ``BEGIN IMMEDIATE`` on the write engine, so that two requests that read-then-write
the same payment cannot interleave (PostgreSQL gets row locks from the repositories instead); inside a process the
writers take turns in shared transactions (:mod:`.group_commit`). Reads go through a second engine that opens
deferred transactions, so that readers never queue behind writers. SQLite runs on the event loop's thread
(:mod:`.sqlite_inloop`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from localportone.kernel import sqlite_inloop
from localportone.kernel.group_commit import GroupCommit
from localportone.kernel.pg_units import PgUnits
from localportone.kernel.sql import Sql

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the engine stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Money and other int64 values. SQLite's INTEGER is already 64-bit; BIGINT on PostgreSQL.
Amount = BigInteger().with_variant(Integer(), "sqlite")
#: JSON documents: JSONB on PostgreSQL.
Document = JSON().with_variant(postgresql.JSONB(), "postgresql").with_variant(sqlite.JSON(), "sqlite")


def async_url(url: str) -> str:
    """Accept the plain URLs users type and pick the async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:///file.db or postgresql://...")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    """An engine whose connections run sqlite3 on the loop's thread (:mod:`.sqlite_inloop`)."""
    path = make_url(url).database or ":memory:"
    engine = create_async_engine(
        url,
        async_creator=sqlite_inloop.creator(path, busy_timeout_ms=0 if immediate else 30000),
        poolclass=NullPool if ":memory:" in url else None,
    )

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        raw = conn.connection.driver_connection._conn
        if immediate:
            sqlite_inloop.begin_immediate(raw)
        else:
            raw.execute("BEGIN")

    return engine


@dataclass
class Database:
    """The two engines (one on PostgreSQL) and their session factories."""

    url: str
    write_engine: AsyncEngine
    read_engine: AsyncEngine
    _reader: async_sessionmaker[AsyncSession] = field(init=False, repr=False)
    #: SQLite: the writers of this process take turns in shared transactions (:mod:`.group_commit`).
    _group: GroupCommit | None = field(default=None, repr=False)
    #: SQLite: idle in-loop sqlite3 connections of :meth:`raw_reader`.
    _idle_readers: list[tuple[sqlite3.Connection, Sql]] = field(default_factory=list, repr=False)
    #: PostgreSQL: the asyncpg connections of every unit of work and of :meth:`raw_reader` (:mod:`.pg_units`).
    _pg: PgUnits | None = field(default=None, repr=False)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 10) -> Database:
        aurl = async_url(url)
        if is_sqlite(url):
            write = _sqlite_engine(aurl, immediate=True)
            read = _sqlite_engine(aurl, immediate=False)
        else:
            write = create_async_engine(aurl, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)
            read = write
        db = cls(url=url, write_engine=write, read_engine=read,
                 _group=GroupCommit(aurl, make_url(aurl).database or ":memory:") if is_sqlite(url) else None,
                 _pg=None if is_sqlite(url) else PgUnits(aurl, max_size=pool_size * 3))
        db._reader = async_sessionmaker(read, expire_on_commit=False, autoflush=False)
        return db


    @property
    def group(self) -> GroupCommit | None:
        """SQLite: the process's write connection and its batches; ``None`` on PostgreSQL."""
        return self._group

    @property
    def pg(self) -> PgUnits | None:
        """PostgreSQL: the connections units of work run on (no ORM session unless asked for); ``None`` on SQLite."""
        return self._pg

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """An ORM session on the read engine: SQLite reads (writes go through :attr:`group`, and everything on
        PostgreSQL through :attr:`pg`)."""
        async with self._reader() as session:
            yield session

    def raw_reader(self, *, snapshot: bool = True) -> AbstractAsyncContextManager[Sql]:
        """A read-only :class:`Sql` without an ORM session, for the hottest reads (no pool checkout, no greenlet).

        SQLite: an in-loop connection in a deferred transaction, so that all the statements see one snapshot
        (``snapshot=False``: each statement is its own, for reads of one statement that matters). PostgreSQL:
        a connection of :attr:`pg`, statements in autocommit (read committed, as in a transaction at that level).
        """
        if self._pg is not None:
            return self._pg.autocommit()
        return _SqliteReader(self, snapshot)

    def _open_sqlite_reader(self) -> tuple[sqlite3.Connection, Sql]:
        path = make_url(async_url(self.url)).database or ":memory:"
        connection = sqlite_inloop.open_connection(path, busy_timeout_ms=30000)
        return connection, Sql("sqlite", sqlite_inloop.InLoopConnection(connection))

    async def dispose(self) -> None:
        if self._group is not None:
            await self._group.close()
        while self._idle_readers:
            self._idle_readers.pop()[0].close()
        if self._pg is not None:
            await self._pg.close()
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()


class _SqliteReader:
    """:meth:`Database.raw_reader` on SQLite: an idle reader connection (with its :class:`Sql`), in a deferred
    transaction when a snapshot is asked for. A class rather than an ``asynccontextmanager``: it is entered once
    per fast ``GET``, where the generator machinery cost more than the read (bench/README.md)."""

    __slots__ = ("_db", "_entry", "_snapshot")

    def __init__(self, db: Database, snapshot: bool) -> None:
        self._db = db
        self._snapshot = snapshot

    async def __aenter__(self) -> Sql:
        idle = self._db._idle_readers
        entry = idle.pop() if idle else self._db._open_sqlite_reader()
        self._entry = entry
        if self._snapshot:
            entry[0].execute("BEGIN")
        return entry[1]

    async def __aexit__(self, *exc: object) -> None:
        entry = self._entry
        if self._snapshot:
            entry[0].execute("ROLLBACK")
        self._db._idle_readers.append(entry)
