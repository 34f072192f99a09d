"""Optimistic write units of work on SQLite: the work runs on a snapshot, only its writes hold the write lock.

SQLite has one writer per database file. A pessimistic unit of work holds that lock from its first read to its
commit, so a second ``serve`` worker waits while the first one runs Python (the payment rules, the sandbox PG, the
payment document): two processes then do the work of one (bench/README.md). An optimistic unit instead runs on a
read snapshot and records every statement it reads with; its writes are the tracker's rows, which nothing writes
before the flush (:mod:`.records`). At the end it takes the write lock, runs each recorded read again and, if every
one returns what it returned on the snapshot, the unit saw the state it would have seen under the lock, and its
writes are applied there (:meth:`.GroupCommit.apply`): serialisable, as with the lock held throughout. If a read
differs (another unit changed what this one read), the unit is run again, pessimistically.

A unit that needs more than reads and tracked rows (the ORM session, a statement that writes directly, a flush
before the end) stops with :class:`Speculation` at that point and is run again pessimistically, so the work given
to :meth:`.Transactions.run` may run twice: it must have no effect outside its unit of work (the sandbox PG's
answers depend only on their input, so calling it twice is harmless).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from localportone.kernel.sql import Sql

#: How units of work run by :meth:`.Transactions.run` ended in this process (for tests and diagnostics):
#: ``committed`` (validated and applied), ``read-only`` (nothing to write), ``conflict`` (a read changed meanwhile),
#: ``fallback`` (the unit needed the lock: :class:`Speculation`).
STATS: Counter[str] = Counter()


class Speculation(Exception):
    """An optimistic unit of work reached something it cannot do on a snapshot: it is run again under the lock."""


class Conflict(Exception):
    """A read of an optimistic unit of work returned something else under the write lock."""


#: A recorded read: ``one``/``all``, the statement, its arguments and what it returned.
Read = tuple[bool, str, tuple[Any, ...], Any]


class RecordingSql(Sql):
    """:class:`.Sql` on a snapshot that remembers every read, and refuses to write."""

    __slots__ = ("reads", "refused")

    def __init__(self, inner: Sql) -> None:
        self.dialect = inner.dialect
        self.is_sqlite = inner.is_sqlite
        self._raw = inner._raw
        self.reads: list[Read] = []
        #: Why the unit needs the lock, once it asked for something a snapshot cannot do (even if the
        #: :class:`Speculation` raised then was caught on the way).
        self.refused: str | None = None

    def refuse(self, reason: str) -> Speculation:
        self.refused = self.refused or reason
        return Speculation(reason)

    def refuse_session(self) -> Any:
        """The unit of work's session factory: the ORM writes on its own schedule, so it needs the lock."""
        raise self.refuse("uses the ORM session")

    async def one(self, statement: str, *args: Any) -> Sequence[Any] | None:
        row = await super().one(statement, *args)
        self.reads.append((True, statement, args, row))
        return row

    async def all(self, statement: str, *args: Any) -> list[Sequence[Any]]:
        rows = await super().all(statement, *args)
        self.reads.append((False, statement, args, rows))
        return rows

    async def run(self, statement: str, *args: Any) -> int:
        raise self.refuse(f"writes directly: {statement[:60]}")

    async def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        raise self.refuse(f"writes to {table} before the end")

    async def many(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        raise self.refuse(f"writes directly: {statement[:60]}")


async def validate(sql: Sql, reads: Sequence[Read]) -> None:
    """Run ``reads`` again on ``sql`` (under the write lock); :class:`Conflict` at the first that differs."""
    for single, statement, args, seen in reads:
        now = await (sql.one(statement, *args) if single else sql.all(statement, *args))
        if now != seen:
            raise Conflict(statement[:80])
