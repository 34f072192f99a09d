"""Engine and session factory, the shared metadata, and column types that behave the same on SQLite and PostgreSQL.

SQLite serialises writers with ``BEGIN IMMEDIATE`` on the write engine, so that two requests that read-then-write
the same payment cannot interleave (PostgreSQL gets row locks from the repositories instead). Reads go through a
second engine that opens deferred transactions, so that readers never queue behind writers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
    engine = create_async_engine(url, connect_args={"timeout": 30}, poolclass=NullPool if ":memory:" in url else None)

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """The two engines (one on PostgreSQL) and their session factories."""

    url: str
    write_engine: AsyncEngine
    read_engine: AsyncEngine
    _writer: async_sessionmaker[AsyncSession] = field(init=False, repr=False)
    _reader: async_sessionmaker[AsyncSession] = field(init=False, repr=False)

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
        db = cls(url=url, write_engine=write, read_engine=read)
        db._writer = async_sessionmaker(write, expire_on_commit=False, autoflush=False)
        db._reader = async_sessionmaker(read, expire_on_commit=False, autoflush=False)
        return db


    @asynccontextmanager
    async def session(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        factory = self._writer if write else self._reader
        async with factory() as session:
            yield session

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
