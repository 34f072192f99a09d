"""Bulk-load PAID card payments straight into the database, to measure the server with 10⁴-10⁶ stored payments.

Creating payments through the API runs ~20 statements each; at the current rates 10⁶ payments would take hours.
This writes the rows a ``POST /payments/{id}/instant`` key-in card payment with ``skipWebhook`` leaves behind
(``payments`` with its rendered document when the schema has one, its ``payment_transactions`` attempt, its
``payment_search_terms`` and the PAID ``payment_events`` row), in large transactions, so that
``GET /payments/{id}``, the lists, text search and cancellations treat them like any other payment. One payment
is described once, with the service's own helpers (channel, method, amounts, search terms, presenter) and the
sandbox PG's functions (PG transaction id, approval number, raw response, card); per payment only the ids, the
time and the PG's derived values change. No webhook rows are written (``skipWebhook``).

    .venv/bin/python bench/load_payments.py --database-url sqlite:///x.db --count 1000000 \\
        [--store-id <id>] [--pg-provider TOSSPAYMENTS] [--ids-file ids.txt]

The database must be migrated and seeded (``localportone serve`` has started on it once). Payment i of n is
created (n - i) ms before now, so the newest is 1 s old and 10⁶ payments span ~17 minutes: every list's default
90-day window holds them all. SQLite: load with the server stopped; the load switches the journal and fsync off
(it needs the file to itself; with a server running it stays in WAL and is slower), so a crash mid-load can leave
the file unusable: it is a benchmark fixture. PostgreSQL: two connections COPY side by side, then ANALYZE.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import re
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

import orjson
from sqlalchemy.engine import make_url

from localportone.kernel.clock import to_wire
from localportone.kernel.records import encode_datetime
from localportone.payments import inputs, presenter, state
from localportone.pg.registry import get_connector, sandbox_profile
from localportone.pg.sandbox.cards import card_info
from localportone.pg.sandbox.profiles import approval_number, pg_response, tx_id
from localportone.stores.service import ChannelInfo

CARD_NUMBER = "4242424242424242"
CLIENT_IP = "127.0.0.1"

#: What varies per payment, in the order of a batch row (everything else is the same for every payment).
FIELDS = ("pk", "tx", "ev", "payment_id", "at", "approval", "pg_tx", "raw", "at_wire", "raw_json")

#: Stands for "this payment's time" in the template (its wire form for "at_wire" in documents).
_AT = datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
# Stand-ins for the per-payment strings, and the field each becomes in a column, or inside a JSON document.
_COLUMN = {f"@@{f}@@": f for f in ("pk", "tx", "ev", "payment_id", "approval", "pg_tx", "raw")}
_DOCUMENT = {**_COLUMN, "@@raw@@": "raw_json", to_wire(_AT): "at_wire"}
_S = {f: s for s, f in _COLUMN.items()}


@dataclass(frozen=True)
class Field:
    """A per-payment value (one of :data:`FIELDS`)."""

    name: str


@dataclass(frozen=True)
class Const:
    """The same (already encoded) value for every payment."""

    value: Any


@dataclass(frozen=True)
class Fill:
    """Text made of constant pieces and per-payment fields (a JSON document, a URL), joined in order."""

    pieces: tuple[Const | Field, ...]

    def apply(self, row: Sequence[Any]) -> str:
        return "".join(p.value if isinstance(p, Const) else row[FIELDS.index(p.name)] for p in self.pieces)


Expr = Field | Const | Fill
Columns = list[tuple[str, Expr]]


def _dumps(value: Any) -> str:
    """JSON as the payment records store it (``kernel.records``): compact, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _expr(text: str, stand_ins: Mapping[str, str]) -> Expr:
    """``text`` as a constant, a per-payment field, or a :class:`Fill` (split at every stand-in)."""
    pattern = re.compile("|".join(re.escape(s) for s in stand_ins))
    pieces: list[Const | Field] = []
    at = 0
    for found in pattern.finditer(text):
        if found.start() > at:
            pieces.append(Const(text[at:found.start()]))
        pieces.append(Field(stand_ins[found.group()]))
        at = found.end()
    if at < len(text):
        pieces.append(Const(text[at:]))
    if not any(isinstance(p, Field) for p in pieces):
        return Const(text)
    return pieces[0] if len(pieces) == 1 else Fill(tuple(pieces))


