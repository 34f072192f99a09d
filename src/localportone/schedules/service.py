"""Use cases of payment schedules: create, read, list, revoke, and run a claimed schedule.

What other domains ask of schedules comes first (payments refuse a paymentId held by a live schedule; billing-key
deletion refuses a key that still has SCHEDULED ones).

How a run stays exactly-once (see docs/schedules.md, "How runs stay exactly-once"):
1. The claim (``claim_due_schedules``) turns SCHEDULED into STARTED with a fresh token and a wall-clock lease,
   and commits on its own.
2. The run (``run_claimed_schedule``) is one unit of work: it locks the row, proceeds only while the row is
   STARTED with its token, makes the billing-key payment (tagged with the schedule id) and completes the schedule
   in that same transaction, so the payment and the schedule's end state are committed together or not at all.
   A payment refused before the PG answered (:class:`RunRejected`) rolls back, and the schedule alone is marked
   FAILED in a second transaction under the same token check.
3. A process that dies between 1 and 2 leaves the schedule STARTED; once the lease has run out another process
   claims it again (new token, ``run_count`` + 1). Such a retry first asks the payments domain for the payment's
   status: while a schedule is live no other request can pay its paymentId, so a paid or pending payment can
   only be this schedule's own earlier attempt, and the schedule completes from it without charging again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from localportone.auth.principal import StoreContext
from localportone.kernel import ids
from localportone.kernel.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from localportone.kernel.uow import UnitOfWork
from localportone.payments.common import Limits
from localportone.schedules import presenter, repository
from localportone.schedules.models import PaymentScheduleRow, ScheduleRecord
from localportone.schedules.repository import Claim, Search
from localportone.schedules.state import (
    PAID_OR_WAITING,
    RunResult,
    Status,
    check_amounts,
    check_payment_id,
    check_revocable,
    list_window,
    result_of_payment,
    status_timestamp,
)
from localportone.stores import service as stores
from localportone.wire import (
    BillingKeyPaymentInput,
    CreatePaymentScheduleBody,
    GetPaymentSchedulesBody,
    RevokePaymentSchedulesBody,
)
from localportone.wire.errors import (
    AlreadyPaidOrWaitingError,
    BillingKeyNotFoundError,
    BillingKeyNotIssuedError,
    InvalidRequestError,
    PaymentScheduleAlreadyExistsError,
    PaymentScheduleNotFoundError,
    PgProviderError,
    PortOneError,
)

log = logging.getLogger("localportone.schedules")

#: How far apart the payments of one batch are made at least (wire timestamps have milliseconds).
TICK = timedelta(milliseconds=1)
#: A schedule whose runs were interrupted this many times (crashed processes, unexpected errors) is FAILED.
MAX_RUNS = 3


# ------------------------------------------------------------------------------------------ asked by other domains


async def has_live_schedule_for_payment(uow: UnitOfWork, store_id: str, payment_id: str) -> bool:
    """True when a SCHEDULED, STARTED or PENDING schedule holds the paymentId (§16.6 item 53)."""
    return await repository.live_exists_for_payment(uow.sql, store_id, payment_id)


async def payments_held_by_live_schedules(uow: UnitOfWork, store_id: str, payment_ids: Sequence[str]) -> set[str]:
    """:func:`has_live_schedule_for_payment` for many paymentIds at once."""
    return await repository.live_payment_ids(uow.sql, store_id, payment_ids)


def live_schedule_condition() -> str:
    """:func:`has_live_schedule_for_payment` as an SQL condition (parameters: store, paymentId), for a statement
    of another domain that asks it along with reads of its own."""
    return repository.LIVE_FOR_PAYMENT_EXISTS


async def has_scheduled_payments(uow: UnitOfWork, store_id: str, billing_key: str) -> bool:
    """True when the billing key still has SCHEDULED schedules (deleting it is refused, §16.6 item 48)."""
    return await repository.scheduled_exists_for_key(uow.session, store_id, billing_key)


async def payment_status_changed(uow: UnitOfWork, store_id: str, schedule_id: str, payment_status: str) -> None:
    """A PENDING schedule follows its payment when the PG settles it later (PAID → SUCCEEDED, FAILED → FAILED).

    The payments domain may call this in the transaction that settles the payment; the scheduler also catches up
    by itself (:func:`settle_pending_schedules`), so a missed call only delays the update.
    """
    row = await repository.by_id(uow.session, store_id, schedule_id)
    if row is not None and row.status == Status.PENDING:
        _follow_payment(row, payment_status, uow.now)


# ----------------------------------------------------------------------------------------------- the API's use cases


async def create_payment_schedule(uow: UnitOfWork, store: StoreContext, payment_id: str,
                                  body: CreatePaymentScheduleBody) -> dict[str, Any]:
    """``POST /payments/{paymentId}/schedule``: store the billing-key payment to make at ``timeToPay``."""
    from localportone.payments import service as payments

    check_payment_id(payment_id)
    payment = body.payment
    check_amounts(payment.amount.total, payment.amount.tax_free, payment.amount.vat)
    if payment.installment_month is not None and payment.installment_month < 0:
        raise InvalidRequestError("payment.installmentMonth must not be negative")
    _check_customer(payment.customer)
    key = await _billing_key(uow, store, payment.billing_key)
    channels = key.channels
    if payment.channel_key is not None:
        channels = tuple(c for c in key.channels if c.key == payment.channel_key)
        if not channels:
            known = await stores.find_channel(uow, store.store_id, payment.channel_key)
            raise InvalidRequestError(
                f"payment.channelKey: {'not a channel of this billing key' if known else 'no such channel'}"
            )
    if await repository.live_exists_for_payment(uow.sql, store.store_id, payment_id):
        raise PaymentScheduleAlreadyExistsError(f"payment {payment_id} already has a live payment schedule")
    status = await payments.payment_status(uow, store.store_id, payment_id)
    if status in PAID_OR_WAITING:
        raise AlreadyPaidOrWaitingError(f"payment {payment_id} is already {status}")

    stored = payment.to_wire()
    stored["storeId"] = store.store_id
    customer = presenter.customer_wire(stored.get("customer")) if payment.customer is not None else key.customer
    time_to_pay = body.time_to_pay
    row = PaymentScheduleRow(
        id=ids.uuid7(),
        merchant_id=store.merchant_id,
        store_id=store.store_id,
        payment_id=payment_id,
        billing_key=payment.billing_key,
        status=Status.SCHEDULED.value,
        is_test=channels[0].type == "TEST" if channels else True,
        payment_input=stored,
        customer=dict(customer or {}),
        order_name=payment.order_name,
        currency=payment.currency,
        total_amount=payment.amount.total,
        tax_free_amount=payment.amount.tax_free,
        vat_amount=payment.amount.vat,
        time_to_pay=time_to_pay,
        created_at=uow.now,
        status_at=time_to_pay,
        run_count=0,
    )
    repository.add(uow.session, row)
    try:
        await uow.session.flush()
    except IntegrityError:  # a concurrent request scheduled the same paymentId first
        raise PaymentScheduleAlreadyExistsError(
            f"payment {payment_id} already has a live payment schedule") from None
    return {"schedule": {"id": row.id}}


async def get_payment_schedule(uow: UnitOfWork, store: StoreContext, schedule_id: str) -> dict[str, Any]:
    row = await repository.by_id(uow.session, store.store_id, schedule_id)
    if row is None:
        raise PaymentScheduleNotFoundError(f"payment schedule {schedule_id} not found")
    return presenter.schedule_wire(row)


async def get_payment_schedules(uow: UnitOfWork, store: StoreContext, body: GetPaymentSchedulesBody) -> dict[str, Any]:
    """Newest ``timeToPay`` first by default, over the 90 days before ``until`` (now when omitted)."""
    page = _page(body)
    flt = body.filter
    since, until = list_window(uow.now, flt.from_ if flt else None, flt.until if flt else None)
    if since > until:
        raise InvalidRequestError("filter.from must not be after filter.until")
    sort = body.sort
    search = Search(
        store_id=store.store_id,
        since=since,
        until=until,
        billing_key=flt.billing_key if flt else None,
        statuses=list(flt.status) if flt and flt.status else None,
        is_test=flt.is_for_test if flt else None,
        sort_by=(sort.by if sort and sort.by else "TIME_TO_PAY"),
        descending=not (sort and sort.order == "ASC"),
        offset=page.offset,
        limit=page.size,
    )
    rows, total = await repository.search(uow.session, search)
    return {"items": [presenter.schedule_wire(r) for r in rows], "page": page.info(total)}


async def revoke_payment_schedules(uow: UnitOfWork, store: StoreContext,
                                   body: RevokePaymentSchedulesBody) -> dict[str, Any]:
    """All-or-nothing revocation by ids, by billing key, or ids checked against a key (§8.4, §16.6 item 54)."""
    schedule_ids = list(dict.fromkeys(body.schedule_ids or []))
    if body.billing_key is None and not schedule_ids:
        raise InvalidRequestError("give billingKey or scheduleIds (or both)")
    if body.billing_key is not None:
        await _billing_key(uow, store, body.billing_key)
    if schedule_ids:
        rows = await repository.lock_by_ids(uow.session, store.store_id, schedule_ids)
        found = {r.id for r in rows}
        missing = [sid for sid in schedule_ids if sid not in found]
        if missing:
            raise PaymentScheduleNotFoundError(f"payment schedule {missing[0]} not found")
        if body.billing_key is not None:
            for row in rows:
                if row.billing_key != body.billing_key:
                    raise InvalidRequestError(f"payment schedule {row.id} was made with another billing key")
        for row in rows:
            check_revocable(row.id, row.status)
    else:
        assert body.billing_key is not None
        rows = await repository.lock_scheduled_of_key(uow.session, store.store_id, body.billing_key)
    for row in rows:
        row.status = Status.REVOKED.value
        row.revoked_at = uow.now
        row.status_at = uow.now
    order = {sid: i for i, sid in enumerate(schedule_ids)}
    revoked = [r.id for r in sorted(rows, key=lambda r: (order.get(r.id, 0), r.seq))]
    return presenter.revoke_wire(revoked, uow.now)


# --------------------------------------------------------------------------------------------------- the scheduler


async def claim_due_schedules(uow: UnitOfWork, *, limit: int, lease: timedelta, wall_now: datetime,
                              merchant_id: str | None = None) -> list[Claim]:
    """Claim up to ``limit`` due schedules for this process (commit the unit of work before running them)."""
    return await repository.claim_due(
        uow.session, now=uow.now, wall_now=wall_now, lease_until=wall_now + lease, token=ids.uuid7(),
        limit=limit, merchant_id=merchant_id,
    )


@dataclass(frozen=True)
class RunOutcome:
    schedule_id: str
    result: RunResult


class RunRejected(Exception):
    """The payment was refused before anything worth keeping was written (e.g. the billing key is gone).

    Raised out of the run's unit of work so that it rolls back whatever the refused payment had written; the
    caller then records ``result`` with :func:`fail_claimed_schedule` in a fresh one.
    """

    def __init__(self, result: RunResult) -> None:
        super().__init__(result.reason)
        self.result = result


async def run_claimed_schedules(uow: UnitOfWork, claims: Sequence[Claim], *, limits: Limits | None = None,
                                clock: Callable[[], datetime] | None = None) -> list[RunOutcome]:
    """Make the claimed schedules' payments, in claim order, and complete the schedules, in this one unit of work.

    With ``clock``, each payment is made at its own moment (the unit of work's ``now`` moves forward before each
    run, by at least a millisecond, the precision of timestamps on the wire), as when each ran in a unit of its
    own: paid and completion times keep the order the schedules ran in.

    Claims that were lost (the lease ran out and another process took the schedule over) are left out of the
    result. Raises :class:`RunRejected` when a payment was refused without a PG answer to keep: the caller rolls
    the whole unit back (a batch then runs again one schedule per unit of work, :func:`run_claimed_schedule`).
    """
    from localportone.payments import service as payments

    rows = {row.seq: row for row in await repository.lock_for_runs(uow, [c.seq for c in claims])}
    owned = [rows[c.seq] for c in claims if _still_claimed(rows.get(c.seq), c)]
    if len(owned) > 1:
        await payments.prepare_scheduled_payments(uow, [
            (StoreContext(r.merchant_id, r.store_id), r.payment_id, r.billing_key) for r in owned if r.run_count <= 1
        ])
    outcomes = []
    for i, row in enumerate(owned):
        if clock is not None and i:
            uow.now = max(uow.now + TICK, clock())
        result = await _charge(uow, row, limits)
        _complete(row, result, uow.now)
        outcomes.append(RunOutcome(row.id, result))
    return outcomes


async def run_claimed_schedule(uow: UnitOfWork, claim: Claim, *, limits: Limits | None = None) -> RunOutcome | None:
    """:func:`run_claimed_schedules` for one claim; ``None`` when the claim was lost."""
    outcomes = await run_claimed_schedules(uow, [claim], limits=limits)
    return outcomes[0] if outcomes else None


async def fail_claimed_schedule(uow: UnitOfWork, claim: Claim, result: RunResult) -> RunOutcome | None:
    """Record a :class:`RunRejected` run: the schedule FAILED, nothing else."""
    rows = await repository.lock_for_runs(uow, [claim.seq])
    row = rows[0] if rows else None
    if row is None or not _still_claimed(row, claim):
        return None
    _complete(row, result, uow.now)
    return RunOutcome(row.id, result)


async def settle_pending_schedules(uow: UnitOfWork, *, limit: int = 100, merchant_id: str | None = None) -> int:
    """PENDING schedules whose payment has settled since follow it; how many changed."""
    from localportone.payments import service as payments

    changed = 0
    for row in await repository.lock_pending(uow.session, limit=limit, merchant_id=merchant_id):
        status = await payments.payment_status(uow, row.store_id, row.payment_id)
        changed += _follow_payment(row, status, uow.now)
    return changed


def _follow_payment(row: PaymentScheduleRow, payment_status: str | None, now: datetime) -> bool:
    result = result_of_payment(payment_status)
    if result.status == Status.PENDING:
        return False
    _complete(row, result, now)
    return True


async def next_due(uow: UnitOfWork) -> datetime | None:
    return await repository.next_due(uow.session)


async def running_due(uow: UnitOfWork, merchant_id: str | None = None) -> int:
    return await repository.running_due(uow.session, now=uow.now, merchant_id=merchant_id)


def _still_claimed(row: ScheduleRecord | None, claim: Claim) -> bool:
    """Whether the locked row is still STARTED under this claim's token."""
    return row is not None and row.status == Status.STARTED and row.claim_token == claim.token


