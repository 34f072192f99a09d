"""Every query of the payments domain, in hand-written SQL on the unit of work's connection.

Changing a payment starts with :func:`lock_payment` (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write
transactions are already serialised by ``BEGIN IMMEDIATE``), so that two requests on one paymentId run one after
the other and the second sees what the first committed. A first attempt inserts the payment row with
``ON CONFLICT DO NOTHING``: when another request inserted the same (store, paymentId) first, nothing is inserted
and the row that won is locked instead. On PostgreSQL that insert also reads what the attempt checks next (its
billing key, a live schedule, the pre-registration), in the same statement (:func:`create_payment_reading`).

Records loaded in a write unit of work are tracked (:meth:`UnitOfWork.track`): the services change their
attributes and the unit of work writes the changed columns before it commits. The lists and cursors are built with
SQLAlchemy Core on the tables of :mod:`.models` (their filters vary) and run through the session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, null, or_, select
from sqlalchemy.sql.elements import ColumnElement

from localportone.kernel.records import RecordTable
from localportone.kernel.uow import UnitOfWork
from localportone.payments.models import (
    CANCELLATIONS,
    EVENTS,
    PAYMENTS,
    PRE_REGISTRATIONS,
    SEARCH_TERMS,
    TRANSACTIONS,
    CancellationRow,
    PaymentEventRow,
    PaymentRow,
    PreRegistrationRow,
    TransactionRow,
    events_table,
    payments_table,
    search_terms_table,
    transactions_table,
)

_TABLES: dict[type, RecordTable[Any]] = {
    PaymentRow: PAYMENTS, TransactionRow: TRANSACTIONS, CancellationRow: CANCELLATIONS, PaymentEventRow: EVENTS,
    PreRegistrationRow: PRE_REGISTRATIONS,
}

_UNKNOWN = object()
_PAYMENT_BY_KEY = f"SELECT {PAYMENTS.select_list} FROM payments WHERE store_id = ? AND payment_id = ?"
_TX_BY_ID = f"SELECT {TRANSACTIONS.select_list} FROM payment_transactions WHERE id = ?"


def _kept(uow: UnitOfWork, table: RecordTable[Any], record: Any) -> Any:
    """Track records loaded in a write unit of work (reads need no change detection)."""
    return uow.track(table, record) if uow.write else record


# ------------------------------------------------------------------------------------------------------ payments


def _locked(uow: UnitOfWork, payment: PaymentRow, *, new: bool = False) -> PaymentRow:
    """Track a payment locked for change (``new``: to be inserted by the flush); its document is re-rendered
    before the commit."""
    from localportone.payments.documents import refresh_before_commit  # documents presents, so it imports us

    if not uow.write:
        return payment
    payment = uow.add(PAYMENTS, payment) if new else uow.track(PAYMENTS, payment)
    refresh_before_commit(uow, payment)
    return payment


async def lock_payment(uow: UnitOfWork, store_id: str, payment_id: str) -> PaymentRow | None:
    statement = _PAYMENT_BY_KEY if uow.sql.is_sqlite else _PAYMENT_BY_KEY + " FOR UPDATE"
    row = await uow.sql.one(statement, store_id, payment_id)
    return None if row is None else _locked(uow, PAYMENTS.load(uow.sql, row))


async def prepare_payments(uow: UnitOfWork, new: Sequence[PaymentRow]) -> None:
    """Get the payment rows of many attempts about to start ready with one statement per 500 paymentIds.

    The rows that exist are read and locked; the others are to be created from ``new``. :func:`lock_or_create_payment`
    then takes what was prepared without another statement, and a new row is inserted by the flush, once, in its
    final state. Only for paymentIds that no other transaction can be creating at the same time (a live schedule
    holds them); a row that appeared anyway makes the flush fail on the unique key.
    """
    for start in range(0, len(new), 500):
        chunk = new[start:start + 500]
        by_key = {(row.store_id, row.payment_id): row for row in chunk}
        found: dict[tuple[str, str], PaymentRow] = {}
        for store_id in {row.store_id for row in chunk}:
            ids = [row.payment_id for row in chunk if row.store_id == store_id]
            statement = (f"SELECT {PAYMENTS.select_list} FROM payments WHERE store_id = ? "
                         f"AND payment_id IN ({', '.join('?' for _ in ids)}) ORDER BY payment_id")
            if not uow.sql.is_sqlite:
                statement += " FOR UPDATE"
            for raw in await uow.sql.all(statement, store_id, *ids):
                row = PAYMENTS.load(uow.sql, raw)
                found[(row.store_id, row.payment_id)] = row
        for key, row in by_key.items():
            uow.memo[("prepared-payment", *key)] = (False, found[key]) if key in found else (True, row)


async def create_payment_reading(uow: UnitOfWork, new: PaymentRow, *, live_schedule: str, columns: str = "",
                                 joins: str = "", join_args: Sequence[Any] = (), order: str = ""
                                 ) -> tuple[list[Sequence[Any]], int]:
    """PostgreSQL: what :func:`lock_or_create_payment` and the checks of a new attempt read, in one statement.

    The statement inserts ``new`` unless (store, paymentId) has a row (as :func:`lock_or_create_payment` does,
    which takes the row's lock) and reads whether a live schedule holds the paymentId (``live_schedule``, a
    condition with the store and paymentId as parameters), the pre-registration, and another domain's read:
    ``columns`` of what ``joins`` (``join_args`` for their placeholders) add to its one row, in ``order``.

    When ``new`` was inserted, :func:`lock_or_create_payment`, :func:`pre_registration` and
    :func:`live_schedule_known` answer from what was read. When a row existed, :func:`lock_or_create_payment`
    locks it, and the reads that follow the lock are made after it as before (they may have changed while the
    insert waited for the transaction that created the row). Returns the rows and the offset of ``columns``.
    """
    statement = _creating_statement(live_schedule, columns, joins, order)
    store_id, payment_id = new.store_id, new.payment_id
    rows = await uow.sql.all(statement, *PAYMENTS.params(uow.sql, new), store_id, payment_id, store_id, payment_id,
                             *join_args)
    first = rows[0]
    created = first[0] == 1
    uow.memo[("created-payment", store_id, payment_id)] = new if created else None
    if created:
        uow.memo[("live-schedule", store_id, payment_id)] = bool(first[1])
        uow.memo[("pre-registration", store_id, payment_id)] = (
            None if first[2] is None else _kept(uow, PRE_REGISTRATIONS, PRE_REGISTRATIONS.load(uow.sql, first, 2)))
    return rows, _READ_OFFSET


_READ_OFFSET = 2 + len(PRE_REGISTRATIONS.columns)


@lru_cache(maxsize=16)
def _creating_statement(live_schedule: str, columns: str, joins: str, order: str) -> str:
    return (f"WITH created AS ({PAYMENTS.insert_sql} ON CONFLICT (store_id, payment_id) DO NOTHING RETURNING 1) "
            f"SELECT (SELECT count(*) FROM created), {live_schedule}, {PRE_REGISTRATIONS.select('r')}"
            f"{', ' + columns if columns else ''} FROM (SELECT 1) AS one "
            f"LEFT JOIN payment_pre_registrations r ON r.store_id = ? AND r.payment_id = ? {joins}"
            f"{' ORDER BY ' + order if order else ''}")


def note_live_schedule(uow: UnitOfWork, store_id: str, payment_id: str, held: bool) -> None:
    """Remember whether a live schedule holds the paymentId (read in bulk): :func:`live_schedule_known` answers."""
    uow.memo[("live-schedule", store_id, payment_id)] = held


def live_schedule_known(uow: UnitOfWork, store_id: str, payment_id: str) -> bool | None:
    """Whether a live schedule holds the paymentId, as :func:`create_payment_reading` read it (``None``: not read)."""
    known: bool | None = uow.memo.get(("live-schedule", store_id, payment_id))
    return known


def payment_prepared(uow: UnitOfWork, store_id: str, payment_id: str) -> bool:
    """Whether :func:`lock_or_create_payment` answers (store, paymentId) from what this unit of work read already
    (:func:`prepare_payments`, :func:`create_payment_reading`)."""
    return (("created-payment", store_id, payment_id) in uow.memo
            or ("prepared-payment", store_id, payment_id) in uow.memo)


async def lock_or_create_payment(uow: UnitOfWork, store_id: str, payment_id: str,
                                 new: Callable[[], PaymentRow]) -> PaymentRow:
    """The locked payment row of (store, paymentId), inserting ``new()`` when there is none yet.

    The insert comes first: most payments are new, and an existing row costs one ignored insert more.
    """
    created = uow.memo.pop(("created-payment", store_id, payment_id), _UNKNOWN)
    if created is not _UNKNOWN:
        if created is not None:  # inserted by create_payment_reading, which holds its lock
            return _locked(uow, created)
        found = await lock_payment(uow, store_id, payment_id)
        if found is not None:
            return found
    prepared = uow.memo.pop(("prepared-payment", store_id, payment_id), None)
    if prepared is not None:
        is_new, row = prepared
        return _locked(uow, row, new=is_new)
    if uow.sql.is_sqlite:  # one writer at a time (or validated under the write lock: kernel/optimistic.py)
        found = await lock_payment(uow, store_id, payment_id)
        return found if found is not None else _locked(uow, new(), new=True)
    row = new()
    inserted = await uow.sql.run(PAYMENTS.insert_sql + " ON CONFLICT (store_id, payment_id) DO NOTHING",
                                 *PAYMENTS.params(uow.sql, row))
    if inserted:
        return _locked(uow, row)
    found = await lock_payment(uow, store_id, payment_id)
    if found is None:  # pragma: no cover - the winner's row exists once the conflict was seen
        raise RuntimeError(f"payment {payment_id} vanished while it was being created")
    return found


async def find_payment(uow: UnitOfWork, store_id: str, payment_id: str) -> PaymentRow | None:
    row = await uow.sql.one(_PAYMENT_BY_KEY, store_id, payment_id)
    return None if row is None else _kept(uow, PAYMENTS, PAYMENTS.load(uow.sql, row))


async def current_transaction(uow: UnitOfWork, payment: PaymentRow) -> TransactionRow | None:
    if payment.current_transaction_id is None:
        return None
    row = await uow.sql.one(_TX_BY_ID, payment.current_transaction_id)
    return None if row is None else _kept(uow, TRANSACTIONS, TRANSACTIONS.load(uow.sql, row))


async def transactions_of(uow: UnitOfWork, payment_pk: str) -> list[TransactionRow]:
    rows = await uow.sql.all(f"SELECT {TRANSACTIONS.select_list} FROM payment_transactions WHERE payment_pk = ? "
                             "ORDER BY seq", payment_pk)
    return [_kept(uow, TRANSACTIONS, TRANSACTIONS.load(uow.sql, r)) for r in rows]


async def current_status(uow: UnitOfWork, store_id: str, payment_id: str) -> str | None:
    status = await uow.sql.value(
        "SELECT t.status FROM payments p JOIN payment_transactions t ON t.id = p.current_transaction_id "
        "WHERE p.store_id = ? AND p.payment_id = ?", store_id, payment_id)
    return None if status is None else str(status)


def add(uow: UnitOfWork, *rows: object) -> None:
    """Insert new records at the next flush, in this order."""
    for row in rows:
        uow.add(_TABLES[type(row)], row)


# ------------------------------------------------------------------------------------------------------ cancellations


async def cancellations_of(uow: UnitOfWork, transaction_ids: Iterable[str]) -> dict[str, list[CancellationRow]]:
    ids = list(dict.fromkeys(transaction_ids))
    out: dict[str, list[CancellationRow]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = await uow.sql.all(
            f"SELECT {CANCELLATIONS.select_list} FROM payment_cancellations "
            f"WHERE transaction_id IN ({', '.join('?' for _ in chunk)}) ORDER BY transaction_id, seq", *chunk)
        for r in rows:
            record: CancellationRow = _kept(uow, CANCELLATIONS, CANCELLATIONS.load(uow.sql, r))
            out[record.transaction_id].append(record)
    return out


async def current_cancellations(uow: UnitOfWork, transaction_id: str) -> list[CancellationRow]:
    """The attempt's cancellations as this unit of work leaves them: those stored (as tracked, with their changes)
    and those it added, which the flush has not written yet (so no flush is needed before: an optimistic unit of
    work cannot write before its end, kernel/optimistic.py)."""
    stored = (await cancellations_of(uow, [transaction_id]))[transaction_id]
    known = {row.id for row in stored}
    added = [row for row in uow.created_records(CANCELLATIONS)
             if row.transaction_id == transaction_id and row.id not in known]
    return sorted([*stored, *added], key=lambda row: row.seq) if added else stored


async def cancellation(uow: UnitOfWork, transaction_id: str, cancellation_id: str) -> CancellationRow | None:
    row = await uow.sql.one(f"SELECT {CANCELLATIONS.select_list} FROM payment_cancellations "
                            "WHERE transaction_id = ? AND id = ?", transaction_id, cancellation_id)
    return None if row is None else _kept(uow, CANCELLATIONS, CANCELLATIONS.load(uow.sql, row))


# ------------------------------------------------------------------------------------------------------ pre-register


async def load_pre_registrations(uow: UnitOfWork, store_id: str, payment_ids: Sequence[str]) -> None:
    """Read the pre-registrations of many paymentIds at once; :func:`pre_registration` then answers from memory."""
    ids = list(dict.fromkeys(payment_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = await uow.sql.all(f"SELECT {PRE_REGISTRATIONS.select_list} FROM payment_pre_registrations "
                                 f"WHERE store_id = ? AND payment_id IN ({', '.join('?' for _ in chunk)})",
                                 store_id, *chunk)
        found = {r.payment_id: r for r in (_kept(uow, PRE_REGISTRATIONS, PRE_REGISTRATIONS.load(uow.sql, row))
                                           for row in rows)}
        for payment_id in chunk:
            uow.memo[("pre-registration", store_id, payment_id)] = found.get(payment_id)


async def pre_registration(uow: UnitOfWork, store_id: str, payment_id: str) -> PreRegistrationRow | None:
    known = uow.memo.get(("pre-registration", store_id, payment_id), _UNKNOWN)
    if known is not _UNKNOWN:
        return known
    row = await uow.sql.one(f"SELECT {PRE_REGISTRATIONS.select_list} FROM payment_pre_registrations "
                            "WHERE store_id = ? AND payment_id = ?", store_id, payment_id)
    if row is None:
        return None
    return _kept(uow, PRE_REGISTRATIONS, PRE_REGISTRATIONS.load(uow.sql, row))


# ------------------------------------------------------------------------------------------------------ search terms


def _new_terms(terms: Iterable[tuple[str, str]], existing: set[tuple[str, str]]) -> list[tuple[str, str]]:
    out = []
    for field_name, value in terms:
        key = (field_name, value[:200])
        if key[1] and key not in existing:
            existing.add(key)
            out.append(key)
    return out


def search_terms_known(uow: UnitOfWork, transaction_id: str) -> bool:
    """Whether this unit of work wrote or read the attempt's search terms (then some may be stored or pending)."""
    return ("search-term-set", transaction_id) in uow.memo


