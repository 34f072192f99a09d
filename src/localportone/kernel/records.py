"""Dataclass records mapped to tables by hand: the storage of the hot domains without the ORM's per-statement cost.

A :class:`RecordTable` knows a table's columns, how each is stored on SQLite and PostgreSQL (datetimes as
SQLAlchemy's ``DateTime`` stores them, JSON documents, booleans) and builds the few statements a repository needs.
Records loaded for a change are *tracked* by the unit of work: services change attributes as they did with ORM rows,
and :meth:`UnitOfWork.flush` writes the columns that differ from what was loaded, before the commit.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

import orjson

from localportone.kernel.sql import Sql

R = TypeVar("R")

Kind = Literal["plain", "bool", "datetime", "json"]


def encode_datetime(value: datetime | None, sqlite: bool) -> Any:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    value = value.astimezone(UTC)
    # SQLAlchemy's SQLite DATETIME format (always with microseconds), so that both layers compare equal.
    return value.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else value


def decode_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _pg_datetime(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _sqlite_json(value: str | None) -> Any:
    return None if value is None else orjson.loads(value)


def _pg_json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str) else value


def _sqlite_bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _identity(value: Any) -> Any:
    return value


_DECODERS: dict[tuple[bool, str], Callable[[Any], Any]] = {
    (True, "datetime"): _sqlite_datetime, (True, "json"): _sqlite_json, (True, "bool"): _sqlite_bool,
    (False, "datetime"): _pg_datetime, (False, "json"): _pg_json, (False, "bool"): _identity,
}


def _compile_loader(record: type, kinds: Sequence[str], sqlite: bool) -> Callable[[Sequence[Any], int], Any]:
    """A function building the record from a row with one expression per column (no per-column loop)."""
    namespace: dict[str, Any] = {"R": record}
    args = []
    for i, kind in enumerate(kinds):
        if kind == "plain":
            args.append(f"row[o + {i}]")
        else:
            namespace[f"d{i}"] = _DECODERS[(sqlite, kind)]
            args.append(f"d{i}(row[o + {i}])")
    source = f"def load(row, o):\n    return R({', '.join(args)})\n"
    exec(compile(source, f"<records loader {record.__name__}>", "exec"), namespace)
    loader: Callable[[Sequence[Any], int], Any] = namespace["load"]
    return loader


def _encoder(kind: str, sqlite: bool) -> Callable[[Any], Any] | None:
    if kind == "datetime":
        return lambda v: None if v is None else encode_datetime(v, sqlite)
    if kind == "json":
        return lambda v: None if v is None else _dumps(v)
    if kind == "bool" and sqlite:
        return lambda v: None if v is None else int(v)
    return None


def _compile_params(columns: Sequence[str], kinds: Sequence[str], sqlite: bool) -> Callable[[Any], list[Any]]:
    """A function listing a record's values as the driver takes them, one expression per column."""
    namespace: dict[str, Any] = {}
    items = []
    for i, (column, kind) in enumerate(zip(columns, kinds, strict=True)):
        encoder = _encoder(kind, sqlite)
        if encoder is None:
            items.append(f"r.{column}")
        else:
            namespace[f"e{i}"] = encoder
            items.append(f"e{i}(r.{column})")
    source = f"def params(r):\n    return [{', '.join(items)}]\n"
    exec(compile(source, "<records params>", "exec"), namespace)
    encode: Callable[[Any], list[Any]] = namespace["params"]
    return encode