async def _charge(uow: UnitOfWork, row: ScheduleRecord, limits: Limits | None) -> RunResult:
    from localportone.payments import service as payments

    store = StoreContext(row.merchant_id, row.store_id)
    if row.run_count > 1:
        # An earlier run of this schedule was interrupted. Its payment, if it was made, is committed together with
        # the schedule's end state; still, never charge twice: a paid/pending paymentId can only be ours here.
        status = await payments.payment_status(uow, row.store_id, row.payment_id)
        if status in PAID_OR_WAITING:
            return result_of_payment(status)
        if row.run_count > MAX_RUNS:
            return RunResult(Status.FAILED, reason=f"the run was interrupted {row.run_count - 1} times")
    body = BillingKeyPaymentInput.model_validate(row.payment_input)
    try:
        status = await payments.pay_scheduled(uow, store, row.payment_id, body, schedule_id=row.id,
                                              limits=limits or Limits())
    except PgProviderError as exc:
        result = RunResult(Status.FAILED, reason=exc.message, pg_code=exc.pg_code, pg_message=exc.pg_message)
        if getattr(exc, "_keep_changes", False):
            return result  # the FAILED attempt and its webhook are kept, committed with the FAILED schedule
        raise RunRejected(result) from exc
    except PortOneError as exc:  # e.g. the billing key was deleted after scheduling (§8.5)
        raise RunRejected(RunResult(Status.FAILED, reason=f"{exc.type}: {exc.message or exc.type}")) from exc
    return result_of_payment(status)


