"""Every query of the payments domain.

Changing a payment starts with :func:`lock_payment` (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write
transactions are already serialised by ``BEGIN IMMEDIATE``), so that two requests on one paymentId run one after
the other and the second sees what the first committed. A first attempt inserts the payment row inside a
savepoint: when another request inserted the same (store, paymentId) first, the unique constraint makes the
insert fail, and the row that won is locked instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, exists, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from localportone.payments.models import (
    CancellationRow,
    PaymentEventRow,
    PaymentRow,
    PreRegistrationRow,
    SearchTermRow,
    TransactionRow,
)

# ------------------------------------------------------------------------------------------------------ payments


async def lock_payment(session: AsyncSession, store_id: str, payment_id: str) -> PaymentRow | None:
    stmt = (
        select(PaymentRow)
        .where(PaymentRow.store_id == store_id, PaymentRow.payment_id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(stmt)


async def lock_or_create_payment(session: AsyncSession, new: PaymentRow) -> PaymentRow:
    """The locked payment row of (store, paymentId), inserting ``new`` when there is none yet."""
    row = await lock_payment(session, new.store_id, new.payment_id)
    if row is not None:
        return row
    try:
        async with session.begin_nested():
            session.add(new)
            await session.flush()
        return new
    except IntegrityError:
        row = await lock_payment(session, new.store_id, new.payment_id)
        if row is None:  # pragma: no cover - the winner's row exists once the constraint fired
            raise
        return row


async def find_payment(session: AsyncSession, store_id: str, payment_id: str) -> PaymentRow | None:
    stmt = select(PaymentRow).where(PaymentRow.store_id == store_id, PaymentRow.payment_id == payment_id)
    return await session.scalar(stmt)


async def current_transaction(session: AsyncSession, payment: PaymentRow) -> TransactionRow | None:
    if payment.current_transaction_id is None:
        return None
    stmt = (
        select(TransactionRow)
        .where(TransactionRow.id == payment.current_transaction_id)
        .execution_options(populate_existing=True)
    )
    return await session.scalar(stmt)


async def transactions_of(session: AsyncSession, payment_pk: str) -> Sequence[TransactionRow]:
    stmt = select(TransactionRow).where(TransactionRow.payment_pk == payment_pk).order_by(TransactionRow.seq)
    return (await session.scalars(stmt)).all()


async def current_status(session: AsyncSession, store_id: str, payment_id: str) -> str | None:
    stmt = (
        select(TransactionRow.status)
        .join(PaymentRow, PaymentRow.current_transaction_id == TransactionRow.id)
        .where(PaymentRow.store_id == store_id, PaymentRow.payment_id == payment_id)
    )
    return await session.scalar(stmt)


def add(session: AsyncSession, *rows: object) -> None:
    session.add_all(rows)


async def flush(session: AsyncSession) -> None:
    await session.flush()


# ------------------------------------------------------------------------------------------------------ cancellations


async def cancellations_of(session: AsyncSession, transaction_ids: Iterable[str]) -> dict[str, list[CancellationRow]]:
    ids = list(transaction_ids)
    out: dict[str, list[CancellationRow]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = (
        select(CancellationRow)
        .where(CancellationRow.transaction_id.in_(ids))
        .order_by(CancellationRow.transaction_id, CancellationRow.seq)
        .execution_options(populate_existing=True)
    )
    for row in (await session.scalars(stmt)).all():
        out[row.transaction_id].append(row)
    return out


async def cancellation(session: AsyncSession, transaction_id: str, cancellation_id: str) -> CancellationRow | None:
    stmt = select(CancellationRow).where(
        CancellationRow.transaction_id == transaction_id, CancellationRow.id == cancellation_id
    ).execution_options(populate_existing=True)
    return await session.scalar(stmt)


# ------------------------------------------------------------------------------------------------------ pre-register


async def pre_registration(session: AsyncSession, store_id: str, payment_id: str) -> PreRegistrationRow | None:
    return await session.get(PreRegistrationRow, (store_id, payment_id))


# ------------------------------------------------------------------------------------------------------ search terms


async def replace_search_terms(session: AsyncSession, transaction_id: str, terms: Iterable[tuple[str, str]]) -> None:
    await session.execute(delete(SearchTermRow).where(SearchTermRow.transaction_id == transaction_id))
    seen: set[tuple[str, str]] = set()
    for field_name, value in terms:
        key = (field_name, value[:200])
        if key[1] and key not in seen:
            seen.add(key)
            session.add(SearchTermRow(transaction_id=transaction_id, field=key[0], value=key[1]))


async def add_search_terms(session: AsyncSession, transaction_id: str, terms: Iterable[tuple[str, str]]) -> None:
    stmt = select(SearchTermRow.field, SearchTermRow.value).where(SearchTermRow.transaction_id == transaction_id)
    existing = {(f, v) for f, v in (await session.execute(stmt)).all()}
    for field_name, value in terms:
        key = (field_name, value[:200])
        if key[1] and key not in existing:
            existing.add(key)
            session.add(SearchTermRow(transaction_id=transaction_id, field=key[0], value=key[1]))


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


def _conditions(q: PaymentQuery) -> list[ColumnElement[bool]]:
    t = TransactionRow
    time_col = getattr(t, q.time_column)
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
        term = and_(SearchTermRow.transaction_id == t.id, _prefix(SearchTermRow.value, prefix))
        if field_name != "ALL":
            term = and_(term, SearchTermRow.field == field_name)
        cond.append(exists().where(term))
    return cond


def _current(stmt: Select[Any]) -> Select[Any]:
    return stmt.join(PaymentRow, PaymentRow.current_transaction_id == TransactionRow.id)


async def list_payments(session: AsyncSession, q: PaymentQuery, offset: int | None, limit: int | None
                        ) -> tuple[list[TransactionRow], int]:
    """The current attempts matching ``q``, sorted, one page of them (all when ``limit`` is None), and the total."""
    cond = _conditions(q)
    count_stmt = select(func.count()).select_from(TransactionRow).join(
        PaymentRow, PaymentRow.current_transaction_id == TransactionRow.id
    ).where(*cond)
    total = int(await session.scalar(count_stmt) or 0)
    sort_col = getattr(TransactionRow, q.sort_column)
    order = (sort_col.desc(), TransactionRow.id.desc()) if q.descending else (sort_col.asc(), TransactionRow.id.asc())
    stmt = _current(select(TransactionRow)).where(*cond).order_by(*order)
    if offset:
        stmt = stmt.offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [row for row in (await session.scalars(stmt)).all()], total


async def payments_by_cursor(session: AsyncSession, store_id: str, since: datetime, until: datetime,
                             after: tuple[datetime, str] | None, size: int
                             ) -> list[tuple[PaymentRow, TransactionRow]]:
    """Payments created in [since, until], oldest first, after the cursor position (created_at, row id)."""
    stmt = (
        select(PaymentRow, TransactionRow)
        .join(TransactionRow, PaymentRow.current_transaction_id == TransactionRow.id)
        .where(PaymentRow.store_id == store_id, PaymentRow.created_at >= since, PaymentRow.created_at <= until)
    )
    if after is not None:
        at, row_id = after
        stmt = stmt.where(or_(PaymentRow.created_at > at, and_(PaymentRow.created_at == at, PaymentRow.id > row_id)))
    stmt = stmt.order_by(PaymentRow.created_at, PaymentRow.id).limit(size)
    return [(p, t) for p, t in (await session.execute(stmt)).all()]


async def events_by_cursor(session: AsyncSession, merchant_id: str, store_ids: list[str] | None, since: datetime,
                           until: datetime, after: tuple[datetime, str] | None, size: int
                           ) -> list[tuple[PaymentEventRow, TransactionRow]]:
    e = PaymentEventRow
    stmt = (
        select(e, TransactionRow)
        .join(TransactionRow, TransactionRow.id == e.transaction_id)
        .where(e.merchant_id == merchant_id, e.created_at >= since, e.created_at <= until)
    )
    if store_ids is not None:
        stmt = stmt.where(e.store_id.in_(store_ids))
    if after is not None:
        at, row_id = after
        stmt = stmt.where(or_(e.created_at > at, and_(e.created_at == at, e.id > row_id)))
    stmt = stmt.order_by(e.created_at, e.id).limit(size)
    return [(ev, t) for ev, t in (await session.execute(stmt)).all()]


# ------------------------------------------------------------------------------------------------------ expiry


async def due_virtual_accounts(session: AsyncSession, now: datetime, store_ids: list[str] | None = None,
                               limit: int = 100) -> list[tuple[str, str]]:
    """(store_id, payment_id) of current VIRTUAL_ACCOUNT_ISSUED attempts whose account expired by ``now``."""
    stmt = (
        select(TransactionRow.store_id, TransactionRow.payment_id)
        .join(PaymentRow, PaymentRow.current_transaction_id == TransactionRow.id)
        .where(TransactionRow.status == "VIRTUAL_ACCOUNT_ISSUED", TransactionRow.va_expired_at <= now)
        .order_by(TransactionRow.va_expired_at)
        .limit(limit)
    )
    if store_ids is not None:
        stmt = stmt.where(TransactionRow.store_id.in_(store_ids))
    return [(s, p) for s, p in (await session.execute(stmt)).all()]
