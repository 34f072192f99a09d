"""Every query of the schedules domain.

The scheduler's claim is one conditional ``UPDATE ... RETURNING`` that works on both engines: only rows still in the
expected state change, so two processes can never both claim a schedule. On PostgreSQL the candidate subquery adds
``FOR UPDATE SKIP LOCKED`` so that concurrent workers take different rows instead of queueing on the same ones;
SQLite ignores the clause (its writers are serialised anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from localportone.kernel.sql import Sql
from localportone.kernel.uow import UnitOfWork
from localportone.schedules.models import LIVE_SQL, SCHEDULES, PaymentScheduleRow, ScheduleRecord
from localportone.schedules.state import Status

T = PaymentScheduleRow


@dataclass(frozen=True)
class Claim:
    """A schedule this process now runs: ``token`` proves it still owns the run when it completes it."""

    seq: int
    id: str
    time_to_pay: datetime
    billing_key: str
    token: str
    run_count: int


@dataclass(frozen=True)
class Search:
    store_id: str
    since: datetime
    until: datetime
    billing_key: str | None = None
    statuses: Sequence[str] | None = None
    is_test: bool | None = None
    sort_by: str = "TIME_TO_PAY"
    descending: bool = True
    offset: int = 0
    limit: int = 10


_SORT_COLUMNS = {
    "CREATED_AT": T.created_at,
    "TIME_TO_PAY": T.time_to_pay,
    "COMPLETED_AT": T.completed_at,
    "STATUS_TIMESTAMP": T.status_at,
}


def add(session: AsyncSession, row: PaymentScheduleRow) -> None:
    session.add(row)


async def by_id(session: AsyncSession, store_id: str, schedule_id: str) -> PaymentScheduleRow | None:
    row: PaymentScheduleRow | None = await session.scalar(select(T).where(T.id == schedule_id, T.store_id == store_id))
    return row


_LIVE_FOR_PAYMENT = (
    f"SELECT 1 FROM payment_schedules WHERE store_id = ? AND payment_id = ? AND {LIVE_SQL} LIMIT 1"
)


#: The same question as a condition, for a statement of another domain that asks it with reads of its own
#: (parameters: store, paymentId).
LIVE_FOR_PAYMENT_EXISTS = f"EXISTS ({_LIVE_FOR_PAYMENT})"


async def live_payment_ids(sql: Sql, store_id: str, payment_ids: Sequence[str]) -> set[str]:
    """Which of these paymentIds a live schedule holds (:func:`live_exists_for_payment` for many, one statement)."""
    found: set[str] = set()
    for start in range(0, len(payment_ids), 500):
        chunk = payment_ids[start:start + 500]
        rows = await sql.all(f"SELECT payment_id FROM payment_schedules WHERE store_id = ? AND payment_id IN "
                             f"({', '.join('?' for _ in chunk)}) AND {LIVE_SQL}", store_id, *chunk)
        found.update(str(row[0]) for row in rows)
    return found


async def live_exists_for_payment(sql: Sql, store_id: str, payment_id: str) -> bool:
    """Hand-written: asked before every payment attempt (the condition is the unique live-payment index's)."""
    return await sql.one(_LIVE_FOR_PAYMENT, store_id, payment_id) is not None


async def scheduled_exists_for_key(session: AsyncSession, store_id: str, billing_key: str) -> bool:
    query = select(exists().where(T.store_id == store_id, T.billing_key == billing_key,
                                  T.status == Status.SCHEDULED.value))
    return bool(await session.scalar(query))


async def lock_by_ids(session: AsyncSession, store_id: str, schedule_ids: Sequence[str]) -> list[PaymentScheduleRow]:
    """The store's schedules with these ids, locked (PostgreSQL) in a stable order against deadlocks."""
    query = (select(T).where(T.store_id == store_id, T.id.in_(list(schedule_ids))).order_by(T.seq)
             .with_for_update().execution_options(populate_existing=True))
    return list((await session.scalars(query)).all())


async def lock_scheduled_of_key(session: AsyncSession, store_id: str, billing_key: str) -> list[PaymentScheduleRow]:
    query = (select(T).where(T.store_id == store_id, T.billing_key == billing_key,
                             T.status == Status.SCHEDULED.value).order_by(T.seq)
             .with_for_update().execution_options(populate_existing=True))
    return list((await session.scalars(query)).all())


def _search_filter(search: Search) -> list[ColumnElement[bool]]:
    conditions = [T.store_id == search.store_id, T.time_to_pay >= search.since, T.time_to_pay <= search.until]
    if search.billing_key is not None:
        conditions.append(T.billing_key == search.billing_key)
    if search.statuses:
        conditions.append(T.status.in_(list(search.statuses)))
    if search.is_test is not None:
        conditions.append(T.is_test == search.is_test)
    return conditions


async def search(session: AsyncSession, search: Search) -> tuple[list[PaymentScheduleRow], int]:
    conditions = _search_filter(search)
    total = int(await session.scalar(select(func.count()).select_from(T).where(*conditions)) or 0)
    column = _SORT_COLUMNS[search.sort_by]
    order = [column.desc().nulls_last(), T.seq.desc()] if search.descending else [column.asc().nulls_last(), T.seq]
    query = select(T).where(*conditions).order_by(*order).offset(search.offset).limit(search.limit)
    return list((await session.scalars(query)).all()), total


async def claim_due(session: AsyncSession, *, now: datetime, wall_now: datetime, lease_until: datetime,
                    token: str, limit: int, merchant_id: str | None = None) -> list[Claim]:
    """SCHEDULED → STARTED for up to ``limit`` due schedules, earliest ``timeToPay`` (then creation) first.

    Also takes back STARTED schedules whose lease ran out on the wall clock: their process died mid-run.
    """
    claims = await _claim(session, and_(T.status == Status.SCHEDULED.value, T.time_to_pay <= now),
                          now=now, lease_until=lease_until, token=token, limit=limit, merchant_id=merchant_id,
                          set_started=True)
    if len(claims) < limit:
        claims += await _claim(session, and_(T.status == Status.STARTED.value, T.lease_until < wall_now),
                               now=now, lease_until=lease_until, token=token, limit=limit - len(claims),
                               merchant_id=merchant_id, set_started=False)
    return sorted(claims, key=lambda c: (c.time_to_pay, c.seq))


async def _claim(session: AsyncSession, condition: ColumnElement[bool], *, now: datetime, lease_until: datetime,
                 token: str, limit: int, merchant_id: str | None, set_started: bool) -> list[Claim]:
    if merchant_id is not None:
        condition = and_(condition, T.merchant_id == merchant_id)
    candidates = (select(T.seq).where(condition).order_by(T.time_to_pay, T.seq).limit(limit)
                  .with_for_update(skip_locked=True).scalar_subquery())
    values: dict[str, object] = {"claim_token": token, "lease_until": lease_until, "run_count": T.run_count + 1}
    if set_started:
        values.update(status=Status.STARTED.value, started_at=now, status_at=now)
    table = cast(Table, T.__table__)
    statement = (update(table).where(table.c.seq.in_(candidates), condition).values(**values)
                 .returning(table.c.seq, table.c.id, table.c.time_to_pay, table.c.billing_key, table.c.run_count))
    rows = (await session.execute(statement)).all()
    return [Claim(seq=r.seq, id=r.id, time_to_pay=r.time_to_pay, billing_key=r.billing_key, token=token,
                  run_count=r.run_count) for r in rows]


async def lock_for_runs(uow: UnitOfWork, seqs: Sequence[int]) -> list[ScheduleRecord]:
    """The claimed rows, locked for the length of their runs (a late second claimant waits, then sees them done),
    in ``seq`` order, tracked: the unit of work writes how the runs completed them."""
    found: list[ScheduleRecord] = []
    wanted = sorted(set(seqs))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        statement = (f"SELECT {SCHEDULES.select_list} FROM payment_schedules "
                     f"WHERE seq IN ({', '.join('?' for _ in chunk)}) ORDER BY seq")
        if not uow.sql.is_sqlite:
            statement += " FOR UPDATE"
        found += [uow.track(SCHEDULES, SCHEDULES.load(uow.sql, row)) for row in await uow.sql.all(statement, *chunk)]
    return found


async def lock_pending(session: AsyncSession, *, limit: int,
                       merchant_id: str | None = None) -> list[PaymentScheduleRow]:
    """PENDING schedules (their payment awaits the PG), oldest first, skipping those another process holds."""
    query = select(T).where(T.status == Status.PENDING.value)
    if merchant_id is not None:
        query = query.where(T.merchant_id == merchant_id)
    query = query.order_by(T.seq).limit(limit).with_for_update(skip_locked=True)
    return list((await session.scalars(query.execution_options(populate_existing=True))).all())


async def next_due(session: AsyncSession) -> datetime | None:
    """The earliest ``timeToPay`` still waiting."""
    value: datetime | None = await session.scalar(
        select(func.min(T.time_to_pay)).where(T.status == Status.SCHEDULED.value))
    return value


async def running_due(session: AsyncSession, *, now: datetime, merchant_id: str | None = None) -> int:
    """How many due schedules other runs hold (STARTED) right now."""
    condition = and_(T.status == Status.STARTED.value, T.time_to_pay <= now)
    if merchant_id is not None:
        condition = and_(condition, T.merchant_id == merchant_id)
    return int(await session.scalar(select(func.count()).select_from(T).where(condition)) or 0)