def _substitute(value: Any, row: Sequence[Any], at: datetime) -> Any:
    """A template value with one payment's values in (to check a filled-in document against a real rendering)."""
    if value is _AT:
        return at
    if isinstance(value, str):
        for stand_in, field in _COLUMN.items():
            value = value.replace(stand_in, row[FIELDS.index(field)])
        return value
    if isinstance(value, dict):
        return {k: _substitute(v, row, at) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, row, at) for v in value]
    return value


#: The variant nibble of a UUID (binary 10xx) from any hex digit.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _uuid7(ms_hex: str, r: str) -> str:
    """A UUIDv7 (the layout of ``kernel.ids.uuid7``) for a given millisecond (loaded rows are back-dated), from
    12 hex digits of milliseconds and 19 random ones."""
    return f"{ms_hex[:8]}-{ms_hex[8:]}-7{r[:3]}-{_VARIANT[r[3]]}{r[4:7]}-{r[7:19]}"


@dataclass(frozen=True)
class Target:
    """Where the payments go: a store, its merchant, one of its channels, and the sandbox clock's offset."""

    store_id: str
    merchant_id: str
    channel: ChannelInfo
    clock_offset_us: int


class PaymentRows:
    """PAID key-in card payments of one store and channel, as ``pay_instantly`` leaves them.

    :attr:`transaction` is the attempt as the service holds it, with stand-ins for what varies per payment;
    :meth:`columns` / :attr:`terms` encode it per table, :meth:`batch` makes the per-payment values. With
    ``document`` the payment row also gets its rendered ``Payment`` (``payments.document``), as the service
    writes it before each commit.
    """

    def __init__(self, target: Target, *, sqlite: bool, document: bool = False, total: int = 1000,
                 order_name: str = "bench", currency: str = "KRW", card_number: str = CARD_NUMBER) -> None:
        channel = target.channel
        connector = get_connector(channel.pg_provider)
        if not connector.capabilities.card_instant:
            raise SystemExit(f"{channel.pg_provider} takes no key-in card payments: pick another --pg-provider")
        self.target, self.sqlite, self.document = target, sqlite, document
        self.profile = sandbox_profile(channel.pg_provider)
        if self.profile.currencies is not None and currency not in self.profile.currencies:
            raise SystemExit(f"the sandbox {channel.pg_provider} declines {currency}: pick another --pg-provider")
        self.order_name, self.currency = order_name, currency
        self.card = card_info(card_number)
        a = self.amounts = state.payment_amounts(total, None, None)
        method = inputs.card_method(self.card, _S["approval"], None, False, connector.capabilities.easy_pay_provider)
        card = inputs.method_card(method)
        # The attempt after _start_attempt and _record_authorization (save() derives method_type and card_*).
        self.transaction: dict[str, Any] = {
            "id": _S["tx"], "payment_pk": _S["pk"], "store_id": target.store_id, "merchant_id": target.merchant_id,
            "payment_id": _S["payment_id"], "seq": 1, "status": state.PAID, "channel": channel.wire(),
            "channel_group": None, "pg_provider": channel.pg_provider, "is_test": channel.type == "TEST",
            "schedule_id": None, "billing_key": None, "requested_at": _AT, "updated_at": _AT,
            "status_changed_at": _AT, "paid_at": _AT, "failed_at": None, "cancelled_at": None, "captured_at": None,
            "order_name": order_name, "currency": currency, "total": a.total, "tax_free": a.tax_free, "vat": a.vat,
            "discount": a.discount, "cancelled": 0, "cancelled_tax_free": 0, "cancelled_vat": 0, "customer": {},
            "custom_data": None, "country": None, "products": None, "product_count": None,
            "is_cultural_expense": None, "is_escrow": False, "escrow_status": None, "promotion_id": None,
            "notice_urls": None, "installment_month": None, "cash_receipt_type": None, "method": method,
            "method_type": inputs.METHOD_TYPES.get(str(method.get("type")), "CARD"), "card_brand": card.get("brand"),
            "card_type": card.get("type"), "card_owner_type": card.get("ownerType"), "pg_tx_id": _S["pg_tx"],
            "disputes": None, "pg_response": _S["raw"],
            "receipt_url": connector._receipt_url("payments", _S["pg_tx"]),  # type: ignore[attr-defined]
            "failure_reason": None, "failure_pg_code": None, "failure_pg_message": None,
            "origin": {"platformType": "API", "ipAddress": CLIENT_IP}, "platform_type": "API",
            "va_expired_at": None, "payment_token_hash": None,
        }
        #: ``payment_search_terms`` of one payment: (field, value).
        self.terms: list[tuple[str, Expr]] = [
            (f, _expr(v, _COLUMN)) for f, v in inputs.search_terms(SimpleNamespace(**self.transaction))]
        self._raw_second = -1
        self._raw_text = ""
        self._raw_by_template = True
        self._document = _expr(self.render(self.transaction), _DOCUMENT) if document else None

    def render(self, transaction: Mapping[str, Any]) -> str:
        """``payments.document``: the ``Payment`` without webhooks, as ``payments.documents`` renders it."""
        return orjson.dumps(presenter.payment(SimpleNamespace(**transaction), [])).decode()  # type: ignore[arg-type]

    def _encode(self, value: Any) -> Expr:
        """A column value as the records store it: datetimes, booleans (0/1 on SQLite), JSON text."""
        if value is _AT:
            return Field("at")
        if isinstance(value, bool):
            return Const(int(value) if self.sqlite else value)
        if isinstance(value, dict | list):
            return _expr(_dumps(value), _COLUMN)
        if isinstance(value, str):
            return _expr(value, _COLUMN)
        return Const(value)

    def columns(self) -> list[tuple[str, Columns]]:
        """The columns of ``payments``, ``payment_transactions`` and ``payment_events``, in insertion order
        (``None`` values are left out: NULL, as the records write them)."""
        t, a = self.target, self.amounts
        payment: dict[str, Any] = {
            "id": _S["pk"], "store_id": t.store_id, "merchant_id": t.merchant_id, "payment_id": _S["payment_id"],
            "current_transaction_id": _S["tx"], "transaction_count": 1, "created_at": _AT, "updated_at": _AT,
        }
        event = {
            "id": _S["ev"], "store_id": t.store_id, "merchant_id": t.merchant_id, "payment_id": _S["payment_id"],
            "transaction_id": _S["tx"], "type": state.PAID, "created_at": _AT, "event_amount": a.paid,
            "amount": a.wire(),
        }
        out = [(table, [(c, self._encode(v)) for c, v in values.items() if v is not None])
               for table, values in (("payments", payment), ("payment_transactions", self.transaction),
                                     ("payment_events", event))]
        if self._document is not None:
            out[0][1].append(("document", self._document))
        return out

    def check_document(self, row: Sequence[Any], at: datetime) -> None:
        """The filled-in document of ``row`` must be the one the presenter renders for that payment."""
        real = self.render({k: _substitute(v, row, at) for k, v in self.transaction.items()})
        got = self._document.apply(row) if isinstance(self._document, Fill) else None
        if got != real:
            raise AssertionError(f"filled-in document differs from the rendered one:\n{got}\n{real}")

    def _pg_response(self, second: int, at: datetime, payment_id: str, pg_tx: str, approval: str) -> str:
        """The sandbox's raw response; built once per second (it has second precision) and filled in per payment,
        checked against a real call on the first payment of each second."""

        def call(pg_tx_id: str, pid: str, approval_no: str) -> str:
            a = self.amounts
            return pg_response(self.profile, pg_tx_id=pg_tx_id, payment_id=pid, order_name=self.order_name,
                               amount=a.paid, tax_free_amount=a.tax_free, vat_amount=a.vat, currency=self.currency,
                               approved_at=at, approval_no=approval_no, card=self.card, installment_month=None)

        def fill() -> str:
            return (self._raw_text.replace(_S["payment_id"], payment_id).replace(_S["pg_tx"], pg_tx)
                    .replace(_S["approval"], approval))

        if not self._raw_by_template:
            return call(pg_tx, payment_id, approval)
        if second == self._raw_second:
            return fill()
        self._raw_second = second
        self._raw_text = call(_S["pg_tx"], _S["payment_id"], _S["approval"])
        real = call(pg_tx, payment_id, approval)
        if fill() != real:  # this profile derives something from the ids: build every response
            self._raw_by_template = False
        return real

    def batch(self, first: int, count: int, prefix: str, width: int, start_ms: int) -> list[tuple[Any, ...]]:
        """Per-payment values (:data:`FIELDS`) of payments ``first`` .. ``first + count - 1``; the i-th is created
        at ``start_ms + i`` (milliseconds since the epoch)."""
        ch, style, sqlite = self.target.channel, self.profile.style, self.sqlite
        random_hex = os.urandom(count * 30).hex()  # 3 UUIDs x 19 random hex digits (+ slack) per payment
        out = []
        second = -1
        second_at = datetime.fromtimestamp(0, UTC)
        second_text = second_wire = ""
        for n, i in enumerate(range(first, first + count)):
            ms = start_ms + i
            if ms // 1000 != second:
                second = ms // 1000
                second_at = datetime.fromtimestamp(second, UTC)
                second_text = encode_datetime(second_at, True)[:19]
                second_wire = to_wire(second_at)[:19]
            at = second_at + timedelta(milliseconds=ms % 1000)
            stamp = f"{second_text}.{ms % 1000:03d}000" if sqlite else at
            at_wire = f"{second_wire}.{ms % 1000:03d}Z"
            if n == 0 and (stamp != encode_datetime(at, sqlite) or at_wire != to_wire(at)):
                raise AssertionError(f"time text {stamp!r}/{at_wire!r} differs from the app's for {at}")
            ms_hex = f"{ms:012x}"
            r = random_hex[n * 60:n * 60 + 57]
            tx = _uuid7(ms_hex, r[19:38])
            payment_id = f"{prefix}{i:0{width}d}"
            pg_tx = tx_id(style, "card", f"{ch.key}|card|{tx}", ch.pg_merchant_id, at)
            approval = approval_number(f"{ch.key}|{tx}")
            raw = self._pg_response(second, at, payment_id, pg_tx, approval)
            out.append((_uuid7(ms_hex, r[:19]), tx, _uuid7(ms_hex, r[38:57]), payment_id, stamp, approval, pg_tx,
                        raw, at_wire, orjson.dumps(raw).decode()[1:-1]))
            if n == 0 and self.document:
                self.check_document(out[0], at)
        return out