async def replace_search_terms(uow: UnitOfWork, transaction_id: str, terms: Iterable[tuple[str, str]],
                               *, fresh: bool = False) -> None:
    """The attempt's search terms become ``terms`` (``fresh``: the attempt has none yet, nothing to delete).

    Written by the next flush, with those of other attempts of the unit of work: the stored ones are deleted first.
    """
    rows = [(transaction_id, f, v) for f, v in _new_terms(terms, set())]
    if not fresh:
        uow.discard_appended(SEARCH_TERMS, lambda row: row[0] == transaction_id)
        uow.defer("DELETE FROM payment_search_terms WHERE transaction_id = ?", transaction_id)
    uow.append(SEARCH_TERMS, rows)
    uow.memo[("search-term-set", transaction_id)] = {(f, v) for _tx, f, v in rows}


async def add_search_terms(uow: UnitOfWork, transaction_id: str, terms: Iterable[tuple[str, str]]) -> None:
    """Add the ``terms`` the attempt does not have yet (stored, or to be written by the next flush)."""
    existing: set[tuple[str, str]] | None = uow.memo.get(("search-term-set", transaction_id))
    if existing is None:
        found = await uow.sql.all("SELECT field, value FROM payment_search_terms WHERE transaction_id = ?",
                                  transaction_id)
        existing = {(str(f), str(v)) for f, v in found}
        existing |= {(str(r[1]), str(r[2])) for r in uow.appended(SEARCH_TERMS) if r[0] == transaction_id}
        uow.memo[("search-term-set", transaction_id)] = existing
    uow.append(SEARCH_TERMS, [(transaction_id, f, v) for f, v in _new_terms(terms, existing)])


