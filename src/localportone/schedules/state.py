"""Pure rules of payment schedules: statuses, what may be revoked, the list window, and how a run ends.

No I/O and no clock reads: callers pass ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from localportone.wire.errors import (
    InvalidRequestError,
    PaymentScheduleAlreadyProcessedError,
    PaymentScheduleAlreadyRevokedError,
    SumOfPartsExceedsTotalAmountError,
)


class Status(StrEnum):
    SCHEDULED = "SCHEDULED"
    STARTED = "STARTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PENDING = "PENDING"
    REVOKED = "REVOKED"


#: A schedule in one of these holds its paymentId (§16.6 item 53): no second schedule, no direct payment.
LIVE = frozenset({Status.SCHEDULED, Status.STARTED, Status.PENDING})
#: Payment statuses that refuse a new schedule with ALREADY_PAID_OR_WAITING.
PAID_OR_WAITING = frozenset({"PAID", "PARTIAL_CANCELLED", "CANCELLED", "VIRTUAL_ACCOUNT_ISSUED", "PAY_PENDING"})
#: The list filter's default window: the 90 days before ``until``.
DEFAULT_WINDOW = timedelta(days=90)
MAX_PAYMENT_ID_LENGTH = 200


def check_payment_id(payment_id: str) -> None:
    if not payment_id or len(payment_id) > MAX_PAYMENT_ID_LENGTH:
        raise InvalidRequestError(f"paymentId must be 1 to {MAX_PAYMENT_ID_LENGTH} characters")


def check_amounts(total: int, tax_free: int | None, vat: int | None) -> None:
    """§16.4 item 28: non-negative parts, a positive total, and parts that fit in the total."""
    if total < 1:
        raise InvalidRequestError("payment.amount.total must be at least 1")
    if tax_free is not None and tax_free < 0:
        raise InvalidRequestError("payment.amount.taxFree must not be negative")
    if vat is not None and vat < 0:
        raise InvalidRequestError("payment.amount.vat must not be negative")
    if (tax_free or 0) + (vat or 0) > total:
        raise SumOfPartsExceedsTotalAmountError("payment.amount: taxFree + vat exceeds total")


def check_revocable(schedule_id: str, status: str) -> None:
    """Only a SCHEDULED schedule can be revoked; the error says why another one can't."""
    if status == Status.REVOKED:
        raise PaymentScheduleAlreadyRevokedError(f"payment schedule {schedule_id} is already revoked")
    if status != Status.SCHEDULED:
        raise PaymentScheduleAlreadyProcessedError(f"payment schedule {schedule_id} has already run ({status})")


def list_window(now: datetime, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """``until`` defaults to now and ``from`` to 90 days before ``until``: future schedules need an explicit until."""
    end = until if until is not None else now
    start = since if since is not None else end - DEFAULT_WINDOW
    return start, end


@dataclass(frozen=True)
class RunResult:
    """How a run ended, in schedule terms, with the failure worth recording."""

    status: Status
    reason: str | None = None
    pg_code: str | None = None
    pg_message: str | None = None


def result_of_payment(payment_status: str | None) -> RunResult:
    """The schedule's end state for the status its payment reached (PAY_PENDING → PENDING)."""
    if payment_status in ("PAID", "PARTIAL_CANCELLED", "CANCELLED", "VIRTUAL_ACCOUNT_ISSUED"):
        return RunResult(Status.SUCCEEDED)
    if payment_status == "PAY_PENDING":
        return RunResult(Status.PENDING)
    return RunResult(Status.FAILED, reason=f"payment ended {payment_status or 'without a record'}")


def status_timestamp(status: Status, time_to_pay: datetime, started_at: datetime | None,
                     completed_at: datetime | None, revoked_at: datetime | None) -> datetime:
    """``STATUS_TIMESTAMP`` sort key: revokedAt for revoked ones, else the latest of run times, else timeToPay."""
    if status == Status.REVOKED and revoked_at is not None:
        return revoked_at
    return completed_at or started_at or time_to_pay