# ---------------------------------------------------------------------------------------------------- engines


def _statements(rows: PaymentRows, types: dict[tuple[str, str], str] | None) -> list[tuple[str, list[Any]]]:
    """``INSERT … SELECT`` per table from the batch's temp table: the database builds the rows, not Python.

    ``types`` (PostgreSQL) gives each column's type: parameters are ``$n`` and every value is cast to its column's
    type (a bare parameter in a ``SELECT`` list would be text). SQLite takes ``?`` and needs no cast.
    """
    statements = []
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return "?" if types is None else f"${len(params)}"

    def cast(expr: str, table: str, column: str) -> str:
        return expr if types is None else f"CAST({expr} AS {types[table, column]})"

    def text(expr: str) -> str:
        return expr if types is None else f"CAST({expr} AS text)"

    order = " ORDER BY b.rowid" if types is None else ""
    for table, columns in rows.columns():
        params = []
        exprs = []
        for column, e in columns:
            if isinstance(e, Field):
                expr = f"b.{e.name}"
            elif isinstance(e, Const):
                expr = param(e.value)
            else:  # one concatenation: no searching and replacing in a long text per row
                expr = " || ".join(f"b.{p.name}" if isinstance(p, Field) else text(param(p.value)) for p in e.pieces)
            exprs.append(cast(expr, table, column))
        statements.append((f"INSERT INTO {table} ({', '.join(c for c, _ in columns)}) "
                           f"SELECT {', '.join(exprs)} FROM bulk_batch AS b{order}", params))
    used = sorted({e.name for _f, e in rows.terms if isinstance(e, Field)})
    pick = " ".join(f"WHEN '{f}' THEN b.{f}" for f in used)
    statements.append((
        "INSERT INTO payment_search_terms (transaction_id, field, value) "
        f"SELECT b.tx, t.field, CASE t.source {pick} ELSE t.value END "
        f"FROM bulk_batch AS b CROSS JOIN bulk_terms AS t{order}{', t.rowid' if order else ''}", []))
    return statements