# ------------------------------------------------------------------------------------------------------ lists


@dataclass
class PaymentQuery:
    """``PaymentFilterInput`` translated to stored columns (``None`` = no condition)."""

    merchant_id: str
    store_ids: list[str] | None
    time_column: str  # "requested_at" | "status_changed_at"
    since: datetime
    until: datetime
    sort_column: str
    descending: bool = True
    statuses: list[str] | None = None
    methods: list[str] | None = None
    pg_providers: list[str] | None = None
    is_test: bool | None = None
    is_scheduled: bool | None = None
    platform_types: list[str] | None = None
    currency: str | None = None
    is_escrow: bool | None = None
    escrow_status: str | None = None
    card_brand: str | None = None
    card_type: str | None = None
    card_owner_type: str | None = None
    cash_receipt_type: str | None = None
    #: (field, prefix) pairs, all of which must match; field ``ALL`` matches any field.
    text_search: list[tuple[str, str]] = field(default_factory=list)
    #: A condition on data this server never stores (e.g. gift certificates): nothing matches.
    impossible: bool = False


def _prefix(column: Any, prefix: str) -> ColumnElement[bool]:
    """Case-sensitive prefix match, identical on SQLite and PostgreSQL (``LIKE`` is not, on SQLite)."""
    return func.substr(column, 1, len(prefix)) == prefix


