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


class RecordTable(Generic[R]):
    """One table and the dataclass its rows become."""

    def __init__(self, name: str, record: type[R], kinds: Mapping[str, Kind] | None = None,
                 key: Sequence[str] = ("id",)) -> None:
        self.name = name
        self.record = record
        self.columns: tuple[str, ...] = tuple(f.name for f in fields(record))  # type: ignore[arg-type]
        self.kinds: dict[str, Kind] = {c: (kinds or {}).get(c, "plain") for c in self.columns}
        self.key = tuple(key)
        self.select_list = ", ".join(self.columns)
        self.insert_sql = (f"INSERT INTO {name} ({self.select_list}) "
                           f"VALUES ({', '.join('?' for _ in self.columns)})")
        self._key_where = " AND ".join(f"{k} = ?" for k in self.key)
        self._special = [(i, c, self.kinds[c]) for i, c in enumerate(self.columns) if self.kinds[c] != "plain"]
        ordered = [self.kinds[c] for c in self.columns]
        getter = operator.attrgetter(*self.columns)
        self._values: Callable[[Any], tuple[Any, ...]] = (
            getter if len(self.columns) > 1 else lambda record: (getter(record),))
        self._json_columns = [i for i, k in enumerate(ordered) if k == "json"]
        self._loaders = {True: _compile_loader(record, ordered, True), False: _compile_loader(record, ordered, False)}

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
        values = [getattr(record, c) for c in self.columns]
        for i, _c, kind in self._special:
            v = values[i]
            if v is None:
                continue
            if kind == "datetime":
                values[i] = encode_datetime(v, sql.is_sqlite)
            elif kind == "json":
                values[i] = _dumps(v)
            elif kind == "bool" and sql.is_sqlite:
                values[i] = int(v)
        return values

    def snapshot(self, record: R) -> tuple[Any, ...]:
        """What the record holds, cheap to compare: the values, JSON documents as their text (they may be mutated
        in place)."""
        values = self._values(record)
        if not self._json_columns:
            return values
        out = list(values)
        for i in self._json_columns:
            if out[i] is not None:
                out[i] = orjson.dumps(out[i])
        return tuple(out)

    def encode(self, sql: Sql, index: int, value: Any) -> Any:
        """One column's value as the driver takes it."""
        if value is None:
            return None
        kind = self.kinds[self.columns[index]]
        if kind == "datetime":
            return encode_datetime(value, sql.is_sqlite)
        if kind == "json":
            return _dumps(value)
        if kind == "bool" and sql.is_sqlite:
            return int(value)
        return value

    def key_of(self, record: R) -> list[Any]:
        return [getattr(record, k) for k in self.key]

    # ------------------------------------------------------------------------------------------------ statements

    async def insert(self, sql: Sql, record: R) -> None:
        await sql.run(self.insert_sql, *self.params(sql, record))

    async def insert_many(self, sql: Sql, records: Sequence[R]) -> None:
        if records:
            await sql.many(self.insert_sql, [self.params(sql, r) for r in records])

    async def update_columns(self, sql: Sql, record: R, columns: Sequence[str], encoded: Sequence[Any]) -> None:
        sets = ", ".join(f"{c} = ?" for c in columns)
        await sql.run(f"UPDATE {self.name} SET {sets} WHERE {self._key_where}", *encoded, *self.key_of(record))


class Tracker:
    """The records a unit of work added or loaded for a change: a small identity map with change detection.

    ``add`` queues an ``INSERT`` (written at the next flush, in the order of the calls, so that rows referencing
    each other go in the order they were created); ``track`` remembers what a loaded record held, and returns the
    record already tracked under the same key, so that two loads in one unit of work share one object, as ORM rows
    did; ``flush`` writes new records, then the changed columns of the others.
    """

    __slots__ = ("_created", "_entries")

    def __init__(self) -> None:
        #: (table, key) -> [table, record, snapshot as last written, or None while not inserted yet]
        self._entries: dict[tuple[str, tuple[Any, ...]], list[Any]] = {}
        #: keys of the records added (not loaded) by this unit of work
        self._created: set[tuple[str, tuple[Any, ...]]] = set()

    def add(self, table: RecordTable[R], record: R) -> R:
        key = (table.name, tuple(table.key_of(record)))
        self._entries[key] = [table, record, None]
        self._created.add(key)
        return record

    def get(self, table: RecordTable[R], *key: Any) -> R | None:
        """The record tracked under ``key``, without a query."""
        entry = self._entries.get((table.name, key))
        return None if entry is None else entry[1]

    def created(self, table: RecordTable[R], record: R) -> bool:
        """Whether this unit of work added ``record`` (it did not exist before the unit began)."""
        return (table.name, tuple(table.key_of(record))) in self._created

    def track(self, sql: Sql, table: RecordTable[R], record: R) -> R:
        key = (table.name, tuple(table.key_of(record)))
        entry = self._entries.get(key)
        if entry is not None:
            existing: R = entry[1]
            return existing
        self._entries[key] = [table, record, table.snapshot(record)]
        return record

    async def flush(self, sql: Sql) -> None:
        for entry in self._entries.values():
            table, record, before = entry
            now = table.snapshot(record)
            if before is None:
                await sql.run(table.insert_sql, *table.params(sql, record))
            elif now != before:
                changed = [i for i, (a, b) in enumerate(zip(before, now, strict=True)) if a != b]
                values = table._values(record)
                await table.update_columns(sql, record, [table.columns[i] for i in changed],
                                           [table.encode(sql, i, values[i]) for i in changed])
            entry[2] = now
