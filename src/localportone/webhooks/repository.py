"""Every query of the webhooks domain. Claims are conditional updates that work on SQLite and PostgreSQL.

Queuing deliveries and reading a payment's deliveries (the payment paths) are hand-written SQL on the unit of
work's connection; the delivery job and the sandbox views use SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from localportone.kernel.sql import Sql
from localportone.kernel.uow import UnitOfWork
from localportone.webhooks.models import (
    ATTEMPT_SUMMARIES,
    DELIVERIES,
    PENDING,
    AttemptSummary,
    DeliveryRecord,
    WebhookAttempt,
    WebhookDelivery,
)

_DELIVERIES = cast(Table, WebhookDelivery.__table__)
_ATTEMPTS = cast(Table, WebhookAttempt.__table__)
_D = _DELIVERIES.c


def queue_deliveries(uow: UnitOfWork, records: Sequence[DeliveryRecord]) -> None:
    """Have ``uow`` insert deliveries at its flush (stored exactly as the ORM mapping stores them: the job reads
    them through it); write-once rows, as nothing in the unit of work reads them back."""
    uow.append(DELIVERIES, [DELIVERIES.params(uow.sql, record) for record in records])


@dataclass(frozen=True)
class ClaimedRow:
    id: str
    store_id: str
    is_test: bool
    url: str
    body: str
    event_type: str
    execution_count: int
    max_executions: int


def _claimable(now: datetime, wall_now: datetime) -> ColumnElement[bool]:
    return and_(
        _D.status == PENDING,
        _D.next_attempt_at <= now,
        or_(_D.lease_until.is_(None), _D.lease_until < wall_now),
    )


async def claim(session: AsyncSession, *, now: datetime, wall_now: datetime, lease_until: datetime, token: str,
                limit: int, postgres: bool, ids: Sequence[str] | None = None) -> list[ClaimedRow]:
    """Lease up to ``limit`` due deliveries to ``token``. On PostgreSQL the candidates are locked with
    ``SKIP LOCKED`` so that concurrent workers pick disjoint rows; on SQLite the write transaction is already
    exclusive. The update re-checks the conditions, so a row is never leased twice."""
    candidates = select(_D.id).where(_claimable(now, wall_now)).order_by(_D.next_attempt_at).limit(limit)
    if ids is not None:
        candidates = candidates.where(_D.id.in_(list(ids)))
    if postgres:
        candidates = candidates.with_for_update(skip_locked=True)
    chosen = list((await session.scalars(candidates)).all())
    if not chosen:
        return []
    stmt = (
        update(_DELIVERIES)
        .where(_D.id.in_(chosen), _claimable(now, wall_now))
        .values(lease_until=lease_until, claimed_by=token)
        .returning(_D.id, _D.store_id, _D.is_test, _D.url, _D.body, _D.event_type, _D.execution_count,
                   _D.max_executions)
    )
    rows = (await session.execute(stmt)).all()
    return sorted((ClaimedRow(*row) for row in rows), key=lambda r: chosen.index(r.id))


async def claims_of(session: AsyncSession, ids: Sequence[str], *, postgres: bool) -> dict[str, tuple[str | None, int]]:
    """Who holds each delivery now and how many executions it has (rows locked on PostgreSQL), so that an
    attempt is recorded only by the worker that still holds its lease."""
    stmt = select(_D.id, _D.claimed_by, _D.execution_count).where(_D.id.in_(list(ids)))
    if postgres:
        stmt = stmt.with_for_update()
    return {row[0]: (row[1], row[2]) for row in (await session.execute(stmt)).all()}


async def finish_attempts(session: AsyncSession, deliveries: list[dict[str, Any]],
                          attempts: list[dict[str, Any]]) -> None:
    """Record attempts and move their deliveries on, in two batched statements (executemany)."""
    if not deliveries:
        return
    stmt = (
        update(_DELIVERIES)
        .where(_D.id == bindparam("b_id"))
        .values(
            execution_count=bindparam("b_count"), last_result=bindparam("b_result"), status=bindparam("b_status"),
            next_attempt_at=bindparam("b_next"), lease_until=None, claimed_by=None, updated_at=bindparam("b_now"),
        )
    )
    await session.execute(stmt, deliveries)
    await session.execute(insert(_ATTEMPTS), attempts)


async def release(session: AsyncSession, token: str, ids: Sequence[str]) -> None:
    """Give leases back without recording an attempt (shutdown): the rows are due again at once."""
    if ids:
        stmt = (update(_DELIVERIES).where(_D.id.in_(list(ids)), _D.claimed_by == token)
                .values(lease_until=None, claimed_by=None))
        await session.execute(stmt)


async def busy_due_count(session: AsyncSession, now: datetime, ids: Sequence[str] | None = None) -> int:
    """Due deliveries (leased or not): what a drain still has to wait for."""
    stmt = select(func.count()).select_from(_DELIVERIES).where(
        _D.status == PENDING, _D.next_attempt_at <= now
    )
    if ids is not None:
        stmt = stmt.where(_D.id.in_(list(ids)))
    return int(await session.scalar(stmt) or 0)


async def pending_count(session: AsyncSession) -> int:
    stmt = select(func.count()).select_from(_DELIVERIES).where(_D.status == PENDING)
    return int(await session.scalar(stmt) or 0)


async def delivery(session: AsyncSession, delivery_id: str, *, for_update: bool = False) -> WebhookDelivery | None:
    stmt = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


def _not_in(column: str, values: Sequence[str]) -> str:
    return f" AND {column} NOT IN ({', '.join('?' for _ in values)})" if values else ""


async def payment_deliveries(sql: Sql, store_id: str, payment_id: str, *,
                             exclude_types: Sequence[str] = ()) -> list[DeliveryRecord]:
    """A payment's deliveries, oldest first (ids are UUIDv7, so they sort by creation)."""
    rows = await sql.all(
        f"SELECT {DELIVERIES.select()} FROM webhook_deliveries WHERE store_id = ? AND payment_id = ?"
        f"{_not_in('event_type', exclude_types)} ORDER BY created_at, id",
        store_id, payment_id, *exclude_types,
    )
    return [DELIVERIES.load(sql, row) for row in rows]


