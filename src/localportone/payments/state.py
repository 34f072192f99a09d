"""Pure payment rules: statuses, when a new attempt is allowed, amount rules and cancellation arithmetic.

No I/O and no clock: values in, values (or the spec's errors) out. The defaults where PortOne is silent are the
ones of domain-payments.md §16 (item numbers in the docstrings).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final, TypeVar

from localportone.common.cards import check_card_format  # noqa: F401  (part of the payment rules)
from localportone.kernel.money import round_half_up_div, supply_of, vat_of
from localportone.wire.errors import (
    AlreadyPaidError,
    CancelAmountExceedsCancellableAmountError,
    CancellableAmountConsistencyBrokenError,
    CancelTaxAmountExceedsCancellableTaxAmountError,
    CancelTaxFreeAmountExceedsCancellableTaxFreeAmountError,
    DiscountAmountExceedsTotalAmountError,
    InvalidRequestError,
    MaxCancelCountReachedError,
    MaxTransactionCountReachedError,
    PaymentAlreadyCancelledError,
    PaymentNotPaidError,
    SumOfPartsExceedsCancelAmountError,
    SumOfPartsExceedsTotalAmountError,
)

READY: Final = "READY"
PAY_PENDING: Final = "PAY_PENDING"
VIRTUAL_ACCOUNT_ISSUED: Final = "VIRTUAL_ACCOUNT_ISSUED"
PAID: Final = "PAID"
FAILED: Final = "FAILED"
PARTIAL_CANCELLED: Final = "PARTIAL_CANCELLED"
CANCELLED: Final = "CANCELLED"

#: Statuses that hold the paymentId: a new attempt is refused with ALREADY_PAID (§16 item 23).
HOLDING_STATUSES: Final = frozenset({PAID, PARTIAL_CANCELLED, CANCELLED, VIRTUAL_ACCOUNT_ISSUED, PAY_PENDING})
CANCELLABLE_STATUSES: Final = frozenset({PAID, PARTIAL_CANCELLED})

REQUESTED: Final = "REQUESTED"
SUCCEEDED: Final = "SUCCEEDED"

#: ``PaymentStatus`` (list filter) spells PAY_PENDING as PENDING (§16 item 56).
FILTER_STATUS: Final = {"PENDING": PAY_PENDING}


# ------------------------------------------------------------------------------------------------------ attempts


def check_not_holding(status: str | None) -> None:
    """Paid, cancelled, waiting for a deposit or pending at the PG: the paymentId is taken (§16 item 23)."""
    if status in HOLDING_STATUSES:
        raise AlreadyPaidError(f"the payment is already {status}")


def check_new_attempt(status: str | None, transaction_count: int, max_transaction_count: int) -> None:
    """May a new attempt start on this paymentId? (§16 items 23 and 26.)"""
    check_not_holding(status)
    if transaction_count >= max_transaction_count:
        raise MaxTransactionCountReachedError(
            f"at most {max_transaction_count} payment attempts are allowed per paymentId"
        )


def check_channel_choice(channel_key: str | None, channel_group_id: str | None) -> None:
    """Exactly one of channelKey / channelGroupId (§16 item 31)."""
    if (channel_key is None) == (channel_group_id is None):
        raise InvalidRequestError("give exactly one of channelKey or channelGroupId")


T = TypeVar("T")


def pick_by_ratio(members: Sequence[tuple[T, int]], seed: str) -> T | None:
    """Smart routing: a member drawn by its ratio, deterministically from ``seed``.

    Members with a positive ratio compete; if none has one, the first member is used (super billing keys use
    zero-ratio channels as a last resort). ``None`` for an empty group.
    """
    if not members:
        return None
    weighted = [(m, r) for m, r in members if r > 0]
    if not weighted:
        return members[0][0]
    total = sum(r for _, r in weighted)
    point = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") % total
    for member, ratio in weighted:
        if point < ratio:
            return member
        point -= ratio
    return weighted[-1][0]  # pragma: no cover - unreachable: point < total


def check_pre_registration(
    registered: tuple[int | None, int | None, str | None], total: int, tax_free: int, currency: str
) -> None:
    """An attempt must match what was pre-registered (§16 item 25): otherwise 400."""
    reg_total, reg_tax_free, reg_currency = registered
    if reg_total is not None and reg_total != total:
        raise InvalidRequestError(f"amount.total {total} differs from the pre-registered totalAmount {reg_total}")
    if reg_tax_free is not None and reg_tax_free != tax_free:
        raise InvalidRequestError(
            f"amount.taxFree {tax_free} differs from the pre-registered taxFreeAmount {reg_tax_free}"
        )
    if reg_currency is not None and reg_currency != currency:
        raise InvalidRequestError(f"currency {currency} differs from the pre-registered currency {reg_currency}")


def check_pre_register_input(total: int | None, tax_free: int | None) -> None:
    if total is not None and total < 1:
        raise InvalidRequestError("totalAmount must be at least 1")
    if tax_free is not None and tax_free < 0:
        raise InvalidRequestError("taxFreeAmount must not be negative")
    if total is not None and tax_free is not None and tax_free > total:
        raise SumOfPartsExceedsTotalAmountError("taxFreeAmount exceeds totalAmount")


# ------------------------------------------------------------------------------------------------------ amounts


@dataclass(frozen=True)
class Amounts:
    """A payment's money, all in minor units.

    ``cancelled*`` count SUCCEEDED cancellations; ``reserved*`` count REQUESTED (asynchronous) ones, which are
    not cancelled yet but may not be cancelled twice.
    """

    total: int
    tax_free: int
    vat: int
    discount: int = 0
    cancelled: int = 0
    cancelled_tax_free: int = 0
    cancelled_vat: int = 0
    reserved: int = 0
    reserved_tax_free: int = 0
    reserved_vat: int = 0

    @property
    def supply(self) -> int:
        return supply_of(self.total, self.tax_free, self.vat)

    @property
    def paid(self) -> int:
        """What was charged: ``total - discount`` (§16 item 27)."""
        return self.total - self.discount

    @property
    def cancellable(self) -> int:
        """§16 item 39: ``total - cancelled``, less what pending cancellations hold."""
        return self.total - self.cancelled - self.reserved

    @property
    def cancellable_tax_free(self) -> int:
        return self.tax_free - self.cancelled_tax_free - self.reserved_tax_free

    @property
    def cancellable_taxable(self) -> int:
        return self.cancellable - self.cancellable_tax_free

    @property
    def cancellable_vat(self) -> int:
        return self.vat - self.cancelled_vat - self.reserved_vat

    def wire(self) -> dict[str, int]:
        """``PaymentAmount``."""
        return {
            "total": self.total,
            "taxFree": self.tax_free,
            "vat": self.vat,
            "supply": self.supply,
            "discount": self.discount,
            "paid": self.paid,
            "cancelled": self.cancelled,
            "cancelledTaxFree": self.cancelled_tax_free,
        }


def payment_amounts(total: int, tax_free: int | None, vat: int | None, discount: int = 0) -> Amounts:
    """Validate a ``PaymentAmountInput`` (§16 items 27-28) and fill in what was omitted.

    ``taxFree`` defaults to 0, ``vat`` to ``round_half_up((total - taxFree) / 11)``.
    """
    if total < 1:
        raise InvalidRequestError("amount.total must be at least 1")
    tax_free = 0 if tax_free is None else tax_free
    if tax_free < 0:
        raise InvalidRequestError("amount.taxFree must not be negative")
    if vat is not None and vat < 0:
        raise InvalidRequestError("amount.vat must not be negative")
    if discount < 0:
        raise InvalidRequestError("the discount must not be negative")
    if tax_free > total:
        raise SumOfPartsExceedsTotalAmountError("amount.taxFree exceeds amount.total")
    vat = vat_of(total - tax_free) if vat is None else vat
    if tax_free + vat > total:
        raise SumOfPartsExceedsTotalAmountError("amount.taxFree + amount.vat exceeds amount.total")
    if discount >= total:
        raise DiscountAmountExceedsTotalAmountError("the discount is not smaller than amount.total")
    return Amounts(total=total, tax_free=tax_free, vat=vat, discount=discount)


# ------------------------------------------------------------------------------------------------------ cancel


@dataclass(frozen=True)
class CancelRequest:
    """What ``CancelPaymentBody`` asks for (``None`` = omitted)."""

    amount: int | None = None
    tax_free_amount: int | None = None
    vat_amount: int | None = None
    current_cancellable_amount: int | None = None


@dataclass(frozen=True)
class CancelPlan:
    amount: int
    tax_free: int
    vat: int
    #: The cancel leaves a balance or follows earlier cancellations (what the PG calls a partial cancel).
    is_partial: bool


def check_cancellable(status: str, cancellation_count: int, max_cancel_count: int | None) -> None:
    """§6.3 steps 2-3, then the optional cancel-count limit (§16 item 4: off unless configured)."""
    if status == CANCELLED:
        raise PaymentAlreadyCancelledError("the payment is already cancelled")
    if status not in CANCELLABLE_STATUSES:
        raise PaymentNotPaidError(f"a {status} payment cannot be cancelled")
    if max_cancel_count is not None and cancellation_count >= max_cancel_count:
        raise MaxCancelCountReachedError(f"at most {max_cancel_count} cancellations are allowed per payment")


def plan_cancel(balance: Amounts, request: CancelRequest) -> CancelPlan:
    """§6.3 steps 4-8 with the amounts of §16.5 (items 39-43). Negative inputs are 400 before any arithmetic."""
    for name, value in (("amount", request.amount), ("taxFreeAmount", request.tax_free_amount),
                        ("vatAmount", request.vat_amount)):
        if value is not None and value < 0:
            raise InvalidRequestError(f"{name} must not be negative")
    if request.amount is not None and request.amount <= 0:
        raise InvalidRequestError("amount must be positive")
    cancellable = balance.cancellable
    if request.current_cancellable_amount is not None and request.current_cancellable_amount != cancellable:
        raise CancellableAmountConsistencyBrokenError(
            f"currentCancellableAmount {request.current_cancellable_amount} differs from the cancellable "
            f"amount {cancellable}"
        )
    if request.amount is None:
        amount = cancellable
        tax_free = balance.cancellable_tax_free if request.tax_free_amount is None else request.tax_free_amount
    else:
        amount = request.amount
        tax_free = 0 if request.tax_free_amount is None else request.tax_free_amount
    if amount <= 0:
        raise CancelAmountExceedsCancellableAmountError("nothing is left to cancel")
    if amount > cancellable:
        raise CancelAmountExceedsCancellableAmountError(
            f"amount {amount} exceeds the cancellable amount {cancellable}"
        )
    vat = _cancel_vat(balance, amount, tax_free) if request.vat_amount is None else request.vat_amount
    if tax_free + vat > amount:
        raise SumOfPartsExceedsCancelAmountError("taxFreeAmount + vatAmount exceeds the cancel amount")
    if tax_free > balance.cancellable_tax_free:
        raise CancelTaxFreeAmountExceedsCancellableTaxFreeAmountError(
            f"taxFreeAmount {tax_free} exceeds the cancellable tax-free amount {balance.cancellable_tax_free}"
        )
    if amount - tax_free > balance.cancellable_taxable:
        raise CancelTaxAmountExceedsCancellableTaxAmountError(
            f"the taxable part {amount - tax_free} exceeds the cancellable taxable amount "
            f"{balance.cancellable_taxable}"
        )
    if vat > balance.cancellable_vat:
        raise CancelTaxAmountExceedsCancellableTaxAmountError(
            f"vatAmount {vat} exceeds the cancellable VAT {balance.cancellable_vat}"
        )
    is_partial = amount < balance.total or balance.cancelled > 0 or balance.reserved > 0
    return CancelPlan(amount=amount, tax_free=tax_free, vat=vat, is_partial=is_partial)


def _cancel_vat(balance: Amounts, amount: int, tax_free: int) -> int:
    """§16 items 40 and 42: the remaining VAT when the whole taxable rest goes, else 1/11 of the taxable part;
    never more than the remaining VAT nor than the taxable part itself."""
    taxable = max(amount - tax_free, 0)
    remaining_vat = max(balance.cancellable_vat, 0)
    if taxable >= balance.cancellable_taxable:
        return min(remaining_vat, taxable)
    return min(round_half_up_div(taxable, 11), remaining_vat)


def reserve(balance: Amounts, plan: CancelPlan) -> Amounts:
    """A REQUESTED cancellation holds its amounts until it succeeds or fails."""
    return replace(balance, reserved=balance.reserved + plan.amount,
                   reserved_tax_free=balance.reserved_tax_free + plan.tax_free,
                   reserved_vat=balance.reserved_vat + plan.vat)


def release(balance: Amounts, plan: CancelPlan) -> Amounts:
    return replace(balance, reserved=balance.reserved - plan.amount,
                   reserved_tax_free=balance.reserved_tax_free - plan.tax_free,
                   reserved_vat=balance.reserved_vat - plan.vat)


def apply_cancel(balance: Amounts, plan: CancelPlan) -> Amounts:
    """A SUCCEEDED cancellation."""
    return replace(balance, cancelled=balance.cancelled + plan.amount,
                   cancelled_tax_free=balance.cancelled_tax_free + plan.tax_free,
                   cancelled_vat=balance.cancelled_vat + plan.vat)


def status_after_cancel(balance: Amounts) -> str:
    return CANCELLED if balance.cancelled >= balance.total else PARTIAL_CANCELLED


def refund_status(cancellation_statuses: Sequence[str]) -> str | None:
    """``PaymentMethodVirtualAccount.refundStatus`` from the cancellations in request order."""
    if not cancellation_statuses:
        return None
    if REQUESTED in cancellation_statuses:
        return "PENDING"
    if cancellation_statuses[-1] == SUCCEEDED:
        return "COMPLETED"
    return "PARTIAL_REFUND_FAILED" if SUCCEEDED in cancellation_statuses else "FAILED"


def event_type_for(status: str) -> str:
    """The webhook ``Transaction.*`` type announcing a payment status."""
    return {
        READY: "Transaction.Ready",
        PAY_PENDING: "Transaction.PayPending",
        VIRTUAL_ACCOUNT_ISSUED: "Transaction.VirtualAccountIssued",
        PAID: "Transaction.Paid",
        FAILED: "Transaction.Failed",
        PARTIAL_CANCELLED: "Transaction.PartialCancelled",
        CANCELLED: "Transaction.Cancelled",
    }[status]