def _columns(table: Any, record: RecordTable[Any], skip: tuple[str, ...] = ()) -> list[Any]:
    """A Core table's columns in the order of the record's fields (rows then map to records by position);
    ``skip``: columns read as NULL (a payment's stored document, which lists do not show)."""
    return [null() if name in skip else table.c[name] for name in record.columns]


def _conditions(q: PaymentQuery) -> list[ColumnElement[bool]]:
    t = transactions_table.c
    terms = search_terms_table.c
    time_col = t[q.time_column]
    cond: list[ColumnElement[bool]] = [t.merchant_id == q.merchant_id, time_col >= q.since, time_col <= q.until]
    if q.impossible:
        cond.append(false())
    if q.store_ids is not None:
        cond.append(t.store_id.in_(q.store_ids))
    if q.statuses is not None:
        cond.append(t.status.in_(q.statuses))
    if q.methods is not None:
        cond.append(t.method_type.in_(q.methods))
    if q.pg_providers is not None:
        cond.append(t.pg_provider.in_(q.pg_providers))
    if q.is_test is not None:
        cond.append(t.is_test.is_(q.is_test))
    if q.is_scheduled is not None:
        cond.append(t.schedule_id.is_not(None) if q.is_scheduled else t.schedule_id.is_(None))
    if q.platform_types is not None:
        cond.append(t.platform_type.in_(q.platform_types))
    for column, value in ((t.currency, q.currency), (t.escrow_status, q.escrow_status), (t.card_brand, q.card_brand),
                          (t.card_type, q.card_type), (t.card_owner_type, q.card_owner_type),
                          (t.cash_receipt_type, q.cash_receipt_type)):
        if value is not None:
            cond.append(column == value)
    if q.is_escrow is not None:
        cond.append(t.is_escrow.is_(q.is_escrow))
    for field_name, prefix in q.text_search:
        term = and_(terms.transaction_id == t.id, _prefix(terms.value, prefix))
        if field_name != "ALL":
            term = and_(term, terms.field == field_name)
        cond.append(exists().where(term))
    return cond