def _term_rows(rows: PaymentRows) -> list[tuple[str, str | None, Any]]:
    """``bulk_terms``: (field, the per-payment value it takes or None, else the constant value)."""
    out: list[tuple[str, str | None, Any]] = []
    for field, e in rows.terms:
        if isinstance(e, Fill):
            raise SystemExit("a search term embeds a per-payment value in a longer text: not supported")
        out.append((field, e.name, None) if isinstance(e, Field) else (field, None, e.value))
    return out


@dataclass
class LoadResult:
    count: int
    seconds: float
    store_id: str
    channel_key: str
    payment_ids: list[str]

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


STORE_SQL = "SELECT id, merchant_id FROM stores {where} ORDER BY is_representative DESC, created_at LIMIT 1"
CHANNEL_SQL = ("SELECT id, key, name, pg_provider, pg_merchant_id, type, manual_confirm FROM channels "
               "WHERE store_id = {p1} AND pg_provider = {p2} AND is_deleted = {false} AND manual_confirm = {false} "
               "ORDER BY created_at, key LIMIT 1")
CLOCK_SQL = "SELECT offset_us FROM sandbox_clock ORDER BY id LIMIT 1"


def _target(store: Sequence[Any] | None, channel: Sequence[Any] | None, offset: Any, store_id: str | None,
            pg_provider: str) -> Target:
    if store is None:
        raise SystemExit(f"store {store_id or '(any)'} not found: is the database migrated and seeded?")
    if channel is None:
        raise SystemExit(f"store {store[0]} has no {pg_provider} channel")
    info = ChannelInfo(id=channel[0], key=channel[1], name=channel[2], pg_provider=channel[3],
                       pg_merchant_id=channel[4], type=channel[5], store_id=store[0],
                       manual_confirm=bool(channel[6]))
    return Target(store[0], store[1], info, int(offset or 0))