class RecordTable(Generic[R]):
    """One table and the dataclass its rows become."""

    def __init__(self, name: str, record: type[R], kinds: Mapping[str, Kind] | None = None,
                 key: Sequence[str] = ("id",), rank: int = 0) -> None:
        self.name = name
        #: Foreign-key order: a flush inserts the rows of lower ranks first (a parent table ranks below its children).
        self.rank = rank
        self.record = record
        self.columns: tuple[str, ...] = tuple(f.name for f in fields(record))  # type: ignore[arg-type]
        self.kinds: dict[str, Kind] = {c: (kinds or {}).get(c, "plain") for c in self.columns}
        self.key = tuple(key)
        self.select_list = ", ".join(self.columns)
        self.insert_sql = (f"INSERT INTO {name} ({self.select_list}) "
                           f"VALUES ({', '.join('?' for _ in self.columns)})")
        self._key_where = " AND ".join(f"{k} = ?" for k in self.key)
        ordered = [self.kinds[c] for c in self.columns]
        self._loaders = {True: _compile_loader(record, ordered, True), False: _compile_loader(record, ordered, False)}
        self._params = {True: _compile_params(self.columns, ordered, True),
                        False: _compile_params(self.columns, ordered, False)}
        self._pg_types: dict[str, str] | None = None
        key_getter = operator.attrgetter(*self.key)
        self._key: Callable[[Any], tuple[Any, ...]] = (
            key_getter if len(self.key) > 1 else lambda record: (key_getter(record),))

    def select(self, alias: str = "") -> str:
        """The column list, optionally qualified (``t.a, t.b``), in the order :meth:`load` expects."""
        if not alias:
            return self.select_list
        return ", ".join(f"{alias}.{c}" for c in self.columns)

    # ------------------------------------------------------------------------------------------- rows <-> records

    def load(self, sql: Sql, row: Sequence[Any], offset: int = 0) -> R:
        """A record from a row whose columns start at ``offset`` in :meth:`select` order."""
        record: R = self._loaders[sql.is_sqlite](row, offset)
        return record

    def params(self, sql: Sql, record: R) -> list[Any]:
        """The record's values in column order, as the driver takes them."""
        return self._params[sql.is_sqlite](record)

    def key_of(self, record: R) -> list[Any]:
        return list(self._key(record))

    def key_tuple(self, record: R) -> tuple[Any, ...]:
        return self._key(record)

    # ------------------------------------------------------------------------------------------------ statements

    async def insert(self, sql: Sql, record: R) -> None:
        await sql.run(self.insert_sql, *self.params(sql, record))

    async def insert_many(self, sql: Sql, records: Sequence[R]) -> None:
        if records:
            await sql.insert_rows(self.name, self.columns, [self.params(sql, r) for r in records])

    def pg_types(self) -> dict[str, str]:
        """Each column's PostgreSQL type, from the table's SQLAlchemy definition (for array parameters)."""
        if self._pg_types is None:
            from sqlalchemy.dialects import postgresql

            from localportone.kernel.db import Base

            table = Base.metadata.tables[self.name]
            dialect = postgresql.dialect()
            self._pg_types = {c: table.c[c].type.compile(dialect=dialect) for c in self.columns}
        return self._pg_types

    def pg_bulk_insert_sql(self) -> str:
        """PostgreSQL: any number of rows in one ``INSERT`` (array parameters: one per column)."""
        types = self.pg_types()
        arrays = ", ".join(f"?::{types[c]}[]" for c in self.columns)
        return f"INSERT INTO {self.name} ({self.select_list}) SELECT * FROM unnest({arrays})"

    def pg_bulk_update_sql(self, columns: Sequence[str]) -> str:
        """PostgreSQL: ``columns`` of any number of rows in one ``UPDATE`` (array parameters: the columns, then
        the key columns)."""
        types = self.pg_types()
        names = [*columns, *self.key]
        arrays = ", ".join(f"?::{types[c]}[]" for c in names)
        aliases = ", ".join(f"v_{c}" for c in names)
        sets = ", ".join(f"{c} = v.v_{c}" for c in columns)
        where = " AND ".join(f"t.{k} = v.v_{k}" for k in self.key)
        return f"UPDATE {self.name} AS t SET {sets} FROM unnest({arrays}) AS v({aliases}) WHERE {where}"

    def update_sql(self, columns: Sequence[str]) -> str:
        sets = ", ".join(f"{c} = ?" for c in columns)
        return f"UPDATE {self.name} SET {sets} WHERE {self._key_where}"

    async def update_columns(self, sql: Sql, record: R, columns: Sequence[str], encoded: Sequence[Any]) -> None:
        await sql.run(self.update_sql(columns), *encoded, *self.key_of(record))