def _current(stmt: Select[Any]) -> Select[Any]:
    return stmt.join(payments_table, payments_table.c.current_transaction_id == transactions_table.c.id)


async def list_payments(uow: UnitOfWork, q: PaymentQuery, offset: int | None, limit: int | None
                        ) -> tuple[list[TransactionRow], int]:
    """The current attempts matching ``q``, sorted, one page of them (all when ``limit`` is None), and the total."""
    t = transactions_table.c
    cond = _conditions(q)
    count_stmt = _current(select(func.count()).select_from(transactions_table)).where(*cond)
    total = int(await uow.session.scalar(count_stmt) or 0)
    sort_col = t[q.sort_column]
    order = (sort_col.desc(), t.id.desc()) if q.descending else (sort_col.asc(), t.id.asc())
    stmt = _current(select(*_columns(transactions_table, TRANSACTIONS))).where(*cond).order_by(*order)
    if offset:
        stmt = stmt.offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [TRANSACTIONS.record(*row) for row in (await uow.session.execute(stmt)).all()], total


async def payments_by_cursor(uow: UnitOfWork, store_id: str, since: datetime, until: datetime,
                             after: tuple[datetime, str] | None, size: int
                             ) -> list[tuple[PaymentRow, TransactionRow]]:
    """Payments created in [since, until], oldest first, after the cursor position (created_at, row id)."""
    p = payments_table.c
    stmt = (
        select(*_columns(payments_table, PAYMENTS, skip=("document",)), *_columns(transactions_table, TRANSACTIONS))
        .join_from(payments_table, transactions_table, p.current_transaction_id == transactions_table.c.id)
        .where(p.store_id == store_id, p.created_at >= since, p.created_at <= until)
    )
    if after is not None:
        at, row_id = after
        stmt = stmt.where(or_(p.created_at > at, and_(p.created_at == at, p.id > row_id)))
    stmt = stmt.order_by(p.created_at, p.id).limit(size)
    n = len(PAYMENTS.columns)
    return [(PAYMENTS.record(*row[:n]), TRANSACTIONS.record(*row[n:]))
            for row in (await uow.session.execute(stmt)).all()]