class _Plan:
    """The batches of one load, and the bookkeeping every engine shares (progress, ids)."""

    def __init__(self, rows: PaymentRows, count: int, batch_size: int, prefix: str, ids_out: TextIO | None,
                 keep_ids: bool, log: bool) -> None:
        self.rows, self.count, self.batch_size, self.prefix = rows, count, batch_size, prefix
        self.ids_out, self.keep_ids, self.log = ids_out, keep_ids, log
        self.ids: list[str] = []
        self.started = time.perf_counter()
        self.done = 0

    def batches(self) -> Generator[list[tuple[Any, ...]], None, None]:
        """The batches, made one ahead by a thread: sqlite3 and asyncpg's server work run without the GIL, so
        making the next batch overlaps with writing this one."""
        width = max(7, len(str(self.count - 1)))
        now_ms = time.time_ns() // 1_000_000 + self.rows.target.clock_offset_us // 1000
        start_ms = now_ms - 1000 - self.count
        ready: queue.Queue[list[tuple[Any, ...]] | BaseException | None] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def produce() -> None:
            try:
                for first in range(0, self.count, self.batch_size):
                    if stop.is_set():
                        return
                    size = min(self.batch_size, self.count - first)
                    ready.put(self.rows.batch(first, size, self.prefix, width, start_ms))
                ready.put(None)
            except BaseException as exc:  # handed to the consumer, which raises it
                ready.put(exc)

        producer = threading.Thread(target=produce, name="load-payments", daemon=True)
        producer.start()
        try:
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while producer.is_alive():  # unblock a producer waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    ready.get(timeout=0.1)

    def committed(self, batch: list[tuple[Any, ...]]) -> None:
        self.done += len(batch)
        ids = [b[3] for b in batch]
        if self.keep_ids:
            self.ids.extend(ids)
        if self.ids_out is not None:
            self.ids_out.write("".join(f"{i}\n" for i in ids))
        if self.log:
            elapsed = time.perf_counter() - self.started
            print(f"  {self.done:>10,}/{self.count:,} payments  {elapsed:6.1f} s  {self.done / elapsed:8,.0f}/s",
                  file=sys.stderr, flush=True)

    def result(self) -> LoadResult:
        t = self.rows.target
        return LoadResult(self.done, time.perf_counter() - self.started, t.store_id, t.channel.key, self.ids)


