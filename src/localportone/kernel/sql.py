"""Plain SQL on the unit of work's own connection, for the paths where the ORM costs more than the database.

On the development VM an ORM statement costs 0.3-1 ms of CPU, a ``sqlite3`` primary-key lookup ~5 µs and an
asyncpg round trip ~50 µs of client CPU (bench/README.md). Hot paths therefore write their SQL by hand and run it
here, inside the same transaction as the ORM work of the request (the driver connection of the session).

Statements are written once with ``?`` placeholders; on PostgreSQL they are rewritten to ``$1, $2, …`` (cached).
Rows come back as tuples in the order of the ``SELECT`` list (``sqlite3`` tuples or asyncpg records, which index
the same way); :mod:`.records` turns them into dataclasses.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=2048)
def numbered(statement: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$n``."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", statement)


def unique_violations() -> tuple[type[BaseException], ...]:
    """The driver exceptions a unique-constraint violation raises (both drivers, whichever is installed)."""
    found: list[type[BaseException]] = [sqlite3.IntegrityError]
    try:
        import asyncpg

        found.append(asyncpg.UniqueViolationError)
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        pass
    return tuple(found)


class Sql:
    """Executes hand-written statements on one driver connection (``sqlite3`` in-loop, or asyncpg)."""

    __slots__ = ("_raw", "dialect", "is_sqlite")

    def __init__(self, dialect: str, driver_connection: Any) -> None:
        self.dialect = dialect
        self.is_sqlite = dialect == "sqlite"
        # sqlite: kernel.sqlite_inloop.InLoopConnection wraps the sqlite3 connection; asyncpg: the connection.
        self._raw = driver_connection._conn if self.is_sqlite else driver_connection

    async def one(self, statement: str, *args: Any) -> Sequence[Any] | None:
        if self.is_sqlite:
            row: Sequence[Any] | None = self._raw.execute(statement, args).fetchone()
            return row
        return await self._raw.fetchrow(numbered(statement), *args)

    async def all(self, statement: str, *args: Any) -> list[Sequence[Any]]:
        if self.is_sqlite:
            rows: list[Sequence[Any]] = self._raw.execute(statement, args).fetchall()
            return rows
        return await self._raw.fetch(numbered(statement), *args)

    async def value(self, statement: str, *args: Any) -> Any:
        row = await self.one(statement, *args)
        return None if row is None else row[0]

    async def run(self, statement: str, *args: Any) -> int:
        """Execute a statement; the number of rows it changed."""
        if self.is_sqlite:
            return int(self._raw.execute(statement, args).rowcount)
        status: str = await self._raw.execute(numbered(statement), *args)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows at once: ``executemany`` on SQLite, ``COPY`` on PostgreSQL (one statement for all the
        rows, no per-row executor start-up or per-value array checks as with ``executemany`` or ``unnest``)."""
        if self.is_sqlite:
            marks = ", ".join("?" for _ in columns)
            self._raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            return
        await self._raw.copy_records_to_table(table, records=rows, columns=list(columns))

    async def many(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        if self.is_sqlite:
            self._raw.executemany(statement, rows)
            return
        await self._raw.executemany(numbered(statement), rows)