async def events_by_cursor(uow: UnitOfWork, merchant_id: str, store_ids: list[str] | None, since: datetime,
                           until: datetime, after: tuple[datetime, str] | None, size: int
                           ) -> list[tuple[PaymentEventRow, TransactionRow]]:
    e = events_table.c
    stmt = (
        select(*_columns(events_table, EVENTS), *_columns(transactions_table, TRANSACTIONS))
        .join_from(events_table, transactions_table, transactions_table.c.id == e.transaction_id)
        .where(e.merchant_id == merchant_id, e.created_at >= since, e.created_at <= until)
    )
    if store_ids is not None:
        stmt = stmt.where(e.store_id.in_(store_ids))
    if after is not None:
        at, row_id = after
        stmt = stmt.where(or_(e.created_at > at, and_(e.created_at == at, e.id > row_id)))
    stmt = stmt.order_by(e.created_at, e.id).limit(size)
    n = len(EVENTS.columns)
    return [(EVENTS.record(*row[:n]), TRANSACTIONS.record(*row[n:]))
            for row in (await uow.session.execute(stmt)).all()]


# ------------------------------------------------------------------------------------------------------ expiry


async def due_virtual_accounts(uow: UnitOfWork, now: datetime, store_ids: list[str] | None = None,
                               limit: int = 100) -> list[tuple[str, str]]:
    """(store_id, payment_id) of current VIRTUAL_ACCOUNT_ISSUED attempts whose account expired by ``now``."""
    t = transactions_table.c
    stmt = (
        _current(select(t.store_id, t.payment_id))
        .where(t.status == "VIRTUAL_ACCOUNT_ISSUED", t.va_expired_at <= now)
        .order_by(t.va_expired_at)
        .limit(limit)
    )
    if store_ids is not None:
        stmt = stmt.where(t.store_id.in_(store_ids))
    return [(s, p) for s, p in (await uow.session.execute(stmt)).all()]