def _load_sqlite(path: str, count: int, store_id: str | None, pg_provider: str, batch_size: int, prefix: str,
                 ids_out: TextIO | None, keep_ids: bool, log: bool) -> LoadResult:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        where, args = ("WHERE id = ?", (store_id,)) if store_id else ("", ())
        store = conn.execute(STORE_SQL.format(where=where), args).fetchone()
        channel = None if store is None else conn.execute(
            CHANNEL_SQL.format(p1="?", p2="?", false="0"), (store[0], pg_provider)).fetchone()
        offset = conn.execute(CLOCK_SQL).fetchone()
        document = "document" in {r[1] for r in conn.execute("PRAGMA table_info(payments)")}
        rows = PaymentRows(_target(store, channel, offset and offset[0], store_id, pg_provider), sqlite=True,
                           document=document)
        # Load-only settings: no rollback journal and no fsync (needs the file to itself), a large page cache.
        conn.execute("PRAGMA busy_timeout=30000")  # a running server's writers go first
        try:
            mode = conn.execute("PRAGMA journal_mode=OFF").fetchone()[0]
        except sqlite3.OperationalError:  # another connection has the file open
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if log and str(mode).lower() != "off":
            print(f"the journal stays {mode} (another connection has the file open): slower", file=sys.stderr)
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute(f"CREATE TEMP TABLE bulk_batch ({', '.join(FIELDS)})")
        conn.execute("CREATE TEMP TABLE bulk_terms (field, source, value)")
        conn.executemany("INSERT INTO bulk_terms VALUES (?, ?, ?)", _term_rows(rows))
        statements = _statements(rows, None)
        fill = f"INSERT INTO bulk_batch VALUES ({', '.join('?' for _ in FIELDS)})"
        plan = _Plan(rows, count, batch_size, prefix, ids_out, keep_ids, log)
        for batch in plan.batches():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM bulk_batch")
            conn.executemany(fill, batch)
            for sql, params in statements:
                conn.execute(sql, params)
            conn.execute("COMMIT")
            plan.committed(batch)
        with contextlib.suppress(sqlite3.OperationalError):  # back to what the server sets on every connection
            conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return plan.result()