def _complete(row: PaymentScheduleRow | ScheduleRecord, result: RunResult, now: datetime) -> None:
    row.status = result.status.value
    row.completed_at = now
    row.claim_token = None
    row.lease_until = None
    row.status_at = status_timestamp(result.status, row.time_to_pay, row.started_at, now, None)
    if result.status == Status.FAILED:
        row.failure_reason = result.reason
        row.failure_pg_code = result.pg_code
        row.failure_pg_message = result.pg_message


# ------------------------------------------------------------------------------------------------------- helpers


async def _billing_key(uow: UnitOfWork, store: StoreContext, billing_key: str) -> Any:
    """The ISSUED key (404 / 409 otherwise); a key awaiting confirmation is "not found" in these unions."""
    from localportone.billing_keys import service as billing_keys

    try:
        return await billing_keys.billing_key_for_payment(uow, store, billing_key)
    except BillingKeyNotIssuedError:
        raise BillingKeyNotFoundError(f"billing key {billing_key} not found") from None


def _check_customer(customer: Any) -> None:
    name = customer.name if customer is not None else None
    if name is not None and (name.full is None) == (name.separated is None):
        raise InvalidRequestError("payment.customer.name: give exactly one of full or separated")


def _page(body: GetPaymentSchedulesBody) -> Page:
    number = body.page.number if body.page and body.page.number is not None else 0
    size = body.page.size if body.page and body.page.size is not None else DEFAULT_PAGE_SIZE
    if number < 0:
        raise InvalidRequestError("page.number must not be negative")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidRequestError(f"page.size must be between 1 and {MAX_PAGE_SIZE}")
    return Page(number, size)


async def inspect_schedule(uow: UnitOfWork, store: StoreContext, schedule_id: str) -> dict[str, Any]:
    """Sandbox view: the wire schedule, how many runs it took, and why a FAILED run failed."""
    row = await repository.by_id(uow.session, store.store_id, schedule_id)
    if row is None:
        raise PaymentScheduleNotFoundError(f"payment schedule {schedule_id} not found")
    out: dict[str, Any] = {"schedule": presenter.schedule_wire(row), "runCount": row.run_count}
    if row.status == Status.FAILED:
        failure = {"reason": row.failure_reason, "pgCode": row.failure_pg_code, "pgMessage": row.failure_pg_message}
        out["failure"] = {k: v for k, v in failure.items() if v is not None}
    return out