_WITH_LAST_ATTEMPT = (
    f"SELECT {DELIVERIES.select('d')}, {ATTEMPT_SUMMARIES.select('a')} FROM webhook_deliveries d "
    "LEFT JOIN webhook_attempts a ON a.delivery_id = d.id AND a.number = d.execution_count "
)
_ATTEMPT_OFFSET = len(DELIVERIES.columns)


async def deliveries_with_last_attempt(
    sql: Sql, store_ids: Collection[str], payment_ids: Collection[str], *, exclude_types: Sequence[str] = ()
) -> list[tuple[DeliveryRecord, AttemptSummary | None]]:
    """Deliveries of any of the payments, oldest first, each with its latest attempt (none before the first), in
    one statement. With several stores and payments the caller drops pairs it did not ask for."""
    stores, payments = list(store_ids), list(payment_ids)
    where = (f"d.store_id {_in(stores)} AND d.payment_id {_in(payments)}"
             f"{_not_in('d.event_type', exclude_types)}")
    rows = await sql.all(f"{_WITH_LAST_ATTEMPT}WHERE {where} ORDER BY d.created_at, d.id",
                         *stores, *payments, *exclude_types)
    out = []
    for row in rows:
        attempt = None if row[_ATTEMPT_OFFSET] is None else ATTEMPT_SUMMARIES.load(sql, row, _ATTEMPT_OFFSET)
        out.append((DELIVERIES.load(sql, row), attempt))
    return out


def _in(values: Sequence[str]) -> str:
    return "= ?" if len(values) == 1 else f"IN ({', '.join('?' for _ in values)})"


async def attempts_of(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
    out: dict[str, list[WebhookAttempt]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = (select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(list(ids)))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number))
    for attempt in (await session.scalars(stmt)).all():
        out[attempt.delivery_id].append(attempt)
    return out


async def resend_count(session: AsyncSession, original_id: str) -> int:
    stmt = select(func.count()).select_from(_DELIVERIES).where(_D.resend_of == original_id)
    return int(await session.scalar(stmt) or 0)


async def has_payment_deliveries(sql: Sql, store_id: str, payment_id: str) -> bool:
    return await sql.one("SELECT 1 FROM webhook_deliveries WHERE store_id = ? AND payment_id = ? LIMIT 1",
                         store_id, payment_id) is not None


@dataclass(frozen=True)
class DeliveryFilter:
    store_id: str
    payment_id: str | None = None
    billing_key: str | None = None
    event_type: str | None = None
    status: str | None = None


def _filtered(f: DeliveryFilter) -> ColumnElement[bool]:
    conditions = [_D.store_id == f.store_id]
    if f.payment_id is not None:
        conditions.append(_D.payment_id == f.payment_id)
    if f.billing_key is not None:
        conditions.append(_D.billing_key == f.billing_key)
    if f.event_type is not None:
        conditions.append(_D.event_type == f.event_type)
    if f.status is not None:
        conditions.append(_D.status == f.status)
    return and_(*conditions)


async def list_deliveries(session: AsyncSession, f: DeliveryFilter, *, offset: int,
                          limit: int) -> tuple[Sequence[WebhookDelivery], int]:
    """Newest first, and the total number matching."""
    where = _filtered(f)
    total = int(await session.scalar(select(func.count()).select_from(_DELIVERIES).where(where)) or 0)
    stmt = (select(WebhookDelivery).where(where)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).offset(offset).limit(limit))
    return (await session.scalars(stmt)).all(), total