class Tracker:
    """The records a unit of work added or loaded for a change: a small identity map with change detection.

    ``add`` queues an ``INSERT``; ``track`` remembers what a loaded record held, and returns the record already
    tracked under the same key, so that two loads in one unit of work share one object, as ORM rows did; ``flush``
    writes new records, then the changed columns of the others.

    A flush writes each table's new rows with one statement (tables in :attr:`RecordTable.rank` order, so that
    parents precede the rows that refer to them; rows of a table in the order they were added) and the updates that
    change the same columns of a table with one statement too: a unit of work that makes many payments (the
    scheduler's batches) pays a few round trips in all instead of a few per payment. On PostgreSQL a small flush
    (up to :data:`COMBINED_ROWS` rows: a request's) sends all of its writes as one statement, one round trip.
    """

    __slots__ = ("_appended", "_created", "_entries", "_statements")

    def __init__(self) -> None:
        #: (table, key) -> [table, record, its params as last written, or None while not inserted yet]
        self._entries: dict[tuple[str, tuple[Any, ...]], list[Any]] = {}
        #: keys of the records added (not loaded) by this unit of work
        self._created: set[tuple[str, tuple[Any, ...]]] = set()
        #: rows to insert that nothing will look up or change (table name -> (table, params of each row))
        self._appended: dict[str, tuple[RecordTable[Any], list[Sequence[Any]]]] = {}
        #: statements the flush runs before it writes any row (e.g. deleting rows that appended ones replace)
        self._statements: list[tuple[str, tuple[Any, ...]]] = []

    def is_empty(self) -> bool:
        """Whether nothing was added, loaded for a change, or appended (a flush would write nothing)."""
        return not self._entries and not self._appended and not self._statements

    def defer(self, statement: str, *args: Any) -> None:
        """Run ``statement`` at the next flush, before it writes rows."""
        self._statements.append((statement, args))

    def discard_appended(self, table: RecordTable[Any], drop: Callable[[Sequence[Any]], bool]) -> None:
        """Forget the rows appended to ``table`` (not written yet) for which ``drop`` is true."""
        found = self._appended.get(table.name)
        if found is not None:
            found[1][:] = [row for row in found[1] if not drop(row)]

    def appended(self, table: RecordTable[Any]) -> list[Sequence[Any]]:
        """The rows appended to ``table`` and not written yet."""
        found = self._appended.get(table.name)
        return [] if found is None else list(found[1])

    def append(self, table: RecordTable[Any], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` (values in column order, as the driver takes them) at the next flush, untracked: for
        write-once rows (an attempt's search terms), without the identity map's cost per row."""
        self._appended.setdefault(table.name, (table, []))[1].extend(rows)

    def add(self, table: RecordTable[R], record: R) -> R:
        key = (table.name, table.key_tuple(record))
        self._entries.pop(key, None)  # re-added after a delete: inserted again, after the other new rows
        self._entries[key] = [table, record, None]
        self._created.add(key)
        return record

    def get(self, table: RecordTable[R], *key: Any) -> R | None:
        """The record tracked under ``key``, without a query."""
        entry = self._entries.get((table.name, key))
        return None if entry is None else entry[1]

    def created(self, table: RecordTable[R], record: R) -> bool:
        """Whether this unit of work added ``record`` (it did not exist before the unit began)."""
        return (table.name, table.key_tuple(record)) in self._created

    def created_records(self, table: RecordTable[R]) -> list[R]:
        """The records of ``table`` added by this unit of work, in the order they were added."""
        return [entry[1] for key, entry in self._entries.items() if key[0] == table.name and key in self._created]

    def track(self, sql: Sql, table: RecordTable[R], record: R) -> R:
        key = (table.name, table.key_tuple(record))
        entry = self._entries.get(key)
        if entry is not None:
            existing: R = entry[1]
            return existing
        self._entries[key] = [table, record, table.params(sql, record)]
        return record

    async def flush(self, sql: Sql) -> None:
        statements, self._statements = self._statements, []
        for statement, args in statements:
            await sql.run(statement, *args)
        inserts: dict[str, tuple[RecordTable[Any], list[Sequence[Any]]]] = {}
        updates: dict[tuple[str, tuple[int, ...]], tuple[RecordTable[Any], list[list[Any]]]] = {}
        for entry in self._entries.values():
            table, record, before = entry
            # What the record holds, as the driver takes it (JSON documents as text: they may change in place).
            now = table.params(sql, record)
            if before is None:
                inserts.setdefault(table.name, (table, []))[1].append(now)
            elif now != before:
                changed = tuple(i for i, (a, b) in enumerate(zip(before, now, strict=True)) if a != b)
                row = [now[i] for i in changed] + table.key_of(record)
                updates.setdefault((table.name, changed), (table, []))[1].append(row)
            else:
                continue
            entry[2] = now
        for name, (table, appended) in self._appended.items():
            inserts.setdefault(name, (table, []))[1].extend(appended)
        self._appended = {}
        if not sql.is_sqlite and 0 < (sum(len(rows) for _table, rows in inserts.values())
                                      + sum(len(changes) for _table, changes in updates.values())) <= COMBINED_ROWS:
            await _write_combined(sql, inserts, updates)
            return
        for table, rows in sorted(inserts.values(), key=lambda item: item[0].rank):
            if len(rows) == 1:
                await sql.run(table.insert_sql, *rows[0])
            else:
                await sql.insert_rows(table.name, table.columns, rows)
        for (_name, changed), (table, changes) in updates.items():
            columns = [table.columns[i] for i in changed]
            if len(changes) == 1:
                await sql.run(table.update_sql(columns), *changes[0])
            elif sql.is_sqlite:
                await sql.many(table.update_sql(columns), changes)
            else:
                await sql.run(table.pg_bulk_update_sql(columns), *(list(c) for c in zip(*changes, strict=True)))


#: PostgreSQL: a flush of up to this many rows (new and changed) sends one statement for all its tables; a larger
#: one (the scheduler's batches) writes each table's new rows with ``COPY``, cheaper per row for PostgreSQL.
COMBINED_ROWS = 64

_combined_statements: dict[tuple[Any, ...], str] = {}


async def _write_combined(sql: Sql, inserts: Mapping[str, tuple[RecordTable[Any], list[Sequence[Any]]]],
                          updates: Mapping[tuple[str, tuple[int, ...]], tuple[RecordTable[Any], list[list[Any]]]]
                          ) -> None:
    """Every write of a small flush in one round trip: one data-modifying CTE per table (and per set of changed
    columns), the last of them as the main statement. A table's rows are given as one array per column when
    there are several (``unnest``).

    PostgreSQL runs the parts of one statement on one snapshot and checks foreign keys at its end, so the order of
    the parts does not matter; no part touches a row another one writes (a record is either new or changed).
    """
    #: (table, changed columns or None for an insert, several rows)
    parts: list[tuple[RecordTable[Any], tuple[int, ...] | None, bool]] = []
    args: list[Any] = []
    for table, rows in sorted(inserts.values(), key=lambda item: item[0].rank):
        parts.append((table, None, len(rows) > 1))
        args.extend(rows[0] if len(rows) == 1 else [list(column) for column in zip(*rows, strict=True)])
    for (_name, changed), (table, changes) in updates.items():
        parts.append((table, changed, len(changes) > 1))
        args.extend(changes[0] if len(changes) == 1 else [list(column) for column in zip(*changes, strict=True)])
    key = tuple((table.name, changed, several) for table, changed, several in parts)
    statement = _combined_statements.get(key)
    if statement is None:
        statements = []
        for table, written, several in parts:
            if written is None:
                statements.append(table.pg_bulk_insert_sql() if several else table.insert_sql)
            else:
                columns = [table.columns[i] for i in written]
                statements.append(table.pg_bulk_update_sql(columns) if several else table.update_sql(columns))
        *first, statement = statements
        if first:
            statement = "WITH " + ", ".join(f"w{i} AS ({s})" for i, s in enumerate(first)) + " " + statement
        if len(_combined_statements) < 1024:
            _combined_statements[key] = statement
    await sql.run(statement, *args)