async def _load_postgres(url: str, count: int, store_id: str | None, pg_provider: str, batch_size: int,
                         prefix: str, ids_out: TextIO | None, keep_ids: bool, log: bool,
                         connections: int = 2) -> LoadResult:
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    conn = conns[0]
    try:
        where, args = ("WHERE id = $1", [store_id]) if store_id else ("", [])
        store = await conn.fetchrow(STORE_SQL.format(where=where), *args)
        channel = None if store is None else await conn.fetchrow(
            CHANNEL_SQL.format(p1="$1", p2="$2", false="false"), store[0], pg_provider)
        offset = await conn.fetchval(CLOCK_SQL)
        types = {(r[0], r[1]): r[2] for r in await conn.fetch(
            "SELECT table_name, column_name, udt_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ANY($1::text[])",
            ["payments", "payment_transactions", "payment_events", "payment_search_terms"])}
        rows = PaymentRows(_target(store, channel, offset, store_id, pg_provider), sqlite=False,
                           document=("payments", "document") in types)
        statements = _statements(rows, types)
        replica = True
        for c in conns:
            await c.execute(
                "CREATE TEMP TABLE bulk_batch (pk text, tx text, ev text, payment_id text, at timestamptz, "
                "approval text, pg_tx text, raw text, at_wire text, raw_json text) ON COMMIT DELETE ROWS")
            await c.execute("CREATE TEMP TABLE bulk_terms (field text, source text, value text)")
            await c.executemany("INSERT INTO bulk_terms VALUES ($1, $2, $3)", _term_rows(rows))
            # The rows reference each other correctly by construction: skip the per-row foreign-key triggers
            # if allowed (superuser), they cost more than the inserts.
            try:
                await c.execute("SET session_replication_role = replica")
            except asyncpg.PostgresError:
                replica = False
        if log and not replica:
            print("foreign keys are checked row by row (not a superuser): slower", file=sys.stderr)
        plan = _Plan(rows, count, batch_size, prefix, ids_out, keep_ids, log)
        batches = plan.batches()
        taking = asyncio.Lock()

        async def take() -> list[tuple[Any, ...]] | None:
            async with taking:  # one thread at a time in the generator
                return await asyncio.to_thread(next, batches, None)

        async def write(c: Any) -> None:
            # Batches are independent: the connections write them side by side (PostgreSQL is one process per
            # connection, so the load uses more than one core).
            while (batch := await take()) is not None:
                async with c.transaction():  # a batch commits whole: no payment is seen without its attempt
                    await c.execute("SET LOCAL synchronous_commit = off")
                    await c.copy_records_to_table("bulk_batch", records=batch, columns=list(FIELDS))
                    for sql, params in statements:
                        await c.execute(sql, *params)
                plan.committed(batch)

        tasks = [asyncio.create_task(write(c)) for c in conns]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(ValueError):  # a thread may still be inside the generator after a failure
                batches.close()
        for table in ("payments", "payment_transactions", "payment_events", "payment_search_terms"):
            await conn.execute(f"ANALYZE {table}")
    finally:
        for c in conns:
            await c.close()
    return plan.result()


def load(database_url: str, count: int, *, store_id: str | None = None, pg_provider: str = "TOSSPAYMENTS",
         prefix: str | None = None, batch_size: int = 20_000, ids_out: TextIO | None = None,
         keep_ids: bool = False, log: bool = False) -> LoadResult:
    """Insert ``count`` PAID payments (paymentIds ``<prefix><n>``) into a migrated, seeded database.

    ``ids_out`` receives the paymentIds one per line as batches commit; ``keep_ids`` also returns them.
    """
    prefix = prefix if prefix is not None else f"bulk-{secrets.token_hex(3)}-"
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise SystemExit("a SQLite file is needed (sqlite:///path.db)")
        return _load_sqlite(url.database, count, store_id, pg_provider, batch_size, prefix, ids_out, keep_ids, log)
    return asyncio.run(_load_postgres(database_url, count, store_id, pg_provider, batch_size, prefix, ids_out,
                                      keep_ids, log))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bulk-load PAID card payments into a migrated, seeded database.")
    parser.add_argument("--database-url", required=True, help="sqlite:///file.db or postgresql://...")
    parser.add_argument("--count", type=int, required=True, help="how many payments to add")
    parser.add_argument("--store-id", help="default: the representative store")
    parser.add_argument("--pg-provider", default="TOSSPAYMENTS", help="which seeded channel of the store to use")
    parser.add_argument("--prefix", help="paymentId prefix (default bulk-<random>-); ids are <prefix>0000001")
    parser.add_argument("--batch", type=int, default=20_000, help="payments per transaction")
    parser.add_argument("--ids-file", type=Path, help="write the paymentIds there, one per line")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    out = args.ids_file.open("w") if args.ids_file is not None else None
    try:
        result = load(args.database_url, args.count, store_id=args.store_id, pg_provider=args.pg_provider,
                      prefix=args.prefix, batch_size=args.batch, ids_out=out, log=True)
    finally:
        if out is not None:
            out.close()
    print(f"loaded {result.count:,} payments into store {result.store_id} (channel {result.channel_key}) "
          f"in {result.seconds:.1f} s ({result.rate:,.0f}/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
